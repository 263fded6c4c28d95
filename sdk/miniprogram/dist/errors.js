"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.WxloginError = exports.ClientErrorCodes = void 0;
exports.isWxloginError = isWxloginError;
exports.wxFailure = wxFailure;
/**
 * Error codes the SDK itself produces (status 0). Every other code is the
 * server's own (`session_invalid`, `invalid_code`, `invalid_encrypted_data`,
 * `upstream_unavailable`, ...), passed through unchanged.
 */
exports.ClientErrorCodes = {
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
};
/**
 * WxloginError is every error the SDK rejects with: the server's error code
 * and message from `{"error": {"code", "message"}}` with the HTTP status, or
 * one of {@link ClientErrorCodes} with status 0.
 */
class WxloginError extends Error {
    constructor(code, message, status = 0, extra = {}) {
        super(message);
        this.name = 'WxloginError';
        this.code = code;
        this.status = status;
        if (extra.retryAfter !== undefined)
            this.retryAfter = extra.retryAfter;
        if (extra.errMsg !== undefined)
            this.errMsg = extra.errMsg;
        if (extra.errno !== undefined)
            this.errno = extra.errno;
        // Keep instanceof working when compiled to ES5-style classes.
        Object.setPrototypeOf(this, WxloginError.prototype);
    }
}
exports.WxloginError = WxloginError;
/** isWxloginError reports whether err is a WxloginError, optionally with the given code. */
function isWxloginError(err, code) {
    return err instanceof WxloginError && (code === undefined || err.code === code);
}
/** wxFailure turns a wx.* API failure into a WxloginError with a fitting code. */
function wxFailure(api, err) {
    const e = (err !== null && err !== void 0 ? err : {});
    const errMsg = typeof e.errMsg === 'string' ? e.errMsg : `${api}:fail`;
    const errno = typeof e.errno === 'number' ? e.errno : undefined;
    let code = exports.ClientErrorCodes.wxApi;
    if (errno === 104 || /privacy permission is not authorized/i.test(errMsg)) {
        code = exports.ClientErrorCodes.privacyNotAuthorized;
    }
    else if (/\b(deny|denied|cancel|cancelled|canceled)\b/i.test(errMsg)) {
        code = exports.ClientErrorCodes.userCancelled;
    }
    return new WxloginError(code, errMsg, 0, { errMsg, errno });
}
