import type { WxLike } from './wx';
export type { WxLike } from './wx';
/** ClientOptions configures {@link createClient}. */
export interface ClientOptions {
    /** wxlogin's base URL, e.g. `https://login.example.com` (a trailing slash is fine). */
    baseURL: string;
    /** The mini program's appid; may be left out when the server serves one app. */
    appid?: string;
    /**
     * The appid of the server's WeCom app (kind `wecom`) to log in to when
     * the mini program runs inside WeCom; default `appid`. With it one build
     * serves WeChat users through `appid` and WeCom members through this.
     */
    wecomAppid?: string;
    /**
     * Whether to log in with wx.qy.login (WeCom) rather than wx.login:
     * `'auto'` (the default) when the wx object has `qy.login` and
     * wx.getSystemInfoSync() says `environment: "wxwork"`, as inside WeCom.
     */
    wecom?: boolean | 'auto';
    /** Storage key of the login state; default `wxlogin:session`. */
    storageKey?: string;
    /** The wx object to use; default the global `wx`. */
    wx?: WxLike;
    /** Most time, in ms, spent waiting on Retry-After for one call; default 10000. */
    maxRetryWaitMs?: number;
    /**
     * Most retries of one call; default 2. A request is retried after a 503 or
     * 429 answer (waiting for Retry-After); a login after invalid_code (with a
     * new wx.login code) or upstream_unavailable (a new code, after
     * Retry-After). A 401 re-login is separate: always once.
     */
    maxRetries?: number;
    /** Timeout of each wx.request, in ms; default the base library's. */
    timeoutMs?: number;
    /** Clock, in ms since the epoch; default Date.now. */
    now?: () => number;
    /** Waits ms milliseconds; default setTimeout. Tests may replace it. */
    sleep?: (ms: number) => Promise<void>;
}
/** User is wxlogin's user as `POST /v1/login` returns it. */
export interface User {
    id: string;
    appid: string;
    /** A WeChat user's openid; absent for a member of a WeCom corp. */
    openid?: string;
    /** A WeCom member's corp (a WeCom app's user only). */
    corpid?: string;
    /** A WeCom member's userid in that corp (a WeCom app's user only). */
    userid?: string;
    unionid?: string;
    created_at: string;
    /** Only on login: true when this login registered the user. */
    created?: boolean;
    [key: string]: unknown;
}
/**
 * SessionPolicy is the app's session policy as the server says it at login.
 * `wechat`: a session lives while WeChat's session_key for it is valid, so
 * the SDK hands every wx.login code it takes to the server at once.
 */
export type SessionPolicy = 'own' | 'wechat';
/** Session is the stored login state. */
export interface Session {
    token: string;
    /** RFC 3339; the earlier of the idle and absolute deadlines when it was issued. */
    expires_at: string;
    user: User;
    /** The app's session policy; absent from servers that predate it (then `own`). */
    session_policy?: SessionPolicy;
}
/** RequestOptions describes one call to wxlogin (or to an API behind it). */
export interface RequestOptions {
    /** Path below baseURL (`/v1/session`) or an absolute URL (the token goes with it: only your own APIs). */
    path: string;
    method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD' | 'OPTIONS';
    data?: string | Record<string, unknown> | ArrayBuffer;
    header?: Record<string, string>;
    /** Whether to attach the login token (logging in first when needed); default true. */
    auth?: boolean;
}
/** Response is a successful answer (2xx). */
export interface Response<T = unknown> {
    status: number;
    data: T;
    header: Record<string, string>;
}
/** The button event detail of `<button open-type="getUserInfo">` or wx.getUserProfile's result. */
export interface UserInfoDetail {
    errMsg?: string;
    rawData?: string;
    signature?: string;
    encryptedData?: string;
    iv?: string;
    userInfo?: Record<string, unknown>;
}
/** The button event detail of `<button open-type="getPhoneNumber">`. */
export interface PhoneDetail {
    errMsg?: string;
    errno?: number;
    /** One-time phone code (base library 2.21.2+): preferred. */
    code?: string;
    encryptedData?: string;
    iv?: string;
}
/** Encrypted open data (wx.getWeRunData, wx.getShareInfo). */
export interface EncryptedDetail {
    errMsg?: string;
    encryptedData?: string;
    iv?: string;
}
/** Phone is a phone number as the server returns it. */
export interface Phone {
    phoneNumber: string;
    purePhoneNumber: string;
    countryCode: string;
}
/** PayloadOptions tune the open-data helpers. */
export interface PayloadOptions {
    /**
     * A wx.login code to send as `login_code`; default the code kept by
     * {@link Client.prepareLoginCode}, if any is still fresh.
     */
    loginCode?: string;
}
/** ScopeResult is the answer of {@link Client.ensureScope}. */
export interface ScopeResult {
    scope: string;
    granted: boolean;
    /**
     * granted: usable now. denied: the user refused earlier, WeChat will not ask
     * again: guide them to the settings page ({@link Client.openSettingFor}).
     * needs_button: scope.userInfo, which only a button tap can grant.
     */
    status: 'granted' | 'denied' | 'needs_button';
}
/** PrivacyResult is the answer of {@link Client.ensurePrivacy}. */
export interface PrivacyResult {
    /** Whether the user had to be asked (false: agreed earlier, or an old base library). */
    asked: boolean;
    /** The mini program's privacy contract name, when the base library gives it. */
    contractName?: string;
}
/** PrivacyPrompt shows the app's own privacy popup and resolves to whether the user agreed. */
export type PrivacyPrompt = (info: {
    contractName?: string;
    referrer?: string;
}) => Promise<boolean | {
    agree: boolean;
    buttonId?: string;
}>;
/** ProfileInput is what {@link Client.saveProfile} sends. */
export interface ProfileInput {
    /** From `<input type="nickname">`. */
    nickname?: string;
    /** The temporary file path from `<button open-type="chooseAvatar">`. */
    avatarPath?: string;
}
/** ANONYMOUS_NICKNAME is the nickname WeChat returns from getUserProfile since base library 2.27.1. */
export declare const ANONYMOUS_NICKNAME = "\u5FAE\u4FE1\u7528\u6237";
/**
 * isAnonymousProfile reports whether user info from wx.getUserProfile (or a
 * plugin's wx.getUserInfo) is the anonymised one WeChat returns since base
 * library 2.27.1: nickname "微信用户" and the default grey avatar. Such a
 * profile should never overwrite one the user filled in.
 */
export declare function isAnonymousProfile(userInfo: {
    nickName?: unknown;
} | null | undefined): boolean;
/**
 * runsInWeCom reports whether w is the wx of a mini program running inside
 * WeCom: it has wx.qy.login, and wx.getSystemInfoSync() gives
 * `environment: "wxwork"` (WeCom's documented test; WeChat gives none).
 */
export declare function runsInWeCom(w: WxLike): boolean;
/**
 * Client is wxlogin's mini program client: it keeps the login state in
 * storage, logs in when needed (one login at a time, however many callers
 * wait), and sends requests with the token, logging in again once when the
 * server says the session is gone.
 */
export declare class Client {
    private readonly wx;
    private readonly baseURL;
    private readonly appid?;
    private readonly weCom;
    private readonly storageKey;
    private readonly maxRetryWaitMs;
    private readonly maxRetries;
    private readonly timeoutMs?;
    private readonly now;
    private readonly sleep;
    private inflight;
    private checkedToken;
    private pendingCode;
    private privacyPrompt;
    private privacyListening;
    constructor(options: ClientOptions);
    /** getToken returns the stored login token, or null when logged out. It never logs in. */
    getToken(): string | null;
    /** getSession returns the stored login state, or null. It never logs in. */
    getSession(): Session | null;
    /**
     * login returns a usable session. A stored session whose expires_at has
     * not passed is checked with wx.checkSession the first time this client
     * sees its token (an app launch) and then reused without asking again,
     * until the server refuses it (a 401 makes request() log in again). A
     * failed check, an expired or missing session: wx.login → POST /v1/login,
     * stored. Concurrent callers share one login. `force` skips the stored
     * session.
     */
    login(options?: {
        force?: boolean;
    }): Promise<Session>;
    private doLogin;
    private wxLogin;
    /**
     * prepareLoginCode calls wx.login now and keeps the code for the next
     * open-data call (user info, legacy phone, WeRun), which sends it as
     * `login_code` so the server decrypts with the key that encrypted the data.
     * Call it when a page with a getUserInfo / getPhoneNumber button shows, or
     * before wx.getUserProfile / wx.getWeRunData: never inside their callbacks
     * (a wx.login there rotates the key the data was encrypted with).
     */
    prepareLoginCode(): Promise<void>;
    /**
     * handCode gives the server a code this SDK took with wx.login while
     * logged in (POST /v1/session/code), under the wechat policy: that
     * wx.login killed the key the session held, and the server must never
     * check a key older than the newest. It reports whether the server took
     * the code; when not (no session there any more, the network), the code
     * is kept for the next login or payload, which trades it all the same.
     */
    private handCode;
    /** endQuietly ends a session on the server (DELETE /v1/session), ignoring any failure. */
    private endQuietly;
    /** hasPreparedLoginCode reports whether a code from prepareLoginCode is kept and fresh. */
    hasPreparedLoginCode(): boolean;
    private takePendingCode;
    /**
     * request sends a request with the login token, logging in first when
     * needed. On 401 session_invalid it logs in again once and retries once; on
     * 503 (or 429) it waits for Retry-After within a bound and retries. Other
     * errors reject with a {@link WxloginError} carrying the server's code.
     */
    request<T = unknown>(options: RequestOptions): Promise<Response<T>>;
    /** relogin replaces a token the server refused, sharing one login among callers. */
    private relogin;
    /** send performs one logical call: wx.request plus Retry-After retries. */
    private send;
    /** waitRetryAfter sleeps for the error's Retry-After when it fits the budget and reports whether it did. */
    private waitRetryAfter;
    private wxRequest;
    /**
     * logout ends the session on the server (DELETE /v1/session) and forgets it
     * here. A session the server already dropped is not an error.
     */
    logout(): Promise<void>;
    /** me returns the signed-in user with their profile (GET /v1/me). */
    me<T = Record<string, unknown>>(): Promise<T>;
    /**
     * saveUserInfo sends the detail of a getUserInfo button (or the result of
     * wx.getUserProfile / wx.getUserInfo with credentials) to POST /v1/userinfo
     * and returns the verified user info. A user who tapped "deny" rejects with
     * code `user_cancelled`.
     */
    saveUserInfo(detail: UserInfoDetail, options?: PayloadOptions): Promise<Record<string, unknown>>;
    /**
     * savePhone sends the detail of a getPhoneNumber button to POST /v1/phone:
     * the one-time phone code when the base library gives one (2.21.2+), else
     * the legacy encryptedData/iv. Returns the stored phone number.
     */
    savePhone(detail: PhoneDetail, options?: PayloadOptions): Promise<Phone>;
    /** decrypt sends WeRun (`werun`) or share (`share`) data to POST /v1/decrypt and returns the plaintext object. */
    decrypt<T = Record<string, unknown>>(kind: 'werun' | 'share', detail: EncryptedDetail, options?: PayloadOptions): Promise<T>;
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
    private payloadRequest;
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
    ensureScope(scope: string): Promise<ScopeResult>;
    /**
     * openSettingFor opens WeChat's settings page (call it from a tap: WeChat
     * requires one) and reports whether scope is granted when the user comes back.
     */
    openSettingFor(scope: string): Promise<boolean>;
    /**
     * onPrivacyPrompt registers the app's privacy popup: when a privacy API
     * needs the user's agreement, WeChat calls wx.onNeedPrivacyAuthorization and
     * the SDK asks prompt. Register once, early (e.g. in App.onLaunch).
     */
    onPrivacyPrompt(prompt: PrivacyPrompt): void;
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
    ensurePrivacy(prompt?: PrivacyPrompt): Promise<PrivacyResult>;
    /**
     * saveProfile saves what the user filled in: the avatar from
     * `<button open-type="chooseAvatar">` uploaded with wx.uploadFile to
     * POST /v1/me/avatar, and the nickname from `<input type="nickname">` with
     * PUT /v1/me/profile. Returns the user as the last answer gives it.
     */
    saveProfile(input: ProfileInput): Promise<Record<string, unknown>>;
    private uploadAvatar;
    private stored;
    private removeStored;
}
/** createClient returns a {@link Client}. */
export declare function createClient(options: ClientOptions): Client;
