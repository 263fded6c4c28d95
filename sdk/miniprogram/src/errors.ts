/**
 * Error codes the SDK itself produces (status 0). Every other code is the
 * server's own (`session_invalid`, `invalid_code`, `invalid_encrypted_data`,
 * `upstream_unavailable`, ...), passed through unchanged.
 */
export const ClientErrorCodes = {
  /** wx.request failed before any HTTP answer (offline, DNS, timeout). */
  network: 'network_error',
  /** The server answered something that is not wxlogin's JSON. */
  badResponse: 'bad_response',
  /** The user tapped "deny"/"cancel" on a button or popup. */
  userCancelled: 'user_cancelled',
  /** A wx.* API failed for another reason; errMsg says which. */
  wxApi: 'wx_api_failed',
  /** The user has not agreed to the mini program's privacy guidelines (errno 104). */
  privacyNotAuthorized: 'privacy_not_authorized',
  /**
   * Encrypted open data (user info, legacy phone, WeRun, share) could not be
   * sent: it was encrypted with the session key that the login needed to
   * send it replaced (wx.login rotates the key). The client is logged in
   * now: take the data again (ask the user to tap again). Calling
   * prepareLoginCode() before the user can tap avoids it.
   */
  stalePayload: 'stale_payload',
} as const

/**
 * WxloginError is every error the SDK rejects with: the server's error code
 * and message from `{"error": {"code", "message"}}` with the HTTP status, or
 * one of {@link ClientErrorCodes} with status 0.
 */
export class WxloginError extends Error {
  /** Stable, machine-readable code: match on this, never on message. */
  readonly code: string
  /** HTTP status of the server's answer; 0 when the error arose on the client. */
  readonly status: number
  /** Seconds the server asked to wait (Retry-After), when it sent one. */
  readonly retryAfter?: number
  /** The failing wx.* API's errMsg, for client-side errors. */
  readonly errMsg?: string
  /** The failing wx.* API's errno, when it gave one (104: privacy not authorized). */
  readonly errno?: number

  constructor(
    code: string,
    message: string,
    status = 0,
    extra: { retryAfter?: number; errMsg?: string; errno?: number } = {},
  ) {
    super(message)
    this.name = 'WxloginError'
    this.code = code
    this.status = status
    if (extra.retryAfter !== undefined) this.retryAfter = extra.retryAfter
    if (extra.errMsg !== undefined) this.errMsg = extra.errMsg
    if (extra.errno !== undefined) this.errno = extra.errno
    // Keep instanceof working when compiled to ES5-style classes.
    Object.setPrototypeOf(this, WxloginError.prototype)
  }
}

/** isWxloginError reports whether err is a WxloginError, optionally with the given code. */
export function isWxloginError(err: unknown, code?: string): err is WxloginError {
  return err instanceof WxloginError && (code === undefined || err.code === code)
}

/** wxFailure turns a wx.* API failure into a WxloginError with a fitting code. */
export function wxFailure(api: string, err: unknown): WxloginError {
  const e = (err ?? {}) as { errMsg?: string; errno?: number }
  const errMsg = typeof e.errMsg === 'string' ? e.errMsg : `${api}:fail`
  const errno = typeof e.errno === 'number' ? e.errno : undefined
  let code: string = ClientErrorCodes.wxApi
  if (errno === 104 || /privacy permission is not authorized/i.test(errMsg)) {
    code = ClientErrorCodes.privacyNotAuthorized
  } else if (/\b(deny|denied|cancel|cancelled|canceled)\b/i.test(errMsg)) {
    code = ClientErrorCodes.userCancelled
  }
  return new WxloginError(code, errMsg, 0, { errMsg, errno })
}
