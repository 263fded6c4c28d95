import { ClientErrorCodes, ErrorCodes, WxloginError, isWxloginError, loginError } from './errors.js'

/** The cookie the server sets beside the session cookie for the page's script (not HttpOnly). */
export const CSRF_COOKIE = 'wxlogin_csrf'
/** The header an unsafe request by cookie must carry the CSRF token in. */
export const CSRF_HEADER = 'X-Wxlogin-Csrf'
/** The query parameter a failed login returns to the page with. */
export const ERROR_PARAM = 'wxlogin_error'

/**
 * The scopes of WeChat's web logins: `snsapi_base` (silent, openid only)
 * and `snsapi_userinfo` (asks the user, profile and unionid) for an
 * Official Account's pages inside WeChat; `snsapi_login` for a website's QR
 * code.
 */
export type WebScope = 'snsapi_base' | 'snsapi_userinfo' | 'snsapi_login'

export interface WebClientOptions {
  /**
   * Where wxlogin's routes are, as seen from the page: '' (the default)
   * when the site's proxy sends /v1/ to wxlogin, or a path prefix such as
   * '/auth' when wxlogin is mounted under one. The session cookie is
   * scoped to the site, so wxlogin must be served on the page's origin.
   */
  baseURL?: string
  /** The fetch to use; the browser's by default. */
  fetch?: typeof fetch
  /**
   * Called when a request through this client meets 401 session_invalid
   * (the session expired, was logged out elsewhere or revoked), before
   * the request's promise rejects: the one place to send the page to its
   * login button.
   */
  onSessionInvalid?: (err: WxloginError) => void
}

export interface LoginOptions {
  /** The web app to log in to: an Official Account (inside WeChat) or a website app (QR code). */
  appid: string
  /**
   * The page the login returns to: one of the app's `redirect_uris`,
   * character for character (an absolute URL, or a path resolved against
   * the page's URL). It cannot carry a fragment; put a hash route in
   * `returnTo`. Do not pass `location.href`: WeChat appends parameters
   * (`from=singlemessage`, `isappinstalled=0`) to shared links, which
   * would no longer match.
   */
  redirectURI: string
  /** The scope; by default the app's kind's first (`snsapi_base`, or `snsapi_login` for a website app). */
  scope?: WebScope
  /**
   * Where the page wants to be once the login is done (same origin only),
   * e.g. the deep link the user opened: `result()` hands it back.
   */
  returnTo?: string
}

/** The outcome of the page load, as `result()` reads it. */
export type LoginResult =
  /** This page load is not the return of a login started here. */
  | { status: 'none' }
  /** The login finished: the session cookie is set. */
  | { status: 'ok'; returnTo?: string }
  /** The login failed; `error.code` says why (access_denied, snapshot_user, ...). */
  | { status: 'error'; error: WxloginError; returnTo?: string }

/** One of the account's users (one per app), as GET /v1/me lists them. */
export interface Identity {
  user_id: string
  appid: string
  kind: 'mini_program' | 'official_account' | 'website'
  openid: string
}

/** The logged-in user, as GET /v1/me answers. */
export interface Me {
  id: string
  appid: string
  openid?: string
  unionid?: string
  created_at: string
  updated_at: string
  profile: { nickname: string; avatar_url: string | null; source: 'filled_in' | 'user_info' | 'mixed' | 'none'; updated_at?: string }
  user_info?: Record<string, unknown>
  phone?: Record<string, unknown>
  account_id?: string
  identities?: Identity[]
  [field: string]: unknown
}

/**
 * The login under way, kept in the tab's sessionStorage from `login()`
 * until `result()` on the page it returns to.
 */
interface Pending {
  at: number
  returnTo?: string
}

const PENDING_KEY = 'wxlogin:web:login'
// As long as the server keeps a started login's state: an older marker is
// a login abandoned long ago, not the one this page load returns from.
const PENDING_LIFETIME_MS = 10 * 60 * 1000

/**
 * WebClient is the page's handle on wxlogin's web logins and on requests
 * by the session cookie. Make one per page (`createWebClient`).
 */
export class WebClient {
  private readonly base: string
  private readonly fetchImpl?: typeof fetch
  private readonly onSessionInvalid?: (err: WxloginError) => void
  private outcome?: LoginResult

  constructor(options: WebClientOptions = {}) {
    this.base = (options.baseURL ?? '').replace(/\/+$/, '')
    if (options.fetch) this.fetchImpl = options.fetch
    if (options.onSessionInvalid) this.onSessionInvalid = options.onSessionInvalid
  }

  /** loginURL is the URL of wxlogin's /v1/web/authorize for opts, to put in a link. */
  loginURL(opts: LoginOptions): string {
    if (!opts || typeof opts.appid !== 'string' || opts.appid === '') {
      throw new WxloginError(ErrorCodes.invalidRequest, 'appid is required')
    }
    if (typeof opts.redirectURI !== 'string' || opts.redirectURI === '') {
      throw new WxloginError(ErrorCodes.invalidRequest, 'redirectURI is required: one of the app\'s redirect_uris')
    }
    if (opts.redirectURI.includes('#')) {
      throw new WxloginError(
        ErrorCodes.invalidRequest,
        'redirectURI cannot carry a fragment (#): a redirect would lose it; return to a page without one and pass the hash route as returnTo',
      )
    }
    const redirect = /^https?:\/\//i.test(opts.redirectURI) ? opts.redirectURI : new URL(opts.redirectURI, location.href).href
    let q = 'appid=' + encodeURIComponent(opts.appid) + '&redirect_uri=' + encodeURIComponent(redirect)
    if (opts.scope) q += '&scope=' + encodeURIComponent(opts.scope)
    return this.base + '/v1/web/authorize?' + q
  }

  /**
   * login sends the browser to WeChat's authorize page (inside WeChat) or
   * QR code (a website app) through wxlogin. The page it returns to calls
   * `result()`. Never call login() by itself on a page load whose
   * `result()` is an error: that loops between the page and WeChat.
   */
  login(opts: LoginOptions): void {
    const url = this.loginURL(opts)
    const pending: Pending = { at: Date.now() }
    if (opts.returnTo) pending.returnTo = opts.returnTo
    try {
      sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending))
    } catch {
      // Storage off (some private modes): result() still reads errors from the URL.
    }
    location.assign(url)
  }

  /**
   * result tells how the login this page load returns from ended, and
   * removes `wxlogin_error` from the address bar (so that a reload or a
   * shared link does not show the error again). It reads the page once:
   * later calls on this client answer the same.
   */
  result(): LoginResult {
    if (!this.outcome) this.outcome = this.readResult()
    return this.outcome
  }

  private readResult(): LoginResult {
    const pending = takePending()
    const returnTo = pending?.returnTo !== undefined ? sameOriginURL(pending.returnTo) : undefined
    const withReturn = <T extends object>(r: T): T & { returnTo?: string } => (returnTo ? { ...r, returnTo } : r)

    const { value, rest } = cutParam(location.search, ERROR_PARAM)
    if (value !== undefined) {
      try {
        history.replaceState(history.state, '', location.pathname + rest + location.hash)
      } catch {
        // A sandboxed frame may refuse; the result stands.
      }
      return withReturn({ status: 'error', error: loginError(value) })
    }
    // Only a login started in this tab, and only a forward navigation:
    // Back from WeChat's page also lands here, with nothing finished.
    if (!pending || navigationType() === 'back_forward') return { status: 'none' }
    if (!this.csrfToken()) {
      return withReturn({
        status: 'error',
        error: new WxloginError(
          ClientErrorCodes.cookieMissing,
          'the login finished but this page sees no session cookie: wxlogin must answer the login on the page\'s own host (its cookies belong to the host that set them), and the browser must accept cookies',
        ),
      })
    }
    return withReturn({ status: 'ok' })
  }

  /**
   * csrfToken is the session's CSRF token from the `wxlogin_csrf` cookie,
   * or undefined without a session.
   */
  csrfToken(): string | undefined {
    let cookies: string
    try {
      cookies = document.cookie
    } catch {
      return undefined
    }
    for (const part of cookies.split(';')) {
      const c = part.trim()
      if (c.startsWith(CSRF_COOKIE + '=')) {
        const v = c.slice(CSRF_COOKIE.length + 1)
        return v === '' ? undefined : v
      }
    }
    return undefined
  }

  /**
   * fetch is the browser's fetch for requests by the session cookie: the
   * cookie goes along (credentials 'same-origin' unless init says
   * otherwise), an unsafe method to the page's own origin carries the CSRF
   * token (never to another origin), and an answer that is one of
   * wxlogin's JSON errors (from wxlogin, or from forward-auth through the
   * site's proxy) rejects with a WxloginError. Any other answer resolves,
   * your API's own errors included: check `res.ok`.
   */
  async fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    return this.send(input, init, true)
  }

  private async send(input: string | URL, init: RequestInit, notify: boolean): Promise<Response> {
    const method = (init.method ?? 'GET').toUpperCase()
    const headers = new Headers(init.headers)
    if (!isSafeMethod(method) && !headers.has(CSRF_HEADER) && sameOriginURL(String(input)) !== undefined) {
      const token = this.csrfToken()
      if (token) headers.set(CSRF_HEADER, token)
    }
    const f = this.fetchImpl ?? globalThis.fetch
    let res: Response
    try {
      res = await f(input, { ...init, headers, credentials: init.credentials ?? 'same-origin' })
    } catch (err) {
      if (isAbort(err)) throw err
      throw new WxloginError(ClientErrorCodes.network, 'the request failed before any answer: ' + String((err as Error)?.message ?? err), 0, {
        cause: err,
      })
    }
    if (res.ok) return res
    const err = await wxloginError(res)
    if (!err) return res
    if (notify && err.code === ErrorCodes.sessionInvalid && this.onSessionInvalid) this.onSessionInvalid(err)
    throw err
  }

  /**
   * me is the logged-in user (GET /v1/me). Without a session it rejects
   * with session_invalid (`err.loginRequired`).
   */
  async me(): Promise<Me> {
    const res = await this.fetch(this.base + '/v1/me')
    return (await readJSON(res)) as Me
  }

  /**
   * logout ends the session (POST /v1/web/logout with the CSRF token);
   * the server clears both cookies. A session that had already ended
   * counts as logged out.
   */
  async logout(): Promise<void> {
    try {
      const res = await this.send(this.base + '/v1/web/logout', { method: 'POST' }, false)
      if (!res.ok) throw new WxloginError(ClientErrorCodes.badResponse, `logout answered ${res.status}`, res.status)
    } catch (err) {
      // A session that had already ended answers session_invalid, and
      // the server clears its cookies all the same.
      if (!isWxloginError(err, ErrorCodes.sessionInvalid)) throw err
    }
  }
}

/** createWebClient makes the page's client. */
export function createWebClient(options?: WebClientOptions): WebClient {
  return new WebClient(options)
}

/**
 * isInWeChat reports whether the page runs in WeChat's own browser (its
 * user agent says MicroMessenger), where an Official Account's OAuth
 * works; elsewhere a website app's QR code is the way. WeCom's browser
 * also says MicroMessenger, but its user is signed in to WeCom, not to
 * WeChat: it does not count.
 */
export function isInWeChat(userAgent?: string): boolean {
  const ua = userAgent ?? (typeof navigator === 'undefined' ? '' : navigator.userAgent)
  return /MicroMessenger\//i.test(ua) && !/wxwork\//i.test(ua)
}

/** The page's web apps, by the app's kind on the server. */
export interface WebApps {
  /** appid of the Official Account (kind official_account): pages inside WeChat. */
  officialAccount?: string
  /** Its scope: snsapi_base (silent, the default) or snsapi_userinfo (asks; profile and unionid). */
  officialAccountScope?: 'snsapi_base' | 'snsapi_userinfo'
  /** appid of the website app (kind website): the QR code on a desktop browser. */
  website?: string
}

/**
 * chooseApp picks the app and scope for where the page runs: the Official
 * Account inside WeChat, the website app's QR code elsewhere. It returns
 * undefined when the page has no app for here (WeChat's OAuth page does
 * not open outside WeChat; a QR code cannot be scanned by the phone that
 * shows it), so that the page can say so instead of sending the user to
 * an error page.
 */
export function chooseApp(apps: WebApps, userAgent?: string): { appid: string; scope: WebScope } | undefined {
  if (isInWeChat(userAgent)) {
    return apps.officialAccount ? { appid: apps.officialAccount, scope: apps.officialAccountScope ?? 'snsapi_base' } : undefined
  }
  return apps.website ? { appid: apps.website, scope: 'snsapi_login' } : undefined
}

function isSafeMethod(m: string): boolean {
  return m === 'GET' || m === 'HEAD' || m === 'OPTIONS'
}

function isAbort(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: string }).name === 'AbortError'
}

/** sameOriginURL resolves u against the page and returns it when it is of the page's origin. */
function sameOriginURL(u: string): string | undefined {
  try {
    const url = new URL(u, location.href)
    return url.origin === location.origin ? url.href : undefined
  } catch {
    return undefined
  }
}

/**
 * cutParam takes one parameter out of a query string ("?a=1&b=2") and
 * leaves the rest as it was written (URLSearchParams would re-encode it).
 */
function cutParam(search: string, name: string): { value?: string; rest: string } {
  if (!search || search === '?') return { rest: search }
  let value: string | undefined
  const kept: string[] = []
  for (const part of search.slice(1).split('&')) {
    const eq = part.indexOf('=')
    const key = eq < 0 ? part : part.slice(0, eq)
    if (key === name) {
      if (value === undefined) value = safeDecode(eq < 0 ? '' : part.slice(eq + 1))
    } else {
      kept.push(part)
    }
  }
  return { value, rest: kept.length ? '?' + kept.join('&') : '' }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return s
  }
}

function takePending(): Pending | undefined {
  let raw: string | null
  try {
    raw = sessionStorage.getItem(PENDING_KEY)
    sessionStorage.removeItem(PENDING_KEY)
  } catch {
    return undefined
  }
  if (!raw) return undefined
  try {
    const p = JSON.parse(raw) as Pending
    if (typeof p?.at !== 'number' || Date.now() - p.at > PENDING_LIFETIME_MS || Date.now() < p.at - 60_000) return undefined
    return typeof p.returnTo === 'string' ? { at: p.at, returnTo: p.returnTo } : { at: p.at }
  } catch {
    return undefined
  }
}

function navigationType(): string | undefined {
  try {
    const nav = performance.getEntriesByType('navigation')[0] as { type?: string } | undefined
    return nav?.type
  } catch {
    return undefined
  }
}

/** wxloginError reads an answer's `{"error": {"code", "message"}}`, or undefined when it is not one. */
async function wxloginError(res: Response): Promise<WxloginError | undefined> {
  if (!/\bjson\b/i.test(res.headers.get('Content-Type') ?? '')) return undefined
  let body: unknown
  try {
    body = await res.clone().json()
  } catch {
    return undefined
  }
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error
  if (!e || typeof e.code !== 'string' || e.code === '') return undefined
  const retry = Number(res.headers.get('Retry-After'))
  const extra = Number.isFinite(retry) && retry > 0 ? { retryAfter: retry } : {}
  return new WxloginError(e.code, typeof e.message === 'string' ? e.message : e.code, res.status, extra)
}

async function readJSON(res: Response): Promise<unknown> {
  if (!res.ok) throw new WxloginError(ClientErrorCodes.badResponse, `the server answered ${res.status} without wxlogin's error body`, res.status)
  try {
    return await res.json()
  } catch (err) {
    throw new WxloginError(ClientErrorCodes.badResponse, 'the server\'s answer is not JSON', res.status, { cause: err })
  }
}
