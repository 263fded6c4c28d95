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
