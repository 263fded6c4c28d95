// Unit tests of the built SDK (dist/) under stand-ins for the browser's
// globals. The end-to-end behaviour against a real wxlogin and a real
// browser is browser-test/web.test.mjs.
import { afterEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  ClientErrorCodes,
  ErrorCodes,
  WxloginError,
  chooseApp,
  createWebClient,
  isInWeChat,
  isWxloginError,
} from '../dist/index.js'
import { fakePage, jsonAnswer, recordingFetch } from './page.mjs'

const OA = 'wxdec0de00000000a1'
const SITE = 'wxdec0de00000000b1'
const PAGE = 'https://www.example.com/h5/after-login'

let page
afterEach(() => page?.restore())

/** rejection awaits p and returns its WxloginError, failing when it resolves or rejects with anything else. */
async function rejection(p) {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof WxloginError, `want a WxloginError, got ${err}`)
    return err
  }
  assert.fail('resolved; want a WxloginError')
}

describe('loginURL and login', () => {
  test('the authorize URL carries the app, the page encoded and the scope', () => {
    page = fakePage(PAGE)
    const wx = createWebClient()
    assert.equal(
      wx.loginURL({ appid: OA, redirectURI: PAGE, scope: 'snsapi_userinfo' }),
      '/v1/web/authorize?appid=wxdec0de00000000a1&redirect_uri=https%3A%2F%2Fwww.example.com%2Fh5%2Fafter-login&scope=snsapi_userinfo',
    )
    assert.equal(wx.loginURL({ appid: OA, redirectURI: PAGE }), '/v1/web/authorize?appid=wxdec0de00000000a1&redirect_uri=' + encodeURIComponent(PAGE), 'no scope: the server takes the kind\'s default')
    assert.equal(createWebClient({ baseURL: '/auth/' }).loginURL({ appid: OA, redirectURI: PAGE }).split('?')[0], '/auth/v1/web/authorize')
  })

  test('a relative redirectURI is resolved against the page; an absolute one is kept byte for byte', () => {
    page = fakePage('https://www.example.com/h5/cart?from=singlemessage&isappinstalled=0')
    const wx = createWebClient()
    const redirect = (u) => new URL(wx.loginURL({ appid: OA, redirectURI: u }), page.url).searchParams.get('redirect_uri')
    assert.equal(redirect('/h5/after-login'), PAGE)
    assert.equal(redirect('after-login'), PAGE)
    assert.equal(redirect('HTTPS://www.example.com/h5/after-login'), 'HTTPS://www.example.com/h5/after-login', 'the server compares exactly: no normalizing')
  })

  test('bad options fail at once with invalid_request, before any navigation', () => {
    page = fakePage(PAGE)
    const wx = createWebClient()
    for (const [name, opts, words] of [
      ['no appid', { redirectURI: PAGE }, /appid/],
      ['no redirectURI', { appid: OA }, /redirectURI/],
      ['a fragment (hash route)', { appid: OA, redirectURI: 'https://www.example.com/h5/#/cart' }, /fragment.*returnTo/],
    ]) {
      assert.throws(() => wx.login(opts), (err) => isWxloginError(err, ErrorCodes.invalidRequest) && words.test(err.message), name)
    }
    assert.deepEqual(page.assigned, [])
    assert.equal(page.storage.size, 0)
  })

  test('login navigates to the authorize URL and remembers the login in the tab', () => {
    page = fakePage('https://www.example.com/h5/#/orders/7')
    const wx = createWebClient()
    wx.login({ appid: OA, redirectURI: PAGE, scope: 'snsapi_base', returnTo: location.href })
    assert.deepEqual(page.assigned, [wx.loginURL({ appid: OA, redirectURI: PAGE, scope: 'snsapi_base' })])
    const pending = JSON.parse(page.storage.get('wxlogin:web:login'))
    assert.equal(pending.returnTo, 'https://www.example.com/h5/#/orders/7')
    assert.ok(Math.abs(pending.at - Date.now()) < 5000)
  })
})

describe('result', () => {
  /** returnFromLogin plays a login started on from, coming back to at. */
  function returnFromLogin(from, at, opts = {}) {
    page = fakePage(from, opts)
    createWebClient().login({ appid: OA, redirectURI: PAGE, returnTo: opts.returnTo })
    const storage = page.storage
    page.restore()
    page = fakePage(at, opts)
    page.storage = storage
    return page
  }

  test('a page load that is no login\'s return is none', () => {
    page = fakePage(PAGE, { cookie: 'wxlogin_csrf=abc' })
    assert.deepEqual(createWebClient().result(), { status: 'none' })
  })

  test('back from a successful login: ok, with the page to go back to', () => {
    returnFromLogin('https://www.example.com/h5/', PAGE, { cookie: 'theme=dark; wxlogin_csrf=Q1NSRnRva2Vu', returnTo: 'https://www.example.com/h5/#/orders/7' })
    assert.deepEqual(createWebClient().result(), { status: 'ok', returnTo: 'https://www.example.com/h5/#/orders/7' })
    assert.equal(page.storage.size, 0, 'the marker is used once')
  })

  test('an error comes back typed, and leaves the address bar', () => {
    returnFromLogin(PAGE, PAGE + '?from=singlemessage&q=a%20b+c&wxlogin_error=access_denied#top', { returnTo: '/h5/cart' })
    const wx = createWebClient()
    const r = wx.result()
    assert.equal(r.status, 'error')
    assert.ok(isWxloginError(r.error, ErrorCodes.accessDenied))
    assert.equal(r.error.status, 0)
    assert.match(r.error.message, /refused/)
    assert.equal(r.returnTo, 'https://www.example.com/h5/cart')
    assert.equal(page.url.href, PAGE + '?from=singlemessage&q=a%20b+c#top', 'the other parameters stay as written')
    assert.deepEqual(page.historyState, { marker: 1 }, 'history state is kept')
    assert.equal(wx.result(), r, 'a second call answers the same (a framework that runs effects twice)')
  })

  test('every server code becomes a WxloginError with that code, unknown ones too', () => {
    for (const code of ['snapshot_user', 'invalid_code', 'code_blocked', 'upstream_unavailable', 'rate_limited', 'a_future_code']) {
      page?.restore()
      page = fakePage(`${PAGE}?wxlogin_error=${code}`)
      const r = createWebClient().result()
      assert.equal(r.status, 'error', code)
      assert.equal(r.error.code, code)
      assert.equal(page.url.search, '')
    }
  })

  test('a login that came back without cookies is cookie_missing, not a reason to log in again', () => {
    returnFromLogin(PAGE, PAGE, { cookie: 'theme=dark' })
    const r = createWebClient().result()
    assert.equal(r.status, 'error')
    assert.equal(r.error.code, ClientErrorCodes.cookieMissing)
    assert.match(r.error.message, /own host/)
  })

  test('Back from WeChat\'s page, an old abandoned login, or a returnTo of another origin', () => {
    returnFromLogin(PAGE, PAGE, { navigation: 'back_forward' })
    assert.deepEqual(createWebClient().result(), { status: 'none' })

    returnFromLogin(PAGE, PAGE)
    page.storage.set('wxlogin:web:login', JSON.stringify({ at: Date.now() - 11 * 60 * 1000 }))
    assert.deepEqual(createWebClient().result(), { status: 'none' }, 'older than a login\'s state lives')

    returnFromLogin(PAGE, PAGE, { cookie: 'wxlogin_csrf=t', returnTo: 'https://evil.example.net/' })
    assert.deepEqual(createWebClient().result(), { status: 'ok' })

    returnFromLogin(PAGE, PAGE, { cookie: 'wxlogin_csrf=t' })
    page.storage.set('wxlogin:web:login', '{not json')
    assert.deepEqual(createWebClient().result(), { status: 'none' })
  })
})

describe('fetch', () => {
  test('an unsafe method to the page\'s origin carries the CSRF token; safe ones and other origins do not', async () => {
    page = fakePage(PAGE, { cookie: 'a=1; wxlogin_csrf=tok-123; b=2' })
    const f = recordingFetch(() => new Response('{}', { status: 200 }))
    const wx = createWebClient({ fetch: f })
    await wx.fetch('/api/cart', { method: 'post', body: '{}' })
    await wx.fetch('/api/cart')
    await wx.fetch('/api/cart', { method: 'HEAD' })
    await wx.fetch(new URL('https://www.example.com/api/cart'), { method: 'DELETE' })
    await wx.fetch('https://cdn.example.net/upload', { method: 'PUT' })
    await wx.fetch('/api/cart', { method: 'PATCH', headers: { 'X-Wxlogin-Csrf': 'mine' } })
    assert.deepEqual(
      f.calls.map((c) => [c.method, c.headers['x-wxlogin-csrf']]),
      [
        ['post', 'tok-123'],
        ['GET', undefined],
        ['HEAD', undefined],
        ['DELETE', 'tok-123'],
        ['PUT', undefined],
        ['PATCH', 'mine'],
      ],
    )
    assert.deepEqual(f.calls.map((c) => c.credentials), Array(6).fill('same-origin'))
    await wx.fetch('/api/cart', { credentials: 'omit' })
    assert.equal(f.calls.at(-1).credentials, 'omit')
  })

  test('without a session an unsafe request goes without the header, and the server decides', async () => {
    page = fakePage(PAGE)
    const f = recordingFetch(() => jsonAnswer(401, { error: { code: 'session_invalid', message: 'no session' } }))
    const err = await rejection(createWebClient({ fetch: f }).fetch('/api/cart', { method: 'POST' }))
    assert.equal(f.calls[0].headers['x-wxlogin-csrf'], undefined)
    assert.equal(err.code, 'session_invalid')
    assert.equal(err.loginRequired, true)
  })

  test('wxlogin\'s JSON errors reject typed; session_invalid tells onSessionInvalid first', async () => {
    page = fakePage(PAGE, { cookie: 'wxlogin_csrf=t' })
    const seen = []
    const answers = {
      '/a': () => jsonAnswer(403, { error: { code: 'csrf_rejected', message: 'needs the token' } }),
      '/b': () => jsonAnswer(503, { error: { code: 'store_unavailable', message: 'down' } }, { 'Retry-After': '3' }),
      '/c': () => jsonAnswer(401, { error: { code: 'session_invalid', message: 'expired' } }),
    }
    const wx = createWebClient({ fetch: recordingFetch((u) => answers[u]()), onSessionInvalid: (e) => seen.push(e) })
    const csrf = await rejection(wx.fetch('/a', { method: 'POST' }))
    assert.deepEqual([csrf.code, csrf.status, csrf.message, csrf.loginRequired, csrf.retryAfter], ['csrf_rejected', 403, 'needs the token', false, undefined])
    const busy = await rejection(wx.fetch('/b'))
    assert.deepEqual([busy.code, busy.status, busy.retryAfter], ['store_unavailable', 503, 3])
    assert.deepEqual(seen, [])
    const dead = await rejection(wx.fetch('/c'))
    assert.deepEqual(seen, [dead])
    assert.equal(dead.loginRequired, true)
  })

  test('any other answer resolves as it came: your API\'s own errors are yours', async () => {
    page = fakePage(PAGE)
    const answers = {
      '/html': () => new Response('<h1>502</h1>', { status: 502, headers: { 'Content-Type': 'text/html' } }),
      '/json': () => jsonAnswer(422, { errors: ['qty'] }),
      '/bad': () => new Response('{', { status: 500, headers: { 'Content-Type': 'application/json' } }),
    }
    const wx = createWebClient({ fetch: recordingFetch((u) => answers[u]()) })
    for (const u of Object.keys(answers)) {
      const res = await wx.fetch(u)
      assert.equal(res.ok, false, u)
      assert.ok((await res.text()).length > 0, `${u}: the body is still there to read`)
    }
  })

  test('a failure before any answer is network_error; an abort stays an abort', async () => {
    page = fakePage(PAGE)
    const offline = createWebClient({ fetch: async () => Promise.reject(new TypeError('Failed to fetch')) })
    const err = await rejection(offline.fetch('/api'))
    assert.deepEqual([err.code, err.status], [ClientErrorCodes.network, 0])
    assert.ok(err.cause instanceof TypeError)
    const abort = new DOMException('aborted', 'AbortError')
    await assert.rejects(createWebClient({ fetch: async () => Promise.reject(abort) }).fetch('/api'), (e) => e === abort)
  })
})

describe('me and logout', () => {
  test('me answers GET /v1/me under the base URL', async () => {
    page = fakePage(PAGE)
    const f = recordingFetch(() => jsonAnswer(200, { id: 'usr_1', appid: OA, openid: 'o1' }))
    const me = await createWebClient({ baseURL: '/auth', fetch: f }).me()
    assert.deepEqual([me.id, f.calls[0].url, f.calls[0].method], ['usr_1', '/auth/v1/me', 'GET'])
  })

  test('me without a session is session_invalid; a page that is not JSON is bad_response', async () => {
    page = fakePage(PAGE)
    const answers = [jsonAnswer(401, { error: { code: 'session_invalid', message: 'x' } }), new Response('<html>', { status: 200 }), new Response('', { status: 404 })]
    const wx = createWebClient({ fetch: async () => answers.shift() })
    assert.equal((await rejection(wx.me())).code, 'session_invalid')
    assert.equal((await rejection(wx.me())).code, 'bad_response')
    const notFound = await rejection(wx.me())
    assert.deepEqual([notFound.code, notFound.status], ['bad_response', 404])
  })

  test('logout POSTs with the token; a session that had already ended counts as logged out', async () => {
    page = fakePage(PAGE, { cookie: 'wxlogin_csrf=tok' })
    const seen = []
    const answers = [new Response(null, { status: 204 }), jsonAnswer(401, { error: { code: 'session_invalid', message: 'x' } }), jsonAnswer(500, { error: { code: 'internal', message: 'bug' } })]
    const f = recordingFetch(() => answers.shift())
    const wx = createWebClient({ fetch: f, onSessionInvalid: (e) => seen.push(e) })
    await wx.logout()
    assert.deepEqual([f.calls[0].url, f.calls[0].method, f.calls[0].headers['x-wxlogin-csrf']], ['/v1/web/logout', 'POST', 'tok'])
    assert.equal(wx.csrfToken(), 'tok', 'the server cleared the cookies of the first logout; this stand-in did not')
    await wx.logout()
    assert.deepEqual(seen, [], 'logging out of a dead session is not a reason to ask for a login')
    assert.deepEqual(page.cookieWrites, [], 'the server clears the cookies; the page writes none')
    assert.equal((await rejection(wx.logout())).code, 'internal')
  })
})

describe('inside WeChat or not', () => {
  const agents = {
    wechatIOS: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN',
    wechatAndroid: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0.6261.120 Mobile Safari/537.36 XWEB/1220099 MMWEBSDK/20240404 MMWEBID/1234 MicroMessenger/8.0.49.2600(0x28003133) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64',
    wechatWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.138 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x63090a13) XWEB/9129 Flue',
    wecom: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 wxwork/4.1.26 MicroMessenger/7.0.1 Language/zh ColorScheme/Light',
    wecomWindows: 'Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.6668.101 Safari/537.36 Language/zh ColorScheme/Light wxwork/4.1.39 (MicroMessenger/6.2) WindowsWechat',
    chrome: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36',
  }

  test('isInWeChat: WeChat\'s browsers on phones and desktops; not WeCom, not a plain browser', () => {
    assert.deepEqual(
      Object.fromEntries(Object.entries(agents).map(([k, ua]) => [k, isInWeChat(ua)])),
      { wechatIOS: true, wechatAndroid: true, wechatWindows: true, wecom: false, wecomWindows: false, chrome: false },
    )
    page = fakePage(PAGE, { userAgent: agents.wechatIOS })
    assert.equal(isInWeChat(), true, 'by default the browser\'s own user agent')
  })

  test('chooseApp: the Official Account inside WeChat, the website\'s QR code elsewhere, nothing when the page has no app for here', () => {
    const apps = { officialAccount: OA, website: SITE }
    assert.deepEqual(chooseApp(apps, agents.wechatAndroid), { appid: OA, scope: 'snsapi_base' })
    assert.deepEqual(chooseApp({ ...apps, officialAccountScope: 'snsapi_userinfo' }, agents.wechatIOS), { appid: OA, scope: 'snsapi_userinfo' })
    assert.deepEqual(chooseApp(apps, agents.chrome), { appid: SITE, scope: 'snsapi_login' })
    assert.equal(chooseApp({ website: SITE }, agents.wechatIOS), undefined)
    assert.equal(chooseApp({ officialAccount: OA }, agents.chrome), undefined)
  })
})
