// The playground in a real browser: Debian's Chromium, driven headless by
// playwright-core, clicks through the flow on the page `wxlogin dev` serves
// and checks what the page shows. SCREENSHOT=1 also writes
// docs/playground.png; a normal run writes nothing into the repository.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { startDev } from '../test/dev-server.mjs'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

let dev, context, page, profile
const pageErrors = []
const consoleLines = []
// Every login token the server handed the page: none may be shown or logged in full.
const tokens = []

before(async () => {
  dev = await startDev()
  profile = mkdtempSync(join(tmpdir(), 'wxlogin-chromium-'))
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1360, height: 900 },
  })
  page = context.pages()[0] ?? (await context.newPage())
  page.on('pageerror', (err) => pageErrors.push(String(err)))
  page.on('console', (msg) => {
    consoleLines.push(msg.text())
    // 4xx answers are part of the flow (the browser logs each one); anything else is a bug.
    if (msg.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) {
      pageErrors.push(msg.text())
    }
  })
  page.on('response', async (res) => {
    if (new URL(res.url()).pathname === '/v1/login' && res.status() === 200) tokens.push((await res.json()).token)
  })
  // Nothing leaves the machine: only the dev server is reachable.
  await context.route((url) => !url.href.startsWith(dev.api), (route) => route.abort())
})

after(async () => {
  await context?.close()
  await dev?.stop()
  if (profile) rmSync(profile, { recursive: true, force: true })
})

/** openPlayground loads the playground afresh; when that fails, the server's output says why. */
async function openPlayground() {
  try {
    await page.goto(dev.api + '/playground/')
  } catch (err) {
    throw new Error(`${err.message}\nwxlogin dev output:\n${dev.output()}`)
  }
  await idle()
}

/** idle waits (bounded) until no action runs on the page. */
async function idle() {
  try {
    await page.waitForFunction(() => document.body.dataset.busy === 'false', null, { timeout: 15_000 })
  } catch (err) {
    // Say what the page was waiting on: the last timeline entries and any open popup.
    const tail = await page.$$eval('#timeline > li', (lis) => lis.slice(-8).map((li) => li.innerText.replace(/\s+/g, ' ')))
    const modal = await page.isVisible('#modal') ? `popup open: ${await page.textContent('#modal-title')}` : 'no popup'
    throw new Error(`${err.message}\n${modal}\ntimeline tail:\n  ${tail.join('\n  ')}\nwxlogin dev output (end):\n${dev.output().slice(-2000)}`)
  }
}

/** click presses a button and waits for its action to finish. */
async function click(id) {
  await page.click('#' + id)
  await idle()
}

/** entries returns the timeline entries after the last action header. */
async function lastAction() {
  return page.$$eval('#timeline > li', (lis) => {
    const all = lis.map((li) => ({
      lane: li.dataset.lane,
      code: li.dataset.code ?? '',
      status: li.dataset.status ?? '',
      action: li.classList.contains('action'),
      title: li.querySelector('.title')?.textContent ?? '',
      why: li.querySelector('.why')?.textContent ?? '',
    }))
    let i = all.length - 1
    while (i >= 0 && !all[i].action) i--
    return all.slice(i)
  })
}

/** assertTokensHidden checks that no login token appears in full on the page (folded details included) or on the console. */
async function assertTokensHidden() {
  assert.ok(tokens.length > 0, 'the test saw a login')
  const text = await page.evaluate(() => document.documentElement.textContent)
  for (const token of tokens) {
    assert.ok(!text.includes(token), 'a full login token is on the page')
    assert.ok(!consoleLines.some((l) => l.includes(token)), 'a full login token is on the console')
  }
}

function find(entries, pred, what) {
  const e = entries.find(pred)
  assert.ok(e, `${what} not on the timeline:\n${entries.map((x) => `${x.lane} ${x.status} ${x.code} ${x.title}`).join('\n')}`)
  return e
}

test('the playground walks the whole flow', async () => {
  await openPlayground()
  assert.equal(await page.title(), 'wxlogin playground')
  assert.equal(await page.textContent('#app-name'), 'wxdec0de0000000001')

  // Log in: wx.login on the device, POST /v1/login, wxlogin → jscode2session.
  await click('btn-login')
  let t = await lastAction()
  find(t, (e) => e.lane === 'wx' && /wx\.login/.test(e.title), 'wx.login')
  find(t, (e) => e.lane === 'wxlogin' && /POST \/v1\/login/.test(e.title) && e.status === '200', 'POST /v1/login 200')
  find(t, (e) => e.lane === 'wechat' && /jscode2session/.test(e.title) && /errcode 0/.test(e.title), 'jscode2session')
  find(t, (e) => e.lane === 'sdk' && /logged in as user/.test(e.title), 'SDK result')
  assert.notEqual(await page.textContent('#st-token'), '— (logged out)')

  // Logging in again reuses the stored token.
  await click('btn-login')
  t = await lastAction()
  find(t, (e) => /reused the stored token/.test(e.title), 'token reuse')
  assert.ok(!t.some((e) => /POST \/v1\/login/.test(e.title)), 'no second POST /v1/login')

  // Expire the session on the server, then a protected request re-logs in once.
  const tokenBefore = await page.textContent('#st-token')
  await click('btn-expire')
  find(await lastAction(), (e) => e.lane === 'dev' && e.status === '204', 'POST /dev/v1/session/expire 204')
  await click('btn-request')
  t = await lastAction()
  const refused = find(t, (e) => e.lane === 'wxlogin' && e.code === 'session_invalid', '401 session_invalid')
  assert.equal(refused.status, '401')
  assert.match(refused.why, /logs in again once/)
  assert.equal(t.filter((e) => /POST \/v1\/login/.test(e.title)).length, 1)
  find(t, (e) => e.lane === 'wxlogin' && /GET \/v1\/session/.test(e.title) && e.status === '200', 'the retried request')
  assert.notEqual(await page.textContent('#st-token'), tokenBefore)

  // Rotate the key; without a fresh login_code the payload cannot be decrypted.
  await click('btn-rotate')
  await page.uncheck('#chk-login-code')
  await click('btn-profile')
  t = await lastAction()
  // wxlogin checks the signature first, so the stale key shows as invalid_signature.
  const bad = find(t, (e) => e.lane === 'wxlogin' && /^invalid_(signature|encrypted_data)$/.test(e.code), 'invalid_signature')
  assert.equal(bad.status, '400')
  assert.match(bad.why, /login_code/)
  await page.check('#chk-login-code')
  await click('btn-profile')
  t = await lastAction()
  find(t, (e) => e.lane === 'wxlogin' && /POST \/v1\/userinfo/.test(e.title) && e.status === '200', 'user info saved')
  find(t, (e) => /user info verified and stored/.test(e.title), 'SDK result')
  if (process.env.SCREENSHOT === '1') {
    // The picture in docs/: a failed decrypt, explained, then the fix; tall
    // enough to show every card of the mini program side.
    await page.setViewportSize({ width: 1360, height: 1180 })
    await page.evaluate(() => window.scrollTo(0, 0))
    await page.screenshot({ path: join(repo, 'docs', 'playground.png') })
    await page.setViewportSize({ width: 1360, height: 900 })
  }

  // Phone number: the one-time code path on today's base library.
  await click('btn-phone')
  t = await lastAction()
  find(t, (e) => /one-time phone code/.test(e.title), 'phone code path')
  find(t, (e) => e.lane === 'wechat' && /getuserphonenumber/.test(e.title), 'wxlogin → getuserphonenumber')
  find(t, (e) => /phone number stored/.test(e.title), 'phone stored')

  // Deny a scope: ensureScope says denied; settings turn it back on; WeRun decrypts.
  await click('btn-deny')
  find(await lastAction(), (e) => /ensureScope\('scope\.werun'\) → denied/.test(e.title), 'denied scope')
  assert.match(await page.textContent('#st-scopes'), /werun: denied/)
  await click('btn-werun')
  find(await lastAction(), (e) => /→ denied/.test(e.title), 'WeRun refused while denied')
  await click('btn-settings')
  find(await lastAction(), (e) => /turned scope\.werun on/.test(e.title), 'openSetting')
  await click('btn-werun')
  t = await lastAction()
  find(t, (e) => /POST \/v1\/decrypt/.test(e.title) && e.status === '200', 'decrypt')
  find(t, (e) => /decrypted \d+ days of steps/.test(e.title), 'WeRun result')

  // The same phone flow on a 2018 base library: legacy encrypted data.
  await page.selectOption('#base-library', '2.2.0')
  await idle()
  assert.equal(await page.textContent('#lib-badge'), 'base library 2.2.0')
  assert.equal(await page.isDisabled('#btn-save-profile'), true)
  await click('btn-phone')
  t = await lastAction()
  find(t, (e) => /legacy path/.test(e.title), 'legacy phone path')
  find(t, (e) => /phone number stored/.test(e.title), 'legacy phone stored')
  await page.selectOption('#base-library', '3.5.0')
  await idle()

  // Log out: the token is gone from the page's state.
  await click('btn-logout')
  find(await lastAction(), (e) => e.lane === 'wxlogin' && /DELETE \/v1\/session/.test(e.title) && e.status === '204', 'logout')
  assert.equal(await page.textContent('#st-token'), '— (logged out)')

  await assertTokensHidden()
  assert.deepEqual(pageErrors, [], 'no errors on the page')
})

test("today's WeChat: privacy popup, avatar and nickname", async () => {
  await openPlayground()
  await click('btn-login')

  // Switch WeChat's privacy check on, refuse the popup, then agree after the pause.
  await page.check('#chk-privacy')
  await idle()
  find(await lastAction(), (e) => /PUT \/emulator\/v1\/config/.test(e.title) && e.status === '200', 'privacy_check on')

  await page.click('#btn-privacy')
  await page.waitForSelector('#modal:not([hidden])', { timeout: 10_000 })
  assert.equal(await page.textContent('#modal-title'), 'Privacy guidelines')
  await page.click('#modal-no')
  await idle()
  let t = await lastAction()
  const refused = find(t, (e) => e.lane === 'sdk' && e.code === 'privacy_not_authorized', 'privacy refusal')
  assert.match(refused.why, /ensurePrivacy/)

  // WeChat refuses a new request for a short pause after a refusal: move the emulator's clock past it.
  const moved = await fetch(dev.api + '/emulator/v1/clock', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"advance":"11s"}' })
  assert.equal(moved.status, 200)
  await page.click('#btn-privacy')
  await page.waitForSelector('#modal:not([hidden])', { timeout: 10_000 })
  await page.click('#modal-yes')
  await idle()
  find(await lastAction(), (e) => /agreed to the privacy guidelines/.test(e.title), 'agreement')

  // chooseAvatar and the nickname input, then save: the avatar comes back from wxlogin.
  await click('btn-avatar')
  assert.equal(await page.isVisible('#avatar-preview'), true)
  await click('btn-nickname')
  const nickname = await page.inputValue('#nickname')
  assert.ok(nickname.length > 0)
  await click('btn-save-profile')
  t = await lastAction()
  find(t, (e) => e.lane === 'wxlogin' && /POST \/v1\/me\/avatar/.test(e.title) && e.status === '200', 'avatar upload')
  find(t, (e) => e.lane === 'wxlogin' && /PUT \/v1\/me\/profile/.test(e.title) && e.status === '200', 'nickname')
  find(t, (e) => /profile saved/.test(e.title), 'profile saved')
  assert.equal(await page.textContent('#st-profile'), nickname)
  await page.waitForFunction(() => {
    const img = document.getElementById('st-avatar')
    return img && !img.hidden && img.complete && img.naturalWidth > 0
  }, null, { timeout: 10_000 })
  const avatarURL = await page.getAttribute('#st-avatar', 'src')

  // Uploads wxlogin must refuse: a clear error, and the stored avatar stays.
  for (const [id, code, status] of [
    ['btn-upload-text', 'unsupported_media_type', '415'],
    ['btn-upload-big', 'request_too_large', '413'],
  ]) {
    await click(id)
    t = await lastAction()
    const refusedUpload = find(t, (e) => e.lane === 'wxlogin' && /POST \/v1\/me\/avatar/.test(e.title) && e.code === code, `${code} upload`)
    assert.equal(refusedUpload.status, status)
    assert.ok(refusedUpload.why.length > 0, 'the refusal is explained')
    find(t, (e) => e.lane === 'sdk' && /nothing stored/.test(e.title), 'nothing stored')
    assert.equal(await page.getAttribute('#st-avatar', 'src'), avatarURL)
    assert.equal(await page.textContent('#st-profile'), nickname)
  }

  // getUserProfile today: the anonymised profile, explained; the filled-in one stays.
  await click('btn-profile')
  t = await lastAction()
  find(t, (e) => /anonymised "微信用户" profile/.test(e.title), 'anonymised profile note')
  find(t, (e) => e.lane === 'wxlogin' && /POST \/v1\/userinfo/.test(e.title) && e.status === '200', 'anonymised user info sent')
  find(t, (e) => /the filled-in profile stays/.test(e.title), 'filled-in profile kept')
  assert.equal(await page.textContent('#st-profile'), nickname)

  // The same user data flow on a 2018 base library, privacy check still on:
  // no privacy popup, the getUserInfo button gives the real nickname, the phone
  // comes as legacy encrypted data, and the avatar/nickname form is not there.
  await page.fill('#user', 'bob-2018')
  await page.dispatchEvent('#user', 'change')
  await page.selectOption('#base-library', '2.2.0')
  await idle()
  assert.equal(await page.isDisabled('#btn-avatar'), true)
  assert.equal(await page.isVisible('#today-note'), true)
  await click('btn-login')
  await click('btn-profile')
  t = await lastAction()
  find(t, (e) => e.lane === 'wx' && /getUserInfo · POST \/emulator\/v1\/userinfo/.test(e.title) && e.status === '200', 'getUserInfo button')
  find(t, (e) => /user info verified and stored: bob-2018$/.test(e.title), 'the real nickname')
  assert.ok(!t.some((e) => e.code === 'privacy_not_authorized'), 'no privacy check on 2.2.0')
  await click('btn-phone')
  t = await lastAction()
  find(t, (e) => /legacy path/.test(e.title), 'legacy phone path')
  find(t, (e) => /phone number stored/.test(e.title), 'legacy phone stored')
  assert.equal(await page.isHidden('#modal'), true, 'no privacy popup on 2.2.0')

  await page.selectOption('#base-library', '3.5.0')
  await page.uncheck('#chk-privacy')
  await idle()
  await assertTokensHidden()
  assert.deepEqual(pageErrors, [], 'no errors on the page')
})
