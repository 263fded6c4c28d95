/**
 * A simulated `wx` for tests and the playground: the subset of the mini
 * program API that wxlogin's SDK uses, backed by the device API of wxlogin's
 * WeChat emulator (`/emulator/v1/`) over real HTTP. It runs in Node 20+ and in
 * browsers (anything with fetch).
 *
 *   const wx = createSimulatedWx({ emulatorURL: 'http://127.0.0.1:8081', appid, user: 'alice' })
 *   const client = createClient({ baseURL: 'http://127.0.0.1:8080', wx })
 *
 * APIs take wx-style options (success / fail / complete callbacks, errMsg
 * strings such as "login:ok" and "authorize:fail auth deny") and, like the
 * real ones, return a promise when given no callback.
 */
import type { WxAsyncAPI, WxLike, WxLoginResult, WxPrivacyListener, WxPrivacySettingResult, WxResult, WxSettingResult } from './wx';
/** The parts of fetch's Response the simulated wx reads. */
export interface FetchResponseLike {
    status: number;
    headers: {
        forEach(cb: (value: string, key: string) => void): void;
    };
    text(): Promise<string>;
    arrayBuffer(): Promise<ArrayBuffer>;
}
/** FetchLike is the fetch function (the global one by default). */
export type FetchLike = (url: string, init?: {
    method?: string;
    headers?: Record<string, string>;
    body?: unknown;
}) => Promise<FetchResponseLike>;
/** What the simulated user answers when WeChat would ask them something. */
export interface SimulatedPrompts {
    /** The wx.authorize popup (and the one of wx.getWeRunData); default: allow. */
    authorize?(scope: string): boolean | Promise<boolean>;
    /** The settings page of wx.openSetting: return the new authSetting; default: unchanged. */
    openSetting?(authSetting: Record<string, boolean>): Record<string, boolean> | Promise<Record<string, boolean>>;
    /** The wx.getUserProfile confirmation; default: allow. */
    getUserProfile?(desc: string): boolean | Promise<boolean>;
    /** WeChat's own privacy popup, shown when the app registered no onNeedPrivacyAuthorization listener; default: agree. */
    privacy?(referrer: string): boolean | Promise<boolean>;
}
/** SimulatedWxOptions configures {@link createSimulatedWx}. */
export interface SimulatedWxOptions {
    /** Where the emulator's device API is: its origin (a `/emulator/v1` suffix is fine). */
    emulatorURL: string;
    /** The mini program's appid. */
    appid: string;
    /** The simulated WeChat user's name (any name; the emulator makes the user on first use). */
    user: string;
    /** fetch to use; default the global one. */
    fetch?: FetchLike;
    /** Answers to prompts; default: the user allows everything. */
    prompts?: SimulatedPrompts;
    /**
     * The device's base library version (e.g. "2.10.0" or "3.5.0"). When set,
     * it is written to the simulated user before the first call, and APIs the
     * version lacks are left out of this wx (getUserProfile before 2.10.4,
     * privacy APIs before 2.32.3), as in WeChat.
     */
    baseLibrary?: string;
    /** The device's storage (wx.setStorageSync and friends); default a new, empty one. Share it to keep storage across simulated wx objects. */
    storage?: Map<string, string>;
    /**
     * Run inside WeCom (企业微信) as a member of this corp: `user` is then the
     * member's userid, wx.qy.login and wx.qy.checkSession exist (backed by
     * the emulator's WeCom device API), and wx.getSystemInfoSync() says
     * `environment: "wxwork"`, as WeCom does.
     */
    wecom?: {
        corpid: string;
    };
}
/** An event detail as a button's bind handler receives it. */
export type ButtonDetail = Record<string, unknown> & {
    errMsg: string;
};
/** Helpers beyond the wx API, for tests and the playground. */
export interface SimulatedControls {
    readonly appid: string;
    readonly user: string;
    /** The origin of the emulator's device API. */
    readonly emulatorURL: string;
    /** The base library this wx simulates (the emulator's default when undefined). */
    readonly baseLibrary: string | undefined;
    /** The detail a tap on `<button open-type="getPhoneNumber">` gives (deny: the user refused). */
    getPhoneNumberDetail(options?: {
        deny?: boolean;
    }): Promise<ButtonDetail>;
    /** The detail a tap on `<button open-type="getUserInfo">` gives (deny: the user refused). */
    getUserInfoDetail(options?: {
        deny?: boolean;
    }): Promise<ButtonDetail>;
    /** The detail a tap on `<button open-type="chooseAvatar">` gives: `{avatarUrl}`, a temporary file path. */
    chooseAvatarDetail(options?: {
        deny?: boolean;
    }): Promise<ButtonDetail>;
    /** What `<input type="nickname">` gives when the user picks WeChat's nickname. */
    nicknameDetail(): Promise<ButtonDetail>;
    /** Adds a temporary file (as if the device made it) and returns its path, for wx.uploadFile. */
    addTempFile(data: Uint8Array | string, contentType?: string): string;
    /** Reads a temporary file. */
    readTempFile(path: string): {
        data: Uint8Array;
        contentType: string;
    } | undefined;
    /** Calls the emulator's device API directly (`/emulator/v1` + path), rejecting on an error envelope. */
    device<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
    /** Updates the simulated user's data (nickName, phoneNumber, baseLibrary, ...). */
    setUser(data: Record<string, unknown>): Promise<void>;
    /** Clears this device's storage. */
    clearStorage(): void;
}
/** SimulatedUserInfoResult is what wx.getUserInfo and wx.getUserProfile give (with credentials). */
export interface SimulatedUserInfoResult extends WxResult {
    userInfo: Record<string, unknown>;
    rawData: string;
    signature: string;
    encryptedData?: string;
    iv?: string;
}
/** SimulatedEncryptedResult is encrypted open data, as wx.getWeRunData gives it. */
export interface SimulatedEncryptedResult extends WxResult {
    encryptedData: string;
    iv: string;
}
/**
 * SimulatedWx is a {@link WxLike} whose asynchronous APIs also return
 * promises, with the user info and WeRun APIs and {@link SimulatedControls}.
 * APIs its base library lacks are absent (`undefined`), as in WeChat.
 */
export interface SimulatedWx extends WxLike {
    login: WxAsyncAPI<{
        timeout?: number;
    }, WxLoginResult>;
    checkSession: WxAsyncAPI<{}, WxResult>;
    getSetting: WxAsyncAPI<{}, WxSettingResult>;
    authorize: WxAsyncAPI<{
        scope: string;
    }, WxResult>;
    openSetting: WxAsyncAPI<{}, WxSettingResult>;
    getUserInfo: WxAsyncAPI<{
        withCredentials?: boolean;
        lang?: string;
    }, SimulatedUserInfoResult>;
    /** Base library 2.10.4+. */
    getUserProfile?: WxAsyncAPI<{
        desc: string;
        lang?: string;
    }, SimulatedUserInfoResult>;
    getWeRunData: WxAsyncAPI<{}, SimulatedEncryptedResult>;
    /** Base library 2.32.3+, as the other privacy APIs. */
    getPrivacySetting?: WxAsyncAPI<{}, WxPrivacySettingResult>;
    requirePrivacyAuthorize?: WxAsyncAPI<{}, WxResult>;
    onNeedPrivacyAuthorization?: (listener: WxPrivacyListener) => void;
    /** `environment: "wxwork"` inside WeCom (options.wecom), absent in WeChat. */
    getSystemInfoSync(): {
        SDKVersion: string;
        platform: string;
        environment?: 'wxwork';
    };
    /** Inside WeCom only (options.wecom). */
    qy?: {
        login: WxAsyncAPI<{
            timeout?: number;
            suiteId?: string;
        }, WxLoginResult>;
        checkSession: WxAsyncAPI<{}, WxResult>;
    };
    simulated: SimulatedControls;
}
/** compareVersions compares dotted versions numerically. */
export declare function compareVersions(a: string, b: string): number;
/**
 * createSimulatedWx returns a simulated wx for one user of one app, backed by
 * the emulator's device API.
 */
export declare function createSimulatedWx(options: SimulatedWxOptions): SimulatedWx;
