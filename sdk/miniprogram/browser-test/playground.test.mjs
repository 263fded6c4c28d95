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
  // Count every time the privacy (or any) popup opens on this page.
  await page.evaluate(() => {
    const modal = document.getElementById('modal')
    window.popupsShown = 0
    new MutationObserver(() => {
      if (!modal.hidden) window.popupsShown++
    }).observe(modal, { attributes: true, attributeFilter: ['hidden'] })
  })
}

/** popups returns how many times a popup opened since the page was loaded. */
async function popups() {
  return page.evaluate(() => window.popupsShown)
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

/** answerPopup presses a button that opens a popup, checks its title, answers it and waits for the action to finish. */
async function answerPopup(id, title, agree) {
  await page.click('#' + id)
  await page.waitForSelector('#modal:not([hidden])', { timeout: 10_000 })
  assert.equal(await page.textContent('#modal-title'), title)
  await page.click(agree ? '#modal-yes' : '#modal-no')
  await idle()
}

/** lastAction returns the timeline entries from the last action header on. */
async function lastAction() {
  return page.$$eval('#timeline > li', (lis) => {
    const all = lis.map((li) => ({
      lane: li.dataset.lane,
      code: li.dataset.code ?? '',
      status: li.dataset.status ?? '',
      action: li.classList.contains('action'),
      title: li.querySelector('.title')?.textContent ?? '',
      why: li.querySelector('.why')?.textContent ?? '',
      details: li.querySelector('details')?.textContent ?? '',
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

/** playAs switches the page to another simulated user and base library. */
async function playAs(user, baseLibrary) {
  await page.fill('#user', user)
  await page.dispatchEvent('#user', 'change')
  await page.selectOption('#base-library', baseLibrary)
  await idle()
}

async function emulatorConfig() {
  return (await fetch(dev.api + '/emulator/v1/config')).json()
}

const isPrivacyCall = (e) => e.lane === 'wx' && /privacy/i.test(e.title) && !/getPrivacySetting/.test(e.title)

test('the playground walks the whole flow', async () => {
  await openPlayground()
  assert.equal(await page.title(), 'wxlogin playground')
  assert.equal(await page.textContent('#app-name'), 'wxdec0de0000000001')
  assert.equal(await page.isChecked('#chk-privacy'), true, "the box shows the emulator's privacy check, on by default")

  // Log in: wx.login on the device, POST /v1/login, wxlogin → jscode2session
  // (what it sent and what came back, secrets redacted).
  await click('btn-login')
  let t = await lastAction()
  find(t, (e) => e.lane === 'wx' && /wx\.login/.test(e.title), 'wx.login')
  find(t, (e) => e.lane === 'wxlogin' && /POST \/v1\/login/.test(e.title) && e.status === '200', 'POST /v1/login 200')
  const exchange = find(t, (e) => e.lane === 'wechat' && e.title === 'jscode2session · GET /sns/jscode2session → ok', 'jscode2session')
  assert.equal(exchange.status, '200')
  assert.match(exchange.details, /"js_code": "[^"(]+"/)
  assert.match(exchange.details, /"secret": "\(redacted\)"/)
  assert.match(exchange.details, /"openid": "[^"]+"/)
  assert.match(exchange.details, /"session_key": "\(redacted\)"/)
  find(t, (e) => e.lane === 'sdk' && /logged in as user/.test(e.title), 'SDK result')
  assert.notEqual(await page.textContent('#st-token'), '— (logged out)')

  // Logging in again reuses the stored token.
  await click('btn-login')
  t = await lastAction()
  find(t, (e) => /reused the stored token/.test(e.title), 'token reuse')
  assert.ok(!t.some((e) => /POST \/v1\/login/.test(e.title)), 'no second POST /v1/login')
  assert.ok(!t.some((e) => e.lane === 'wechat'), 'no WeChat call')

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
  assert.match(find(t, (e) => e.lane === 'sdk' && /✓ HTTP 200/.test(e.title), 'SDK result').why, /refused \(401 session_invalid\)/)
  assert.notEqual(await page.textContent('#st-token'), tokenBefore)

  // Rotate the key; without a fresh login_code the payload cannot be decrypted.
  // getUserProfile is the first privacy API: the SDK's privacy flow shows the
  // playground's popup first, and the user agrees.
  await click('btn-rotate')
  await page.uncheck('#chk-login-code')
  await answerPopup('btn-profile', 'Privacy guidelines', true)
  t = await lastAction()
  assert.equal((await lastAction())[0].title, '▶ user info')
  find(t, (e) => e.lane === 'wx' && /wx\.getPrivacySetting/.test(e.title) && e.status === '200', 'getPrivacySetting')
  find(t, (e) => e.lane === 'wx' && /privacy popup answer/.test(e.title) && e.status === '200', 'the agreement')
  // wxlogin checks the signature first, so the stale key shows as invalid_signature.
  const bad = find(t, (e) => e.lane === 'wxlogin' && /^invalid_(signature|encrypted_data)$/.test(e.code), 'invalid_signature')
  assert.equal(bad.status, '400')
  assert.match(bad.why, /login_code/)
  await page.check('#chk-login-code')
  const shown = await popups()
  await click('btn-profile')
  t = await lastAction()
  assert.equal(await popups(), shown, 'agreed once: no second popup')
  find(t, (e) => e.lane === 'wxlogin' && /POST \/v1\/userinfo/.test(e.title) && e.status === '200', 'user info saved')
  find(t, (e) => /user info verified and stored/.test(e.title), 'SDK result')
  if (process.env.SCREENSHOT === '1') {
    // The picture in docs/: a failed decrypt, explained, then the fix with
    // the login_code's exchange at WeChat unfolded; tall enough to show every
    // card of the mini program side.
    await page.setViewportSize({ width: 1360, height: 1180 })
    await page.evaluate(() => {
      const calls = document.querySelectorAll('#timeline > li[data-lane="wechat"] details')
      calls[calls.length - 1].open = true
      const list = document.getElementById('timeline')
      list.scrollTop = list.scrollHeight
      window.scrollTo(0, 0)
    })
    await page.screenshot({ path: join(repo, 'docs', 'playground.png') })
    await page.setViewportSize({ width: 1360, height: 900 })
  }

  // Phone number: the one-time code path on today's base library; wxlogin
  // trades the button's code with WeChat.
  await click('btn-phone')
  t = await lastAction()
  find(t, (e) => /one-time phone code/.test(e.title), 'phone code path')
  const traded = find(t, (e) => e.lane === 'wechat' && /^getuserphonenumber · POST \/wxa\/business\/getuserphonenumber → ok$/.test(e.title), 'wxlogin → getuserphonenumber')
  assert.match(traded.details, /"code": "[^"(]+"/)
  assert.match(traded.details, /"access_token": "\(redacted\)"/)
  assert.match(traded.details, /"purePhoneNumber": "\d{11}"/)
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

  // The same phone flow on a 2018 base library: legacy encrypted data, and
  // nobody is asked about privacy.
  await page.selectOption('#base-library', '2.2.0')
  await idle()
  assert.equal(await page.textContent('#lib-badge'), 'base library 2.2.0')
  assert.equal(await page.isDisabled('#btn-save-profile'), true)
  await click('btn-phone')
  t = await lastAction()
  find(t, (e) => /legacy path/.test(e.title), 'legacy phone path')
  find(t, (e) => /phone number stored/.test(e.title), 'legacy phone stored')
  assert.ok(!t.some((e) => isPrivacyCall(e) || /getPrivacySetting/.test(e.title)), 'no privacy API on 2.2.0')
  assert.equal(await popups(), shown, 'no popup on 2.2.0')
  await page.selectOption('#base-library', '3.5.0')
  await idle()

  // Log out: the token is gone from the page's state.
  await click('btn-logout')
  find(await lastAction(), (e) => e.lane === 'wxlogin' && /DELETE \/v1\/session/.test(e.title) && e.status === '204', 'logout')
  assert.equal(await page.textContent('#st-token'), '— (logged out)')

  // Without a token a protected request logs in first: no 401 anywhere, and the page does not claim one.
  await click('btn-request')
  t = await lastAction()
  assert.ok(!t.some((e) => e.code === 'session_invalid'), 'no 401')
  assert.equal(t.filter((e) => /POST \/v1\/login/.test(e.title)).length, 1)
  const first = find(t, (e) => e.lane === 'sdk' && /✓ HTTP 200/.test(e.title), 'SDK result')
  assert.match(first.why, /no usable token/)
  assert.doesNotMatch(first.why, /401|refused/)

  await assertTokensHidden()
  assert.deepEqual(pageErrors, [], 'no errors on the page')
})

test("today's WeChat: privacy popup, avatar and nickname", async () => {
  await openPlayground()
  assert.equal(await page.isChecked('#chk-privacy'), true)
  await playAs('carol', '3.5.0')
  await click('btn-login')

  // The first privacy API (the phone button) goes through the SDK's privacy
  // flow and the playground's popup: the user refuses, nothing reaches wxlogin.
  await answerPopup('btn-phone', 'Privacy guidelines', false)
  let t = await lastAction()
  find(t, (e) => e.lane === 'wx' && /wx\.getPrivacySetting/.test(e.title), 'getPrivacySetting')
  find(t, (e) => e.lane === 'wx' && /privacy popup answer/.test(e.title) && e.code === 'privacy_not_authorized', 'the refusal sent')
  const refused = find(t, (e) => e.lane === 'sdk' && e.code === 'privacy_not_authorized', 'privacy refusal')
  assert.match(refused.why, /ensurePrivacy/)
  assert.ok(!t.some((e) => /POST \/v1\/phone/.test(e.title)), 'nothing sent to wxlogin')

  // Within the pause after a refusal WeChat refuses at once, without a popup.
  const shown = await popups()
  assert.equal(shown, 1)
  await click('btn-phone')
  t = await lastAction()
  assert.equal(await popups(), shown, 'no popup within the pause')
  // The simulated phone reads the pause left from the privacy setting.
  find(t, (e) => e.lane === 'wx' && /wx\.getPrivacySetting/.test(e.title) && e.status === '200', 'the pause check')
  assert.ok(!t.some((e) => /privacy popup answer/.test(e.title)), 'no answer without a popup')
  assert.match(find(t, (e) => e.lane === 'sdk' && e.code === 'privacy_not_authorized', 'refused at once').why, /10 s/)

  // After the pause (move the emulator's clock past it) the user is asked again, and agrees.
  const moved = await fetch(dev.api + '/emulator/v1/clock', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"advance":"11s"}' })
  assert.equal(moved.status, 200)
  await answerPopup('btn-privacy', 'Privacy guidelines', true)
  find(await lastAction(), (e) => /agreed to the privacy guidelines/.test(e.title), 'agreement')
  assert.equal(await popups(), shown + 1)
  await click('btn-phone')
  find(await lastAction(), (e) => /phone number stored/.test(e.title), 'phone stored')
  assert.equal(await popups(), shown + 1, 'agreed once for every privacy API')

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
  await playAs('bob-2018', '2.2.0')
  assert.equal(await page.isDisabled('#btn-avatar'), true)
  assert.equal(await page.isDisabled('#chk-privacy'), true)
  assert.equal(await page.isVisible('#today-note'), true)
  await click('btn-login')
  await click('btn-profile')
  t = await lastAction()
  find(t, (e) => e.lane === 'wx' && /getUserInfo · POST \/emulator\/v1\/userinfo/.test(e.title) && e.status === '200', 'getUserInfo button')
  find(t, (e) => /user info verified and stored: bob-2018$/.test(e.title), 'the real nickname')
  assert.ok(!t.some((e) => e.code === 'privacy_not_authorized' || isPrivacyCall(e)), 'no privacy check on 2.2.0')
  await click('btn-phone')
  t = await lastAction()
  find(t, (e) => /legacy path/.test(e.title), 'legacy phone path')
  find(t, (e) => /phone number stored/.test(e.title), 'legacy phone stored')
  assert.equal(await popups(), shown + 1, 'no privacy popup on 2.2.0')

  // The box is the emulator's knob: unticked, a new user on today's device is never asked.
  await playAs('dave', '3.5.0')
  await page.uncheck('#chk-privacy')
  await idle()
  find(await lastAction(), (e) => /PUT \/emulator\/v1\/config/.test(e.title) && e.status === '200', 'privacy_check off')
  assert.equal((await emulatorConfig()).privacy_check, false)
  await click('btn-login')
  await click('btn-phone')
  t = await lastAction()
  find(t, (e) => /phone number stored/.test(e.title), 'phone stored without an agreement')
  assert.ok(!t.some(isPrivacyCall), 'nobody asked')
  assert.equal(await popups(), shown + 1)

  // A reloaded page shows the emulator's setting; ticking the box turns the check back on.
  await openPlayground()
  assert.equal(await page.isChecked('#chk-privacy'), false)
  await page.check('#chk-privacy')
  await idle()
  assert.equal((await emulatorConfig()).privacy_check, true)
  assert.equal(await page.isChecked('#chk-privacy'), true)

  await assertTokensHidden()
  assert.deepEqual(pageErrors, [], 'no errors on the page')
})

test('web logins: an H5 page in WeChat and a website QR code, one account, CSRF at forward-auth', async () => {
  await openPlayground()
  await page.fill('#user', 'webby')
  await page.dispatchEvent('#user', 'change')
  await idle()
  const status = (pane) => page.textContent(`#${pane}-status`)

  // The H5 page: snsapi_userinfo, allowed on the phone; back on the page with the session cookie.
  await click('btn-h5-userinfo')
  assert.equal(await status('h5'), 'waiting for the phone')
  await click('btn-h5-allow')
  await page.waitForFunction(() => document.getElementById('h5-status').textContent === 'logged in', null, { timeout: 15_000 })
  await idle()
  const cookies = await context.cookies(dev.api)
  const session = cookies.find((c) => c.name === 'wxlogin_session')
  assert.ok(session, 'the callback set the session cookie')
  assert.equal(session.httpOnly, true)
  assert.equal(session.sameSite, 'Lax')
  assert.equal(session.path, '/')
  assert.ok(!(await page.evaluate(() => document.cookie)).includes('wxlogin_session='), "the page's script cannot read the session cookie")
  assert.ok((await page.evaluate(() => document.cookie)).includes('wxlogin_csrf='), "the page's script reads the CSRF cookie")
  const account = await page.textContent('#st-account')
  assert.match(account, /^acc_/)

  // Forward-auth by cookie: GET passes, POST only with the CSRF token.
  await click('btn-web-get')
  assert.equal((await lastEntry()).status, '200')
  await click('btn-web-post-bare')
  let e = await lastEntry()
  assert.equal(e.status, '403')
  assert.equal(e.code, 'csrf_rejected')
  await click('btn-web-post')
  assert.equal((await lastEntry()).status, '200')

  // The website: QR code scanned and confirmed by the same person: the same account.
  await click('btn-qr-start')
  assert.equal(await status('qr'), 'waiting for the phone')
  await click('btn-qr-scan')
  assert.equal(await status('qr'), 'scanned')
  await click('btn-qr-confirm')
  await page.waitForFunction(() => document.getElementById('qr-status').textContent === 'logged in', null, { timeout: 15_000 })
  await idle()
  assert.equal(await page.textContent('#st-account'), account, 'the website identity is the same account')
  assert.match(await page.textContent('#st-web'), /^wxdec0de00000000b1 /)

  // Snapshot mode: a virtual user, sent back with snapshot_user and no new session.
  await click('btn-h5-base')
  await click('btn-h5-snapshot')
  await page.waitForFunction(() => document.getElementById('h5-status').textContent === 'back with snapshot_user', null, { timeout: 15_000 })
  await idle()

  // Logout clears the cookie: forward-auth by cookie is refused.
  await click('btn-web-logout')
  await click('btn-web-get')
  assert.equal((await lastEntry()).status, '401')
  assert.equal(await page.textContent('#st-web'), 'none')
  assert.deepEqual(pageErrors, [])
})

/** lastEntry returns the timeline's last entry. */
async function lastEntry() {
  return page.$$eval('#timeline > li', (lis) => {
    const li = lis[lis.length - 1]
    return { status: li.dataset.status ?? '', code: li.dataset.code ?? '', title: li.querySelector('.title')?.textContent ?? '' }
  })
}
