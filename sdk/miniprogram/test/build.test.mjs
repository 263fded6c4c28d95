// The committed dist/ and playground bundle must be what the sources build to.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..')

test('committed build output is fresh', () => {
  const r = spawnSync(process.execPath, [join(pkg, 'scripts', 'build.mjs'), '--check'], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.match(r.stdout, /build output is fresh/)
})

test('package.json points WeChat npm build at the committed dist', async () => {
  const { readFileSync, existsSync } = await import('node:fs')
  const p = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'))
  assert.equal(p.miniprogram, 'dist')
  assert.ok(existsSync(join(pkg, p.main)))
  assert.deepEqual(p.dependencies ?? {}, {}, 'no runtime dependencies')
})

test('the built SDK has no runtime dependencies: dist/ requires only its own files', async () => {
  const { readdirSync, readFileSync } = await import('node:fs')
  const dist = join(pkg, 'dist')
  for (const f of readdirSync(dist).filter((n) => n.endsWith('.js'))) {
    for (const [, spec] of readFileSync(join(dist, f), 'utf8').matchAll(/require\(["']([^"']+)["']\)/g)) {
      assert.match(spec, /^\.\//, `dist/${f} requires ${spec}`)
    }
  }
})

test('the published types stand alone: a TypeScript project without miniprogram-api-typings compiles against them', async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(join(tmpdir(), 'wxlogin-types-'))
  try {
    const dist = JSON.stringify(join(pkg, 'dist').replaceAll('\\', '/'))
    writeFileSync(
      join(dir, 'app.ts'),
      `import { createClient, isWxloginError, type WxLike } from ${dist.slice(0, -1)}/index"
import { createSimulatedWx } from ${dist.slice(0, -1)}/simulated-wx"

const wx = createSimulatedWx({ emulatorURL: 'http://127.0.0.1:8080', appid: 'wxdec0de0000000001', user: 'alice' })
const asWxLike: WxLike = wx
const client = createClient({ baseURL: 'http://127.0.0.1:8080', wx: asWxLike })
export async function run(): Promise<string> {
  const s = await client.login()
  const code: string = (await wx.login()).code
  const none: void = wx.login({ success: (res) => void res.code })
  const profile = wx.getUserProfile ? await wx.getUserProfile({ desc: 'x' }) : undefined
  try {
    await client.ensureScope('scope.werun')
  } catch (err) {
    if (isWxloginError(err, 'privacy_not_authorized')) return err.code
  }
  return s.token + code + String(none) + String(profile?.userInfo)
}
`,
    )
    // No node_modules here: nothing but the SDK's own declarations and the ES library.
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, types: [], lib: ['ES2017'], target: 'ES2017', module: 'CommonJS' },
        files: ['app.ts'],
      }),
    )
    const r = spawnSync(process.execPath, [join(pkg, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stdout + r.stderr)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("the real wx of miniprogram-api-typings is a WxLike: createClient({wx}) compiles in a project that uses them", async () => {
  const { mkdtempSync, rmSync, symlinkSync, writeFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(join(tmpdir(), 'wxlogin-types-'))
  try {
    symlinkSync(join(pkg, 'node_modules'), join(dir, 'node_modules'), 'dir')
    const dist = join(pkg, 'dist', 'index').replaceAll('\\', '/')
    writeFileSync(
      join(dir, 'app.ts'),
      `import { createClient } from ${JSON.stringify(dist)}
export const client = createClient({ baseURL: 'https://login.example.com', wx })
`,
    )
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, types: ['miniprogram-api-typings'], lib: ['ES2017'], target: 'ES2017', module: 'CommonJS' },
        files: ['app.ts'],
      }),
    )
    const r = spawnSync(process.execPath, [join(pkg, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stdout + r.stderr)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
