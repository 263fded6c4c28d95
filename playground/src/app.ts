// The wxlogin playground: the real SDK and its simulated wx, running in the
// browser against the dev server (same origin: /v1/ is wxlogin, /emulator/v1/
// the WeChat emulator's device API, /dev/v1/ the dev controls). Every HTTP
// call goes through traced(), which puts it on the timeline; after each call
// to wxlogin the emulator's call log (GET /emulator/v1/calls) shows what the
// server asked WeChat and what came back.
import { createClient, isAnonymousProfile, WxloginError, type Client, type UserInfoDetail } from '../../sdk/miniprogram/src/index'
import { compareVersions, createSimulatedWx, type ButtonDetail, type FetchLike, type SimulatedWx } from '../../sdk/miniprogram/src/simulated-wx'

type Lane = 'sdk' | 'wx' | 'wxlogin' | 'wechat' | 'dev'

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T

const WHY: Record<string, string> = {
  session_invalid:
    'wxlogin no longer accepts this token (expired, logged out or revoked). The SDK logs in again once (wx.login → POST /v1/login) and retries the request.',
  invalid_code: 'The wx.login code was used already, is older than 5 minutes, or unknown. A code works once; the SDK asks wx.login for a new one.',
  invalid_encrypted_data:
    'wxlogin could not decrypt with the session_key it holds: WeChat rotated the key (a wx.login after this session logged in). Send a fresh login_code with the payload — tick the box under "User data".',
  invalid_signature:
    'sha1(rawData + session_key) did not match the session_key wxlogin holds: usually WeChat rotated the key (a wx.login after this session logged in), or the data was altered. Send a fresh login_code with the payload — tick the box under "User data".',
  upstream_unavailable: 'WeChat was busy or unreachable. The SDK waits for Retry-After (within a bound) and tries again.',
  rate_limited: 'A limit was hit; Retry-After says when to try again.',
  privacy_not_authorized:
    'The user has not agreed to the privacy guidelines (errno 104): they refused in the popup, or refused less than about 10 s ago, when WeChat refuses at once without showing it. Call client.ensurePrivacy() to show your privacy popup before privacy APIs.',
  stale_payload:
    'No session could decrypt this data: logging in took a wx.login, which replaced the session key the data was encrypted with. The SDK is logged in now, so the same tap again works; call client.prepareLoginCode() before the user can tap to avoid it.',
  user_cancelled: 'The user tapped "deny" or "cancel". Nothing reached wxlogin.',
  scope_denied: 'The user refused this scope. WeChat will not ask again: explain why, then open wx.openSetting from a tap.',
  code_blocked: 'WeChat flagged this user as high-risk (errcode 40226): wxlogin refuses the login.',
  unsupported_media_type: 'The upload is not a JPEG, PNG or WebP image (checked by content, not by name).',
  request_too_large: 'The upload is over the size limit.',
  invalid_request: 'wxlogin refused the request as malformed.',
  unknown_app: 'The appid is not configured on this wxlogin server.',
}

const WECHAT_ERRCODES: Record<string, string> = {
  '0': 'ok',
  '40001': 'invalid access_token',
  '40029': 'invalid code',
  '40163': 'code been used',
  '40226': 'high-risk user',
  '45011': 'minute quota',
  '-1': 'system busy',
  '87009': 'invalid signature',
}

const DEVICE_APIS: Array<[RegExp, string]> = [
  [/^POST \/emulator\/v1\/login/, 'wx.login'],
  [/^GET \/emulator\/v1\/session/, 'wx.checkSession'],
  [/^GET \/emulator\/v1\/settings/, 'wx.getSetting'],
  [/^POST \/emulator\/v1\/settings/, 'wx.openSetting'],
  [/^POST \/emulator\/v1\/authorize/, 'authorize popup'],
  [/^POST \/emulator\/v1\/userinfo/, 'getUserInfo'],
  [/^POST \/emulator\/v1\/profile/, 'wx.getUserProfile'],
  [/^POST \/emulator\/v1\/phone/, 'getPhoneNumber button'],
  [/^POST \/emulator\/v1\/werun/, 'wx.getWeRunData'],
  // Also how the simulated wx learns of the pause after a refusal.
  [/^GET \/emulator\/v1\/privacy/, 'wx.getPrivacySetting'],
  [/^POST \/emulator\/v1\/privacy/, 'privacy popup answer'],
  [/^POST \/emulator\/v1\/avatar/, 'chooseAvatar'],
  [/^POST \/emulator\/v1\/nickname/, 'nickname input'],
  [/^PUT \/emulator\/v1\/users/, 'device setup'],
]

// ---- timeline ------------------------------------------------------------

interface Entry {
  lane: Lane
  title: string
  status?: string
  ok?: boolean
  code?: string
  why?: string
  good?: boolean
  details?: Array<[string, unknown]>
  action?: boolean
}

function clock(): string {
  const d = new Date()
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

function pretty(v: unknown): string {
  if (typeof v === 'string') {
    try {
      return JSON.stringify(JSON.parse(v), null, 2)
    } catch {
      return v
    }
  }
  return JSON.stringify(v, null, 2) ?? String(v)
}

const LANE_LABEL: Record<Lane, string> = {
  sdk: 'SDK',
  wx: 'wx → WeChat',
  wxlogin: 'client → wxlogin',
  wechat: 'wxlogin → WeChat',
  dev: 'dev control',
}

function addEntry(e: Entry): void {
  const li = document.createElement('li')
  li.className = 'entry ' + (e.action ? 'action' : e.ok === false ? 'error' : 'ok')
  li.dataset.lane = e.lane
  if (e.code) li.dataset.code = e.code
  if (e.status) li.dataset.status = e.status
  const row = document.createElement('div')
  row.className = 'row'
  const t = document.createElement('time')
  t.textContent = clock()
  const lane = document.createElement('span')
  lane.className = 'lane lane-' + e.lane
  lane.textContent = LANE_LABEL[e.lane]
  const title = document.createElement('span')
  title.className = 'title'
  title.textContent = e.title
  row.append(t, lane, title)
  if (e.code) {
    const c = document.createElement('span')
    c.className = 'code'
    c.textContent = e.code
    row.append(c)
  }
  if (e.status) {
    const s = document.createElement('span')
    s.className = 'status ' + (e.ok === false ? 'err' : 'ok')
    s.textContent = e.status
    row.append(s)
  }
  li.append(row)
  if (e.why) {
    const w = document.createElement('div')
    w.className = 'why' + (e.good ? ' good' : '')
    w.textContent = e.why
    li.append(w)
  }
  if (e.details && e.details.length) {
    const d = document.createElement('details')
    const sum = document.createElement('summary')
    sum.textContent = e.details.map(([k]) => k).join(' · ')
    d.append(sum)
    for (const [k, v] of e.details) {
      const pre = document.createElement('pre')
      pre.textContent = `${k}:\n${pretty(v)}`
      d.append(pre)
    }
    li.append(d)
  }
  const list = $('timeline')
  list.append(li)
  $('timeline-empty').hidden = true
  list.scrollTop = list.scrollHeight
}

// ---- traced HTTP ---------------------------------------------------------

const rawFetch: typeof fetch = window.fetch.bind(window)

function shortToken(s: string): string {
  return s.length > 18 ? s.slice(0, 12) + '…' + s.slice(-4) : s
}

function describeBody(body: unknown): unknown {
  if (body === undefined || body === null) return undefined
  if (typeof body === 'string') return body
  if (body instanceof FormData) {
    const parts: Record<string, string> = {}
    body.forEach((v, k) => {
      parts[k] = typeof v === 'string' ? v : `<file ${(v as File).name || 'blob'}, ${(v as File).type || '?'}, ${(v as File).size} bytes>`
    })
    return { multipart: parts }
  }
  return String(body)
}

/** WeChatCall is one entry of the emulator's call log (GET /emulator/v1/calls). */
interface WeChatCall {
  seq: number
  api: string
  method: string
  path: string
  appid: string
  request?: Record<string, unknown>
  status: number
  errcode: number
  response?: unknown
}

/** The sequence number of the last WeChat call the timeline shows. */
let lastCall = 0

async function readCalls(): Promise<{ calls: WeChatCall[]; next: number }> {
  try {
    const r = await rawFetch(`/emulator/v1/calls?after=${lastCall}&appid=${encodeURIComponent(appid)}`)
    if (!r.ok) return { calls: [], next: lastCall }
    const j = (await r.json()) as { calls?: WeChatCall[]; next?: number }
    return { calls: j.calls ?? [], next: j.next ?? lastCall }
  } catch {
    return { calls: [], next: lastCall }
  }
}

/** wechatCalls puts on the timeline the WeChat server APIs wxlogin called for this app since the last look. */
async function wechatCalls(): Promise<void> {
  const { calls, next } = await readCalls()
  lastCall = Math.max(lastCall, next)
  for (const c of calls) {
    const failed = c.status !== 200 || c.errcode !== 0
    const meaning = WECHAT_ERRCODES[String(c.errcode)]
    const answer = c.status !== 200 ? `HTTP ${c.status}` : c.errcode !== 0 ? `errcode ${c.errcode}${meaning ? ' (' + meaning + ')' : ''}` : 'ok'
    const details: Array<[string, unknown]> = [['request', c.request ?? {}]]
    if (c.response !== undefined && c.response !== null) details.push(['response', c.response])
    const e: Entry = { lane: 'wechat', title: `${c.api} · ${c.method} ${c.path} → ${answer}`, ok: !failed, status: String(c.status), details }
    if (c.errcode !== 0) e.code = `errcode ${c.errcode}`
    addEntry(e)
  }
}

const traced: FetchLike = async (url, init = {}) => {
  const u = new URL(url, location.href)
  const method = (init.method ?? 'GET').toUpperCase()
  const path = u.pathname + u.search
  // The emulator's own knobs (config, clock, faults) are dev controls, not wx calls.
  const knob = /^\/emulator\/v1\/(config|clock|faults|stats)\b/.test(u.pathname)
  const lane: Lane = knob || u.pathname.startsWith('/dev/v1/') ? 'dev' : u.pathname.startsWith('/emulator/v1/') ? 'wx' : 'wxlogin'
  const headers = { ...(init.headers ?? {}) }
  for (const k of Object.keys(headers)) {
    if (k.toLowerCase() === 'authorization') headers[k] = (headers[k] ?? '').replace(/^(Bearer )(.*)$/, (_m, a: string, b: string) => a + shortToken(b))
  }
  let res: Response
  try {
    res = await rawFetch(url, init as RequestInit)
  } catch (err) {
    addEntry({ lane, title: `${method} ${path}`, ok: false, status: 'network', why: String(err) })
    throw err
  }
  const text = await res.clone().text()
  let body: unknown = text
  try {
    body = text ? JSON.parse(text) : ''
  } catch {
    // not JSON
  }
  const err = (body as { error?: { code?: string; message?: string; errMsg?: string } })?.error
  const api = lane === 'wx' ? DEVICE_APIS.find(([re]) => re.test(`${method} ${path}`))?.[1] : undefined
  const reqBody = describeBody(init.body)
  const details: Array<[string, unknown]> = []
  if (Object.keys(headers).length) details.push(['request headers', headers])
  if (reqBody !== undefined) details.push(['request', reqBody])
  const ra = res.headers.get('Retry-After')
  if (text) details.push(['response' + (ra ? ` (Retry-After: ${ra})` : ''), redact(body)])
  const entry: Entry = {
    lane,
    title: (api ? api + ' · ' : '') + `${method} ${path}`,
    ok: res.ok,
    status: String(res.status),
    details,
  }
  if (err?.code) {
    entry.code = err.code
    entry.why = WHY[err.code] ? WHY[err.code] : err.errMsg ?? err.message
  }
  addEntry(entry)
  if (lane === 'wxlogin') await wechatCalls()
  return res
}

/** redact shortens tokens in what the timeline shows. */
function redact(v: unknown): unknown {
  if (!v || typeof v !== 'object') return v
  const o = { ...(v as Record<string, unknown>) }
  if (typeof o.token === 'string') o.token = shortToken(o.token)
  return o
}

// ---- the simulated device and the client --------------------------------

let appid = 'wxdec0de0000000001'
const storages = new Map<string, Map<string, string>>()
let wx: SimulatedWx
let client: Client
let avatarPath = ''
let nextAuthorizeAnswer: boolean | null = null

const modalQueue: Array<() => void> = []
function ask(title: string, body: string, yes = 'Agree', no = 'Disagree'): Promise<boolean> {
  return new Promise((resolve) => {
    const show = () => {
      $('modal-title').textContent = title
      $('modal-body').textContent = body
      $('modal-yes').textContent = yes
      $('modal-no').textContent = no
      $('modal').hidden = false
      const done = (v: boolean) => {
        $('modal').hidden = true
        $('modal-yes').onclick = null
        $('modal-no').onclick = null
        resolve(v)
        const next = modalQueue.shift()
        if (next) next()
      }
      $('modal-yes').onclick = () => done(true)
      $('modal-no').onclick = () => done(false)
    }
    if ($('modal').hidden) show()
    else modalQueue.push(show)
  })
}

function baseLibrary(): string {
  return $<HTMLSelectElement>('base-library').value
}

function userName(): string {
  return $<HTMLInputElement>('user').value.trim() || 'alice'
}

function setupDevice(): void {
  const user = userName()
  let storage = storages.get(user)
  if (!storage) {
    storage = new Map()
    storages.set(user, storage)
  }
  wx = createSimulatedWx({
    emulatorURL: location.origin,
    appid,
    user,
    fetch: traced,
    storage,
    baseLibrary: baseLibrary(),
    prompts: {
      authorize: async (scope) => {
        if (nextAuthorizeAnswer !== null) {
          const a = nextAuthorizeAnswer
          nextAuthorizeAnswer = null
          return a
        }
        return ask(`Allow ${scope}?`, `The mini program asks for ${scope}. WeChat asks once; a refusal sticks until the settings page.`, 'Allow', 'Deny')
      },
      openSetting: async (s) => {
        const next = { ...s }
        for (const k of Object.keys(next)) if (next[k] === false) next[k] = true
        return next
      },
    },
  })
  client = createClient({ baseURL: location.origin, appid, wx, maxRetryWaitMs: 5000 })
  client.onPrivacyPrompt(() =>
    ask('Privacy guidelines', 'Before using your phone number, avatar or nickname, this mini program needs you to agree to its privacy guidelines.'),
  )
  const old = compareVersions(baseLibrary(), '2.21.2') < 0
  $('lib-badge').textContent = 'base library ' + baseLibrary()
  $('btn-profile').textContent = typeof wx.getUserProfile === 'function' ? 'getUserProfile' : 'getUserInfo button'
  for (const id of ['btn-privacy', 'btn-avatar', 'btn-nickname', 'btn-save-profile', 'btn-upload-text', 'btn-upload-big', 'nickname', 'chk-privacy']) {
    ;($(id) as HTMLButtonElement).disabled = old
  }
  $('today-note').hidden = !old
  void refreshState()
}

async function refreshState(): Promise<void> {
  const s = client.getSession()
  $('st-token').textContent = s ? shortToken(s.token) : '— (logged out)'
  $('st-expires').textContent = s ? s.expires_at : '—'
  $('st-policy').textContent = s ? (s.session_policy ?? 'own') : '—'
  $('st-user').textContent = s?.user?.id ?? '—'
  $('st-openid').textContent = s?.user?.openid ?? '—'
  if (!s) showProfile(null)
  try {
    const r = await rawFetch(`/emulator/v1/settings?appid=${encodeURIComponent(appid)}&user=${encodeURIComponent(userName())}`)
    const j = (await r.json()) as { authSetting?: Record<string, boolean> }
    const entries = Object.entries(j.authSetting ?? {})
    $('st-scopes').textContent = entries.length ? entries.map(([k, v]) => `${k.replace('scope.', '')}: ${v ? 'granted' : 'denied'}`).join(', ') : 'none asked yet'
  } catch {
    $('st-scopes').textContent = '?'
  }
}

// ---- actions -------------------------------------------------------------

function sdkNote(title: string, why?: string, ok = true): void {
  const e: Entry = { lane: 'sdk', title, ok, good: ok }
  if (why) e.why = why
  addEntry(e)
}

function explainError(err: unknown): void {
  if (err instanceof WxloginError) {
    const e: Entry = {
      lane: 'sdk',
      title: `✗ WxloginError ${err.code}${err.status ? ' (HTTP ' + err.status + ')' : ''}: ${err.message}`,
      ok: false,
      code: err.code,
    }
    // A server error was explained on its HTTP entry just above.
    const why = err.status === 0 ? WHY[err.code] : undefined
    if (why) e.why = why
    addEntry(e)
  } else {
    addEntry({ lane: 'sdk', title: '✗ ' + String((err as { errMsg?: string })?.errMsg ?? err), ok: false })
  }
}

/**
 * wxloginCalls marks the timeline now and returns what reached wxlogin since
 * then: how many logins, and whether it refused a token (401 session_invalid).
 */
function wxloginCalls(): () => { logins: number; refused: boolean } {
  const all = () => Array.from(document.querySelectorAll<HTMLElement>('#timeline > li[data-lane="wxlogin"]'))
  const before = all().length
  return () => {
    const since = all().slice(before)
    return {
      logins: since.filter((li) => /POST \/v1\/login\b/.test(li.querySelector('.title')?.textContent ?? '')).length,
      refused: since.some((li) => li.dataset.code === 'session_invalid'),
    }
  }
}

/** tapped passes on a button's event detail, or throws its failure for the timeline to explain. */
function tapped(d: ButtonDetail): ButtonDetail {
  if (!/:ok$/.test(d.errMsg)) throw Object.assign(new Error(d.errMsg), { errMsg: d.errMsg })
  return d
}

/** The server's avatar size limit (httpapi.DefaultMaxAvatarBytes). */
const MAX_AVATAR_BYTES = 2 << 20

/**
 * refusedUpload tries to save a file the server must refuse as the avatar and
 * shows that the stored profile did not change.
 */
async function refusedUpload(path: string, what: string): Promise<void> {
  const before = await client.me<Me>()
  try {
    await client.saveProfile({ avatarPath: path })
    sdkNote(`✗ wxlogin accepted ${what}`, undefined, false)
  } catch (err) {
    explainError(err)
  }
  const after = await client.me<Me>()
  showProfile(after)
  const unchanged = (after.profile?.avatar_url ?? null) === (before.profile?.avatar_url ?? null)
  sdkNote(
    unchanged ? `✓ nothing stored: the avatar is still ${after.profile?.avatar_url ?? 'unset'}` : `✗ the avatar changed to ${after.profile?.avatar_url}`,
    undefined,
    unchanged,
  )
}

async function prepareIfAsked(): Promise<void> {
  if ($<HTMLInputElement>('chk-login-code').checked) {
    await client.prepareLoginCode()
    sdkNote('client.prepareLoginCode(): wx.login now, code kept for the payload', 'The data below is encrypted with the key of this new code; sending the code as login_code lets wxlogin decrypt it.')
  }
}

const actions: Record<string, { label: string; run: () => Promise<void> }> = {
  'btn-login': {
    label: 'client.login()',
    run: async () => {
      const calls = wxloginCalls()
      const s = await client.login()
      const { logins } = calls()
      sdkNote(
        logins ? `✓ logged in as user ${s.user.id}${s.user.created ? ' (new user)' : ''}` : `✓ reused the stored token of user ${s.user.id}`,
        logins
          ? 'wx.login gave a one-time code; wxlogin traded it with WeChat (jscode2session) for openid + session_key, kept the key sealed on the server and returned its own token.'
          : 'A token was in storage and wx.checkSession succeeded (the client asks once per token): no wx.login, no call to wxlogin.',
      )
    },
  },
  'btn-request': {
    label: "client.request({path: '/v1/session'})",
    run: async () => {
      const calls = wxloginCalls()
      const r = await client.request<{ user: { id: string }; expires_at: string }>({ path: '/v1/session' })
      const { logins, refused } = calls()
      sdkNote(
        `✓ HTTP ${r.status}: session of user ${r.data.user.id}, expires ${r.data.expires_at}`,
        refused
          ? 'The token was refused (401 session_invalid), so the SDK logged in once and retried: the caller never saw the 401.'
          : logins
            ? 'There was no usable token (none stored, or wx.checkSession failed), so the SDK logged in first, then sent the request with the new token.'
            : 'The stored token went along and wxlogin accepted it.',
      )
    },
  },
  'btn-logout': {
    label: 'client.logout()',
    run: async () => {
      await client.logout()
      sdkNote('✓ logged out: the token is dead on the server and gone from storage')
    },
  },
  'btn-profile': {
    label: 'user info',
    run: async () => {
      // getUserProfile and the getUserInfo button are privacy APIs: ask first
      // (nothing happens on a base library without privacy APIs).
      await client.ensurePrivacy()
      await prepareIfAsked()
      const detail: UserInfoDetail = wx.getUserProfile
        ? await wx.getUserProfile({ desc: 'Show your profile in the playground' })
        : await wx.simulated.getUserInfoDetail()
      const info = detail.userInfo as { nickName?: string } | undefined
      if (isAnonymousProfile(info)) {
        sdkNote('getUserProfile gave the anonymised "微信用户" profile', 'Since base library 2.27.1 getUserProfile returns an anonymous nickname and grey avatar. wxlogin stores it but never lets it overwrite a profile the user filled in; use the avatar/nickname form.', true)
      }
      const saved = await client.saveUserInfo(detail)
      sdkNote(`✓ user info verified and stored: ${String(saved.nickName ?? '')}`)
      const me = await client.me<Me>()
      showProfile(me)
      if (isAnonymousProfile(info) && me.profile?.nickname) sdkNote(`✓ the filled-in profile stays: ${me.profile.nickname}`)
    },
  },
  'btn-phone': {
    label: 'phone number',
    run: async () => {
      await client.ensurePrivacy()
      const legacy = compareVersions(baseLibrary(), '2.21.2') < 0
      if (legacy) await prepareIfAsked()
      const detail = await wx.simulated.getPhoneNumberDetail()
      sdkNote(detail.code ? 'getPhoneNumber gave a one-time phone code: the SDK sends only the code' : 'getPhoneNumber gave only encryptedData/iv (before 2.21.2): the legacy path')
      const phone = await client.savePhone(detail)
      sdkNote(`✓ phone number stored: +${phone.countryCode} ${phone.purePhoneNumber}`)
    },
  },
  'btn-werun': {
    label: 'WeRun steps',
    run: async () => {
      await client.ensurePrivacy()
      const scope = await client.ensureScope('scope.werun')
      if (!scope.granted) {
        sdkNote(`ensureScope('scope.werun') → ${scope.status}`, WHY.scope_denied, false)
        return
      }
      await prepareIfAsked()
      const data = await wx.getWeRunData()
      const r = await client.decrypt<{ stepInfoList?: Array<{ step: number }> }>('werun', data)
      const days = r.stepInfoList ?? []
      sdkNote(`✓ decrypted ${days.length} days of steps${days.length ? ', latest ' + days[days.length - 1]!.step : ''}`)
    },
  },
  'btn-expire': {
    label: 'expire my session (dev)',
    run: async () => {
      const token = client.getToken()
      if (!token) {
        sdkNote('no session to expire: log in first', undefined, false)
        return
      }
      const r = await traced('/dev/v1/session/expire', { method: 'POST', headers: { Authorization: 'Bearer ' + token } })
      if (r.status === 204) sdkNote('the server expired this session; the token is still in storage', 'Press "Protected request": the SDK gets 401 session_invalid, logs in once and retries.')
    },
  },
  'btn-rotate': {
    label: 'rotate my session key (a stray wx.login)',
    run: async () => {
      await wx.login()
      sdkNote('WeChat rotated the session key; wxlogin still holds the old one', 'Encrypted data from now on is encrypted with the new key. Without a fresh login_code wxlogin cannot decrypt it (untick the box and try getUserProfile).', false)
    },
  },
  'btn-key-expire': {
    label: "let WeChat's session_key expire (dev)",
    run: async () => {
      const s = client.getSession()
      if (!s) {
        sdkNote('no session: log in first', undefined, false)
        return
      }
      const json = { 'Content-Type': 'application/json' }
      // The user leaves the mini program alone: with an idle timeout of 10
      // minutes on the emulator and the clocks 31 minutes on (past the
      // server's default check interval), WeChat's key for this session dies.
      await traced('/emulator/v1/config', { method: 'PUT', headers: json, body: JSON.stringify({ session_key_idle_timeout: '10m' }) })
      try {
        await traced('/dev/v1/clock', { method: 'POST', headers: json, body: JSON.stringify({ advance: '31m' }) })
        // The server checks keys in the background, about once a second:
        // watch this token without putting every look on the timeline.
        const policy = s.session_policy ?? 'own'
        const until = Date.now() + (policy === 'wechat' ? 10_000 : 2_500)
        let ended = false
        while (!ended && Date.now() < until) {
          await new Promise((resolve) => setTimeout(resolve, 250))
          const r = await rawFetch('/v1/session', { headers: { Authorization: 'Bearer ' + s.token } })
          ended = r.status === 401
        }
        await traced('/v1/session', { headers: { Authorization: 'Bearer ' + s.token } })
        if (ended) {
          sdkNote(
            '✓ the server ended the session: WeChat reports its session_key dead (session_policy: wechat)',
            'wxlogin asked WeChat (checksession, on the timeline) about every key it holds for the user; none was valid, so the session ended as a logout does. Press "Protected request": the SDK gets 401, its wx.login gives a new key and a new session.',
          )
        } else {
          sdkNote(
            `the session lives on (session_policy: ${policy})`,
            policy === 'wechat'
              ? 'No check has reached this session yet: it is checked once it has been verified recently and its check interval is over.'
              : 'Under the own policy a session lives by wxlogin\'s idle and absolute timeouts alone. Start `wxlogin dev --session-policy wechat` to see the session end with the key.',
            policy !== 'wechat',
          )
        }
      } finally {
        await traced('/emulator/v1/config', { method: 'PUT', headers: json, body: JSON.stringify({ session_key_idle_timeout: '0s' }) })
      }
    },
  },
  'btn-deny': {
    label: 'deny a scope (scope.werun)',
    run: async () => {
      const s = await wx.getSetting()
      if (s.authSetting['scope.werun'] === undefined) {
        nextAuthorizeAnswer = false
        await client.ensureScope('scope.werun')
      } else if (s.authSetting['scope.werun'] === true) {
        await wx.simulated.device('POST', '/settings', { appid, user: userName(), authSetting: { ...s.authSetting, 'scope.werun': false } })
      }
      const again = await client.ensureScope('scope.werun')
      sdkNote(`ensureScope('scope.werun') → ${again.status}`, WHY.scope_denied, false)
    },
  },
  'btn-settings': {
    label: "client.openSettingFor('scope.werun')",
    run: async () => {
      const ok = await client.openSettingFor('scope.werun')
      sdkNote(ok ? '✓ the user turned scope.werun on in the settings page' : 'scope.werun is still off', undefined, ok)
    },
  },
  'btn-privacy': {
    label: 'client.ensurePrivacy()',
    run: async () => {
      const r = await client.ensurePrivacy()
      sdkNote(r.asked ? '✓ the user agreed to the privacy guidelines' : '✓ no agreement needed (agreed before, or the check is off)')
    },
  },
  'btn-avatar': {
    label: 'chooseAvatar',
    run: async () => {
      await client.ensurePrivacy()
      const d = tapped(await wx.simulated.chooseAvatarDetail())
      avatarPath = String(d.avatarUrl)
      const f = wx.simulated.readTempFile(avatarPath)
      if (f) {
        const img = $<HTMLImageElement>('avatar-preview')
        img.src = URL.createObjectURL(new Blob([f.data as Uint8Array<ArrayBuffer>], { type: f.contentType }))
        img.hidden = false
        $('avatar-placeholder').hidden = true
      }
      sdkNote(`chooseAvatar gave a temporary file ${avatarPath}`, 'Upload it with Save profile (wx.uploadFile → POST /v1/me/avatar).')
    },
  },
  'btn-nickname': {
    label: 'nickname input',
    run: async () => {
      await client.ensurePrivacy()
      const d = tapped(await wx.simulated.nicknameDetail())
      $<HTMLInputElement>('nickname').value = String(d.value ?? '')
    },
  },
  'btn-save-profile': {
    label: 'client.saveProfile()',
    run: async () => {
      const nickname = $<HTMLInputElement>('nickname').value
      const input: { nickname?: string; avatarPath?: string } = {}
      if (nickname) input.nickname = nickname
      if (avatarPath) input.avatarPath = avatarPath
      if (!input.nickname && !input.avatarPath) {
        sdkNote('nothing to save: choose an avatar or type a nickname first', undefined, false)
        return
      }
      await client.saveProfile(input)
      const me = await client.me<Me>()
      showProfile(me)
      sdkNote(`✓ profile saved: ${me.profile?.nickname || '(no nickname)'}${me.profile?.avatar_url ? ', avatar at ' + me.profile.avatar_url : ''}`)
    },
  },
  'btn-upload-text': {
    label: 'upload a text file named like a PNG',
    run: () => refusedUpload(wx.simulated.addTempFile('<svg onload="alert(1)"></svg>', 'image/png'), 'a text file'),
  },
  'btn-upload-big': {
    label: 'upload an image over the size limit',
    run: () => {
      const big = new Uint8Array(MAX_AVATAR_BYTES + 1024)
      big.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) // a PNG signature, so only the size is wrong
      return refusedUpload(wx.simulated.addTempFile(big, 'image/png'), 'an oversized image')
    },
  },
}

interface Me {
  profile?: { nickname?: string; avatar_url?: string | null }
}

function showProfile(me: Me | null): void {
  const img = $<HTMLImageElement>('st-avatar')
  const url = me?.profile?.avatar_url
  // Only avatars wxlogin serves itself are loaded. A profile falling back to
  // classic user info points at WeChat's CDN, which the emulator's simulated
  // users only pretend to have: it is shown as text instead.
  const local = !!url && url.startsWith('/')
  if (local) {
    img.src = url
    img.hidden = false
  } else {
    img.removeAttribute('src')
    img.hidden = true
  }
  const nickname = me?.profile?.nickname || ''
  const remote = url && !local ? `avatar ${url}` : ''
  $('st-profile').textContent = [nickname, remote].filter(Boolean).join(' · ') || (local ? '' : '—')
}

/** setPrivacyCheck turns the emulator's privacy check on or off; the checkbox then shows what the emulator says. */
async function setPrivacyCheck(on: boolean): Promise<void> {
  const r = await traced('/emulator/v1/config', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ privacy_check: on }) })
  await showPrivacyCheck(r)
}

/** showPrivacyCheck ticks the privacy checkbox as the emulator's config (this answer, or a fresh GET) says. */
async function showPrivacyCheck(answer?: { text(): Promise<string> }): Promise<void> {
  try {
    const r = answer ?? (await rawFetch('/emulator/v1/config'))
    const c = JSON.parse(await r.text()) as { privacy_check?: boolean }
    if (typeof c.privacy_check === 'boolean') $<HTMLInputElement>('chk-privacy').checked = c.privacy_check
  } catch {
    // an emulator without the knob: leave the box as it is
  }
}

let busy = 0
function setBusy(delta: number): void {
  busy += delta
  document.body.dataset.busy = busy > 0 ? 'true' : 'false'
}

function bind(): void {
  for (const [id, a] of Object.entries(actions)) {
    const btn = $<HTMLButtonElement>(id)
    btn.addEventListener('click', async () => {
      btn.classList.add('busy')
      setBusy(1)
      addEntry({ lane: 'sdk', title: '▶ ' + a.label, action: true })
      try {
        await a.run()
      } catch (err) {
        explainError(err)
      } finally {
        btn.classList.remove('busy')
        await refreshState()
        setBusy(-1)
      }
    })
  }
  $('btn-clear').addEventListener('click', () => {
    $('timeline').textContent = ''
    $('timeline-empty').hidden = false
  })
  $('base-library').addEventListener('change', () => {
    addEntry({ lane: 'sdk', title: `▶ new device: base library ${baseLibrary()}`, action: true })
    setupDevice()
  })
  $('user').addEventListener('change', () => {
    addEntry({ lane: 'sdk', title: `▶ now playing ${userName()}`, action: true })
    setupDevice()
  })
  $('btn-new-device').addEventListener('click', () => {
    storages.delete(userName())
    avatarPath = ''
    addEntry({ lane: 'sdk', title: `▶ new device for ${userName()}: empty storage`, action: true })
    setupDevice()
  })
  $('device-form').addEventListener('submit', (e) => e.preventDefault())
  $('chk-privacy').addEventListener('change', async () => {
    setBusy(1)
    const on = $<HTMLInputElement>('chk-privacy').checked
    addEntry({ lane: 'sdk', title: `▶ WeChat privacy check ${on ? 'on' : 'off'}`, action: true })
    try {
      await setPrivacyCheck(on)
      sdkNote(
        on ? 'privacy APIs now fail with errno 104 until the user agrees' : 'privacy APIs no longer need an agreement',
        on ? 'Phone, avatar, nickname, user info and WeRun call wx.onNeedPrivacyAuthorization first; client.ensurePrivacy() shows your popup ahead of time.' : undefined,
      )
    } catch (err) {
      explainError(err)
    } finally {
      setBusy(-1)
    }
  })
}


// ---- web logins (Official Account page, website QR code) ----------------

// The dev web apps (emulator.DevWebApps): an Official Account and a website
// app, bound to the same Open Platform account as the first two mini programs.
const WEB_APPS = { h5: 'wxdec0de00000000a1', qr: 'wxdec0de00000000b1' } as const
type WebPane = keyof typeof WEB_APPS
const webPending: Partial<Record<WebPane, string>> = {}

function cookie(name: string): string {
  const c = document.cookie.split('; ').find((x) => x.startsWith(name + '='))
  return c ? decodeURIComponent(c.slice(name.length + 1)) : ''
}

async function waitingAuthorizations(): Promise<Array<{ id: string; appid: string; status: string }>> {
  const r = await rawFetch('/emulator/v1/web/authorizations')
  return ((await r.json()) as { authorizations: Array<{ id: string; appid: string; status: string }> }).authorizations
}

/** webStart sends the pane's frame to /v1/web/authorize and finds the authorization WeChat's page waits on. */
async function webStart(pane: WebPane, scope: string): Promise<void> {
  const known = new Set((await waitingAuthorizations()).map((a) => a.id))
  const redirect = location.origin + '/playground/web-done.html'
  const url = `/v1/web/authorize?appid=${WEB_APPS[pane]}&redirect_uri=${encodeURIComponent(redirect)}${scope ? '&scope=' + scope : ''}`
  addEntry({ lane: 'wxlogin', title: `GET ${url.split('&redirect_uri')[0]}…`, why: 'wxlogin checks redirect_uri against the app\'s allow-list, sets the state cookie and redirects to WeChat.' })
  $<HTMLIFrameElement>(pane + '-frame').src = url
  for (let i = 0; i < 50; i++) {
    const found = (await waitingAuthorizations()).find((a) => a.appid === WEB_APPS[pane] && !known.has(a.id))
    if (found) {
      webPending[pane] = found.id
      $(pane + '-status').textContent = 'waiting for the phone'
      addEntry({ lane: 'wx', title: `WeChat shows ${pane === 'qr' ? 'the QR code' : 'the authorize page'} (${found.id.slice(0, 6)}…)` })
      return
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error("WeChat's page did not open")
}

/** webPhone is the simulated phone's answer to the pane's authorization. */
async function webPhone(pane: WebPane, action: string, snapshot = false): Promise<void> {
  const id = webPending[pane]
  if (!id) throw new Error('open the page first')
  const r = await rawFetch('/emulator/v1/web/authorizations/' + id, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user: userName(), action, snapshot }),
  })
  const a = (await r.json()) as { status?: string; error?: { message: string } }
  if (!r.ok) throw new Error(a.error?.message ?? 'the phone failed')
  $(pane + '-status').textContent = a.status ?? ''
  addEntry({ lane: 'wx', title: `phone: ${action}${snapshot ? ' (snapshot mode)' : ''} as ${userName()}`, status: a.status })
}

/** webCall asks forward-auth by cookie, as a proxy guarding the page's backend would. */
async function webCall(method: string, withCSRF: boolean): Promise<void> {
  const headers: Record<string, string> = {}
  if (withCSRF) headers['X-Wxlogin-Csrf'] = cookie('wxlogin_csrf')
  const r = await rawFetch('/v1/auth', { method, headers, credentials: 'same-origin' })
  const code = r.ok ? '' : (((await r.json()) as { error?: { code: string } }).error?.code ?? '')
  addEntry({
    lane: 'wxlogin',
    title: `${method} /v1/auth by cookie${withCSRF ? ' + X-Wxlogin-Csrf' : ''}`,
    status: String(r.status),
    code: code || undefined,
    ok: r.ok,
    why: r.ok
      ? `allowed: X-Wxlogin-Account-Id ${r.headers.get('X-Wxlogin-Account-Id')}`
      : code === 'csrf_rejected'
        ? 'An unsafe request by cookie needs the page\'s CSRF token: another site could make the browser send the cookie, not the header.'
        : undefined,
  })
  await refreshWeb()
}

async function refreshWeb(): Promise<void> {
  const r = await rawFetch('/v1/auth', { credentials: 'same-origin' })
  $('st-web').textContent = r.ok ? `${r.headers.get('X-Wxlogin-Appid')} · ${r.headers.get('X-Wxlogin-Openid')}` : 'none'
  $('st-account').textContent = r.ok ? (r.headers.get('X-Wxlogin-Account-Id') ?? '') : '—'
}

function bindWeb(): void {
  const run = (id: string, f: () => Promise<void>) =>
    $(id).addEventListener('click', async () => {
      setBusy(1)
      try {
        await f()
      } catch (err) {
        explainError(err)
      } finally {
        setBusy(-1)
      }
    })
  run('btn-h5-base', () => webStart('h5', 'snsapi_base'))
  run('btn-h5-userinfo', () => webStart('h5', 'snsapi_userinfo'))
  run('btn-h5-allow', () => webPhone('h5', 'approve'))
  run('btn-h5-snapshot', () => webPhone('h5', 'approve', true))
  run('btn-h5-refuse', () => webPhone('h5', 'refuse'))
  run('btn-qr-start', () => webStart('qr', ''))
  run('btn-qr-scan', () => webPhone('qr', 'scan'))
  run('btn-qr-confirm', () => webPhone('qr', 'approve'))
  run('btn-qr-refuse', () => webPhone('qr', 'refuse'))
  run('btn-web-get', () => webCall('GET', false))
  run('btn-web-post-bare', () => webCall('POST', false))
  run('btn-web-post', () => webCall('POST', true))
  run('btn-web-logout', async () => {
    const r = await rawFetch('/v1/web/logout', { method: 'POST', headers: { 'X-Wxlogin-Csrf': cookie('wxlogin_csrf') }, credentials: 'same-origin' })
    addEntry({ lane: 'wxlogin', title: 'POST /v1/web/logout', status: String(r.status), ok: r.ok })
    await refreshWeb()
  })
  window.addEventListener('message', async (e: MessageEvent) => {
    const d = (e.data as { wxloginWeb?: { error: string | null } })?.wxloginWeb
    if (e.origin !== location.origin || !d) return
    for (const pane of Object.keys(WEB_APPS) as WebPane[]) {
      const frame = $<HTMLIFrameElement>(pane + '-frame')
      if (frame.contentWindow === e.source) {
        $(pane + '-status').textContent = d.error ? 'back with ' + d.error : 'logged in'
        delete webPending[pane]
      }
    }
    addEntry({
      lane: 'wxlogin',
      title: 'GET /v1/web/callback → the page',
      ok: !d.error,
      code: d.error ?? undefined,
      why: d.error === 'snapshot_user'
        ? 'WeChat opened the page in snapshot mode: a virtual user, never an account. Ask the user to open the page for real.'
        : d.error
          ? undefined
          : 'state matched the browser\'s cookie; the code was traded at sns/oauth2/access_token; wxlogin_session (HttpOnly) and wxlogin_csrf are set.',
    })
    await refreshWeb()
  })
}

async function main(): Promise<void> {
  setBusy(1)
  try {
    const r = await rawFetch('/emulator/v1/apps')
    const apps = (await r.json()) as Array<{ appid: string }>
    if (apps[0]?.appid) appid = apps[0].appid
  } catch {
    // keep the documented dev appid
  }
  $('app-name').textContent = appid
  lastCall = (await readCalls()).next
  await showPrivacyCheck()
  bind()
  bindWeb()
  setupDevice()
  await refreshWeb()
  setBusy(-1)
}

void main()
