import { WxloginError } from './errors.js';
/** The cookie the server sets beside the session cookie for the page's script (not HttpOnly). */
export declare const CSRF_COOKIE = "wxlogin_csrf";
/** The header an unsafe request by cookie must carry the CSRF token in. */
export declare const CSRF_HEADER = "X-Wxlogin-Csrf";
/** The query parameter a failed login returns to the page with. */
export declare const ERROR_PARAM = "wxlogin_error";
/**
 * The scopes of WeChat's web logins: `snsapi_base` (silent, openid only)
 * and `snsapi_userinfo` (asks the user, profile and unionid) for an
 * Official Account's pages inside WeChat; `snsapi_login` for a website's QR
 * code.
 */
export type WebScope = 'snsapi_base' | 'snsapi_userinfo' | 'snsapi_login';
export interface WebClientOptions {
    /**
     * Where wxlogin's routes are, as seen from the page: '' (the default)
     * when the site's proxy sends /v1/ to wxlogin, or a path prefix such as
     * '/auth' when wxlogin is mounted under one. The session cookie is
     * scoped to the site, so wxlogin must be served on the page's origin.
     */
    baseURL?: string;
    /** The fetch to use; the browser's by default. */
    fetch?: typeof fetch;
    /**
     * Called when a request through this client meets 401 session_invalid
     * (the session expired, was logged out elsewhere or revoked), before
     * the request's promise rejects: the one place to send the page to its
     * login button.
     */
    onSessionInvalid?: (err: WxloginError) => void;
}
export interface LoginOptions {
    /** The web app to log in to: an Official Account (inside WeChat) or a website app (QR code). */
    appid: string;
    /**
     * The page the login returns to: one of the app's `redirect_uris`,
     * character for character (an absolute URL, or a path resolved against
     * the page's URL). It cannot carry a fragment; put a hash route in
     * `returnTo`. Do not pass `location.href`: WeChat appends parameters
     * (`from=singlemessage`, `isappinstalled=0`) to shared links, which
     * would no longer match.
     */
    redirectURI: string;
    /** The scope; by default the app's kind's first (`snsapi_base`, or `snsapi_login` for a website app). */
    scope?: WebScope;
    /**
     * Where the page wants to be once the login is done (same origin only),
     * e.g. the deep link the user opened: `result()` hands it back.
     */
    returnTo?: string;
}
/** The outcome of the page load, as `result()` reads it. */
export type LoginResult = 
/** This page load is not the return of a login started here. */
{
    status: 'none';
}
/** The login finished: the session cookie is set. */
 | {
    status: 'ok';
    returnTo?: string;
}
/** The login failed; `error.code` says why (access_denied, snapshot_user, ...). */
 | {
    status: 'error';
    error: WxloginError;
    returnTo?: string;
};
/** One of the account's users (one per app), as GET /v1/me lists them. */
export interface Identity {
    user_id: string;
    appid: string;
    kind: 'mini_program' | 'official_account' | 'website';
    openid: string;
}
/** The logged-in user, as GET /v1/me answers. */
export interface Me {
    id: string;
    appid: string;
    openid?: string;
    unionid?: string;
    created_at: string;
    updated_at: string;
    profile: {
        nickname: string;
        avatar_url: string | null;
        source: 'filled_in' | 'user_info' | 'mixed' | 'none';
        updated_at?: string;
    };
    user_info?: Record<string, unknown>;
    phone?: Record<string, unknown>;
    account_id?: string;
    identities?: Identity[];
    [field: string]: unknown;
}
/**
 * WebClient is the page's handle on wxlogin's web logins and on requests
 * by the session cookie. Make one per page (`createWebClient`).
 */
export declare class WebClient {
    private readonly base;
    private readonly fetchImpl?;
    private readonly onSessionInvalid?;
    private outcome?;
    constructor(options?: WebClientOptions);
    /** loginURL is the URL of wxlogin's /v1/web/authorize for opts, to put in a link. */
    loginURL(opts: LoginOptions): string;
    /**
     * login sends the browser to WeChat's authorize page (inside WeChat) or
     * QR code (a website app) through wxlogin. The page it returns to calls
     * `result()`. Never call login() by itself on a page load whose
     * `result()` is an error: that loops between the page and WeChat.
     */
    login(opts: LoginOptions): void;
    /**
     * result tells how the login this page load returns from ended, and
     * removes `wxlogin_error` from the address bar (so that a reload or a
     * shared link does not show the error again). It reads the page once:
     * later calls on this client answer the same.
     */
    result(): LoginResult;
    private readResult;
    /**
     * csrfToken is the session's CSRF token from the `wxlogin_csrf` cookie,
     * or undefined without a session.
     */
    csrfToken(): string | undefined;
    /**
     * fetch is the browser's fetch for requests by the session cookie: the
     * cookie goes along (credentials 'same-origin' unless init says
     * otherwise), an unsafe method to the page's own origin carries the CSRF
     * token (never to another origin), and an answer that is one of
     * wxlogin's JSON errors (from wxlogin, or from forward-auth through the
     * site's proxy) rejects with a WxloginError. Any other answer resolves,
     * your API's own errors included: check `res.ok`.
     */
    fetch(input: string | URL, init?: RequestInit): Promise<Response>;
    private send;
    /**
     * me is the logged-in user (GET /v1/me). Without a session it rejects
     * with session_invalid (`err.loginRequired`).
     */
    me(): Promise<Me>;
    /**
     * logout ends the session (POST /v1/web/logout with the CSRF token);
     * the server clears both cookies. A session that had already ended
     * counts as logged out.
     */
    logout(): Promise<void>;
}
/** createWebClient makes the page's client. */
export declare function createWebClient(options?: WebClientOptions): WebClient;
/**
 * isInWeChat reports whether the page runs in WeChat's own browser (its
 * user agent says MicroMessenger), where an Official Account's OAuth
 * works; elsewhere a website app's QR code is the way. WeCom's browser
 * also says MicroMessenger, but its user is signed in to WeCom, not to
 * WeChat: it does not count.
 */
export declare function isInWeChat(userAgent?: string): boolean;
/** The page's web apps, by the app's kind on the server. */
export interface WebApps {
    /** appid of the Official Account (kind official_account): pages inside WeChat. */
    officialAccount?: string;
    /** Its scope: snsapi_base (silent, the default) or snsapi_userinfo (asks; profile and unionid). */
    officialAccountScope?: 'snsapi_base' | 'snsapi_userinfo';
    /** appid of the website app (kind website): the QR code on a desktop browser. */
    website?: string;
}
/**
 * chooseApp picks the app and scope for where the page runs: the Official
 * Account inside WeChat, the website app's QR code elsewhere. It returns
 * undefined when the page has no app for here (WeChat's OAuth page does
 * not open outside WeChat; a QR code cannot be scanned by the phone that
 * shows it), so that the page can say so instead of sending the user to
 * an error page.
 */
export declare function chooseApp(apps: WebApps, userAgent?: string): {
    appid: string;
    scope: WebScope;
} | undefined;
