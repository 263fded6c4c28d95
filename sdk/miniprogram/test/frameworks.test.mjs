// The SDK driven through Taro-shaped and uni-app-shaped objects, against a
// real `wxlogin dev`. Taro's and uni-app's APIs mirror wx (Taro.login,
// uni.request, ...) with their own calling conventions; the objects here
// reproduce those conventions over the simulated wx, so the SDK is shown to
// work with both without depending on either.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { DEV_APPID, countingFetch, devServerForFile, json, uniqueUser } from './dev-server.mjs'

const require = createRequire(import.meta.url)
const { createClient, WxloginError } = require('../dist/index.js')
const { createSimulatedWx } = require('../dist/simulated-wx.js')

const dev = devServerForFile(undefined, ['--wecom'])

// The wx APIs the SDK calls that are asynchronous (callbacks) or synchronous.
const ASYNC = ['login', 'checkSession', 'request', 'getSetting', 'authorize', 'openSetting', 'uploadFile', 'getPrivacySetting', 'requirePrivacyAuthorize']
const SYNC = ['getStorageSync', 'setStorageSync', 'removeStorageSync', 'getSystemInfoSync', 'onNeedPrivacyAuthorization']

/**
 * taroShaped is `Taro` as @tarojs/taro exposes it in a WeChat mini program:
 * every asynchronous API returns a promise, and also calls the callbacks it
 * is given; the promise rejects on failure even when a fail callback was
 * given (a Taro app that ignores it gets an unhandled rejection).
 */
function taroShaped(wx) {
  const taro = { calls: [] }
  for (const name of ASYNC) {
    if (typeof wx[name] !== 'function') continue
    taro[name] = (opts = {}) => {
      taro.calls.push(name)
      return new Promise((resolve, reject) => {
        wx[name]({
          ...opts,
          success: (res) => {
            opts.success?.(res)
            opts.complete?.(res)
            resolve(res)
          },
          fail: (err) => {
            opts.fail?.(err)
            opts.complete?.(err)
            reject(err)
          },
        })
      })
    }
  }
  for (const name of SYNC) if (typeof wx[name] === 'function') taro[name] = (...a) => wx[name](...a)
  return taro
}

/**
 * uniShaped is `uni` in a uni-app build for WeChat mini programs: with
 * callbacks it calls them and returns nothing; without, it returns a
 * promise that (Vue 2 projects) resolves to [err, res]. uni.login takes a
 * provider ('weixin'), and getSystemInfoSync adds uni's own fields.
 */
function uniShaped(wx) {
  const uni = { calls: [], providers: [] }
  for (const name of ASYNC) {
    if (typeof wx[name] !== 'function') continue
    uni[name] = (opts = {}) => {
      uni.calls.push(name)
      if (name === 'login') uni.providers.push(opts.provider)
      const { provider, ...rest } = opts
      if (opts.success || opts.fail || opts.complete) {
        wx[name](rest)
        return undefined
      }
      return new Promise((resolve) => wx[name]({ ...rest, success: (res) => resolve([null, res]), fail: (err) => resolve([err, undefined]) }))
    }
  }
  for (const name of SYNC) if (typeof wx[name] === 'function') uni[name] = (...a) => wx[name](...a)
  const info = uni.getSystemInfoSync
  uni.getSystemInfoSync = () => ({ ...info(), uniPlatform: 'mp-weixin', hostName: 'WeChat' })
  return uni
}

/** watchRejections records unhandled promise rejections while a test runs. */
function watchRejections(t) {
  const seen = []
  const on = (reason) => seen.push(reason)
  process.on('unhandledRejection', on)
  t.after(() => process.off('unhandledRejection', on))
  return seen
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50))

for (const [framework, shape] of [
  ['Taro', taroShaped],
  ['uni-app', uniShaped],
]) {
  describe(`through a ${framework}-shaped object`, () => {
    test('login, a request with the token, the stored session reused on the next launch', async (t) => {
      const rejections = watchRejections(t)
      const storage = new Map()
      const user = uniqueUser(framework)
      const fetch = countingFetch()
      const api = shape(createSimulatedWx({ emulatorURL: dev.emulator, appid: DEV_APPID, user, fetch, storage }))
      const client = createClient({ baseURL: dev.api, wx: api, appid: DEV_APPID })
      const s = await client.login()
      assert.equal(s.user.appid, DEV_APPID)
      assert.match(s.user.openid, /\S+/)
      assert.deepEqual(api.calls.slice(0, 2), ['login', 'request'])
      const r = await client.request({ path: '/v1/session' })
      assert.equal(r.status, 200)
      assert.equal(r.data.user.id, s.user.id)
      assert.equal(api.getStorageSync('wxlogin:session').token, s.token, `the session is in ${framework}'s storage`)

      // The app launches again: a new object over the same storage.
      const again = shape(createSimulatedWx({ emulatorURL: dev.emulator, appid: DEV_APPID, user, fetch, storage }))
      const s2 = await createClient({ baseURL: dev.api, wx: again, appid: DEV_APPID }).login()
      assert.equal(s2.token, s.token)
      assert.deepEqual(again.calls, ['checkSession'])
      await settle()
      assert.deepEqual(rejections, [])
    })

    test('failures reach the caller as WxloginError, and nothing is left unhandled', async (t) => {
      const rejections = watchRejections(t)
      const user = uniqueUser(framework)
      const prompts = { authorize: () => false } // the user refuses every scope
      const api = shape(createSimulatedWx({ emulatorURL: dev.emulator, appid: DEV_APPID, user, prompts }))
      const client = createClient({ baseURL: dev.api, wx: api, appid: DEV_APPID })
      await client.login()
      // wx.checkSession failing (a new wx.login elsewhere rotated the key) and a request refused.
      await json(dev.emulator + '/emulator/v1/login', { method: 'POST', body: { appid: DEV_APPID, user } })
      const fresh = createClient({ baseURL: dev.api, wx: api, appid: DEV_APPID })
      await fresh.login() // checkSession fails, then a new login
      await assert.rejects(fresh.request({ path: '/v1/nope' }), (err) => err instanceof WxloginError && err.status === 404)
      // A failing wx API: wx.authorize, which the user refuses.
      assert.equal((await fresh.ensureScope('scope.record')).status, 'denied')
      await settle()
      assert.deepEqual(rejections, [], 'no unhandled rejection from the framework promises')
    })

    test('inside WeCom: wx.qy.login and the WeCom app', async (t) => {
      const rejections = watchRejections(t)
      const fetch = countingFetch()
      const inner = createSimulatedWx({ emulatorURL: dev.emulator, appid: DEV_APPID, user: uniqueUser('wecom'), fetch, wecom: { corpid: 'wwdec0de000000c001' } })
      // Neither framework wraps wx.qy: the app hands the SDK the framework
      // object with wx.qy beside it.
      const api = Object.assign(shape(inner), { qy: inner.qy })
      const client = createClient({ baseURL: dev.api, wx: api, appid: DEV_APPID, wecomAppid: 'wecom-dev' })
      const s = await client.login()
      assert.equal(s.user.appid, 'wecom-dev')
      assert.equal(s.user.corpid, 'wwdec0de000000c001')
      assert.equal(s.user.openid, undefined)
      assert.equal(fetch.count('POST /emulator/v1/wecom/login'), 1)
      assert.equal(fetch.count('POST /emulator/v1/login'), 0)
      await settle()
      assert.deepEqual(rejections, [])
    })
  })
}
