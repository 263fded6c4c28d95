// SDK logic against a scripted wx (no server): the edges the end-to-end tests
// cannot force, such as a Retry-After date or a wx.request that fails.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { createClient, WxloginError, ClientErrorCodes } = require('../dist/index.js')

/** scriptedWx answers wx.request with handler(req) and records every call. */
function scriptedWx(handler, { sessionValid = true } = {}) {
  const storage = new Map()
  const calls = []
  let codes = 0
  const async = (fn) => (opts) => {
    Promise.resolve()
      .then(fn.bind(null, opts))
      .then(
        (res) => opts.success?.(res),
        (err) => opts.fail?.(err),
      )
  }
  return {
    calls,
    storage,
    login: async(() => {
      calls.push('wx.login')
      return { code: `code-${++codes}`, errMsg: 'login:ok' }
    }),
    checkSession: async(() => {
      calls.push('wx.checkSession')
      if (!sessionValid) throw { errMsg: 'checkSession:fail session time out' }
      return { errMsg: 'checkSession:ok' }
    }),
    request: (opts) => {
      calls.push(`${opts.method} ${opts.url}`)
      Promise.resolve()
        .then(() => handler(opts))
        .then(
          (res) => (res.fail ? opts.fail?.(res.fail) : opts.success?.({ header: {}, ...res })),
          (err) => opts.fail?.({ errMsg: 'request:fail ' + err.message }),
        )
    },
    getStorageSync: (k) => (storage.has(k) ? storage.get(k) : ''),
    setStorageSync: (k, v) => storage.set(k, v),
    removeStorageSync: (k) => storage.delete(k),
    getSetting: async(() => ({ authSetting: {} })),
    authorize: async(() => ({})),
    openSetting: async(() => ({ authSetting: {} })),
  }
}

const ok = (data) => ({ statusCode: 200, data })
const err = (status, code, header = {}) => ({ statusCode: status, data: { error: { code, message: code } }, header })
const loginOK = (n) => ok({ token: `tok-${n}`, expires_at: '2999-01-01T00:00:00Z', user: { id: 'u1', appid: 'a', openid: 'o' } })

test('login sends the code and the appid, stores the session', async () => {
  const bodies = []
  const wx = scriptedWx((o) => (bodies.push(o.data), loginOK(1)))
  const client = createClient({ baseURL: 'https://api.example/', appid: 'wxapp', wx })
  const s = await client.login()
  assert.equal(s.token, 'tok-1')
  assert.deepEqual(bodies, [{ code: 'code-1', appid: 'wxapp' }])
  assert.deepEqual(wx.calls, ['wx.login', 'POST https://api.example/v1/login'])
  assert.equal(client.getToken(), 'tok-1')
})

test('a stored session whose wx.checkSession fails is replaced', async () => {
  const wx = scriptedWx(() => loginOK(2), { sessionValid: false })
  wx.storage.set('wxlogin:session', { token: 'old', expires_at: '2999-01-01T00:00:00Z', user: {} })
  const client = createClient({ baseURL: 'https://api.example', wx })
  const s = await client.login()
  assert.equal(s.token, 'tok-2')
  assert.deepEqual(wx.calls.slice(0, 2), ['wx.checkSession', 'wx.login'])
})

test('a stored session past its expires_at is not reused', async () => {
  const wx = scriptedWx(() => loginOK(3))
  wx.storage.set('wxlogin:session', { token: 'old', expires_at: '2000-01-01T00:00:00Z', user: {} })
  const client = createClient({ baseURL: 'https://api.example', wx, storageKey: 'wxlogin:session' })
  assert.equal((await client.login()).token, 'tok-3')
  assert.ok(!wx.calls.includes('wx.checkSession'))
})

test('Retry-After as an HTTP date is honoured', async () => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  const waits = []
  let n = 0
  const wx = scriptedWx((o) => {
    if (o.url.endsWith('/v1/login')) return loginOK(1)
    return ++n === 1 ? err(503, 'upstream_unavailable', { 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }) : ok({ fine: true })
  })
  const client = createClient({ baseURL: 'https://api.example', wx, now: () => now, sleep: async (ms) => void waits.push(ms) })
  const r = await client.request({ path: '/v1/thing' })
  assert.deepEqual(r.data, { fine: true })
  assert.deepEqual(waits, [3000])
})

test('retries stop at maxRetries and the last error is typed', async () => {
  const waits = []
  const wx = scriptedWx((o) => (o.url.endsWith('/v1/login') ? loginOK(1) : err(429, 'rate_limited', { 'Retry-After': '1' })))
  const client = createClient({ baseURL: 'https://api.example', wx, maxRetries: 2, sleep: async (ms) => void waits.push(ms) })
  await assert.rejects(client.request({ path: '/v1/x' }), (e) => e instanceof WxloginError && e.code === 'rate_limited' && e.status === 429 && e.retryAfter === 1)
  assert.deepEqual(waits, [1000, 1000])
})

test('a second 401 after the re-login reaches the caller (no loop)', async () => {
  let logins = 0
  const wx = scriptedWx((o) => (o.url.endsWith('/v1/login') ? loginOK(++logins) : err(401, 'session_invalid')))
  const client = createClient({ baseURL: 'https://api.example', wx })
  await assert.rejects(client.request({ path: '/v1/x' }), (e) => e.code === 'session_invalid' && e.status === 401)
  assert.equal(logins, 2)
})

test('wx.request failing is a network_error', async () => {
  const wx = scriptedWx(() => ({ fail: { errMsg: 'request:fail timeout' } }))
  const client = createClient({ baseURL: 'https://api.example', wx })
  await assert.rejects(client.request({ path: '/v1/x', auth: false }), (e) => e.code === ClientErrorCodes.network && e.errMsg === 'request:fail timeout')
})

test('a non-JSON error answer is bad_response with its status', async () => {
  const wx = scriptedWx(() => ({ statusCode: 502, data: '<html>bad gateway</html>' }))
  const client = createClient({ baseURL: 'https://api.example', wx })
  await assert.rejects(client.request({ path: '/v1/x', auth: false }), (e) => e.code === 'bad_response' && e.status === 502)
})

test('the legacy phone payload carries the prepared login_code; the code path does not', async () => {
  const bodies = []
  const wx = scriptedWx((o) => {
    if (o.url.endsWith('/v1/login')) return loginOK(1)
    bodies.push(o.data)
    return ok({ phoneNumber: '1', purePhoneNumber: '1', countryCode: '86' })
  })
  const client = createClient({ baseURL: 'https://api.example', wx })
  await client.login()
  await client.prepareLoginCode()
  // Base library 2.21.2+ gives the code and the legacy payload together: only the code goes.
  await client.savePhone({ errMsg: 'getPhoneNumber:ok', code: 'pc', encryptedData: 'e', iv: 'i' })
  assert.equal(client.hasPreparedLoginCode(), true, 'the code path leaves the prepared login code for an encrypted payload')
  await client.savePhone({ errMsg: 'getPhoneNumber:ok', encryptedData: 'e', iv: 'i' })
  await client.savePhone({ errMsg: 'getPhoneNumber:ok', encryptedData: 'e', iv: 'i' })
  assert.deepEqual(bodies, [{ code: 'pc' }, { encryptedData: 'e', iv: 'i', login_code: 'code-2' }, { encryptedData: 'e', iv: 'i' }])
})

test('a phone code the server refuses as invalid_code (another user\'s) is not retried', async () => {
  const wx = scriptedWx((o) => (o.url.endsWith('/v1/login') ? loginOK(1) : err(401, 'invalid_code')))
  const client = createClient({ baseURL: 'https://api.example', wx })
  await client.login()
  await assert.rejects(client.savePhone({ errMsg: 'getPhoneNumber:ok', code: 'pc' }), (e) => e.code === 'invalid_code' && e.status === 401)
  assert.equal(wx.calls.filter((c) => c.endsWith('/v1/phone')).length, 1, 'one request, no retry')
  assert.equal(wx.calls.filter((c) => c === 'wx.login').length, 1, 'no new login for a refused phone code')
})

test('privacy refusal is a typed privacy_not_authorized error', async () => {
  const wx = scriptedWx(() => ok({}))
  let listener
  wx.getPrivacySetting = (o) => setTimeout(() => o.success({ needAuthorization: true, privacyContractName: 'Demo guidelines', errMsg: 'getPrivacySetting:ok' }))
  wx.onNeedPrivacyAuthorization = (l) => (listener = l)
  wx.requirePrivacyAuthorize = (o) =>
    listener((r) => (r.event === 'agree' ? o.success({ errMsg: 'requirePrivacyAuthorize:ok' }) : o.fail({ errMsg: 'requirePrivacyAuthorize:fail privacy permission is not authorized', errno: 104 })), { referrer: 'x' })
  const client = createClient({ baseURL: 'https://api.example', wx })
  await assert.rejects(client.ensurePrivacy(async () => false), (e) => e.code === 'privacy_not_authorized' && e.errno === 104)
  const r = await client.ensurePrivacy(async () => ({ agree: true, buttonId: 'agree-btn' }))
  assert.deepEqual(r, { asked: true, contractName: 'Demo guidelines' })
})

test('ensurePrivacy: only a refusal is privacy_not_authorized; other failures stay what they are', async () => {
  const withRequire = (requirePrivacyAuthorize) => {
    const wx = scriptedWx(() => ok({}))
    wx.getPrivacySetting = (o) => setTimeout(() => o.success({ needAuthorization: true, privacyContractName: 'Demo', errMsg: 'getPrivacySetting:ok' }))
    if (requirePrivacyAuthorize) wx.requirePrivacyAuthorize = requirePrivacyAuthorize
    return createClient({ baseURL: 'https://api.example', wx })
  }
  const failing = (fail) => withRequire((o) => setTimeout(() => o.fail(fail)))

  // A refusal, by errno or by WeChat's message alone.
  await assert.rejects(failing({ errMsg: 'requirePrivacyAuthorize:fail privacy permission is not authorized', errno: 104 }).ensurePrivacy(), (e) => {
    assert.equal(e.code, ClientErrorCodes.privacyNotAuthorized)
    assert.equal(e.errno, 104)
    return true
  })
  await assert.rejects(failing({ errMsg: 'requirePrivacyAuthorize:fail privacy permission is not authorized' }).ensurePrivacy(), (e) => e.code === 'privacy_not_authorized')

  // Anything else is not the user's refusal.
  await assert.rejects(failing({ errMsg: 'requirePrivacyAuthorize:fail network error' }).ensurePrivacy(), (e) => {
    assert.equal(e.code, ClientErrorCodes.wxApi)
    assert.equal(e.errMsg, 'requirePrivacyAuthorize:fail network error')
    assert.equal(e.errno, undefined)
    return true
  })
  await assert.rejects(failing({ errMsg: 'requirePrivacyAuthorize:fail system error', errno: 102 }).ensurePrivacy(), (e) => e.code === 'wx_api_failed' && e.errno === 102)
  await assert.rejects(withRequire(null).ensurePrivacy(), (e) => {
    assert.equal(e.code, 'wx_api_failed', 'getPrivacySetting without requirePrivacyAuthorize')
    assert.match(e.message, /requirePrivacyAuthorize is not available/)
    return true
  })
  await assert.rejects(withRequire(() => { throw new Error('boom') }).ensurePrivacy(), (e) => e.code === 'wx_api_failed' && /boom/.test(e.errMsg))
})

test('ensureScope: the user refusing is denied; any other authorize failure rejects', async () => {
  const clientWith = (fail, recorded = {}) => {
    const wx = scriptedWx(() => ok({}))
    let asked = false
    wx.getSetting = (o) => setTimeout(() => o.success({ authSetting: asked ? recorded : {}, errMsg: 'getSetting:ok' }))
    wx.authorize = (o) => setTimeout(() => ((asked = true), o.fail(fail)))
    return createClient({ baseURL: 'https://api.example', wx })
  }
  const denied = { scope: 'scope.werun', granted: false, status: 'denied' }
  for (const errMsg of ['authorize:fail auth deny', 'authorize:fail:auth deny', 'authorize:fail auth denied', 'authorize:fail:auth canceled']) {
    assert.deepEqual(await clientWith({ errMsg }).ensureScope('scope.werun'), denied, errMsg)
  }
  // WeChat recorded the refusal although its message is one this SDK does not know.
  assert.deepEqual(await clientWith({ errMsg: 'authorize:fail 用户拒绝' }, { 'scope.werun': false }).ensureScope('scope.werun'), denied)

  await assert.rejects(clientWith({ errMsg: 'authorize:fail invalid scope' }).ensureScope('scope.werun'), (e) => {
    assert.equal(e.code, 'wx_api_failed')
    assert.equal(e.errMsg, 'authorize:fail invalid scope')
    return true
  })
  await assert.rejects(clientWith({ errMsg: 'authorize:fail system error', errno: 102 }).ensureScope('scope.werun'), (e) => e.code === 'wx_api_failed' && e.errno === 102)
  await assert.rejects(
    clientWith({ errMsg: 'authorize:fail privacy permission is not authorized', errno: 104 }).ensureScope('scope.werun'),
    (e) => e.code === 'privacy_not_authorized',
  )
})

test('maxRetries bounds the codes one login tries', async () => {
  for (const maxRetries of [0, 1, 4]) {
    const bodies = []
    const wx = scriptedWx((o) => (bodies.push(o.data), err(400, 'invalid_code')))
    const client = createClient({ baseURL: 'https://api.example', wx, maxRetries })
    await assert.rejects(client.login(), (e) => e.code === 'invalid_code')
    assert.equal(bodies.length, 1 + maxRetries, `maxRetries ${maxRetries}`)
    assert.equal(wx.calls.filter((c) => c === 'wx.login').length, 1 + maxRetries, 'a new wx.login code each time')
  }
})

test('ensurePrivacy on a base library without privacy APIs asks nothing', async () => {
  const client = createClient({ baseURL: 'https://api.example', wx: scriptedWx(() => ok({})) })
  assert.deepEqual(await client.ensurePrivacy(), { asked: false })
})

test('createClient needs a baseURL and a wx', () => {
  assert.throws(() => createClient({}), /baseURL/)
  assert.throws(() => createClient({ baseURL: 'https://x' }), /wx/)
})

test('an explicit loginCode without a session is used for the login itself (no wx.login)', async () => {
  const bodies = []
  const wx = scriptedWx((o) => {
    bodies.push([o.url.replace('https://api.example', ''), o.data])
    return o.url.endsWith('/v1/login') ? loginOK(1) : ok({ stepInfoList: [] })
  })
  const client = createClient({ baseURL: 'https://api.example', wx })
  await client.decrypt('werun', { errMsg: 'getWeRunData:ok', encryptedData: 'e', iv: 'i' }, { loginCode: 'mine' })
  assert.deepEqual(bodies, [
    ['/v1/login', { code: 'mine' }],
    ['/v1/decrypt', { kind: 'werun', encryptedData: 'e', iv: 'i' }],
  ])
  assert.ok(!wx.calls.includes('wx.login'))
})

test('a busy WeChat during login: a new code per attempt, one Retry-After budget, no wait after the last attempt', async () => {
  const waits = []
  const bodies = []
  const wx = scriptedWx((o) => (bodies.push(o.data), err(503, 'upstream_unavailable', { 'Retry-After': '1' })))
  const client = createClient({ baseURL: 'https://api.example', wx, sleep: async (ms) => void waits.push(ms) })
  await assert.rejects(client.login(), (e) => e.code === 'upstream_unavailable' && e.status === 503)
  assert.deepEqual(bodies.map((b) => b.code), ['code-1', 'code-2', 'code-3'], 'three attempts, each with a new wx.login code')
  assert.deepEqual(waits, [1000, 1000], 'a wait between attempts, none after the last')

  const waits2 = []
  const wx2 = scriptedWx(() => err(503, 'upstream_unavailable', { 'Retry-After': '1' }))
  const bounded = createClient({ baseURL: 'https://api.example', wx: wx2, maxRetryWaitMs: 1500, sleep: async (ms) => void waits2.push(ms) })
  await assert.rejects(bounded.login(), (e) => e.code === 'upstream_unavailable')
  assert.deepEqual(waits2, [1000], 'the second wait would pass maxRetryWaitMs for the whole login')
})

test('storageKey and baseURL are the caller’s: the session lives under the given key only', async () => {
  const urls = []
  const wx = scriptedWx((o) => (urls.push(o.url), loginOK(1)))
  const client = createClient({ baseURL: 'https://login.example/base/', wx, storageKey: 'myapp:login' })
  await client.login()
  assert.deepEqual(urls, ['https://login.example/base/v1/login'])
  assert.equal(wx.storage.get('myapp:login').token, 'tok-1')
  assert.equal(wx.storage.has('wxlogin:session'), false)
  await client.logout()
  assert.equal(wx.storage.has('myapp:login'), false)
})

test('an avatar upload refused with 401 session_invalid logs in again once and uploads again', async () => {
  let logins = 0
  const wx = scriptedWx((o) => (o.url.endsWith('/v1/login') ? loginOK(++logins) : ok({})))
  const uploads = []
  wx.uploadFile = (o) => {
    uploads.push([o.url, o.filePath, o.name, o.header.Authorization])
    const stale = o.header.Authorization === 'Bearer tok-1'
    setTimeout(() =>
      o.success(
        stale
          ? { statusCode: 401, data: JSON.stringify({ error: { code: 'session_invalid', message: 'gone' } }) }
          : { statusCode: 200, data: JSON.stringify({ profile: { avatar_url: '/v1/avatars/a1' } }) },
      ),
    )
  }
  const client = createClient({ baseURL: 'https://api.example', wx })
  const user = await client.saveProfile({ avatarPath: 'wxfile://tmp_1.png' })
  assert.deepEqual(user, { profile: { avatar_url: '/v1/avatars/a1' } })
  assert.equal(logins, 2)
  assert.deepEqual(uploads, [
    ['https://api.example/v1/me/avatar', 'wxfile://tmp_1.png', 'file', 'Bearer tok-1'],
    ['https://api.example/v1/me/avatar', 'wxfile://tmp_1.png', 'file', 'Bearer tok-2'],
  ])
})

test('a stored deadline in nanoseconds or unreadable is reused while wx.checkSession succeeds', async () => {
  for (const expires_at of ['2999-01-01T00:00:00.123456789Z', 'not a time']) {
    const wx = scriptedWx(() => loginOK(4))
    wx.storage.set('wxlogin:session', { token: 'kept', expires_at, user: {} })
    const client = createClient({ baseURL: 'https://api.example', wx })
    assert.equal((await client.login()).token, 'kept', expires_at)
    assert.deepEqual(wx.calls, ['wx.checkSession'])
  }
})
