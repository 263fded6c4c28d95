/**
 * The server's error codes a web page meets: from the return of a login
 * (`?wxlogin_error=<code>`, read by `result()`) and from answers to its
 * requests (`{"error": {"code", "message"}}`). They never change meaning.
 */
export declare const ErrorCodes: {
    /** 401: no session, or it expired, was logged out or revoked: log in again. */
    readonly sessionInvalid: "session_invalid";
    /** 403: an unsafe request by cookie without the page's CSRF token. */
    readonly csrfRejected: "csrf_rejected";
    /** The user refused on WeChat's authorize page or on the phone. */
    readonly accessDenied: "access_denied";
    /**
     * WeChat's snapshot-mode virtual user (a page opened in WeChat's
     * snapshot view): ask the user to open the page for real.
     */
    readonly snapshotUser: "snapshot_user";
    /** WeChat's code was unknown, expired or used: start the login again. */
    readonly invalidCode: "invalid_code";
    /** WeChat flagged the user as high-risk. */
    readonly codeBlocked: "code_blocked";
    /**
     * The callback came without this browser's state (too late, replayed,
     * another browser). wxlogin answers it at /v1/web/callback itself: not
     * knowing which page started the login, it redirects nowhere.
     */
    readonly invalidState: "invalid_state";
    /**
     * redirect_uri is not one of the app's redirect_uris: /v1/web/authorize
     * answers it itself, before any redirect (a configuration error).
     */
    readonly redirectNotAllowed: "redirect_not_allowed";
    /** WeChat is busy or down; `retryAfter` says when to try again. */
    readonly upstreamUnavailable: "upstream_unavailable";
    /** WeChat refused the app's appid or secret (a configuration error). */
    readonly upstreamRejected: "upstream_rejected";
    /** Too many logins or requests; `retryAfter` says when to try again. */
    readonly rateLimited: "rate_limited";
    /** wxlogin's store cannot be reached; `retryAfter` says when to try again. */
    readonly storeUnavailable: "store_unavailable";
    readonly invalidRequest: "invalid_request";
    readonly unknownApp: "unknown_app";
    readonly internal: "internal";
};
/**
 * Error codes the SDK itself produces (status 0): the server never sends
 * them.
 */
export declare const ClientErrorCodes: {
    /** fetch failed before any HTTP answer (offline, DNS, a CORS refusal). */
    readonly network: "network_error";
    /** The server answered something that is not the JSON the call expects. */
    readonly badResponse: "bad_response";
    /**
     * A login came back without an error, but this page sees no session
     * cookie: wxlogin answered the login on another host than the page's
     * (its cookies belong to that host), or the browser refuses cookies.
     * Logging in again would loop.
     */
    readonly cookieMissing: "cookie_missing";
};
export type ServerErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
export type ClientErrorCode = (typeof ClientErrorCodes)[keyof typeof ClientErrorCodes];
/** Every code a WxloginError may carry; a newer server may send others. */
export type WxloginErrorCode = ServerErrorCode | ClientErrorCode | (string & {});
/**
 * WxloginError is every error the SDK throws or hands back: the server's
 * code and message with the HTTP status, or one of {@link ClientErrorCodes}
 * with status 0. Match on `code`, never on `message`.
 */
export declare class WxloginError extends Error {
    /** Stable, machine-readable code. */
    readonly code: WxloginErrorCode;
    /** HTTP status of the server's answer; 0 when the error arose in the browser or came back in the page's URL. */
    readonly status: number;
    /** Seconds the server asked to wait (Retry-After), when it sent one. */
    readonly retryAfter?: number;
    constructor(code: WxloginErrorCode, message: string, status?: number, extra?: {
        retryAfter?: number;
        cause?: unknown;
    });
    /** loginRequired reports whether the page has no session (any more) and should offer to log in. */
    get loginRequired(): boolean;
}
/** isWxloginError reports whether err is a WxloginError, optionally with the given code. */
export declare function isWxloginError(err: unknown, code?: WxloginErrorCode): err is WxloginError;
/** loginError is the WxloginError of a `?wxlogin_error=<code>` return. */
export declare function loginError(code: string): WxloginError;
