// The SDK inside WeCom (企业微信) against a real `wxlogin dev --wecom`: the
// simulated wx plays WeCom (wx.qy.login, wx.qy.checkSession,
// environment "wxwork"), and the server's WeCom app trades the codes at the
// emulator's WeCom.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { DEV_APPID, countingFetch, devServerForFile, json, uniqueUser } from './dev-server.mjs'

const require = createRequire(import.meta.url)
const { createClient, runsInWeCom, WxloginError } = require('../dist/index.js')
const { createSimulatedWx } = require('../dist/simulated-wx.js')

const dev = devServerForFile(undefined, ['--wecom'])

const CORP = 'wwdec0de000000c001'
const OTHER_CORP = 'wwdec0de000000c002'
const WECOM_APP = 'wecom-dev'

/** member makes a device inside WeCom for a new member of corpid. */
function member(name, { corpid = CORP, storage = new Map(), user = uniqueUser(name), client = {} } = {}) {
  const fetch = countingFetch()
  const wx = createSimulatedWx({ emulatorURL: dev.emulator, appid: DEV_APPID, user, fetch, storage, wecom: { corpid } })
  // One build for both worlds: appid in WeChat, wecomAppid inside WeCom.
  const c = createClient({ baseURL: dev.api, wx, appid: DEV_APPID, wecomAppid: WECOM_APP, ...client })
  return { wx, client: c, fetch, storage, user }
}

describe('inside WeCom', () => {
  test('detection: wx.qy.login and environment "wxwork"', () => {
    const inside = createSimulatedWx({ emulatorURL: dev.emulator, appid: DEV_APPID, user: 'x', wecom: { corpid: CORP } })
    const outside = createSimulatedWx({ emulatorURL: dev.emulator, appid: DEV_APPID, user: 'x' })
    assert.equal(inside.getSystemInfoSync().environment, 'wxwork')
    assert.equal(outside.getSystemInfoSync().environment, undefined)
    assert.equal(outside.qy, undefined)
    assert.equal(runsInWeCom(inside), true)
    assert.equal(runsInWeCom(outside), false)
    // wx.qy without the environment (a WeChat devtools quirk) is not WeCom.
    assert.equal(runsInWeCom({ ...outside, qy: inside.qy }), false)
  })

  test('login with wx.qy.login: the member is (corpid, userid), no openid', async () => {
    const d = member('zhang')
    const s = await d.client.login()
    assert.equal(s.user.appid, WECOM_APP)
    assert.equal(s.user.corpid, CORP)
    assert.equal(s.user.userid, d.user)
    assert.equal(s.user.openid, undefined)
    assert.equal(s.user.created, true)
    assert.equal(d.fetch.count('POST /emulator/v1/wecom/login'), 1)
    assert.equal(d.fetch.count('POST /emulator/v1/login'), 0, 'wx.login is not used inside WeCom')

    // Forward-auth tells a backend the corp and the userid.
    const r = await fetch(dev.api + '/v1/auth', { headers: { Authorization: 'Bearer ' + s.token } })
    assert.equal(r.status, 200)
    assert.equal(r.headers.get('x-wxlogin-corpid'), CORP)
    assert.equal(r.headers.get('x-wxlogin-wecom-userid'), d.user)
    assert.equal(r.headers.get('x-wxlogin-openid'), '')
  })

  test('the next launch reuses the session after wx.qy.checkSession', async () => {
    const first = member('li')
    const s1 = await first.client.login()
    const again = member('li', { user: first.user, storage: first.storage })
    const s2 = await again.client.login()
    assert.equal(s2.token, s1.token)
    assert.equal(again.fetch.count('GET /emulator/v1/wecom/session'), 1, 'wx.qy.checkSession was asked')
    assert.equal(again.fetch.count('GET /emulator/v1/session'), 0, 'not wx.checkSession')
    assert.equal(again.fetch.count('POST /v1/login'), 0)
  })

  test('a member of another corp: wrong_corp, not retried', async () => {
    const d = member('wang', { corpid: OTHER_CORP })
    await assert.rejects(d.client.login(), (err) => err instanceof WxloginError && err.code === 'wrong_corp' && err.status === 403)
    assert.equal(d.fetch.count('POST /v1/login'), 1)
  })

  test('wecom: false logs in with wx.login even inside WeCom', async () => {
    const d = member('zhao', { client: { wecom: false } })
    const s = await d.client.login()
    assert.equal(s.user.appid, DEV_APPID)
    assert.match(s.user.openid, /\S+/)
    assert.equal(d.fetch.count('POST /emulator/v1/wecom/login'), 0)
  })

  test('the same build in WeChat logs in with wx.login to appid', async () => {
    const fetch = countingFetch()
    const wx = createSimulatedWx({ emulatorURL: dev.emulator, appid: DEV_APPID, user: uniqueUser('wechat'), fetch })
    const s = await createClient({ baseURL: dev.api, wx, appid: DEV_APPID, wecomAppid: WECOM_APP }).login()
    assert.equal(s.user.appid, DEV_APPID)
    assert.equal(s.user.corpid, undefined)
    assert.equal(fetch.count('POST /emulator/v1/login'), 1)
  })
})
