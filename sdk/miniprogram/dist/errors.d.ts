/**
 * Error codes the SDK itself produces (status 0). Every other code is the
 * server's own (`session_invalid`, `invalid_code`, `invalid_encrypted_data`,
 * `upstream_unavailable`, ...), passed through unchanged.
 */
export declare const ClientErrorCodes: {
    /** wx.request failed before any HTTP answer (offline, DNS, timeout). */
    readonly network: "network_error";
    /** The server answered something that is not wxlogin's JSON. */
    readonly badResponse: "bad_response";
    /** The user tapped "deny"/"cancel" on a button or popup. */
    readonly userCancelled: "user_cancelled";
    /** A wx.* API failed for another reason; errMsg says which. */
    readonly wxApi: "wx_api_failed";
    /** The user has not agreed to the mini program's privacy guidelines (errno 104). */
    readonly privacyNotAuthorized: "privacy_not_authorized";
    /**
     * Encrypted open data (user info, legacy phone, WeRun, share) could not be
     * sent: it was encrypted with the session key that the login needed to
     * send it replaced (wx.login rotates the key). The client is logged in
     * now: take the data again (ask the user to tap again). Calling
     * prepareLoginCode() before the user can tap avoids it.
     */
    readonly stalePayload: "stale_payload";
};
/**
 * WxloginError is every error the SDK rejects with: the server's error code
 * and message from `{"error": {"code", "message"}}` with the HTTP status, or
 * one of {@link ClientErrorCodes} with status 0.
 */
export declare class WxloginError extends Error {
    /** Stable, machine-readable code: match on this, never on message. */
    readonly code: string;
    /** HTTP status of the server's answer; 0 when the error arose on the client. */
    readonly status: number;
    /** Seconds the server asked to wait (Retry-After), when it sent one. */
    readonly retryAfter?: number;
    /** The failing wx.* API's errMsg, for client-side errors. */
    readonly errMsg?: string;
    /** The failing wx.* API's errno, when it gave one (104: privacy not authorized). */
    readonly errno?: number;
    constructor(code: string, message: string, status?: number, extra?: {
        retryAfter?: number;
        errMsg?: string;
        errno?: number;
    });
}
/** isWxloginError reports whether err is a WxloginError, optionally with the given code. */
export declare function isWxloginError(err: unknown, code?: string): err is WxloginError;
/** wxFailure turns a wx.* API failure into a WxloginError with a fitting code. */
export declare function wxFailure(api: string, err: unknown): WxloginError;
