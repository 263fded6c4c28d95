// The SDK and the simulated wx against a real `wxlogin dev` (server + WeChat
// emulator over real HTTP). Each test plays its own simulated user.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { DEV_APPID, countingFetch, json, jscode2sessionCalls, devServerForFile, uniqueUser } from './dev-server.mjs'

const require = createRequire(import.meta.url)
const { createClient, WxloginError, isWxloginError, isAnonymousProfile } = require('../dist/index.js')
const { createSimulatedWx } = require('../dist/simulated-wx.js')

const dev = devServerForFile()

/** device makes a simulated device (wx + client) for a new user; options pass through to createSimulatedWx. */
function device(name, options = {}) {
  const fetch = countingFetch()
  const storage = options.storage ?? new Map()
  const user = options.user ?? uniqueUser(name)
  const wx = createSimulatedWx({ emulatorURL: dev.emulator, appid: DEV_APPID, user, fetch, storage, ...options.wx })
  const client = createClient({ baseURL: dev.api, wx, ...options.client })
  return { wx, client, fetch, storage, user }
}

const logins = (d) => d.fetch.count('POST /v1/login')

describe('login', () => {
  test('first login: wx.login, POST /v1/login, token stored', async () => {
    const d = device('first')
    assert.equal(d.client.getToken(), null)
    const s = await d.client.login()
    assert.match(s.token, /\S{20,}/)
    assert.equal(s.user.appid, DEV_APPID)
    assert.equal(s.user.created, true)
    assert.equal(logins(d), 1)
    assert.equal(d.fetch.count('POST /emulator/v1/login'), 1)
    assert.equal(d.client.getToken(), s.token)
    assert.equal(d.wx.getStorageSync('wxlogin:session').token, s.token)
    const r = await d.client.request({ path: '/v1/session' })
    assert.equal(r.status, 200)
    assert.equal(r.data.user.id, s.user.id)
    assert.equal(logins(d), 1)
  })

  test('stored token reused when wx.checkSession succeeds (no wx.login, no POST /v1/login)', async () => {
    const first = device('reuse')
    const s1 = await first.client.login()
    // The app launches again: same device storage, new client.
    const again = device('reuse', { user: first.user, storage: first.storage })
    const s2 = await again.client.login()
    assert.equal(s2.token, s1.token)
    assert.equal(logins(again), 0)
    assert.equal(again.fetch.count('POST /emulator/v1/login'), 0)
    assert.equal(again.fetch.count('GET /emulator/v1/session'), 1, 'wx.checkSession was asked')
    const r = await again.client.request({ path: '/v1/session' })
    assert.equal(r.data.user.id, s1.user.id)
  })

  test('a second login of the same WeChat user is the same wxlogin user', async () => {
    const a = device('same')
    const s1 = await a.client.login()
    const s2 = await a.client.login({ force: true })
    assert.notEqual(s2.token, s1.token)
    assert.equal(s2.user.id, s1.user.id)
    assert.equal(s2.user.created, false)
  })

  test('concurrent logins share one wx.login and one POST /v1/login', async () => {
    const d = device('flight')
    const [a, b, c] = await Promise.all([d.client.login(), d.client.login(), d.client.request({ path: '/v1/session' })])
    assert.equal(a.token, b.token)
    assert.equal(c.data.user.id, a.user.id)
    assert.equal(logins(d), 1)
    assert.equal(d.fetch.count('POST /emulator/v1/login'), 1)
  })

  test('expired session: one transparent re-login and retry', async () => {
    const d = device('expire')
    const s1 = await d.client.login()
    const exp = await json(dev.api + '/dev/v1/session/expire', { method: 'POST', token: s1.token })
    assert.equal(exp.status, 204)
    const gone = await json(dev.api + '/v1/session', { token: s1.token })
    assert.equal(gone.status, 401)
    assert.equal(gone.body.error.code, 'session_invalid')

    const r = await d.client.request({ path: '/v1/session' })
    assert.equal(r.status, 200)
    assert.equal(r.data.user.id, s1.user.id)
    assert.equal(logins(d), 2)
    assert.notEqual(d.client.getToken(), s1.token)
    assert.equal(d.fetch.count('GET /v1/session'), 2, 'one refused call, one retry')
  })

  test('two concurrent requests after expiry: exactly one login', async () => {
    const d = device('race')
    const s1 = await d.client.login()
    assert.equal((await json(dev.api + '/dev/v1/session/expire', { method: 'POST', token: s1.token })).status, 204)
    const codeExchanges = await jscode2sessionCalls(dev.emulator)
    const before = logins(d)
    const [a, b] = await Promise.all([d.client.request({ path: '/v1/session' }), d.client.request({ path: '/v1/session' })])
    assert.equal(a.status, 200)
    assert.equal(b.status, 200)
    assert.equal(logins(d) - before, 1, 'POST /v1/login calls')
    assert.equal(d.fetch.count('POST /emulator/v1/login'), 2, 'wx.login: first login + one re-login')
    assert.equal((await jscode2sessionCalls(dev.emulator)) - codeExchanges, 1, 'jscode2session calls')
    assert.equal(d.fetch.count('GET /v1/session'), 4, 'two refused calls, two retries')
  })

  test('a used or invalid code (40029) is replaced by a new wx.login', async () => {
    const d = device('badcode')
    const f = await json(dev.emulator + '/emulator/v1/faults', { method: 'POST', body: { api: 'jscode2session', count: 1, errcode: 40029 } })
    assert.ok(f.status < 300, `inject fault: ${f.status} ${JSON.stringify(f.body)}`)
    try {
      const s = await d.client.login()
      assert.ok(s.token)
      assert.equal(logins(d), 2)
      assert.equal(d.fetch.count('POST /emulator/v1/login'), 2)
    } finally {
      await json(dev.emulator + '/emulator/v1/faults', { method: 'DELETE' })
    }
  })

  test('503 upstream_unavailable: waits for Retry-After within the bound', async () => {
    const waits = []
    const d = device('busy', { client: { sleep: async (ms) => void waits.push(ms), maxRetryWaitMs: 10 * 60 * 1000 } })
    const f = await json(dev.emulator + '/emulator/v1/faults', { method: 'POST', body: { api: 'jscode2session', count: 1, errcode: 45011 } })
    assert.ok(f.status < 300, `inject fault: ${f.status} ${JSON.stringify(f.body)}`)
    try {
      const s = await d.client.login()
      assert.ok(s.token)
      assert.equal(waits.length, 1, 'one wait')
      assert.ok(waits[0] >= 1000, `waited ${waits[0]} ms, per Retry-After`)
    } finally {
      await json(dev.emulator + '/emulator/v1/faults', { method: 'DELETE' })
    }
  })

  test('503 with a Retry-After over the bound: typed error at once, no wait', async () => {
    const waits = []
    const d = device('busy2', { client: { sleep: async (ms) => void waits.push(ms), maxRetryWaitMs: 500 } })
    await json(dev.emulator + '/emulator/v1/faults', { method: 'POST', body: { api: 'jscode2session', count: 1, errcode: 45011 } })
    try {
      await assert.rejects(d.client.login(), (err) => {
        assert.ok(err instanceof WxloginError)
        assert.equal(err.code, 'upstream_unavailable')
        assert.equal(err.status, 503)
        assert.ok(err.retryAfter >= 1, 'retryAfter from the header')
        return true
      })
      assert.deepEqual(waits, [])
    } finally {
      await json(dev.emulator + '/emulator/v1/faults', { method: 'DELETE' })
    }
  })

  test('other errors reach the caller typed with the server code', async () => {
    const d = device('typed')
    await d.client.login()
    await assert.rejects(d.client.request({ path: '/v1/no-such-route' }), (err) => {
      assert.ok(isWxloginError(err, 'not_found'), String(err))
      assert.equal(err.status, 404)
      return true
    })
    await assert.rejects(d.client.request({ path: '/v1/decrypt', method: 'POST', data: { kind: 'werun' } }), (err) => {
      assert.ok(isWxloginError(err))
      assert.equal(err.status, 400)
      assert.equal(err.code, 'invalid_request')
      return true
    })
  })

  test('logout: DELETE /v1/session, storage cleared, old token dead', async () => {
    const d = device('logout')
    const s = await d.client.login()
    await d.client.logout()
    assert.equal(d.client.getToken(), null)
    assert.equal(d.wx.getStorageSync('wxlogin:session'), '')
    assert.equal(d.fetch.count('DELETE /v1/session'), 1)
    const r = await json(dev.api + '/v1/session', { token: s.token })
    assert.equal(r.status, 401)
    assert.equal(r.body.error.code, 'session_invalid')
    await d.client.logout() // logged out already: nothing to do, no error
    assert.equal(d.fetch.count('DELETE /v1/session'), 1)
    const again = await d.client.login()
    assert.notEqual(again.token, s.token)
  })
})

describe('open data', () => {
  test('user info from a getUserInfo button: verified and stored', async () => {
    const d = device('uinfo')
    await d.client.login()
    const detail = await d.wx.simulated.getUserInfoDetail()
    assert.equal(detail.errMsg, 'getUserInfo:ok')
    const info = await d.client.saveUserInfo(detail)
    assert.equal(typeof info.nickName, 'string')
    assert.equal(info.watermark, undefined)
  })

  test('key rotated before a decrypt: fails without login_code, works with prepareLoginCode', async () => {
    const d = device('rotate')
    await d.client.login()
    const grant = await d.client.ensureScope('scope.werun')
    assert.equal(grant.status, 'granted')

    // A stray wx.login (say, inside a button callback) rotates the key.
    await d.wx.login()
    const stale = await d.wx.getWeRunData()
    await assert.rejects(d.client.decrypt('werun', stale), (err) => {
      assert.ok(isWxloginError(err, 'invalid_encrypted_data'), String(err))
      assert.equal(err.status, 400)
      return true
    })

    await d.client.prepareLoginCode()
    assert.equal(d.client.hasPreparedLoginCode(), true)
    const fresh = await d.wx.getWeRunData()
    const steps = await d.client.decrypt('werun', fresh)
    assert.ok(Array.isArray(steps.stepInfoList) && steps.stepInfoList.length > 0, JSON.stringify(steps))
    assert.equal(d.client.hasPreparedLoginCode(), false, 'the code is spent')

    // wxlogin kept the new key for this session: no login_code needed now.
    const later = await d.wx.getWeRunData()
    const steps2 = await d.client.decrypt('werun', later)
    assert.ok(steps2.stepInfoList.length > 0)
    assert.equal(logins(d), 1, 'no re-login was needed')
  })

  test('user info after a key rotation, with the prepared code', async () => {
    const d = device('rotate-ui')
    await d.client.login()
    await d.wx.login()
    await d.client.prepareLoginCode()
    const detail = await d.wx.simulated.getUserInfoDetail()
    const info = await d.client.saveUserInfo(detail)
    assert.equal(typeof info.nickName, 'string')
  })

  test('first open-data call without a session logs in with the prepared code', async () => {
    const d = device('cold')
    await d.client.prepareLoginCode()
    await d.client.ensureScope('scope.werun')
    const data = await d.wx.getWeRunData()
    const steps = await d.client.decrypt('werun', data)
    assert.ok(steps.stepInfoList.length > 0)
    assert.equal(logins(d), 1)
    assert.equal(d.fetch.count('POST /emulator/v1/login'), 1, 'the login used the prepared code: no second wx.login')
  })

  test('session expired under a prepared payload: the re-login uses the payload code, no further key rotation', async () => {
    const d = device('expire-payload')
    const s1 = await d.client.login()
    assert.equal((await json(dev.api + '/dev/v1/session/expire', { method: 'POST', token: s1.token })).status, 204)
    await d.client.prepareLoginCode()
    const detail = await d.wx.simulated.getUserInfoDetail()
    const info = await d.client.saveUserInfo(detail)
    assert.equal(typeof info.nickName, 'string')
    assert.equal(logins(d), 2, 'the first login and one re-login')
    assert.equal(d.fetch.count('POST /emulator/v1/login'), 2, 'wx.login: the first login and prepareLoginCode, none in the re-login')
    assert.equal(d.fetch.count('POST /v1/userinfo'), 2, 'one refused call, one retry')
  })

  test('phone number: the one-time code is preferred over the legacy payload', async () => {
    const d = device('phone')
    await d.client.login()
    const detail = await d.wx.simulated.getPhoneNumberDetail()
    assert.equal(detail.errMsg, 'getPhoneNumber:ok')
    assert.ok(detail.code, 'base library 2.21.2+ gives a code')
    assert.ok(detail.encryptedData && detail.iv, 'and the legacy payload beside it')
    const seen = (await json(`${dev.emulator}/emulator/v1/calls?appid=${DEV_APPID}`)).body.next
    const phone = await d.client.savePhone(detail)
    const user = await json(`${dev.emulator}/emulator/v1/users/${encodeURIComponent(d.user)}`)
    assert.equal(phone.purePhoneNumber, user.body.phoneNumber)
    assert.equal(phone.countryCode, user.body.countryCode)
    assert.equal(d.fetch.count('POST /v1/phone'), 1)
    // wxlogin traded this very code with WeChat: the code path, not a decrypt.
    const calls = (await json(`${dev.emulator}/emulator/v1/calls?after=${seen}&appid=${DEV_APPID}`)).body.calls
    const traded = calls.filter((c) => c.api === 'getuserphonenumber' && c.request.code === detail.code)
    assert.equal(traded.length, 1, `getuserphonenumber with the button's code: ${JSON.stringify(calls.map((c) => [c.api, c.request.code]))}`)
  })

  test('no session and no prepared code: stale_payload, and the same tap again works', async () => {
    const d = device('stale-cold')
    // A WeChat login happened earlier (so WeChat encrypts the data), but the
    // device holds no session: logged out, or storage cleared.
    await d.client.login()
    await d.client.logout()
    const detail = await d.wx.simulated.getUserInfoDetail()
    await assert.rejects(d.client.saveUserInfo(detail), (err) => {
      assert.ok(isWxloginError(err, 'stale_payload'), String(err))
      assert.equal(err.status, 0)
      assert.match(err.message, /tap again/)
      return true
    })
    assert.equal(logins(d), 2, 'the SDK logged in, so the next tap works')
    assert.ok(d.client.getToken())

    const again = await d.wx.simulated.getUserInfoDetail()
    const info = await d.client.saveUserInfo(again)
    assert.equal(typeof info.nickName, 'string')
    assert.equal(logins(d), 2, 'no further login')
  })

  test('the server expired the session and no code was prepared: stale_payload, then WeRun decrypts', async () => {
    const d = device('stale-expired')
    const s1 = await d.client.login()
    assert.equal((await d.client.ensureScope('scope.werun')).status, 'granted')
    assert.equal((await json(dev.api + '/dev/v1/session/expire', { method: 'POST', token: s1.token })).status, 204)
    const data = await d.wx.getWeRunData()
    await assert.rejects(d.client.decrypt('werun', data), (err) => isWxloginError(err, 'stale_payload'))
    assert.equal(logins(d), 2)
    assert.notEqual(d.client.getToken(), s1.token)

    const steps = await d.client.decrypt('werun', await d.wx.getWeRunData())
    assert.ok(steps.stepInfoList.length > 0)
    assert.equal(logins(d), 2)
  })

  test('phone number on an old base library: the legacy encryptedData path', async () => {
    const d = device('phone-old', { wx: { baseLibrary: '2.10.0' } })
    await d.client.login()
    const detail = await d.wx.simulated.getPhoneNumberDetail()
    assert.equal(detail.code, undefined)
    assert.ok(detail.encryptedData && detail.iv)
    const phone = await d.client.savePhone(detail)
    assert.match(phone.phoneNumber, /\d{11}$/)
  })

  test('a denied phone button rejects with user_cancelled and sends nothing', async () => {
    const d = device('deny')
    await d.client.login()
    const detail = await d.wx.simulated.getPhoneNumberDetail({ deny: true })
    await assert.rejects(d.client.savePhone(detail), (err) => {
      assert.ok(isWxloginError(err, 'user_cancelled'))
      assert.equal(err.status, 0)
      assert.equal(err.errMsg, 'getPhoneNumber:fail user deny')
      return true
    })
    assert.equal(d.fetch.count('POST /v1/phone'), 0)
  })
})

describe('scopes', () => {
  test('denied scope: no second prompt, openSetting helper, then granted', async () => {
    let prompts = 0
    let allowInSettings = false
    const d = device('scope', {
      wx: {
        prompts: {
          authorize: () => {
            prompts++
            return false
          },
          openSetting: (s) => (allowInSettings ? { ...s, 'scope.werun': true } : s),
        },
      },
    })
    const first = await d.client.ensureScope('scope.werun')
    assert.deepEqual(first, { scope: 'scope.werun', granted: false, status: 'denied' })
    assert.equal(prompts, 1)
    const second = await d.client.ensureScope('scope.werun')
    assert.equal(second.status, 'denied')
    assert.equal(prompts, 1, 'WeChat does not ask again after a refusal')
    await assert.rejects(d.wx.getWeRunData(), (err) => err.errMsg === 'getWeRunData:fail auth deny')

    assert.equal(await d.client.openSettingFor('scope.werun'), false)
    allowInSettings = true
    assert.equal(await d.client.openSettingFor('scope.werun'), true)
    const third = await d.client.ensureScope('scope.werun')
    assert.deepEqual(third, { scope: 'scope.werun', granted: true, status: 'granted' })
  })

  test('an authorize failure that is not the user refusing rejects; it is not "denied"', async () => {
    const d = device('scope-bad')
    await assert.rejects(d.client.ensureScope('scope.nonsense'), (err) => {
      assert.ok(isWxloginError(err, 'wx_api_failed'), String(err))
      assert.match(err.errMsg, /^authorize:fail/)
      return true
    })

    // The device cannot reach WeChat while authorizing.
    const offline = device('scope-offline', {
      wx: {
        fetch: async (url, init = {}) => {
          if ((init.method ?? 'GET') === 'POST' && new URL(url).pathname === '/emulator/v1/authorize') throw new TypeError('fetch failed')
          return fetch(url, init)
        },
      },
    })
    await assert.rejects(offline.client.ensureScope('scope.werun'), (err) => {
      assert.ok(isWxloginError(err, 'wx_api_failed'), String(err))
      assert.match(err.errMsg, /fetch failed/)
      return true
    })
    const settings = await json(`${dev.emulator}/emulator/v1/settings?appid=${DEV_APPID}&user=${encodeURIComponent(offline.user)}`)
    assert.deepEqual(settings.body.authSetting ?? {}, {}, 'nothing was refused')
  })

  test('scope.userInfo needs a button, never wx.authorize', async () => {
    let prompts = 0
    const d = device('scope-ui', { wx: { prompts: { authorize: () => (prompts++, true) } } })
    const r = await d.client.ensureScope('scope.userInfo')
    assert.equal(r.status, 'needs_button')
    assert.equal(prompts, 0)
    assert.equal(d.fetch.count('POST /emulator/v1/authorize'), 0)
    await d.client.login() // user info with credentials needs a login
    assert.equal((await d.wx.simulated.getUserInfoDetail()).errMsg, 'getUserInfo:ok')
    assert.equal((await d.client.ensureScope('scope.userInfo')).status, 'granted')
  })
})

describe('helpers', () => {
  test('isAnonymousProfile', () => {
    assert.equal(isAnonymousProfile({ nickName: '微信用户' }), true)
    assert.equal(isAnonymousProfile({ nickName: 'alice' }), false)
    assert.equal(isAnonymousProfile(undefined), false)
  })

  test('the simulated wx speaks wx: callbacks and errMsg', async () => {
    const d = device('cb')
    const res = await new Promise((resolve, reject) => d.wx.login({ success: resolve, fail: reject }))
    assert.equal(res.errMsg, 'login:ok')
    assert.match(res.code, /\S+/)
    const fail = await new Promise((resolve) => d.wx.authorize({ scope: 'scope.userInfo', fail: resolve }))
    assert.match(fail.errMsg, /^authorize:fail/)
    const completed = await new Promise((resolve) => d.wx.checkSession({ complete: resolve }))
    assert.equal(completed.errMsg, 'checkSession:ok')
  })
})
