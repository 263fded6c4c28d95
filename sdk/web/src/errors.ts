/**
 * The server's error codes a web page meets: from the return of a login
 * (`?wxlogin_error=<code>`, read by `result()`) and from answers to its
 * requests (`{"error": {"code", "message"}}`). They never change meaning.
 */
export const ErrorCodes = {
  /** 401: no session, or it expired, was logged out or revoked: log in again. */
  sessionInvalid: 'session_invalid',
  /** 403: an unsafe request by cookie without the page's CSRF token. */
  csrfRejected: 'csrf_rejected',
  /** The user refused on WeChat's authorize page or on the phone. */
  accessDenied: 'access_denied',
  /**
   * WeChat's snapshot-mode virtual user (a page opened in WeChat's
   * snapshot view): ask the user to open the page for real.
   */
  snapshotUser: 'snapshot_user',
  /** WeChat's code was unknown, expired or used: start the login again. */
  invalidCode: 'invalid_code',
  /** WeChat flagged the user as high-risk. */
  codeBlocked: 'code_blocked',
  /**
   * The callback came without this browser's state (too late, replayed,
   * another browser). wxlogin answers it at /v1/web/callback itself: not
   * knowing which page started the login, it redirects nowhere.
   */
  invalidState: 'invalid_state',
  /**
   * redirect_uri is not one of the app's redirect_uris: /v1/web/authorize
   * answers it itself, before any redirect (a configuration error).
   */
  redirectNotAllowed: 'redirect_not_allowed',
  /** WeChat is busy or down; `retryAfter` says when to try again. */
  upstreamUnavailable: 'upstream_unavailable',
  /** WeChat refused the app's appid or secret (a configuration error). */
  upstreamRejected: 'upstream_rejected',
  /** Too many logins or requests; `retryAfter` says when to try again. */
  rateLimited: 'rate_limited',
  /** wxlogin's store cannot be reached; `retryAfter` says when to try again. */
  storeUnavailable: 'store_unavailable',
  invalidRequest: 'invalid_request',
  unknownApp: 'unknown_app',
  internal: 'internal',
} as const

/**
 * Error codes the SDK itself produces (status 0): the server never sends
 * them.
 */
export const ClientErrorCodes = {
  /** fetch failed before any HTTP answer (offline, DNS, a CORS refusal). */
  network: 'network_error',
  /** The server answered something that is not the JSON the call expects. */
  badResponse: 'bad_response',
  /**
   * A login came back without an error, but this page sees no session
   * cookie: wxlogin answered the login on another host than the page's
   * (its cookies belong to that host), or the browser refuses cookies.
   * Logging in again would loop.
   */
  cookieMissing: 'cookie_missing',
} as const

export type ServerErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]
export type ClientErrorCode = (typeof ClientErrorCodes)[keyof typeof ClientErrorCodes]
/** Every code a WxloginError may carry; a newer server may send others. */
export type WxloginErrorCode = ServerErrorCode | ClientErrorCode | (string & {})

/**
 * WxloginError is every error the SDK throws or hands back: the server's
 * code and message with the HTTP status, or one of {@link ClientErrorCodes}
 * with status 0. Match on `code`, never on `message`.
 */
export class WxloginError extends Error {
  /** Stable, machine-readable code. */
  readonly code: WxloginErrorCode
  /** HTTP status of the server's answer; 0 when the error arose in the browser or came back in the page's URL. */
  readonly status: number
  /** Seconds the server asked to wait (Retry-After), when it sent one. */
  readonly retryAfter?: number

  constructor(code: WxloginErrorCode, message: string, status = 0, extra: { retryAfter?: number; cause?: unknown } = {}) {
    super(message)
    this.name = 'WxloginError'
    this.code = code
    this.status = status
    if (extra.retryAfter !== undefined) this.retryAfter = extra.retryAfter
    if (extra.cause !== undefined) (this as { cause?: unknown }).cause = extra.cause
    // Keep instanceof working when a bundler compiles classes down.
    Object.setPrototypeOf(this, WxloginError.prototype)
  }

  /** loginRequired reports whether the page has no session (any more) and should offer to log in. */
  get loginRequired(): boolean {
    return this.code === ErrorCodes.sessionInvalid
  }
}

/** isWxloginError reports whether err is a WxloginError, optionally with the given code. */
export function isWxloginError(err: unknown, code?: WxloginErrorCode): err is WxloginError {
  return err instanceof WxloginError && (code === undefined || err.code === code)
}

/** What a page can tell its user about each code `result()` may hand back. */
const loginMessages: Record<string, string> = {
  access_denied: 'the user refused the authorization',
  snapshot_user: 'the page was opened in WeChat\'s snapshot view: open it for real to log in',
  invalid_code: 'WeChat\'s code was invalid or used: log in again',
  code_blocked: 'WeChat blocked the login of this user',
  upstream_unavailable: 'WeChat is unavailable: try again later',
  upstream_rejected: 'WeChat refused the app\'s credentials',
  rate_limited: 'too many logins: try again later',
  store_unavailable: 'the login service is unavailable: try again later',
}

/** loginError is the WxloginError of a `?wxlogin_error=<code>` return. */
export function loginError(code: string): WxloginError {
  return new WxloginError(code, loginMessages[code] ?? `the login failed (${code})`)
}
