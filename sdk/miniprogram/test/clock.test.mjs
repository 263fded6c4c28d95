// Session expiry by the server's clock (POST /dev/v1/clock), on a server of
// its own so moving the clock disturbs no other test.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { DEV_APPID, countingFetch, json, devServerForFile, uniqueUser } from './dev-server.mjs'

const require = createRequire(import.meta.url)
const { createClient } = require('../dist/index.js')
const { createSimulatedWx } = require('../dist/simulated-wx.js')

const dev = devServerForFile()

test('idle expiry on the server clock: transparent re-login, same user', async () => {
  const fetch = countingFetch()
  const wx = createSimulatedWx({ emulatorURL: dev.emulator, appid: DEV_APPID, user: uniqueUser('clock'), fetch })
  const client = createClient({ baseURL: dev.api, wx })
  const s1 = await client.login()
  assert.equal((await json(dev.api + '/v1/session', { token: s1.token })).status, 200)

  // Past the 7-day idle timeout (and not yet the 30-day absolute one).
  const moved = await json(dev.api + '/dev/v1/clock', { method: 'POST', body: { advance: '193h' } })
  assert.equal(moved.status, 200)
  assert.ok(Date.parse(moved.body.now) > Date.now() + 7 * 24 * 3600 * 1000, moved.body.now)
  const refused = await json(dev.api + '/v1/session', { token: s1.token })
  assert.equal(refused.status, 401)
  assert.equal(refused.body.error.code, 'session_invalid')

  // The stored token looks fine on the device (the device's clock did not
  // move and wx.checkSession succeeds): the server's 401 drives the re-login.
  const r = await client.request({ path: '/v1/session' })
  assert.equal(r.status, 200)
  assert.equal(r.data.user.id, s1.user.id)
  assert.equal(fetch.count('POST /v1/login'), 2)
  assert.notEqual(client.getToken(), s1.token)
  assert.ok(Date.parse(r.data.expires_at) > Date.parse(moved.body.now), 'the new session lives on the moved clock')
})
