"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.Client = exports.ANONYMOUS_NICKNAME = void 0;
exports.isAnonymousProfile = isAnonymousProfile;
exports.runsInWeCom = runsInWeCom;
exports.createClient = createClient;
const errors_1 = require("./errors");
/** A code kept by prepareLoginCode stays usable this long (WeChat's limit is 5 minutes). */
const PENDING_CODE_TTL_MS = 4 * 60 * 1000;
/** The server's codes for open data it cannot check or decrypt with the session key it holds. */
const STALE_KEY_CODES = new Set(['invalid_signature', 'invalid_encrypted_data']);
/** ANONYMOUS_NICKNAME is the nickname WeChat returns from getUserProfile since base library 2.27.1. */
exports.ANONYMOUS_NICKNAME = '微信用户';
/**
 * isAnonymousProfile reports whether user info from wx.getUserProfile (or a
 * plugin's wx.getUserInfo) is the anonymised one WeChat returns since base
 * library 2.27.1: nickname "微信用户" and the default grey avatar. Such a
 * profile should never overwrite one the user filled in.
 */
function isAnonymousProfile(userInfo) {
    return !!userInfo && userInfo.nickName === exports.ANONYMOUS_NICKNAME;
}
/**
 * settled marks what a wx-style API returned as handled. The SDK always
 * passes callbacks and reads the answer from them; Taro's APIs also return
 * a promise that rejects on failure even then, and left alone that promise
 * would be an unhandled rejection in the app.
 */
function settled(ret) {
    if (ret && typeof ret.then === 'function') {
        ;
        ret.then(undefined, () => { });
    }
}
function promisify(api, fn, opts = {}) {
    return new Promise((resolve, reject) => {
        var _a;
        if (typeof fn !== 'function') {
            reject(new errors_1.WxloginError(errors_1.ClientErrorCodes.wxApi, `wx.${api} is not available in this base library`, 0, { errMsg: `${api}:fail not supported` }));
            return;
        }
        try {
            settled(fn(Object.assign(Object.assign({}, opts), { success: (res) => resolve(res), fail: (err) => reject((0, errors_1.wxFailure)(api, err)) })));
        }
        catch (err) {
            reject((0, errors_1.wxFailure)(api, { errMsg: `${api}:fail ${String((_a = err === null || err === void 0 ? void 0 : err.message) !== null && _a !== void 0 ? _a : err)}` }));
        }
    });
}
function headerValue(header, name) {
    if (!header)
        return undefined;
    const want = name.toLowerCase();
    for (const k of Object.keys(header)) {
        if (k.toLowerCase() === want) {
            const v = header[k];
            return v === undefined || v === null ? undefined : String(v);
        }
    }
    return undefined;
}
/**
 * runsInWeCom reports whether w is the wx of a mini program running inside
 * WeCom: it has wx.qy.login, and wx.getSystemInfoSync() gives
 * `environment: "wxwork"` (WeCom's documented test; WeChat gives none).
 */
function runsInWeCom(w) {
    var _a;
    if (typeof ((_a = w.qy) === null || _a === void 0 ? void 0 : _a.login) !== 'function' || typeof w.getSystemInfoSync !== 'function')
        return false;
    try {
        return w.getSystemInfoSync().environment === 'wxwork';
    }
    catch (_b) {
        return false;
    }
}
/** retryAfterSeconds parses Retry-After (seconds or an HTTP date). */
function retryAfterSeconds(header, now) {
    const v = headerValue(header, 'Retry-After');
    if (v === undefined || v.trim() === '')
        return undefined;
    if (/^\d+$/.test(v.trim()))
        return parseInt(v.trim(), 10);
    const t = Date.parse(v);
    if (isNaN(t))
        return undefined;
    return Math.max(0, Math.ceil((t - now) / 1000));
}
/**
 * parseTime reads an RFC 3339 time in ms since the epoch (NaN when it cannot).
 * The server sends nanoseconds; fractions are cut to milliseconds first, as
 * not every mini program JS engine parses more than three digits.
 */
function parseTime(s) {
    return Date.parse(String(s).replace(/(\.\d{3})\d+/, '$1'));
}
function parseBody(data) {
    if (typeof data === 'string' && data !== '') {
        try {
            return JSON.parse(data);
        }
        catch (_a) {
            return data;
        }
    }
    return data;
}
/** errorFromResponse builds the WxloginError of a non-2xx answer. */
function errorFromResponse(status, data, header, now) {
    const body = parseBody(data);
    const retryAfter = retryAfterSeconds(header, now);
    const extra = retryAfter === undefined ? {} : { retryAfter };
    if (body && typeof body === 'object' && body.error && typeof body.error.code === 'string') {
        const message = typeof body.error.message === 'string' ? body.error.message : body.error.code;
        return new errors_1.WxloginError(body.error.code, message, status, extra);
    }
    return new errors_1.WxloginError(errors_1.ClientErrorCodes.badResponse, `unexpected answer: HTTP ${status}`, status, extra);
}
function checkDetail(api, detail) {
    if (!detail || typeof detail !== 'object') {
        throw new errors_1.WxloginError(errors_1.ClientErrorCodes.wxApi, `${api}: no event detail given`);
    }
    if (typeof detail.errMsg === 'string' && !/:ok$/.test(detail.errMsg)) {
        throw (0, errors_1.wxFailure)(api, detail);
    }
}
/**
 * Client is wxlogin's mini program client: it keeps the login state in
 * storage, logs in when needed (one login at a time, however many callers
 * wait), and sends requests with the token, logging in again once when the
 * server says the session is gone.
 */
class Client {
    constructor(options) {
        var _a, _b, _c, _d, _e, _f, _g;
        this.inflight = null;
        this.checkedToken = null;
        this.pendingCode = null;
        this.privacyPrompt = null;
        this.privacyListening = false;
        if (!options || typeof options.baseURL !== 'string' || options.baseURL === '') {
            throw new TypeError('createClient: baseURL is required');
        }
        // `satisfies` checks here, at build time, that the real wx (as
        // miniprogram-api-typings declares it) is a WxLike.
        const w = (_a = options.wx) !== null && _a !== void 0 ? _a : (typeof wx !== 'undefined' ? wx : undefined);
        if (!w)
            throw new TypeError('createClient: no wx object (pass options.wx outside a mini program)');
        this.wx = w;
        this.baseURL = options.baseURL.replace(/\/+$/, '');
        this.weCom = options.wecom === 'auto' || options.wecom === undefined ? runsInWeCom(w) : options.wecom;
        const appid = this.weCom ? ((_b = options.wecomAppid) !== null && _b !== void 0 ? _b : options.appid) : options.appid;
        if (appid)
            this.appid = appid;
        this.storageKey = (_c = options.storageKey) !== null && _c !== void 0 ? _c : 'wxlogin:session';
        this.maxRetryWaitMs = (_d = options.maxRetryWaitMs) !== null && _d !== void 0 ? _d : 10000;
        this.maxRetries = (_e = options.maxRetries) !== null && _e !== void 0 ? _e : 2;
        if (options.timeoutMs !== undefined)
            this.timeoutMs = options.timeoutMs;
        this.now = (_f = options.now) !== null && _f !== void 0 ? _f : (() => Date.now());
        this.sleep = (_g = options.sleep) !== null && _g !== void 0 ? _g : ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    }
    /** getToken returns the stored login token, or null when logged out. It never logs in. */
    getToken() {
        const s = this.stored();
        return s ? s.token : null;
    }
    /** getSession returns the stored login state, or null. It never logs in. */
    getSession() {
        return this.stored();
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
    login(options = {}) {
        if (this.inflight)
            return this.inflight;
        const done = () => {
            if (this.inflight === p)
                this.inflight = null;
        };
        const p = this.doLogin(!!options.force).then((s) => {
            done();
            return s;
        }, (err) => {
            done();
            throw err;
        });
        this.inflight = p;
        return p;
    }
    async doLogin(force) {
        var _a, _b, _c;
        if (!force) {
            const s = this.stored();
            // A deadline this device cannot read is left to wx.checkSession and the server's 401.
            if (s && !(parseTime(s.expires_at) <= this.now())) {
                // wx.checkSession once per token and client (an app launch), not
                // before every request: after that the server's 401 tells.
                if (this.checkedToken === s.token)
                    return s;
                try {
                    if (this.weCom) {
                        await promisify('qy.checkSession', (_b = (_a = this.wx.qy) === null || _a === void 0 ? void 0 : _a.checkSession) === null || _b === void 0 ? void 0 : _b.bind(this.wx.qy));
                    }
                    else {
                        await promisify('checkSession', this.wx.checkSession.bind(this.wx));
                    }
                    this.checkedToken = s.token;
                    return s;
                }
                catch (_d) {
                    // WeChat's side of the login state is gone: log in afresh.
                    // Under the wechat policy the server would end that session on
                    // its own once it checks the key; ending it now keeps the two in
                    // step, and keeps the new login's key from keeping it alive.
                    if (s.session_policy === 'wechat')
                        await this.endQuietly(s.token);
                }
            }
        }
        // One Retry-After budget for the whole login, however many codes it
        // takes; at most 1 + maxRetries codes.
        const budget = { waited: 0 };
        for (let attempt = 0;; attempt++) {
            const code = (_c = this.takePendingCode()) !== null && _c !== void 0 ? _c : (await this.wxLogin());
            const body = { code };
            if (this.appid)
                body.appid = this.appid;
            try {
                const res = await this.send({ path: '/v1/login', method: 'POST', data: body, auth: false }, null, false);
                const session = { token: res.data.token, expires_at: res.data.expires_at, user: res.data.user };
                if (res.data.session_policy === 'wechat' || res.data.session_policy === 'own')
                    session.session_policy = res.data.session_policy;
                if (typeof session.token !== 'string' || session.token === '') {
                    throw new errors_1.WxloginError(errors_1.ClientErrorCodes.badResponse, 'login answer has no token', res.status);
                }
                this.wx.setStorageSync(this.storageKey, session);
                this.checkedToken = session.token;
                return session;
            }
            catch (err) {
                // A used or expired code, or WeChat busy (the code may be spent): take a new code.
                const retryable = err instanceof errors_1.WxloginError && (err.code === 'invalid_code' || err.code === 'upstream_unavailable');
                if (!retryable || attempt >= this.maxRetries)
                    throw err;
                if (err.code === 'upstream_unavailable' && !(await this.waitRetryAfter(err, budget)))
                    throw err;
            }
        }
    }
    async wxLogin() {
        var _a, _b;
        // A wx.login rotates the session key: a kept code no longer matches it.
        this.pendingCode = null;
        const opts = {};
        if (this.timeoutMs !== undefined)
            opts.timeout = this.timeoutMs;
        // Inside WeCom the code comes from wx.qy.login and the server trades
        // it at WeCom; a wx.login code would name a WeChat user instead.
        const api = this.weCom ? 'qy.login' : 'login';
        const fn = this.weCom ? (_b = (_a = this.wx.qy) === null || _a === void 0 ? void 0 : _a.login) === null || _b === void 0 ? void 0 : _b.bind(this.wx.qy) : this.wx.login.bind(this.wx);
        const res = await promisify(api, fn, opts);
        if (!res || typeof res.code !== 'string' || res.code === '') {
            throw new errors_1.WxloginError(errors_1.ClientErrorCodes.wxApi, `wx.${api} returned no code`, 0, { errMsg: `${api}:fail no code` });
        }
        return res.code;
    }
    /**
     * prepareLoginCode calls wx.login now and keeps the code for the next
     * open-data call (user info, legacy phone, WeRun), which sends it as
     * `login_code` so the server decrypts with the key that encrypted the data.
     * Call it when a page with a getUserInfo / getPhoneNumber button shows, or
     * before wx.getUserProfile / wx.getWeRunData: never inside their callbacks
     * (a wx.login there rotates the key the data was encrypted with).
     */
    async prepareLoginCode() {
        const code = await this.wxLogin();
        const s = this.stored();
        if (s && s.session_policy === 'wechat' && (await this.handCode(s.token, code)))
            return;
        this.pendingCode = { code, at: this.now() };
    }
    /**
     * handCode gives the server a code this SDK took with wx.login while
     * logged in (POST /v1/session/code), under the wechat policy: that
     * wx.login killed the key the session held, and the server must never
     * check a key older than the newest. It reports whether the server took
     * the code; when not (no session there any more, the network), the code
     * is kept for the next login or payload, which trades it all the same.
     */
    async handCode(token, code) {
        try {
            await this.send({ path: '/v1/session/code', method: 'POST', data: { code } }, token, true);
            return true;
        }
        catch (_a) {
            return false;
        }
    }
    /** endQuietly ends a session on the server (DELETE /v1/session), ignoring any failure. */
    async endQuietly(token) {
        try {
            await this.send({ path: '/v1/session', method: 'DELETE' }, token, false);
        }
        catch (_a) {
            // Already gone, or unreachable: the server's own check ends it.
        }
    }
    /** hasPreparedLoginCode reports whether a code from prepareLoginCode is kept and fresh. */
    hasPreparedLoginCode() {
        return !!this.pendingCode && this.now() - this.pendingCode.at < PENDING_CODE_TTL_MS;
    }
    takePendingCode() {
        const p = this.pendingCode;
        this.pendingCode = null;
        if (p && this.now() - p.at < PENDING_CODE_TTL_MS)
            return p.code;
        return undefined;
    }
    /**
     * request sends a request with the login token, logging in first when
     * needed. On 401 session_invalid it logs in again once and retries once; on
     * 503 (or 429) it waits for Retry-After within a bound and retries. Other
     * errors reject with a {@link WxloginError} carrying the server's code.
     */
    async request(options) {
        if (options.auth === false)
            return this.send(options, null, true);
        let session = await this.login();
        try {
            return await this.send(options, session.token, true);
        }
        catch (err) {
            if (!(err instanceof errors_1.WxloginError && err.status === 401 && err.code === 'session_invalid'))
                throw err;
            session = await this.relogin(session.token);
            return this.send(options, session.token, true);
        }
    }
    /** relogin replaces a token the server refused, sharing one login among callers. */
    relogin(failedToken) {
        if (this.inflight)
            return this.inflight;
        const cur = this.stored();
        if (cur && cur.token !== failedToken)
            return Promise.resolve(cur);
        this.removeStored();
        return this.login({ force: true });
    }
    /** send performs one logical call: wx.request plus Retry-After retries. */
    async send(options, token, retry) {
        const budget = { waited: 0 };
        for (let attempt = 0;; attempt++) {
            const res = await this.wxRequest(options, token);
            if (res.statusCode >= 200 && res.statusCode < 300) {
                return { status: res.statusCode, data: parseBody(res.data), header: res.header };
            }
            const err = errorFromResponse(res.statusCode, res.data, res.header, this.now());
            if (retry && (res.statusCode === 503 || res.statusCode === 429) && attempt < this.maxRetries) {
                if (await this.waitRetryAfter(err, budget))
                    continue;
            }
            throw err;
        }
    }
    /** waitRetryAfter sleeps for the error's Retry-After when it fits the budget and reports whether it did. */
    async waitRetryAfter(err, budget) {
        var _a;
        const ms = ((_a = err.retryAfter) !== null && _a !== void 0 ? _a : 1) * 1000;
        if (budget.waited + ms > this.maxRetryWaitMs)
            return false;
        budget.waited += ms;
        await this.sleep(ms);
        return true;
    }
    wxRequest(options, token) {
        var _a, _b;
        const url = /^https?:\/\//.test(options.path) ? options.path : this.baseURL + (options.path.startsWith('/') ? '' : '/') + options.path;
        const header = Object.assign({}, ((_a = options.header) !== null && _a !== void 0 ? _a : {}));
        if (token)
            header.Authorization = `Bearer ${token}`;
        if (options.data !== undefined && typeof options.data === 'object' && !(options.data instanceof ArrayBuffer)) {
            header['Content-Type'] = (_b = header['Content-Type']) !== null && _b !== void 0 ? _b : 'application/json';
        }
        return new Promise((resolve, reject) => {
            var _a, _b;
            const opts = {
                url,
                method: (_a = options.method) !== null && _a !== void 0 ? _a : 'GET',
                header,
                dataType: 'json',
                success: (res) => { var _a; return resolve({ statusCode: res.statusCode, data: res.data, header: (_a = res.header) !== null && _a !== void 0 ? _a : {} }); },
                fail: (err) => { var _a; return reject(new errors_1.WxloginError(errors_1.ClientErrorCodes.network, (_a = err === null || err === void 0 ? void 0 : err.errMsg) !== null && _a !== void 0 ? _a : 'request:fail', 0, (err === null || err === void 0 ? void 0 : err.errMsg) ? { errMsg: err.errMsg } : {})); },
            };
            if (options.data !== undefined)
                opts.data = options.data;
            if (this.timeoutMs !== undefined)
                opts.timeout = this.timeoutMs;
            try {
                settled(this.wx.request(opts));
            }
            catch (err) {
                reject(new errors_1.WxloginError(errors_1.ClientErrorCodes.network, `request:fail ${String((_b = err === null || err === void 0 ? void 0 : err.message) !== null && _b !== void 0 ? _b : err)}`));
            }
        });
    }
    /**
     * logout ends the session on the server (DELETE /v1/session) and forgets it
     * here. A session the server already dropped is not an error.
     */
    async logout() {
        const s = this.stored();
        this.pendingCode = null;
        if (!s)
            return;
        try {
            await this.send({ path: '/v1/session', method: 'DELETE' }, s.token, false);
        }
        catch (err) {
            if (!(err instanceof errors_1.WxloginError && err.status === 401)) {
                this.removeStored();
                throw err;
            }
        }
        this.removeStored();
    }
    /** me returns the signed-in user with their profile (GET /v1/me). */
    async me() {
        return (await this.request({ path: '/v1/me' })).data;
    }
    /**
     * saveUserInfo sends the detail of a getUserInfo button (or the result of
     * wx.getUserProfile / wx.getUserInfo with credentials) to POST /v1/userinfo
     * and returns the verified user info. A user who tapped "deny" rejects with
     * code `user_cancelled`.
     */
    async saveUserInfo(detail, options = {}) {
        checkDetail('getUserInfo', detail);
        if (!detail.rawData || !detail.signature || !detail.encryptedData || !detail.iv) {
            throw new errors_1.WxloginError(errors_1.ClientErrorCodes.wxApi, 'getUserInfo: detail lacks rawData/signature/encryptedData/iv (call it with credentials)');
        }
        const data = {
            rawData: detail.rawData,
            signature: detail.signature,
            encryptedData: detail.encryptedData,
            iv: detail.iv,
        };
        const res = await this.payloadRequest('/v1/userinfo', data, options);
        return res.user_info;
    }
    /**
     * savePhone sends the detail of a getPhoneNumber button to POST /v1/phone:
     * the one-time phone code when the base library gives one (2.21.2+), else
     * the legacy encryptedData/iv. Returns the stored phone number.
     */
    async savePhone(detail, options = {}) {
        checkDetail('getPhoneNumber', detail);
        if (detail.code) {
            return (await this.request({ path: '/v1/phone', method: 'POST', data: { code: detail.code } })).data;
        }
        if (!detail.encryptedData || !detail.iv) {
            throw new errors_1.WxloginError(errors_1.ClientErrorCodes.wxApi, 'getPhoneNumber: detail has neither code nor encryptedData/iv');
        }
        return this.payloadRequest('/v1/phone', { encryptedData: detail.encryptedData, iv: detail.iv }, options);
    }
    /** decrypt sends WeRun (`werun`) or share (`share`) data to POST /v1/decrypt and returns the plaintext object. */
    async decrypt(kind, detail, options = {}) {
        checkDetail(kind === 'werun' ? 'getWeRunData' : 'getShareInfo', detail);
        if (!detail.encryptedData || !detail.iv) {
            throw new errors_1.WxloginError(errors_1.ClientErrorCodes.wxApi, `${kind}: detail lacks encryptedData/iv`);
        }
        return this.payloadRequest('/v1/decrypt', { kind, encryptedData: detail.encryptedData, iv: detail.iv }, options);
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
    async payloadRequest(path, data, options) {
        var _a, _b;
        const loginCode = (_a = options.loginCode) !== null && _a !== void 0 ? _a : this.takePendingCode();
        const post = async (token, withCode) => {
            const body = withCode && loginCode ? Object.assign(Object.assign({}, data), { login_code: loginCode }) : data;
            return (await this.send({ path, method: 'POST', data: body }, token, true)).data;
        };
        const stored = this.stored();
        if (stored) {
            try {
                return await post(stored.token, true);
            }
            catch (err) {
                if (!(err instanceof errors_1.WxloginError && err.status === 401 && err.code === 'session_invalid'))
                    throw err;
            }
        }
        // Log in (again, when the server refused the stored token), offering the
        // code; it is still unspent afterwards when another login in flight won.
        if (loginCode)
            this.pendingCode = { code: loginCode, at: this.now() };
        const session = stored ? await this.relogin(stored.token) : await this.login();
        const unspent = !!loginCode && ((_b = this.pendingCode) === null || _b === void 0 ? void 0 : _b.code) === loginCode;
        if (unspent)
            this.pendingCode = null;
        try {
            return await post(session.token, unspent);
        }
        catch (err) {
            // The data is sent all the same: a login already in flight may have
            // used a code from before the tap, and then it decrypts.
            if (!loginCode && err instanceof errors_1.WxloginError && STALE_KEY_CODES.has(err.code)) {
                throw new errors_1.WxloginError(errors_1.ClientErrorCodes.stalePayload, `the data was encrypted with the session key that logging in to send it replaced (the server answered ${err.code}); ` +
                    'the client is logged in now, so the same data taken again works: ask the user to tap again, and call prepareLoginCode() before they can tap');
            }
            throw err;
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
    async ensureScope(scope) {
        var _a;
        const authSetting = async () => {
            var _a;
            const res = await promisify('getSetting', this.wx.getSetting.bind(this.wx));
            return ((_a = res.authSetting) !== null && _a !== void 0 ? _a : {});
        };
        const state = (await authSetting())[scope];
        if (state === true)
            return { scope, granted: true, status: 'granted' };
        if (scope === 'scope.userInfo')
            return { scope, granted: false, status: 'needs_button' };
        if (state === false)
            return { scope, granted: false, status: 'denied' };
        try {
            await promisify('authorize', this.wx.authorize.bind(this.wx), { scope });
            return { scope, granted: true, status: 'granted' };
        }
        catch (err) {
            if (!(err instanceof errors_1.WxloginError) || err.code === errors_1.ClientErrorCodes.privacyNotAuthorized)
                throw err;
            // The user's refusal says "auth deny" (or "auth denied", "auth cancel"),
            // and WeChat records it in authSetting.
            if (/\bauth:?\s*(deny|denied|cancel|canceled|cancelled)\b/i.test((_a = err.errMsg) !== null && _a !== void 0 ? _a : '')) {
                return { scope, granted: false, status: 'denied' };
            }
            let recorded;
            try {
                recorded = (await authSetting())[scope];
            }
            catch (_b) {
                throw err;
            }
            if (recorded === false)
                return { scope, granted: false, status: 'denied' };
            throw err;
        }
    }
    /**
     * openSettingFor opens WeChat's settings page (call it from a tap: WeChat
     * requires one) and reports whether scope is granted when the user comes back.
     */
    async openSettingFor(scope) {
        const res = await promisify('openSetting', this.wx.openSetting.bind(this.wx));
        return !!(res.authSetting && res.authSetting[scope] === true);
    }
    /**
     * onPrivacyPrompt registers the app's privacy popup: when a privacy API
     * needs the user's agreement, WeChat calls wx.onNeedPrivacyAuthorization and
     * the SDK asks prompt. Register once, early (e.g. in App.onLaunch).
     */
    onPrivacyPrompt(prompt) {
        this.privacyPrompt = prompt;
        if (this.privacyListening || typeof this.wx.onNeedPrivacyAuthorization !== 'function')
            return;
        this.privacyListening = true;
        // WeChat calls the listener with its resolve function (see WxLike).
        const listener = (resolve, eventInfo) => {
            const ask = this.privacyPrompt;
            if (!ask) {
                resolve({ event: 'disagree' });
                return;
            }
            const referrer = eventInfo && typeof eventInfo.referrer === 'string' ? eventInfo.referrer : undefined;
            ask(referrer === undefined ? {} : { referrer }).then((answer) => {
                const agree = typeof answer === 'boolean' ? answer : !!answer.agree;
                const buttonId = typeof answer === 'object' && answer.buttonId ? answer.buttonId : undefined;
                const event = agree ? (buttonId ? { event: 'agree', buttonId } : { event: 'agree' }) : { event: 'disagree' };
                resolve(event);
            }, () => resolve({ event: 'disagree' }));
        };
        this.wx.onNeedPrivacyAuthorization(listener);
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
    async ensurePrivacy(prompt) {
        var _a;
        if (prompt)
            this.onPrivacyPrompt(prompt);
        if (typeof this.wx.getPrivacySetting !== 'function')
            return { asked: false };
        const setting = await promisify('getPrivacySetting', this.wx.getPrivacySetting.bind(this.wx));
        const contract = setting.privacyContractName ? { contractName: setting.privacyContractName } : {};
        if (!setting.needAuthorization)
            return Object.assign({ asked: false }, contract);
        // wxFailure gives a refusal (errno 104, or WeChat's message for it) the
        // code privacy_not_authorized, and anything else its own.
        await promisify('requirePrivacyAuthorize', (_a = this.wx.requirePrivacyAuthorize) === null || _a === void 0 ? void 0 : _a.bind(this.wx));
        return Object.assign({ asked: true }, contract);
    }
    /**
     * saveProfile saves what the user filled in: the avatar from
     * `<button open-type="chooseAvatar">` uploaded with wx.uploadFile to
     * POST /v1/me/avatar, and the nickname from `<input type="nickname">` with
     * PUT /v1/me/profile. Returns the user as the last answer gives it.
     */
    async saveProfile(input) {
        let last = {};
        if (input.avatarPath)
            last = await this.uploadAvatar(input.avatarPath);
        if (input.nickname !== undefined) {
            last = (await this.request({ path: '/v1/me/profile', method: 'PUT', data: { nickname: input.nickname } })).data;
        }
        return last;
    }
    async uploadAvatar(filePath) {
        var _a;
        const upload = this.wx.uploadFile;
        if (typeof upload !== 'function') {
            throw new errors_1.WxloginError(errors_1.ClientErrorCodes.wxApi, 'wx.uploadFile is not available', 0, { errMsg: 'uploadFile:fail not supported' });
        }
        const once = (token) => new Promise((resolve, reject) => {
            settled(upload.call(this.wx, {
                url: this.baseURL + '/v1/me/avatar',
                filePath,
                name: 'file',
                header: { Authorization: `Bearer ${token}` },
                success: (res) => resolve(res),
                fail: (err) => reject((0, errors_1.wxFailure)('uploadFile', err)),
            }));
        });
        let session = await this.login();
        let res = await once(session.token);
        if (res.statusCode === 401) {
            const err = errorFromResponse(res.statusCode, res.data, res.header, this.now());
            if (err.code !== 'session_invalid')
                throw err;
            session = await this.relogin(session.token);
            res = await once(session.token);
        }
        if (res.statusCode < 200 || res.statusCode >= 300)
            throw errorFromResponse(res.statusCode, res.data, res.header, this.now());
        return ((_a = parseBody(res.data)) !== null && _a !== void 0 ? _a : {});
    }
    stored() {
        let v;
        try {
            v = this.wx.getStorageSync(this.storageKey);
        }
        catch (_a) {
            return null;
        }
        if (typeof v === 'string' && v !== '')
            v = parseBody(v);
        if (v && typeof v === 'object' && typeof v.token === 'string' && v.token !== '') {
            return v;
        }
        return null;
    }
    removeStored() {
        try {
            this.wx.removeStorageSync(this.storageKey);
        }
        catch (_a) {
            // Storage failing to delete leaves a token the server refuses: harmless.
        }
    }
}
exports.Client = Client;
/** createClient returns a {@link Client}. */
function createClient(options) {
    return new Client(options);
}
