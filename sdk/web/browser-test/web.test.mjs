// The web SDK in a real browser against a real wxlogin: Debian's Chromium,
// driven headless by playwright-core, on a site (site.mjs) whose proxy
// sends /v1/ to a real `wxlogin dev`, whose emulator plays WeChat's
// authorize page and QR code; the test plays the phone through the
// emulator's device API. The pages use the committed dist/ as they would
// in production. The cookies are Secure: Chromium keeps them on
// http://127.0.0.1, a secure context like localhost.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { chromium } from 'playwright-core'
import { startDev } from '../../miniprogram/test/dev-server.mjs'
import { startSite } from './site.mjs'

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const OA = 'wxdec0de00000000a1' // the dev Official Account (emulator.DevWebApps)
const WEBSITE = 'wxdec0de00000000b1' // the dev website app
const WECHAT_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN'
const DESKTOP_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36'
const USER = `webby-${process.pid}`

let site, dev, browser
const pageErrors = []

before(async () => {
  site = await startSite()
  dev = await startDev(['--web-redirect-uri', site.origin + '/app/'])
  site.setAPI(dev.api)
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS })
})

after(async () => {
  await browser?.close()
  await dev?.stop()
  await site?.close()
})

/**
 * newPage opens a fresh browser profile with the user agent ua; only the
 * site is reachable (at 127.0.0.1, and at localhost for the test of a
 * wxlogin on another host).
 */
async function newPage(ua) {
  const context = await browser.newContext({ userAgent: ua })
  await context.route((url) => !url.href.startsWith(site.origin) && !url.href.startsWith(site.otherHost), (route) => route.abort())
  const page = await context.newPage()
  page.on('pageerror', (err) => pageErrors.push(String(err)))
  page.on('console', (msg) => {
    // 4xx answers are part of the flow (the browser logs each); anything else is a bug.
    if (msg.type() === 'error' && !/status of 4\d\d/.test(msg.text())) pageErrors.push(msg.text())
  })
  return { context, page }
}

/** open loads a page of the site and waits for its script. */
async function open(page, path) {
  try {
    await page.goto(site.origin + path)
    await page.waitForFunction(() => window.ready === true, null, { timeout: 10_000 })
  } catch (err) {
    throw new Error(`${err.message}\nwxlogin dev output:\n${dev.output()}`)
  }
}

/** caught runs fn in the page and returns what it threw (code, status, name, loginRequired), or {resolved}. */
function caught(page, fn, arg) {
  return page.evaluate(
    async ([src, a]) => {
      try {
        return { resolved: await (0, eval)(src)(a) }
      } catch (e) {
        return { code: e.code, status: e.status, name: e.name, loginRequired: e.loginRequired, isWxloginError: window.sdk ? e instanceof window.sdk.WxloginError : undefined }
      }
    },
    [fn.toString(), arg],
  )
}

/**
 * startLogin has the page pick its app with chooseApp and call login(); it
 * resolves to the authorization WeChat's page waits on, as the emulator's
 * device API lists it.
 */
async function startLogin(page, { scope, returnTo } = {}) {
  await page.evaluate(
    ({ oa, website, scope, returnTo }) => {
      const app = window.sdk.chooseApp({ officialAccount: oa, website, officialAccountScope: scope })
      window.wx.login({ ...app, redirectURI: location.origin + '/app/', returnTo })
    },
    { oa: OA, website: WEBSITE, scope, returnTo },
  )
  await page.waitForURL((u) => u.pathname.startsWith('/connect/'))
  const id = await page.textContent('#authorization')
  const list = await (await fetch(dev.api + '/emulator/v1/web/authorizations')).json()
  const a = list.authorizations.find((x) => x.id === id)
  assert.ok(a, `authorization ${id} is not waiting: ${JSON.stringify(list)}`)
  return a
}

/** phone answers an authorization on the simulated phone: scan, approve, refuse. */
async function phone(id, body) {
  const res = await fetch(`${dev.api}/emulator/v1/web/authorizations/${id}`, { method: 'POST', body: JSON.stringify(body) })
  assert.equal(res.status, 200, `phone ${JSON.stringify(body)}: ${res.status} ${await res.text()}`)
}

/** landed waits for the browser to be back on the site's page and returns the page's result(). */
async function landed(page) {
  await page.waitForURL((u) => u.pathname === '/app/', { timeout: 10_000 })
  await page.waitForFunction(() => window.ready === true)
  return page.evaluate(() => window.outcome)
}

let wechat // the page inside WeChat, logged in by the first test
let firstLogin // what GET /v1/me said then

test('inside WeChat: the Official Account\'s authorize page, approved on the phone, logs the page in', async () => {
  wechat = await newPage(WECHAT_UA)
  const { page, context } = wechat
  await open(page, '/app/')
  assert.deepEqual(await page.evaluate(() => window.outcome), { status: 'none' })
  assert.deepEqual(await caught(page, () => window.wx.me()), { code: 'session_invalid', status: 401, name: 'WxloginError', loginRequired: true, isWxloginError: true })

  const auth = await startLogin(page, { scope: 'snsapi_userinfo', returnTo: site.origin + '/app/#/orders/7' })
  assert.deepEqual([auth.flow, auth.appid, auth.scope], ['oauth2', OA, 'snsapi_userinfo'], 'inside WeChat: the Official Account\'s OAuth page')
  await phone(auth.id, { user: USER, action: 'approve' })
  assert.deepEqual(await landed(page), { status: 'ok', returnTo: site.origin + '/app/#/orders/7' })

  firstLogin = (await caught(page, () => window.wx.me())).resolved
  assert.equal(firstLogin?.appid, OA, JSON.stringify(firstLogin))
  assert.ok(firstLogin.openid && firstLogin.account_id, JSON.stringify(firstLogin))

  // The session cookie is for the server alone; the CSRF cookie for the page's script.
  const cookies = Object.fromEntries((await context.cookies(site.origin)).map((c) => [c.name, c]))
  assert.equal(cookies.wxlogin_session?.httpOnly, true)
  assert.equal(cookies.wxlogin_csrf?.httpOnly, false)
  const visible = await page.evaluate(() => document.cookie)
  assert.ok(!visible.includes('wxlogin_session'), 'the page\'s script cannot read the session cookie')
  assert.equal(await page.evaluate(() => window.wx.csrfToken()), cookies.wxlogin_csrf.value)
})

test('forward-auth: a POST by cookie passes with the SDK\'s CSRF header, is refused without it, typed', async () => {
  const { page } = wechat
  const bare = await page.evaluate(async () => {
    const res = await fetch('/api/cart', { method: 'POST', body: '{}' })
    return { status: res.status, body: await res.json() }
  })
  assert.equal(bare.status, 403)
  assert.equal(bare.body.error.code, 'csrf_rejected')

  // The README's one line without the SDK.
  const oneLine = await page.evaluate(async () => {
    const res = await fetch('/api/cart', { method: 'POST', headers: { 'X-Wxlogin-Csrf': document.cookie.match(/(?:^|; )wxlogin_csrf=([^;]*)/)?.[1] } })
    return res.status
  })
  assert.equal(oneLine, 200)

  const viaSDK = await caught(page, async () => (await window.wx.fetch('/api/cart', { method: 'POST', body: '{}' })).json())
  assert.deepEqual(viaSDK.resolved, { method: 'POST', path: '/api/cart', user_id: firstLogin.id, openid: firstLogin.openid, appid: OA })
  const get = await caught(page, async () => (await window.wx.fetch('/api/cart')).json())
  assert.equal(get.resolved?.method, 'GET')

  const forged = await caught(page, () => window.wx.fetch('/api/cart', { method: 'DELETE', headers: { 'X-Wxlogin-Csrf': 'not-the-token' } }))
  assert.deepEqual(forged, { code: 'csrf_rejected', status: 403, name: 'WxloginError', loginRequired: false, isWxloginError: true })

  assert.deepEqual(
    site.forwardAuthCalls.map((c) => [c.method, c.csrf, c.status]),
    [
      ['POST', false, 403],
      ['POST', true, 200],
      ['POST', true, 200],
      ['GET', false, 200],
      ['DELETE', true, 403],
    ],
    'every guarded request went through forward-auth',
  )
})

test('logout ends the session on the server and clears the cookies; the page is told to log in again', async () => {
  const { page, context } = wechat
  const token = (await context.cookies(site.origin)).find((c) => c.name === 'wxlogin_session').value
  assert.deepEqual(await caught(page, () => window.wx.logout()), { resolved: undefined })
  assert.deepEqual(
    (await context.cookies(site.origin)).map((c) => c.name).filter((n) => n.startsWith('wxlogin_')),
    [],
    'both cookies cleared',
  )
  assert.equal(await page.evaluate(() => window.wx.csrfToken() ?? null), null)
  // The token itself is dead, not only forgotten by the browser.
  const res = await fetch(dev.api + '/v1/me', { headers: { Authorization: 'Bearer ' + token } })
  assert.equal(res.status, 401)

  assert.equal((await caught(page, () => window.wx.me())).code, 'session_invalid')
  assert.equal((await caught(page, () => window.wx.fetch('/api/cart', { method: 'POST' }))).code, 'session_invalid')
  assert.deepEqual(await page.evaluate(() => window.sessionInvalidSeen), ['session_invalid', 'session_invalid'])
  assert.deepEqual(await caught(page, () => window.wx.logout()), { resolved: undefined }, 'a second logout is no error')
})

test('a refusal on the phone comes back as a typed error and leaves the address bar', async () => {
  const { page } = wechat
  const auth = await startLogin(page, { scope: 'snsapi_userinfo' })
  await phone(auth.id, { user: USER, action: 'refuse' })
  assert.deepEqual(await landed(page), { status: 'error', code: 'access_denied', name: 'WxloginError' })
  assert.equal(new URL(page.url()).search, '', 'wxlogin_error is gone from the URL')
  assert.equal((await caught(page, () => window.wx.me())).code, 'session_invalid')

  // A reload is a plain page load now, not the error again.
  await page.reload()
  await page.waitForFunction(() => window.ready === true)
  assert.deepEqual(await page.evaluate(() => window.outcome), { status: 'none' })
})

test('WeChat\'s snapshot-mode user is refused with snapshot_user', async () => {
  const { page } = wechat
  const auth = await startLogin(page, { scope: 'snsapi_base' })
  assert.equal(auth.scope, 'snsapi_base')
  await phone(auth.id, { user: USER, action: 'approve', snapshot: true })
  assert.deepEqual(await landed(page), { status: 'error', code: 'snapshot_user', name: 'WxloginError' })
  assert.equal((await caught(page, () => window.wx.me())).code, 'session_invalid')
  await wechat.context.close()
})

test('on a desktop: the website app\'s QR code, scanned and confirmed, the same person\'s account; the script-tag bundle works too; a session ended elsewhere', async () => {
  const { page, context } = await newPage(DESKTOP_UA)
  await open(page, '/app/')
  const auth = await startLogin(page)
  assert.deepEqual([auth.flow, auth.appid, auth.scope], ['qrconnect', WEBSITE, 'snsapi_login'], 'outside WeChat: the website\'s QR code')
  await phone(auth.id, { user: USER, action: 'scan' })
  await phone(auth.id, { user: USER, action: 'approve' })
  assert.deepEqual(await landed(page), { status: 'ok' })
  const me = (await caught(page, () => window.wx.me())).resolved
  assert.equal(me?.appid, WEBSITE)
  assert.equal(me.account_id, firstLogin.account_id, 'one unionid, one account')

  await open(page, '/app/plain.html')
  const plain = await page.evaluate(async () => {
    const me = await window.wx.me()
    const res = await window.wx.fetch('/api/cart', { method: 'PUT' })
    return { appid: me.appid, put: res.status }
  })
  assert.deepEqual(plain, { appid: WEBSITE, put: 200 })

  // The session ends elsewhere (another tab's logout, a revocation): the
  // page's logout meets session_invalid and counts as done, and the
  // server clears both cookies, the HttpOnly one the page cannot reach
  // too.
  const token = (await context.cookies(site.origin)).find((c) => c.name === 'wxlogin_session').value
  const ended = await fetch(dev.api + '/v1/session', { method: 'DELETE', headers: { Authorization: 'Bearer ' + token } })
  assert.equal(ended.status, 204)
  assert.deepEqual(await caught(page, () => window.wx.logout()), { resolved: undefined })
  assert.deepEqual((await context.cookies(site.origin)).map((c) => c.name).filter((n) => n.startsWith('wxlogin_')), [])
  assert.equal(await page.evaluate(() => window.wx.csrfToken() ?? null), null)
  assert.equal((await caught(page, () => window.wx.me())).code, 'session_invalid')
  await context.close()
})

test('wxlogin answering on another host than the page: cookie_missing, not ok and not a loop', async () => {
  // The site also answers at localhost: a page at 127.0.0.1 that sends its
  // login to wxlogin at localhost gets its cookies set on localhost.
  const { page, context } = await newPage(DESKTOP_UA)
  await open(page, '/app/')
  await page.evaluate(({ website, other }) => {
    const wx = window.sdk.createWebClient({ baseURL: other })
    wx.login({ appid: website, scope: 'snsapi_login', redirectURI: location.origin + '/app/' })
  }, { website: WEBSITE, other: site.otherHost })
  await page.waitForURL((u) => u.pathname.startsWith('/connect/'))
  assert.equal(new URL(page.url()).origin, site.otherHost)
  await phone(await page.textContent('#authorization'), { user: USER, action: 'approve' })
  assert.deepEqual(await landed(page), { status: 'error', code: 'cookie_missing', name: 'WxloginError' })
  assert.equal(new URL(page.url()).origin, site.origin)
  const hosts = (await context.cookies([site.origin, site.otherHost])).filter((c) => c.name === 'wxlogin_session').map((c) => c.domain)
  assert.deepEqual(hosts, ['localhost'], 'the session is real, on the other host')
  await context.close()
})

test('no page error on the way', () => {
  assert.deepEqual(pageErrors, [])
})
