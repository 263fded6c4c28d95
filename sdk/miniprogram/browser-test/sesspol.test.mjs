// The playground in headless Chromium against `wxlogin dev --session-policy
// wechat`: the page shows the policy, and "Let WeChat's key expire" ends
// the session on the server once the emulator's session_key dies, after
// which a protected request logs in again.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { startDev } from '../test/dev-server.mjs'

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'

let dev, context, page, profile
const pageErrors = []

before(async () => {
  dev = await startDev(['--session-policy', 'wechat'])
  profile = mkdtempSync(join(tmpdir(), 'wxlogin-chromium-'))
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  page = context.pages()[0] ?? (await context.newPage())
  page.on('pageerror', (err) => pageErrors.push(String(err)))
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) pageErrors.push(msg.text())
  })
  await context.route((url) => !url.href.startsWith(dev.api), (route) => route.abort())
})

after(async () => {
  await context?.close()
  await dev?.stop()
  if (profile) rmSync(profile, { recursive: true, force: true })
})

async function idle() {
  await page.waitForFunction(() => document.body.dataset.busy === 'false', null, { timeout: 20_000 })
}

async function click(id) {
  await page.click('#' + id)
  await idle()
}

async function lastAction() {
  return page.$$eval('#timeline > li', (lis) => {
    const all = lis.map((li) => ({
      lane: li.dataset.lane,
      code: li.dataset.code ?? '',
      status: li.dataset.status ?? '',
      action: li.classList.contains('action'),
      title: li.querySelector('.title')?.textContent ?? '',
    }))
    let i = all.length - 1
    while (i >= 0 && !all[i].action) i--
    return all.slice(i)
  })
}

function find(entries, pred, what) {
  const e = entries.find(pred)
  assert.ok(e, `${what} not on the timeline:\n${entries.map((x) => `${x.lane} ${x.status} ${x.code} ${x.title}`).join('\n')}`)
  return e
}

test('the wechat session policy ends a session when the emulator\'s key expires', async () => {
  await page.goto(dev.api + '/playground/')
  await idle()
  await page.fill('#user', 'keyexpiry')
  await click('btn-login')
  assert.equal(await page.textContent('#st-policy'), 'wechat')
  await click('btn-request') // a session in use is what the server checks
  const tokenBefore = await page.textContent('#st-token')

  await click('btn-key-expire')
  let t = await lastAction()
  find(t, (e) => e.lane === 'sdk' && /the server ended the session/.test(e.title), 'the ended session')
  find(t, (e) => e.lane === 'wxlogin' && /GET \/v1\/session/.test(e.title) && e.status === '401', 'the refused token')
  find(t, (e) => e.lane === 'wechat' && /^checksession/.test(e.title) && /87009/.test(e.title), 'checksession answering 87009')

  // The SDK meets the 401, logs in again with a new key, and the request works.
  await click('btn-request')
  t = await lastAction()
  find(t, (e) => e.lane === 'wxlogin' && /POST \/v1\/login/.test(e.title) && e.status === '200', 'the new login')
  find(t, (e) => e.lane === 'sdk' && /✓ HTTP 200/.test(e.title), 'the retried request')
  assert.notEqual(await page.textContent('#st-token'), tokenBefore)
  assert.deepEqual(pageErrors, [])
})
