// What the committed dist/ gives its two kinds of users: the script-tag
// bundle (dist/wxlogin-web.js, global wxloginWeb) is the module's API, and
// the type declarations compile in a strict TypeScript page on their own.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import vm from 'node:vm'

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..')

test('the script-tag bundle exposes the module\'s API as the global wxloginWeb', async () => {
  const esm = await import('../dist/index.js')
  const context = vm.createContext({ URL, Headers, Response })
  vm.runInContext(readFileSync(join(pkg, 'dist', 'wxlogin-web.js'), 'utf8'), context)
  const global = context.wxloginWeb
  assert.ok(global, 'no global wxloginWeb')
  assert.deepEqual(Object.keys(global).sort(), Object.keys(esm).sort())
  const url = global.createWebClient({ baseURL: '/auth' }).loginURL({ appid: 'wxa', redirectURI: 'https://www.example.com/back', scope: 'snsapi_login' })
  assert.equal(url, '/auth/v1/web/authorize?appid=wxa&redirect_uri=https%3A%2F%2Fwww.example.com%2Fback&scope=snsapi_login')
  assert.equal(global.isInWeChat('Mozilla/5.0 MicroMessenger/8.0.49'), true)
  assert.equal(new global.WxloginError('access_denied', 'x').code, 'access_denied')
})

test('the type declarations compile in a strict page that uses them', () => {
  const dir = mkdtempSync(join(pkg, '.typecheck-'))
  try {
    writeFileSync(
      join(dir, 'page.ts'),
      `import { createWebClient, chooseApp, isWxloginError, ErrorCodes, type LoginResult, type Me } from '../dist/index.js'
const wx = createWebClient({ onSessionInvalid: (err) => console.log(err.code, err.loginRequired) })
const r: LoginResult = wx.result()
if (r.status === 'error' && r.error.code === ErrorCodes.accessDenied) console.log(r.returnTo)
const app = chooseApp({ officialAccount: 'wxa', website: 'wxb', officialAccountScope: 'snsapi_userinfo' })
if (app) wx.login({ ...app, redirectURI: '/after-login', returnTo: location.href })
export async function show(): Promise<string> {
  try {
    const me: Me = await wx.me()
    const res = await wx.fetch('/api/cart', { method: 'POST', body: '{}' })
    return me.appid + (me.openid ?? '') + res.status
  } catch (err) {
    if (isWxloginError(err, 'session_invalid')) return 'log in'
    throw err
  }
}
`,
    )
    const tsc = spawnSync(
      process.execPath,
      [join(pkg, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--target', 'ES2020', '--module', 'ES2020', '--moduleResolution', 'bundler',
        '--lib', 'ES2020,DOM', '--exactOptionalPropertyTypes', join(dir, 'page.ts')],
      { encoding: 'utf8' },
    )
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
