// Today's WeChat through the SDK and the simulated wx against a real
// `wxlogin dev`: privacy agreement, the avatar/nickname profile, anonymised
// getUserProfile, and the same flow on a 2018 base library. The emulator's
// privacy check (on by default) is switched on explicitly for this file's own
// server.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { DEV_APPID, countingFetch, json, devServerForFile, uniqueUser } from './dev-server.mjs'

const require = createRequire(import.meta.url)
const { createClient, isAnonymousProfile, isWxloginError } = require('../dist/index.js')
const { createSimulatedWx } = require('../dist/simulated-wx.js')

const dev = devServerForFile(async ({ emulator }) => {
  const r = await json(emulator + '/emulator/v1/config', { method: 'PUT', body: { privacy_check: true } })
  assert.equal(r.status, 200, JSON.stringify(r.body))
})

function device(name, wxOptions = {}) {
  const fetch = countingFetch()
  const user = uniqueUser(name)
  const wx = createSimulatedWx({ emulatorURL: dev.emulator, appid: DEV_APPID, user, fetch, ...wxOptions })
  const client = createClient({ baseURL: dev.api, wx })
  return { wx, client, fetch, user }
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47]
const JPEG_MAGIC = [0xff, 0xd8, 0xff]
const startsWith = (bytes, magic) => magic.every((b, i) => bytes[i] === b)

test('privacy refused, then agreed after the pause', async () => {
  const d = device('privacy')
  let answer = false
  let asked = 0
  d.client.onPrivacyPrompt(async () => {
    asked++
    return answer
  })
  await d.client.login()

  const setting = await d.wx.getPrivacySetting()
  assert.equal(setting.needAuthorization, true)
  assert.match(setting.privacyContractName, /隐私/)

  await assert.rejects(d.client.ensurePrivacy(), (err) => {
    assert.ok(isWxloginError(err, 'privacy_not_authorized'), String(err))
    assert.equal(err.errno, 104)
    assert.match(err.errMsg, /privacy permission is not authorized/)
    return true
  })
  assert.equal(asked, 1)

  // Within the pause after a refusal WeChat refuses at once, without a popup:
  // a privacy API fails the way WeChat does, and savePhone says why...
  answer = true
  const refused = await d.wx.simulated.getPhoneNumberDetail()
  assert.equal(refused.errno, 104)
  await assert.rejects(d.client.savePhone(refused), (err) => isWxloginError(err, 'privacy_not_authorized'))
  assert.equal(d.fetch.count('POST /v1/phone'), 0)
  // ...and so does ensurePrivacy, although the user would agree now.
  await assert.rejects(d.client.ensurePrivacy(), (err) => {
    assert.ok(isWxloginError(err, 'privacy_not_authorized'), String(err))
    assert.equal(err.errno, 104)
    return true
  })
  assert.equal(asked, 1, 'no popup within the pause')

  // After the pause the user is asked again.
  assert.equal((await json(dev.emulator + '/emulator/v1/clock', { method: 'POST', body: { advance: '11s' } })).status, 200)
  const agreed = await d.client.ensurePrivacy()
  assert.equal(asked, 2)
  assert.equal(agreed.asked, true)
  assert.match(agreed.contractName, /隐私/)
  assert.deepEqual(await d.client.ensurePrivacy(), { asked: false, contractName: agreed.contractName }, 'asked once only')

  const phone = await d.client.savePhone(await d.wx.simulated.getPhoneNumberDetail())
  assert.match(phone.purePhoneNumber, /^\d{11}$/)
})

test("within the pause WeChat's own popup is not shown either; after it, it is", async () => {
  let shown = 0
  const answers = [false, true]
  const d = device('privacy-own', { prompts: { privacy: () => (shown++, answers.shift()) } })
  await d.client.login()
  assert.equal((await d.wx.simulated.chooseAvatarDetail()).errno, 104, 'refused in the popup')
  assert.equal(shown, 1)
  assert.equal((await d.wx.simulated.nicknameDetail()).errno, 104, 'refused at once')
  assert.equal(shown, 1, 'no popup within the pause')
  assert.equal((await json(dev.emulator + '/emulator/v1/clock', { method: 'POST', body: { advance: '11s' } })).status, 200)
  assert.equal((await d.wx.simulated.nicknameDetail()).errMsg, 'nickname:ok')
  assert.equal(shown, 2)
  assert.equal((await d.wx.simulated.chooseAvatarDetail()).errMsg, 'chooseAvatar:ok', 'agreed once for every privacy API')
  assert.equal(shown, 2)
})

test('ensurePrivacy: a failure that is not a refusal is not privacy_not_authorized', async () => {
  // The device loses the network while asking WeChat.
  const fetch = countingFetch()
  const d = device('privacy-offline', {
    fetch: async (url, init = {}) => {
      if (new URL(url).pathname === '/emulator/v1/privacy') throw new TypeError('fetch failed')
      return fetch(url, init)
    },
  })
  let asked = 0
  d.client.onPrivacyPrompt(async () => (asked++, true))
  await assert.rejects(d.client.ensurePrivacy(), (err) => {
    assert.ok(isWxloginError(err, 'wx_api_failed'), String(err))
    assert.match(err.errMsg, /^(getPrivacySetting|requirePrivacyAuthorize):fail .*fetch failed/)
    assert.equal(err.errno, undefined)
    return true
  })
  assert.equal(asked, 0)
  const setting = await json(`${dev.emulator}/emulator/v1/privacy?appid=${DEV_APPID}&user=${encodeURIComponent(d.user)}`)
  assert.equal(setting.body.needAuthorization, true, 'nothing was decided')
})

test('avatar and nickname saved and served back', async () => {
  const d = device('profile')
  d.client.onPrivacyPrompt(async () => true)
  await d.client.login()
  await d.client.ensurePrivacy()

  const avatar = await d.wx.simulated.chooseAvatarDetail()
  assert.equal(avatar.errMsg, 'chooseAvatar:ok')
  const nick = await d.wx.simulated.nicknameDetail()
  assert.equal(nick.errMsg, 'nickname:ok')
  assert.ok(nick.value)

  const saved = await d.client.saveProfile({ avatarPath: avatar.avatarUrl, nickname: nick.value })
  assert.equal(saved.profile.nickname, nick.value)
  assert.equal(d.fetch.count('POST /v1/me/avatar'), 1)
  assert.equal(d.fetch.count('PUT /v1/me/profile'), 1)

  const me = await d.client.me()
  assert.equal(me.profile.nickname, nick.value)
  assert.match(me.profile.avatar_url, /^\/v1\/avatars\/\S+$/)
  const res = await fetch(dev.api + me.profile.avatar_url)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type'), /^image\/(png|jpeg|webp)$/)
  assert.match(res.headers.get('cache-control') ?? '', /max-age/)
  const bytes = new Uint8Array(await res.arrayBuffer())
  assert.ok(startsWith(bytes, PNG_MAGIC) || startsWith(bytes, JPEG_MAGIC), 'an image comes back')
})

test('a non-image or oversized upload is refused and nothing is stored', async () => {
  const d = device('upload')
  await d.client.login()
  const before = await d.client.me()
  assert.equal(before.profile.avatar_url, null)

  const text = d.wx.simulated.addTempFile('<svg onload="alert(1)"></svg>', 'image/png')
  await assert.rejects(d.client.saveProfile({ avatarPath: text }), (err) => {
    assert.ok(isWxloginError(err, 'unsupported_media_type'), String(err))
    assert.equal(err.status, 415)
    return true
  })

  const big = new Uint8Array(2 * 1024 * 1024 + 1)
  big.set(PNG_MAGIC)
  const bigPath = d.wx.simulated.addTempFile(big, 'image/png')
  await assert.rejects(d.client.saveProfile({ avatarPath: bigPath }), (err) => {
    assert.ok(isWxloginError(err, 'request_too_large'), String(err))
    assert.equal(err.status, 413)
    return true
  })

  const after = await d.client.me()
  assert.equal(after.profile.avatar_url, null, 'nothing stored')
})

test('an anonymised getUserProfile does not overwrite a filled-in profile', async () => {
  const d = device('anon')
  d.client.onPrivacyPrompt(async () => true)
  await d.client.login()
  await d.client.ensurePrivacy()
  await d.client.saveProfile({ nickname: 'Alice Filled-In' })

  const res = await d.wx.getUserProfile({ desc: 'test' })
  assert.equal(res.errMsg, 'getUserProfile:ok')
  assert.equal(isAnonymousProfile(res.userInfo), true, 'base library 3.5.0 anonymises getUserProfile')
  assert.equal(res.userInfo.gender, 0)
  await d.client.prepareLoginCode()
  const again = await d.wx.getUserProfile({ desc: 'test' })
  const info = await d.client.saveUserInfo(again)
  assert.equal(info.nickName, '微信用户')

  const me = await d.client.me()
  assert.equal(me.profile.nickname, 'Alice Filled-In')
})

test('the same flow on a 2018 base library: no privacy APIs, real user info, legacy phone', async () => {
  const d = device('old', { baseLibrary: '2.2.0' })
  assert.equal(typeof d.wx.getPrivacySetting, 'undefined')
  assert.equal(typeof d.wx.getUserProfile, 'undefined')
  assert.deepEqual(await d.client.ensurePrivacy(), { asked: false })

  const s = await d.client.login()
  assert.equal(s.user.created, true)
  const detail = await d.wx.simulated.getUserInfoDetail()
  assert.equal(detail.errMsg, 'getUserInfo:ok')
  assert.equal(isAnonymousProfile(detail.userInfo), false)
  const info = await d.client.saveUserInfo(detail)
  assert.equal(info.nickName, d.user, 'the real nickname before 2.27.1')

  const phoneDetail = await d.wx.simulated.getPhoneNumberDetail()
  assert.equal(phoneDetail.code, undefined)
  const phone = await d.client.savePhone(phoneDetail)
  assert.match(phone.purePhoneNumber, /^\d{11}$/)

  const avatar = await d.wx.simulated.chooseAvatarDetail()
  assert.match(avatar.errMsg, /^chooseAvatar:fail/)
  const me = await d.client.me()
  assert.equal(me.phone.purePhoneNumber, phone.purePhoneNumber)
  assert.equal(me.user_info.nickName, d.user)
})
