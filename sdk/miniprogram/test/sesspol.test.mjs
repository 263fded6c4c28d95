// The SDK under the wechat session policy, against a real
// `wxlogin dev --session-policy wechat --session-check-interval 1m`: the
// server ends a session once WeChat's session_key for it dies, so the SDK
// hands every wx.login code it takes to the server at once, and a failed
// wx.checkSession logs in again (ending the old session).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { DEV_APPID, countingFetch, json, devServerForFile, uniqueUser } from './dev-server.mjs'

const require = createRequire(import.meta.url)
const { createClient } = require('../dist/index.js')
const { createSimulatedWx } = require('../dist/simulated-wx.js')

const dev = devServerForFile(undefined, ['--session-policy', 'wechat', '--session-check-interval', '1m'])

function device(name, options = {}) {
  const fetch = countingFetch()
  const storage = options.storage ?? new Map()
  const user = options.user ?? uniqueUser(name)
  const wx = createSimulatedWx({ emulatorURL: dev.emulator, appid: DEV_APPID, user, fetch, storage })
  const client = createClient({ baseURL: dev.api, wx })
  return { wx, client, fetch, storage, user }
}

const logins = (d) => d.fetch.count('POST /v1/login')

/** advance moves the dev clock (server and emulator together). */
async function advance(d) {
  const r = await json(dev.api + '/dev/v1/clock', { method: 'POST', body: { advance: d } })
  assert.equal(r.status, 200)
}

/** checked waits (wall clock, 10 s at most) until the server asked checksession about openid since seq. */
async function checkedSince(openid, after) {
  const deadline = Date.now() + 10_000
  for (;;) {
    const r = await json(`${dev.emulator}/emulator/v1/calls?after=${after}&appid=${DEV_APPID}`)
    const calls = r.body.calls ?? []
    const mine = calls.filter((c) => c.api === 'checksession' && c.request?.openid === openid)
    if (mine.length > 0) return mine
    if (Date.now() > deadline) throw new Error(`no checksession call for ${openid} within 10 s`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function lastSeq() {
  const r = await json(`${dev.emulator}/emulator/v1/calls?after=0`)
  return r.body.next ?? 0
}

describe('wechat session policy', () => {
  test('login tells the policy; a prepared code is handed to the server, and the rotated key ends nothing', async () => {
    const d = device('handed')
    const s = await d.client.login()
    assert.equal(s.session_policy, 'wechat')
    assert.equal(d.client.getSession().session_policy, 'wechat')

    await d.client.prepareLoginCode() // wx.login: the key the session holds dies
    assert.equal(d.fetch.count('POST /v1/session/code'), 1, 'the code went to the server at once')
    assert.equal(d.client.hasPreparedLoginCode(), false, 'nothing is kept for later: the server has it')

    const seq = await lastSeq()
    await advance('2m') // past the check interval
    const calls = await checkedSince(s.user.openid, seq)
    assert.equal(calls.at(-1).errcode, 0, 'the server asked about the newest key')
    const r = await d.client.request({ path: '/v1/session' })
    assert.equal(r.status, 200)
    assert.equal(logins(d), 1, 'no re-login: the session lived on')

    // A payload after the hand-off decrypts with the session's key, no login_code.
    const info = await d.wx.getUserProfile({ desc: 'test' })
    const saved = await d.client.saveUserInfo(info)
    assert.equal(typeof saved, 'object')
  })

  test('WeChat down logs nobody out', async () => {
    const d = device('down')
    const s = await d.client.login()
    await d.client.request({ path: '/v1/session' }) // the server checks the sessions in use
    const fault = await json(dev.emulator + '/emulator/v1/faults', { method: 'POST', body: { api: 'checksession', http_status: 502 } })
    assert.equal(fault.status, 200)
    try {
      const seq = await lastSeq()
      await advance('2m')
      await checkedSince(s.user.openid, seq)
      const r = await d.client.request({ path: '/v1/session' })
      assert.equal(r.status, 200)
      assert.equal(logins(d), 1)
    } finally {
      await json(dev.emulator + '/emulator/v1/faults', { method: 'DELETE' })
    }
  })

  test('the key dies on WeChat: the server ends the session, the SDK logs in again', async () => {
    const d = device('expired')
    const s = await d.client.login()
    await d.client.request({ path: '/v1/session' }) // the server checks the sessions in use
    const cfg = await json(dev.emulator + '/emulator/v1/config', { method: 'PUT', body: { session_key_idle_timeout: '10m' } })
    assert.equal(cfg.status, 200)
    try {
      const seq = await lastSeq()
      await advance('11m')
      const calls = await checkedSince(s.user.openid, seq)
      assert.equal(calls.at(-1).errcode, 87009)
      const gone = await json(dev.api + '/v1/session', { token: s.token })
      assert.equal(gone.status, 401, 'the server ended the session')

      // The app launches again on the same device: wx.checkSession fails
      // (the key is dead), so the SDK logs in afresh.
      const again = device('expired', { user: d.user, storage: d.storage })
      const s2 = await again.client.login()
      assert.notEqual(s2.token, s.token)
      assert.equal(again.fetch.count('GET /emulator/v1/session'), 1, 'wx.checkSession was asked')
      assert.equal(logins(again), 1)
      const r = await again.client.request({ path: '/v1/session' })
      assert.equal(r.status, 200)
    } finally {
      await json(dev.emulator + '/emulator/v1/config', { method: 'PUT', body: { session_key_idle_timeout: '0s' } })
    }
  })

  test('a failed wx.checkSession ends the old session on the server too', async () => {
    const d = device('agree')
    const s = await d.client.login()
    // Another wx.login on the device that never reached this SDK: WeChat's
    // login state of the stored session is gone for this device.
    await json(dev.emulator + '/emulator/v1/login', { method: 'POST', body: { appid: DEV_APPID, user: d.user } })
    const cfg = await json(dev.emulator + '/emulator/v1/config', { method: 'PUT', body: { session_key_idle_timeout: '1m' } })
    assert.equal(cfg.status, 200)
    try {
      await advance('2m') // the stray login's key dies too: wx.checkSession fails
      const again = device('agree', { user: d.user, storage: d.storage })
      const s2 = await again.client.login()
      assert.notEqual(s2.token, s.token)
      assert.equal(again.fetch.count('DELETE /v1/session'), 1, 'the old session was ended')
      const old = await json(dev.api + '/v1/session', { token: s.token })
      assert.equal(old.status, 401)
    } finally {
      await json(dev.emulator + '/emulator/v1/config', { method: 'PUT', body: { session_key_idle_timeout: '0s' } })
    }
  })
})
