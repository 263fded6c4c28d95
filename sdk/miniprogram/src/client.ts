import { ClientErrorCodes, WxloginError, wxFailure } from './errors'
import type { WxAuthSetting, WxLike, WxPrivacyAnswer, WxPrivacyListener, WxUploadFileResult } from './wx'

export type { WxLike } from './wx'

/** ClientOptions configures {@link createClient}. */
export interface ClientOptions {
  /** wxlogin's base URL, e.g. `https://login.example.com` (a trailing slash is fine). */
  baseURL: string
  /** The mini program's appid; may be left out when the server serves one app. */
  appid?: string
  /**
   * The appid of the server's WeCom app (kind `wecom`) to log in to when
   * the mini program runs inside WeCom; default `appid`. With it one build
   * serves WeChat users through `appid` and WeCom members through this.
   */
  wecomAppid?: string
  /**
   * Whether to log in with wx.qy.login (WeCom) rather than wx.login:
   * `'auto'` (the default) when the wx object has `qy.login` and
   * wx.getSystemInfoSync() says `environment: "wxwork"`, as inside WeCom.
   */
  wecom?: boolean | 'auto'

  /** Storage key of the login state; default `wxlogin:session`. */
  storageKey?: string
  /** The wx object to use; default the global `wx`. */
  wx?: WxLike
  /** Most time, in ms, spent waiting on Retry-After for one call; default 10000. */
  maxRetryWaitMs?: number
  /**
   * Most retries of one call; default 2. A request is retried after a 503 or
   * 429 answer (waiting for Retry-After); a login after invalid_code (with a
   * new wx.login code) or upstream_unavailable (a new code, after
   * Retry-After). A 401 re-login is separate: always once.
   */
  maxRetries?: number
  /** Timeout of each wx.request, in ms; default the base library's. */
  timeoutMs?: number
  /** Clock, in ms since the epoch; default Date.now. */
  now?: () => number
  /** Waits ms milliseconds; default setTimeout. Tests may replace it. */
  sleep?: (ms: number) => Promise<void>
}

/** User is wxlogin's user as `POST /v1/login` returns it. */
export interface User {
  id: string
  appid: string
  /** A WeChat user's openid; absent for a member of a WeCom corp. */
  openid?: string
  /** A WeCom member's corp (a WeCom app's user only). */
  corpid?: string
  /** A WeCom member's userid in that corp (a WeCom app's user only). */
  userid?: string
  unionid?: string
  created_at: string
  /** Only on login: true when this login registered the user. */
  created?: boolean
  [key: string]: unknown
}

/**
 * SessionPolicy is the app's session policy as the server says it at login.
 * `wechat`: a session lives while WeChat's session_key for it is valid, so
 * the SDK hands every wx.login code it takes to the server at once.
 */
export type SessionPolicy = 'own' | 'wechat'

/** Session is the stored login state. */
export interface Session {
  token: string
  /** RFC 3339; the earlier of the idle and absolute deadlines when it was issued. */
  expires_at: string
  user: User
  /** The app's session policy; absent from servers that predate it (then `own`). */
  session_policy?: SessionPolicy
}

/** RequestOptions describes one call to wxlogin (or to an API behind it). */
export interface RequestOptions {
  /** Path below baseURL (`/v1/session`) or an absolute URL (the token goes with it: only your own APIs). */
  path: string
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD' | 'OPTIONS'
  data?: string | Record<string, unknown> | ArrayBuffer
  header?: Record<string, string>
  /** Whether to attach the login token (logging in first when needed); default true. */
  auth?: boolean
}

/** Response is a successful answer (2xx). */
export interface Response<T = unknown> {
  status: number
  data: T
  header: Record<string, string>
}

/** The button event detail of `<button open-type="getUserInfo">` or wx.getUserProfile's result. */
export interface UserInfoDetail {
  errMsg?: string
  rawData?: string
  signature?: string
  encryptedData?: string
  iv?: string
  userInfo?: Record<string, unknown>
}

/** The button event detail of `<button open-type="getPhoneNumber">`. */
export interface PhoneDetail {
  errMsg?: string
  errno?: number
  /** One-time phone code (base library 2.21.2+): preferred. */
  code?: string
  encryptedData?: string
  iv?: string
}

/** Encrypted open data (wx.getWeRunData, wx.getShareInfo). */
export interface EncryptedDetail {
  errMsg?: string
  encryptedData?: string
  iv?: string
}

/** Phone is a phone number as the server returns it. */
export interface Phone {
  phoneNumber: string
  purePhoneNumber: string
  countryCode: string
}

/** PayloadOptions tune the open-data helpers. */
export interface PayloadOptions {
  /**
   * A wx.login code to send as `login_code`; default the code kept by
   * {@link Client.prepareLoginCode}, if any is still fresh.
   */
  loginCode?: string
}

/** ScopeResult is the answer of {@link Client.ensureScope}. */
export interface ScopeResult {
  scope: string
  granted: boolean
  /**
   * granted: usable now. denied: the user refused earlier, WeChat will not ask
   * again: guide them to the settings page ({@link Client.openSettingFor}).
   * needs_button: scope.userInfo, which only a button tap can grant.
   */
  status: 'granted' | 'denied' | 'needs_button'
}

/** PrivacyResult is the answer of {@link Client.ensurePrivacy}. */
export interface PrivacyResult {
  /** Whether the user had to be asked (false: agreed earlier, or an old base library). */
  asked: boolean
  /** The mini program's privacy contract name, when the base library gives it. */
  contractName?: string
}

/** PrivacyPrompt shows the app's own privacy popup and resolves to whether the user agreed. */
export type PrivacyPrompt = (info: { contractName?: string; referrer?: string }) => Promise<
  boolean | { agree: boolean; buttonId?: string }
>

/** ProfileInput is what {@link Client.saveProfile} sends. */
export interface ProfileInput {
  /** From `<input type="nickname">`. */
  nickname?: string
  /** The temporary file path from `<button open-type="chooseAvatar">`. */
  avatarPath?: string
}

/** A code kept by prepareLoginCode stays usable this long (WeChat's limit is 5 minutes). */
const PENDING_CODE_TTL_MS = 4 * 60 * 1000

/** The server's codes for open data it cannot check or decrypt with the session key it holds. */
const STALE_KEY_CODES = new Set(['invalid_signature', 'invalid_encrypted_data'])

/** ANONYMOUS_NICKNAME is the nickname WeChat returns from getUserProfile since base library 2.27.1. */
export const ANONYMOUS_NICKNAME = '微信用户'

/**
 * isAnonymousProfile reports whether user info from wx.getUserProfile (or a
 * plugin's wx.getUserInfo) is the anonymised one WeChat returns since base
 * library 2.27.1: nickname "微信用户" and the default grey avatar. Such a
 * profile should never overwrite one the user filled in.
 */
export function isAnonymousProfile(userInfo: { nickName?: unknown } | null | undefined): boolean {
  return !!userInfo && userInfo.nickName === ANONYMOUS_NICKNAME
}

/**
 * settled marks what a wx-style API returned as handled. The SDK always
 * passes callbacks and reads the answer from them; Taro's APIs also return
 * a promise that rejects on failure even then, and left alone that promise
 * would be an unhandled rejection in the app.
 */
function settled(ret: unknown): void {
  if (ret && typeof (ret as { then?: unknown }).then === 'function') {
    ;(ret as Promise<unknown>).then(undefined, () => {})
  }
}

function promisify<R>(api: string, fn: ((opts: any) => unknown) | undefined, opts: Record<string, unknown> = {}): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    if (typeof fn !== 'function') {
      reject(new WxloginError(ClientErrorCodes.wxApi, `wx.${api} is not available in this base library`, 0, { errMsg: `${api}:fail not supported` }))
      return
    }
    try {
      settled(
        fn({
          ...opts,
          success: (res: R) => resolve(res),
          fail: (err: unknown) => reject(wxFailure(api, err)),
        }),
      )
    } catch (err) {
      reject(wxFailure(api, { errMsg: `${api}:fail ${String((err as Error)?.message ?? err)}` }))
    }
  })
}

function headerValue(header: Record<string, unknown> | undefined, name: string): string | undefined {
  if (!header) return undefined
  const want = name.toLowerCase()
  for (const k of Object.keys(header)) {
    if (k.toLowerCase() === want) {
      const v = header[k]
      return v === undefined || v === null ? undefined : String(v)
    }
  }
  return undefined
}

/**
 * runsInWeCom reports whether w is the wx of a mini program running inside
 * WeCom: it has wx.qy.login, and wx.getSystemInfoSync() gives
 * `environment: "wxwork"` (WeCom's documented test; WeChat gives none).
 */
export function runsInWeCom(w: WxLike): boolean {
  if (typeof w.qy?.login !== 'function' || typeof w.getSystemInfoSync !== 'function') return false
  try {
    return (w.getSystemInfoSync() as { environment?: unknown }).environment === 'wxwork'
  } catch {
    return false
  }
}

/** retryAfterSeconds parses Retry-After (seconds or an HTTP date). */
function retryAfterSeconds(header: Record<string, unknown> | undefined, now: number): number | undefined {
  const v = headerValue(header, 'Retry-After')
  if (v === undefined || v.trim() === '') return undefined
  if (/^\d+$/.test(v.trim())) return parseInt(v.trim(), 10)
  const t = Date.parse(v)
  if (isNaN(t)) return undefined
  return Math.max(0, Math.ceil((t - now) / 1000))
}

/**
 * parseTime reads an RFC 3339 time in ms since the epoch (NaN when it cannot).
 * The server sends nanoseconds; fractions are cut to milliseconds first, as
 * not every mini program JS engine parses more than three digits.
 */
function parseTime(s: string): number {
  return Date.parse(String(s).replace(/(\.\d{3})\d+/, '$1'))
}

function parseBody(data: unknown): unknown {
  if (typeof data === 'string' && data !== '') {
    try {
      return JSON.parse(data)
    } catch {
      return data
    }
  }
  return data
}

/** errorFromResponse builds the WxloginError of a non-2xx answer. */
function errorFromResponse(status: number, data: unknown, header: Record<string, unknown> | undefined, now: number): WxloginError {
  const body = parseBody(data) as { error?: { code?: unknown; message?: unknown } } | undefined
  const retryAfter = retryAfterSeconds(header, now)
  const extra = retryAfter === undefined ? {} : { retryAfter }
  if (body && typeof body === 'object' && body.error && typeof body.error.code === 'string') {
    const message = typeof body.error.message === 'string' ? body.error.message : body.error.code
    return new WxloginError(body.error.code, message, status, extra)
  }
  return new WxloginError(ClientErrorCodes.badResponse, `unexpected answer: HTTP ${status}`, status, extra)
}

function checkDetail(api: string, detail: { errMsg?: string; errno?: number } | undefined | null): void {
  if (!detail || typeof detail !== 'object') {
    throw new WxloginError(ClientErrorCodes.wxApi, `${api}: no event detail given`)
  }
  if (typeof detail.errMsg === 'string' && !/:ok$/.test(detail.errMsg)) {
    throw wxFailure(api, detail)
  }
}

/**
 * Client is wxlogin's mini program client: it keeps the login state in
 * storage, logs in when needed (one login at a time, however many callers
 * wait), and sends requests with the token, logging in again once when the
 * server says the session is gone.
 */
export class Client {
  private readonly wx: WxLike
  private readonly baseURL: string
  private readonly appid?: string
  private readonly weCom: boolean
  private readonly storageKey: string
  private readonly maxRetryWaitMs: number
  private readonly maxRetries: number
  private readonly timeoutMs?: number
  private readonly now: () => number
  private readonly sleep: (ms: number) => Promise<void>

  private inflight: Promise<Session> | null = null
  private checkedToken: string | null = null
  private pendingCode: { code: string; at: number } | null = null
  private privacyPrompt: PrivacyPrompt | null = null
  private privacyListening = false

  constructor(options: ClientOptions) {
    if (!options || typeof options.baseURL !== 'string' || options.baseURL === '') {
      throw new TypeError('createClient: baseURL is required')
    }
    // `satisfies` checks here, at build time, that the real wx (as
    // miniprogram-api-typings declares it) is a WxLike.
    const w: WxLike | undefined = options.wx ?? (typeof wx !== 'undefined' ? (wx satisfies WxLike) : undefined)
    if (!w) throw new TypeError('createClient: no wx object (pass options.wx outside a mini program)')
    this.wx = w
    this.baseURL = options.baseURL.replace(/\/+$/, '')
    this.weCom = options.wecom === 'auto' || options.wecom === undefined ? runsInWeCom(w) : options.wecom
    const appid = this.weCom ? (options.wecomAppid ?? options.appid) : options.appid
    if (appid) this.appid = appid
    this.storageKey = options.storageKey ?? 'wxlogin:session'
    this.maxRetryWaitMs = options.maxRetryWaitMs ?? 10_000
    this.maxRetries = options.maxRetries ?? 2
    if (options.timeoutMs !== undefined) this.timeoutMs = options.timeoutMs
    this.now = options.now ?? (() => Date.now())
    this.sleep = options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  }

  /** getToken returns the stored login token, or null when logged out. It never logs in. */
  getToken(): string | null {
    const s = this.stored()
    return s ? s.token : null
  }

  /** getSession returns the stored login state, or null. It never logs in. */
  getSession(): Session | null {
    return this.stored()
  }

  /**
   * login returns a usable session. A stored session whose expires_at has
   * not passed is checked with wx.checkSession the first time this client
   * sees its token (an app launch) and then reused without asking again,
   * until the server refuses it (a 401 makes request() log in again). A
   * failed check, an expired or missing session: wx.login → POST /v1/login,
   * stored. Concurrent callers share one login. `force` skips the stored
   * session.
   */
  login(options: { force?: boolean } = {}): Promise<Session> {
    if (this.inflight) return this.inflight
    const done = () => {
      if (this.inflight === p) this.inflight = null
    }
    const p: Promise<Session> = this.doLogin(!!options.force).then(
      (s) => {
        done()
        return s
      },
      (err) => {
        done()
        throw err
      },
    )
    this.inflight = p
    return p
  }

  private async doLogin(force: boolean): Promise<Session> {
    if (!force) {
      const s = this.stored()
      // A deadline this device cannot read is left to wx.checkSession and the server's 401.
      if (s && !(parseTime(s.expires_at) <= this.now())) {
        // wx.checkSession once per token and client (an app launch), not
        // before every request: after that the server's 401 tells.
        if (this.checkedToken === s.token) return s
        try {
          if (this.weCom) {
            await promisify<unknown>('qy.checkSession', this.wx.qy?.checkSession?.bind(this.wx.qy))
          } else {
            await promisify<unknown>('checkSession', this.wx.checkSession.bind(this.wx))
          }
          this.checkedToken = s.token
          return s
        } catch {
          // WeChat's side of the login state is gone: log in afresh.
          // Under the wechat policy the server would end that session on
          // its own once it checks the key; ending it now keeps the two in
          // step, and keeps the new login's key from keeping it alive.
          if (s.session_policy === 'wechat') await this.endQuietly(s.token)
        }
      }
    }
    // One Retry-After budget for the whole login, however many codes it
    // takes; at most 1 + maxRetries codes.
    const budget = { waited: 0 }
    for (let attempt = 0; ; attempt++) {
      const code = this.takePendingCode() ?? (await this.wxLogin())
      const body: Record<string, unknown> = { code }
      if (this.appid) body.appid = this.appid
      try {
        const res = await this.send<{ token: string; expires_at: string; user: User; session_policy?: SessionPolicy }>(
          { path: '/v1/login', method: 'POST', data: body, auth: false },
          null,
          false,
        )
        const session: Session = { token: res.data.token, expires_at: res.data.expires_at, user: res.data.user }
        if (res.data.session_policy === 'wechat' || res.data.session_policy === 'own') session.session_policy = res.data.session_policy
        if (typeof session.token !== 'string' || session.token === '') {
          throw new WxloginError(ClientErrorCodes.badResponse, 'login answer has no token', res.status)
        }
        this.wx.setStorageSync(this.storageKey, session)
        this.checkedToken = session.token
        return session
      } catch (err) {
        // A used or expired code, or WeChat busy (the code may be spent): take a new code.
        const retryable = err instanceof WxloginError && (err.code === 'invalid_code' || err.code === 'upstream_unavailable')
        if (!retryable || attempt >= this.maxRetries) throw err
        if (err.code === 'upstream_unavailable' && !(await this.waitRetryAfter(err, budget))) throw err
      }
    }
  }

  private async wxLogin(): Promise<string> {
    // A wx.login rotates the session key: a kept code no longer matches it.
    this.pendingCode = null
    const opts: Record<string, unknown> = {}
    if (this.timeoutMs !== undefined) opts.timeout = this.timeoutMs
    // Inside WeCom the code comes from wx.qy.login and the server trades
    // it at WeCom; a wx.login code would name a WeChat user instead.
    const api = this.weCom ? 'qy.login' : 'login'
    const fn = this.weCom ? this.wx.qy?.login?.bind(this.wx.qy) : this.wx.login.bind(this.wx)
    const res = await promisify<{ code?: string }>(api, fn, opts)
    if (!res || typeof res.code !== 'string' || res.code === '') {
      throw new WxloginError(ClientErrorCodes.wxApi, `wx.${api} returned no code`, 0, { errMsg: `${api}:fail no code` })
    }
    return res.code
  }

  /**
   * prepareLoginCode calls wx.login now and keeps the code for the next
   * open-data call (user info, legacy phone, WeRun), which sends it as
   * `login_code` so the server decrypts with the key that encrypted the data.
   * Call it when a page with a getUserInfo / getPhoneNumber button shows, or
   * before wx.getUserProfile / wx.getWeRunData: never inside their callbacks
   * (a wx.login there rotates the key the data was encrypted with).
   */
  async prepareLoginCode(): Promise<void> {
    const code = await this.wxLogin()
    const s = this.stored()
    if (s && s.session_policy === 'wechat' && (await this.handCode(s.token, code))) return
    this.pendingCode = { code, at: this.now() }
  }

  /**
   * handCode gives the server a code this SDK took with wx.login while
   * logged in (POST /v1/session/code), under the wechat policy: that
   * wx.login killed the key the session held, and the server must never
   * check a key older than the newest. It reports whether the server took
   * the code; when not (no session there any more, the network), the code
   * is kept for the next login or payload, which trades it all the same.
   */
  private async handCode(token: string, code: string): Promise<boolean> {
    try {
      await this.send({ path: '/v1/session/code', method: 'POST', data: { code } }, token, true)
      return true
    } catch {
      return false
    }
  }

  /** endQuietly ends a session on the server (DELETE /v1/session), ignoring any failure. */
  private async endQuietly(token: string): Promise<void> {
    try {
      await this.send({ path: '/v1/session', method: 'DELETE' }, token, false)
    } catch {
      // Already gone, or unreachable: the server's own check ends it.
    }
  }

  /** hasPreparedLoginCode reports whether a code from prepareLoginCode is kept and fresh. */
  hasPreparedLoginCode(): boolean {
    return !!this.pendingCode && this.now() - this.pendingCode.at < PENDING_CODE_TTL_MS
  }

  private takePendingCode(): string | undefined {
    const p = this.pendingCode
    this.pendingCode = null
    if (p && this.now() - p.at < PENDING_CODE_TTL_MS) return p.code
    return undefined
  }

  /**
   * request sends a request with the login token, logging in first when
   * needed. On 401 session_invalid it logs in again once and retries once; on
   * 503 (or 429) it waits for Retry-After within a bound and retries. Other
   * errors reject with a {@link WxloginError} carrying the server's code.
   */
  async request<T = unknown>(options: RequestOptions): Promise<Response<T>> {
    if (options.auth === false) return this.send<T>(options, null, true)
    let session = await this.login()
    try {
      return await this.send<T>(options, session.token, true)
    } catch (err) {
      if (!(err instanceof WxloginError && err.status === 401 && err.code === 'session_invalid')) throw err
      session = await this.relogin(session.token)
      return this.send<T>(options, session.token, true)
    }
  }

  /** relogin replaces a token the server refused, sharing one login among callers. */
  private relogin(failedToken: string): Promise<Session> {
    if (this.inflight) return this.inflight
    const cur = this.stored()
    if (cur && cur.token !== failedToken) return Promise.resolve(cur)
    this.removeStored()
    return this.login({ force: true })
  }

  /** send performs one logical call: wx.request plus Retry-After retries. */
  private async send<T>(options: RequestOptions, token: string | null, retry: boolean): Promise<Response<T>> {
    const budget = { waited: 0 }
    for (let attempt = 0; ; attempt++) {
      const res = await this.wxRequest(options, token)
      if (res.statusCode >= 200 && res.statusCode < 300) {
        return { status: res.statusCode, data: parseBody(res.data) as T, header: res.header }
      }
      const err = errorFromResponse(res.statusCode, res.data, res.header, this.now())
      if (retry && (res.statusCode === 503 || res.statusCode === 429) && attempt < this.maxRetries) {
        if (await this.waitRetryAfter(err, budget)) continue
      }
      throw err
    }
  }

  /** waitRetryAfter sleeps for the error's Retry-After when it fits the budget and reports whether it did. */
  private async waitRetryAfter(err: WxloginError, budget: { waited: number }): Promise<boolean> {
    const ms = (err.retryAfter ?? 1) * 1000
    if (budget.waited + ms > this.maxRetryWaitMs) return false
    budget.waited += ms
    await this.sleep(ms)
    return true
  }

  private wxRequest(options: RequestOptions, token: string | null): Promise<{ statusCode: number; data: unknown; header: Record<string, string> }> {
    const url = /^https?:\/\//.test(options.path) ? options.path : this.baseURL + (options.path.startsWith('/') ? '' : '/') + options.path
    const header: Record<string, string> = { ...(options.header ?? {}) }
    if (token) header.Authorization = `Bearer ${token}`
    if (options.data !== undefined && typeof options.data === 'object' && !(options.data instanceof ArrayBuffer)) {
      header['Content-Type'] = header['Content-Type'] ?? 'application/json'
    }
    return new Promise((resolve, reject) => {
      const opts: Record<string, unknown> = {
        url,
        method: options.method ?? 'GET',
        header,
        dataType: 'json',
        success: (res: { statusCode: number; data: unknown; header?: Record<string, string> }) =>
          resolve({ statusCode: res.statusCode, data: res.data, header: res.header ?? {} }),
        fail: (err: { errMsg?: string }) =>
          reject(new WxloginError(ClientErrorCodes.network, err?.errMsg ?? 'request:fail', 0, err?.errMsg ? { errMsg: err.errMsg } : {})),
      }
      if (options.data !== undefined) opts.data = options.data
      if (this.timeoutMs !== undefined) opts.timeout = this.timeoutMs
      try {
        settled((this.wx.request as (o: unknown) => unknown)(opts))
      } catch (err) {
        reject(new WxloginError(ClientErrorCodes.network, `request:fail ${String((err as Error)?.message ?? err)}`))
      }
    })
  }

  /**
   * logout ends the session on the server (DELETE /v1/session) and forgets it
   * here. A session the server already dropped is not an error.
   */
  async logout(): Promise<void> {
    const s = this.stored()
    this.pendingCode = null
    if (!s) return
    try {
      await this.send({ path: '/v1/session', method: 'DELETE' }, s.token, false)
    } catch (err) {
      if (!(err instanceof WxloginError && err.status === 401)) {
        this.removeStored()
        throw err
      }
    }
    this.removeStored()
  }

  /** me returns the signed-in user with their profile (GET /v1/me). */
  async me<T = Record<string, unknown>>(): Promise<T> {
    return (await this.request<T>({ path: '/v1/me' })).data
  }

  /**
   * saveUserInfo sends the detail of a getUserInfo button (or the result of
   * wx.getUserProfile / wx.getUserInfo with credentials) to POST /v1/userinfo
   * and returns the verified user info. A user who tapped "deny" rejects with
   * code `user_cancelled`.
   */
  async saveUserInfo(detail: UserInfoDetail, options: PayloadOptions = {}): Promise<Record<string, unknown>> {
    checkDetail('getUserInfo', detail)
    if (!detail.rawData || !detail.signature || !detail.encryptedData || !detail.iv) {
      throw new WxloginError(ClientErrorCodes.wxApi, 'getUserInfo: detail lacks rawData/signature/encryptedData/iv (call it with credentials)')
    }
    const data: Record<string, unknown> = {
      rawData: detail.rawData,
      signature: detail.signature,
      encryptedData: detail.encryptedData,
      iv: detail.iv,
    }
    const res = await this.payloadRequest<{ user_info: Record<string, unknown> }>('/v1/userinfo', data, options)
    return res.user_info
  }

  /**
   * savePhone sends the detail of a getPhoneNumber button to POST /v1/phone:
   * the one-time phone code when the base library gives one (2.21.2+), else
   * the legacy encryptedData/iv. Returns the stored phone number.
   */
  async savePhone(detail: PhoneDetail, options: PayloadOptions = {}): Promise<Phone> {
    checkDetail('getPhoneNumber', detail)
    if (detail.code) {
      return (await this.request<Phone>({ path: '/v1/phone', method: 'POST', data: { code: detail.code } })).data
    }
    if (!detail.encryptedData || !detail.iv) {
      throw new WxloginError(ClientErrorCodes.wxApi, 'getPhoneNumber: detail has neither code nor encryptedData/iv')
    }
    return this.payloadRequest<Phone>('/v1/phone', { encryptedData: detail.encryptedData, iv: detail.iv }, options)
  }

  /** decrypt sends WeRun (`werun`) or share (`share`) data to POST /v1/decrypt and returns the plaintext object. */
  async decrypt<T = Record<string, unknown>>(kind: 'werun' | 'share', detail: EncryptedDetail, options: PayloadOptions = {}): Promise<T> {
    checkDetail(kind === 'werun' ? 'getWeRunData' : 'getShareInfo', detail)
    if (!detail.encryptedData || !detail.iv) {
      throw new WxloginError(ClientErrorCodes.wxApi, `${kind}: detail lacks encryptedData/iv`)
    }
    return this.payloadRequest<T>('/v1/decrypt', { kind, encryptedData: detail.encryptedData, iv: detail.iv }, options)
  }

  /**
   * payloadRequest posts encrypted open data. The payload's login code (given,
   * or kept by prepareLoginCode) goes along as `login_code`; when there is no
   * session, or the server refuses the one stored, the SDK logs in with that
   * very code instead: the new session then holds the key the data is
   * encrypted with, and no further wx.login rotates it away.
   *
   * Without such a code that login has to call wx.login, which rotates the
   * key the data was encrypted with: wxlogin cannot decrypt it any more.
   * The SDK still logs in, so the next tap works, and rejects with
   * `stale_payload`: the app asks the user to tap again.
   */
  private async payloadRequest<T>(path: string, data: Record<string, unknown>, options: PayloadOptions): Promise<T> {
    const loginCode = options.loginCode ?? this.takePendingCode()
    const post = async (token: string, withCode: boolean) => {
      const body = withCode && loginCode ? { ...data, login_code: loginCode } : data
      return (await this.send<T>({ path, method: 'POST', data: body }, token, true)).data
    }
    const stored = this.stored()
    if (stored) {
      try {
        return await post(stored.token, true)
      } catch (err) {
        if (!(err instanceof WxloginError && err.status === 401 && err.code === 'session_invalid')) throw err
      }
    }
    // Log in (again, when the server refused the stored token), offering the
    // code; it is still unspent afterwards when another login in flight won.
    if (loginCode) this.pendingCode = { code: loginCode, at: this.now() }
    const session = stored ? await this.relogin(stored.token) : await this.login()
    const unspent = !!loginCode && this.pendingCode?.code === loginCode
    if (unspent) this.pendingCode = null
    try {
      return await post(session.token, unspent)
    } catch (err) {
      // The data is sent all the same: a login already in flight may have
      // used a code from before the tap, and then it decrypts.
      if (!loginCode && err instanceof WxloginError && STALE_KEY_CODES.has(err.code)) {
        throw new WxloginError(
          ClientErrorCodes.stalePayload,
          `the data was encrypted with the session key that logging in to send it replaced (the server answered ${err.code}); ` +
            'the client is logged in now, so the same data taken again works: ask the user to tap again, and call prepareLoginCode() before they can tap',
        )
      }
      throw err
    }
  }

  /**
   * ensureScope makes sure the user granted scope: wx.getSetting, then
   * wx.authorize when never asked. When the user refuses, now or before,
   * WeChat does not ask again: the result says `denied`, and the app should
   * explain why it needs the scope and offer {@link openSettingFor} from a
   * tap. scope.userInfo cannot be authorized this way: the result says
   * `needs_button`. Any other failure of wx.authorize (an unknown scope, no
   * privacy agreement, the base library failing) rejects with its
   * {@link WxloginError}: it is not the user's answer.
   */
  async ensureScope(scope: string): Promise<ScopeResult> {
    const authSetting = async () => {
      const res = await promisify<{ authSetting?: WxAuthSetting }>('getSetting', this.wx.getSetting.bind(this.wx))
      return (res.authSetting ?? {}) as Record<string, boolean | undefined>
    }
    const state = (await authSetting())[scope]
    if (state === true) return { scope, granted: true, status: 'granted' }
    if (scope === 'scope.userInfo') return { scope, granted: false, status: 'needs_button' }
    if (state === false) return { scope, granted: false, status: 'denied' }
    try {
      await promisify<unknown>('authorize', this.wx.authorize.bind(this.wx), { scope })
      return { scope, granted: true, status: 'granted' }
    } catch (err) {
      if (!(err instanceof WxloginError) || err.code === ClientErrorCodes.privacyNotAuthorized) throw err
      // The user's refusal says "auth deny" (or "auth denied", "auth cancel"),
      // and WeChat records it in authSetting.
      if (/\bauth:?\s*(deny|denied|cancel|canceled|cancelled)\b/i.test(err.errMsg ?? '')) {
        return { scope, granted: false, status: 'denied' }
      }
      let recorded: boolean | undefined
      try {
        recorded = (await authSetting())[scope]
      } catch {
        throw err
      }
      if (recorded === false) return { scope, granted: false, status: 'denied' }
      throw err
    }
  }

  /**
   * openSettingFor opens WeChat's settings page (call it from a tap: WeChat
   * requires one) and reports whether scope is granted when the user comes back.
   */
  async openSettingFor(scope: string): Promise<boolean> {
    const res = await promisify<{ authSetting?: Record<string, boolean> }>('openSetting', this.wx.openSetting.bind(this.wx))
    return !!(res.authSetting && res.authSetting[scope] === true)
  }

  /**
   * onPrivacyPrompt registers the app's privacy popup: when a privacy API
   * needs the user's agreement, WeChat calls wx.onNeedPrivacyAuthorization and
   * the SDK asks prompt. Register once, early (e.g. in App.onLaunch).
   */
  onPrivacyPrompt(prompt: PrivacyPrompt): void {
    this.privacyPrompt = prompt
    if (this.privacyListening || typeof this.wx.onNeedPrivacyAuthorization !== 'function') return
    this.privacyListening = true
    // WeChat calls the listener with its resolve function (see WxLike).
    const listener: WxPrivacyListener = (resolve, eventInfo) => {
      const ask = this.privacyPrompt
      if (!ask) {
        resolve({ event: 'disagree' })
        return
      }
      const referrer = eventInfo && typeof eventInfo.referrer === 'string' ? eventInfo.referrer : undefined
      ask(referrer === undefined ? {} : { referrer }).then(
        (answer) => {
          const agree = typeof answer === 'boolean' ? answer : !!answer.agree
          const buttonId = typeof answer === 'object' && answer.buttonId ? answer.buttonId : undefined
          const event: WxPrivacyAnswer = agree ? (buttonId ? { event: 'agree', buttonId } : { event: 'agree' }) : { event: 'disagree' }
          resolve(event)
        },
        () => resolve({ event: 'disagree' }),
      )
    }
    this.wx.onNeedPrivacyAuthorization(listener as (resolve: unknown, eventInfo?: { referrer?: string }) => void)
  }

  /**
   * ensurePrivacy makes sure the user agreed to the privacy guidelines before
   * a privacy API (phone, avatar, nickname, profile, WeRun): nothing to do on
   * an old base library or when agreed; otherwise wx.requirePrivacyAuthorize,
   * which shows the popup registered with {@link onPrivacyPrompt} (pass
   * `prompt` here to register one). The user's refusal (errno 104), also
   * the one WeChat answers at once for a short pause after a refusal,
   * rejects with code `privacy_not_authorized`; any other failure (a
   * missing API, the base library failing) rejects as what it is, usually
   * `wx_api_failed`.
   */
  async ensurePrivacy(prompt?: PrivacyPrompt): Promise<PrivacyResult> {
    if (prompt) this.onPrivacyPrompt(prompt)
    if (typeof this.wx.getPrivacySetting !== 'function') return { asked: false }
    const setting = await promisify<{ needAuthorization?: boolean; privacyContractName?: string }>(
      'getPrivacySetting',
      this.wx.getPrivacySetting.bind(this.wx),
    )
    const contract = setting.privacyContractName ? { contractName: setting.privacyContractName } : {}
    if (!setting.needAuthorization) return { asked: false, ...contract }
    // wxFailure gives a refusal (errno 104, or WeChat's message for it) the
    // code privacy_not_authorized, and anything else its own.
    await promisify<unknown>('requirePrivacyAuthorize', this.wx.requirePrivacyAuthorize?.bind(this.wx))
    return { asked: true, ...contract }
  }

  /**
   * saveProfile saves what the user filled in: the avatar from
   * `<button open-type="chooseAvatar">` uploaded with wx.uploadFile to
   * POST /v1/me/avatar, and the nickname from `<input type="nickname">` with
   * PUT /v1/me/profile. Returns the user as the last answer gives it.
   */
  async saveProfile(input: ProfileInput): Promise<Record<string, unknown>> {
    let last: Record<string, unknown> = {}
    if (input.avatarPath) last = await this.uploadAvatar(input.avatarPath)
    if (input.nickname !== undefined) {
      last = (await this.request<Record<string, unknown>>({ path: '/v1/me/profile', method: 'PUT', data: { nickname: input.nickname } })).data
    }
    return last
  }

  private async uploadAvatar(filePath: string): Promise<Record<string, unknown>> {
    const upload = this.wx.uploadFile
    if (typeof upload !== 'function') {
      throw new WxloginError(ClientErrorCodes.wxApi, 'wx.uploadFile is not available', 0, { errMsg: 'uploadFile:fail not supported' })
    }
    const once = (token: string) =>
      new Promise<WxUploadFileResult>((resolve, reject) => {
        settled(
          upload.call(this.wx, {
            url: this.baseURL + '/v1/me/avatar',
            filePath,
            name: 'file',
            header: { Authorization: `Bearer ${token}` },
            success: (res) => resolve(res),
            fail: (err) => reject(wxFailure('uploadFile', err)),
          }),
        )
      })
    let session = await this.login()
    let res = await once(session.token)
    if (res.statusCode === 401) {
      const err = errorFromResponse(res.statusCode, res.data, res.header, this.now())
      if (err.code !== 'session_invalid') throw err
      session = await this.relogin(session.token)
      res = await once(session.token)
    }
    if (res.statusCode < 200 || res.statusCode >= 300) throw errorFromResponse(res.statusCode, res.data, res.header, this.now())
    return (parseBody(res.data) ?? {}) as Record<string, unknown>
  }

  private stored(): Session | null {
    let v: unknown
    try {
      v = this.wx.getStorageSync(this.storageKey)
    } catch {
      return null
    }
    if (typeof v === 'string' && v !== '') v = parseBody(v)
    if (v && typeof v === 'object' && typeof (v as Session).token === 'string' && (v as Session).token !== '') {
      return v as Session
    }
    return null
  }

  private removeStored(): void {
    try {
      this.wx.removeStorageSync(this.storageKey)
    } catch {
      // Storage failing to delete leaves a token the server refuses: harmless.
    }
  }
}

/** createClient returns a {@link Client}. */
export function createClient(options: ClientOptions): Client {
  return new Client(options)
}
