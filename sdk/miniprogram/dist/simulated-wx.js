"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.compareVersions = compareVersions;
exports.createSimulatedWx = createSimulatedWx;
class DeviceFailure extends Error {
    constructor(status, code, errMsg, errno, message) {
        super(message);
        this.status = status;
        this.code = code;
        this.errMsg = errMsg;
        this.errno = errno;
    }
}
/** compareVersions compares dotted versions numerically. */
function compareVersions(a, b) {
    var _a, _b;
    const pa = a.split('.').map((x) => parseInt(x, 10) || 0);
    const pb = b.split('.').map((x) => parseInt(x, 10) || 0);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
        const d = ((_a = pa[i]) !== null && _a !== void 0 ? _a : 0) - ((_b = pb[i]) !== null && _b !== void 0 ? _b : 0);
        if (d !== 0)
            return d < 0 ? -1 : 1;
    }
    return 0;
}
const PRIVACY_ERRNO = 104;
const PRIVACY_ERRMSG = 'privacy permission is not authorized';
/**
 * createSimulatedWx returns a simulated wx for one user of one app, backed by
 * the emulator's device API.
 */
function createSimulatedWx(options) {
    var _a, _b, _c;
    const fetchFn = (_a = options.fetch) !== null && _a !== void 0 ? _a : globalThis.fetch;
    if (typeof fetchFn !== 'function')
        throw new TypeError('createSimulatedWx: no fetch (pass options.fetch)');
    const origin = options.emulatorURL.replace(/\/+$/, '').replace(/\/emulator\/v1$/, '');
    const { appid, user } = options;
    const prompts = (_b = options.prompts) !== null && _b !== void 0 ? _b : {};
    const baseLibrary = options.baseLibrary;
    const storage = (_c = options.storage) !== null && _c !== void 0 ? _c : new Map();
    const tempFiles = new Map();
    let tempSeq = 0;
    let privacyListener = null;
    let setup = null;
    const has = (v) => baseLibrary === undefined || compareVersions(baseLibrary, v) >= 0;
    async function rawDevice(method, path, body) {
        var _a, _b;
        const init = { method };
        if (body !== undefined) {
            init.headers = { 'Content-Type': 'application/json' };
            init.body = JSON.stringify(body);
        }
        const res = await fetchFn(origin + '/emulator/v1' + path, init);
        const text = await res.text();
        let json;
        try {
            json = text === '' ? undefined : JSON.parse(text);
        }
        catch (_c) {
            json = undefined;
        }
        if (res.status < 200 || res.status >= 300) {
            const e = json === null || json === void 0 ? void 0 : json.error;
            throw new DeviceFailure(res.status, (_a = e === null || e === void 0 ? void 0 : e.code) !== null && _a !== void 0 ? _a : 'http_' + res.status, e === null || e === void 0 ? void 0 : e.errMsg, e === null || e === void 0 ? void 0 : e.errno, (_b = e === null || e === void 0 ? void 0 : e.message) !== null && _b !== void 0 ? _b : `emulator answered HTTP ${res.status} to ${method} ${path}`);
        }
        return json;
    }
    async function device(method, path, body) {
        if (baseLibrary !== undefined) {
            if (!setup) {
                setup = rawDevice('PUT', '/users/' + encodeURIComponent(user), { baseLibrary }).then(() => undefined, (err) => {
                    setup = null;
                    throw err;
                });
            }
            await setup;
        }
        return rawDevice(method, path, body);
    }
    const q = () => `appid=${encodeURIComponent(appid)}&user=${encodeURIComponent(user)}`;
    const who = () => ({ appid, user });
    /** failOf turns a device failure into the fail result a wx API gives. */
    function failOf(api, err) {
        var _a, _b;
        if (err instanceof DeviceFailure) {
            const fail = { errMsg: (_a = err.errMsg) !== null && _a !== void 0 ? _a : `${api}:fail ${err.message}` };
            if (err.errno !== undefined)
                fail.errno = err.errno;
            if (err.code === 'privacy_not_authorized' && fail.errno === undefined)
                fail.errno = PRIVACY_ERRNO;
            return fail;
        }
        if (err && typeof err === 'object' && typeof err.errMsg === 'string')
            return err;
        return { errMsg: `${api}:fail ${String((_b = err === null || err === void 0 ? void 0 : err.message) !== null && _b !== void 0 ? _b : err)}` };
    }
    /**
     * api wraps an async implementation in wx's calling convention: callbacks
     * when given, a promise otherwise; errMsg "<name>:ok" on success.
     */
    function api(name, impl) {
        return (opts) => {
            const o = (opts !== null && opts !== void 0 ? opts : {});
            const p = (async () => {
                var _a;
                try {
                    const res = await impl(o);
                    return { ok: true, res: Object.assign(Object.assign({}, res), { errMsg: (_a = res.errMsg) !== null && _a !== void 0 ? _a : `${name}:ok` }) };
                }
                catch (err) {
                    return { ok: false, res: failOf(name, err) };
                }
            })();
            if (o.success || o.fail || o.complete) {
                p.then((r) => {
                    var _a, _b, _c;
                    if (r.ok)
                        (_a = o.success) === null || _a === void 0 ? void 0 : _a.call(o, r.res);
                    else
                        (_b = o.fail) === null || _b === void 0 ? void 0 : _b.call(o, r.res);
                    (_c = o.complete) === null || _c === void 0 ? void 0 : _c.call(o, r.res);
                });
                return undefined;
            }
            return p.then((r) => (r.ok ? r.res : Promise.reject(r.res)));
        };
    }
    async function authSetting() {
        var _a;
        const r = await device('GET', '/settings?' + q());
        return (_a = r.authSetting) !== null && _a !== void 0 ? _a : {};
    }
    /** authorize asks the user for scope unless already decided; resolves or throws a wx fail. */
    async function authorizeScope(apiName, scope) {
        const s = await authSetting();
        if (s[scope] === true)
            return;
        if (s[scope] === false)
            throw { errMsg: `${apiName}:fail auth deny` };
        const accept = prompts.authorize ? await prompts.authorize(scope) : true;
        try {
            await device('POST', '/authorize', Object.assign(Object.assign({}, who()), { scope, accept }));
        }
        catch (err) {
            if (err instanceof DeviceFailure && err.code === 'scope_denied')
                throw { errMsg: `${apiName}:fail auth deny` };
            throw err;
        }
        if (!accept)
            throw { errMsg: `${apiName}:fail auth deny` };
    }
    /**
     * askPrivacy runs the privacy agreement flow as WeChat does: nothing when
     * the user agreed already (or no agreement applies); within the pause
     * after a refusal, a refusal at once and no popup; otherwise the app's
     * popup (its onNeedPrivacyAuthorization listener, or WeChat's own without
     * one), whose answer decides. Resolves when agreed, throws errno 104
     * otherwise.
     */
    async function askPrivacy(apiName, referrer) {
        const refused = () => ({ errMsg: `${apiName}:fail ${PRIVACY_ERRMSG}`, errno: PRIVACY_ERRNO });
        const isRefusal = (err) => err instanceof DeviceFailure && err.code === 'privacy_not_authorized';
        // The emulator keeps the pause: its privacy setting says how long a
        // refusal still blocks a new request, without recording any answer.
        const setting = await device('GET', `/privacy?${q()}`);
        if (!(setting === null || setting === void 0 ? void 0 : setting.needAuthorization))
            return; // agreed before, or no agreement applies
        if (setting.refusalPauseMs)
            throw refused();
        let agree;
        if (privacyListener) {
            const listener = privacyListener;
            const answer = await new Promise((resolve) => {
                listener((r) => resolve(r !== null && r !== void 0 ? r : {}), { referrer });
            });
            agree = answer.event === 'agree';
        }
        else {
            agree = prompts.privacy ? await prompts.privacy(referrer) : true;
        }
        try {
            await device('POST', '/privacy', Object.assign(Object.assign({}, who()), { event: agree ? 'agree' : 'disagree' }));
        }
        catch (err) {
            if (isRefusal(err))
                throw refused();
            throw err;
        }
        if (!agree)
            throw refused();
    }
    /** privacyAPI calls a privacy device API; on errno 104 it runs the agreement flow once and retries, as WeChat does. */
    async function privacyAPI(apiName, method, path, body) {
        try {
            return await device(method, path, body);
        }
        catch (err) {
            // WeChat asks the user (the app's popup, or its own without one) and
            // goes on when they agree.
            if (!(err instanceof DeviceFailure && err.code === 'privacy_not_authorized'))
                throw err;
            await askPrivacy(apiName, apiName);
            return device(method, path, body);
        }
    }
    function headersOf(res) {
        const h = {};
        res.headers.forEach((value, key) => {
            h[key] = value;
        });
        return h;
    }
    function toQuery(data) {
        return Object.keys(data)
            .filter((k) => data[k] !== undefined)
            .map((k) => encodeURIComponent(k) + '=' + encodeURIComponent(String(data[k])))
            .join('&');
    }
    const weCom = options.wecom;
    const weComWho = () => ({ corpid: weCom === null || weCom === void 0 ? void 0 : weCom.corpid, user });
    const wxObj = {
        getSystemInfoSync: () => (Object.assign({ SDKVersion: baseLibrary !== null && baseLibrary !== void 0 ? baseLibrary : '3.5.0', platform: 'devtools' }, (weCom ? { environment: 'wxwork' } : {}))),
        qy: {
            login: api('qy.login', async () => {
                const r = await rawDevice('POST', '/wecom/login', weComWho());
                return { code: r.code };
            }),
            checkSession: api('qy.checkSession', async () => {
                var _a;
                const r = await rawDevice('GET', `/wecom/session?corpid=${encodeURIComponent((_a = weCom === null || weCom === void 0 ? void 0 : weCom.corpid) !== null && _a !== void 0 ? _a : '')}&user=${encodeURIComponent(user)}`);
                if (!r.valid)
                    throw { errMsg: 'qy.checkSession:fail session time out' };
                return {};
            }),
        },
        login: api('login', async () => {
            const r = await device('POST', '/login', who());
            return { code: r.code };
        }),
        checkSession: api('checkSession', async () => {
            const r = await device('GET', '/session?' + q());
            if (!r.valid)
                throw { errMsg: 'checkSession:fail session time out' };
            return {};
        }),
        request: (opts) => {
            api('request', async (o) => {
                var _a, _b, _c, _d, _e;
                const method = ((_a = o.method) !== null && _a !== void 0 ? _a : 'GET').toUpperCase();
                const headers = Object.assign({}, ((_b = o.header) !== null && _b !== void 0 ? _b : {}));
                let url = o.url;
                let body;
                const data = o.data;
                if (data !== undefined && data !== null) {
                    if (method === 'GET' || method === 'HEAD') {
                        if (typeof data === 'object') {
                            const qs = toQuery(data);
                            if (qs)
                                url += (url.includes('?') ? '&' : '?') + qs;
                        }
                        else
                            url += (url.includes('?') ? '&' : '?') + String(data);
                    }
                    else if (typeof data === 'string') {
                        body = data;
                    }
                    else {
                        const ct = Object.keys(headers).find((k) => k.toLowerCase() === 'content-type');
                        if (!ct)
                            headers['Content-Type'] = 'application/json';
                        const type = (_c = headers[ct !== null && ct !== void 0 ? ct : 'Content-Type']) !== null && _c !== void 0 ? _c : '';
                        body = /x-www-form-urlencoded/i.test(type) ? toQuery(data) : JSON.stringify(data);
                    }
                }
                let res;
                try {
                    const init = { method, headers };
                    if (body !== undefined)
                        init.body = body;
                    res = await fetchFn(url, init);
                }
                catch (err) {
                    throw { errMsg: `request:fail ${String((_d = err === null || err === void 0 ? void 0 : err.message) !== null && _d !== void 0 ? _d : err)}` };
                }
                const text = await res.text();
                let parsed = text;
                if (((_e = o.dataType) !== null && _e !== void 0 ? _e : 'json') === 'json' && text !== '') {
                    try {
                        parsed = JSON.parse(text);
                    }
                    catch (_f) {
                        parsed = text;
                    }
                }
                return { data: parsed, statusCode: res.status, header: headersOf(res), cookies: [] };
            })(opts);
            // The real wx.request returns a RequestTask.
            return { abort() { }, onHeadersReceived() { }, offHeadersReceived() { } };
        },
        getStorageSync: (key) => {
            const v = storage.get(key);
            return v === undefined ? '' : JSON.parse(v);
        },
        setStorageSync: (key, value) => {
            storage.set(key, JSON.stringify(value === undefined ? null : value));
        },
        removeStorageSync: (key) => {
            storage.delete(key);
        },
        getSetting: api('getSetting', async () => ({ authSetting: await authSetting() })),
        authorize: api('authorize', async (o) => {
            if (!o.scope)
                throw { errMsg: 'authorize:fail parameter error: scope is required' };
            if (o.scope === 'scope.userInfo') {
                // WeChat: scope.userInfo needs a button tap; authorize never prompts for it.
                throw { errMsg: 'authorize:fail scope.userInfo is not allowed to authorize, use a button with open-type="getUserInfo"' };
            }
            await authorizeScope('authorize', o.scope);
            return {};
        }),
        openSetting: api('openSetting', async () => {
            var _a;
            const current = await authSetting();
            const next = prompts.openSetting ? await prompts.openSetting(Object.assign({}, current)) : current;
            const r = await device('POST', '/settings', Object.assign(Object.assign({}, who()), { authSetting: next }));
            return { authSetting: (_a = r === null || r === void 0 ? void 0 : r.authSetting) !== null && _a !== void 0 ? _a : next };
        }),
        getUserInfo: api('getUserInfo', async (o) => {
            const s = await authSetting();
            if (s['scope.userInfo'] !== true) {
                throw { errMsg: 'getUserInfo:fail scope unauthorized' };
            }
            const r = await privacyAPI('getUserInfo', 'POST', '/userinfo', who());
            return o.withCredentials === false ? { userInfo: r.userInfo, rawData: r.rawData, signature: r.signature } : r;
        }),
        getUserProfile: api('getUserProfile', async (o) => {
            if (!o.desc)
                throw { errMsg: 'getUserProfile:fail parameter error: desc is required' };
            const allow = prompts.getUserProfile ? await prompts.getUserProfile(o.desc) : true;
            if (!allow)
                throw { errMsg: 'getUserProfile:fail auth deny' };
            return privacyAPI('getUserProfile', 'POST', '/profile', who());
        }),
        getWeRunData: api('getWeRunData', async () => {
            await authorizeScope('getWeRunData', 'scope.werun');
            const r = await privacyAPI('getWeRunData', 'POST', '/werun', Object.assign(Object.assign({}, who()), { accept: true }));
            return { encryptedData: r.encryptedData, iv: r.iv };
        }),
        uploadFile: (opts) => {
            api('uploadFile', async (o) => {
                var _a, _b, _c;
                const file = tempFiles.get(o.filePath);
                if (!file)
                    throw { errMsg: `uploadFile:fail file not found: ${o.filePath}` };
                const G = globalThis;
                const form = new G.FormData();
                for (const [k, v] of Object.entries((_a = o.formData) !== null && _a !== void 0 ? _a : {}))
                    form.append(k, v);
                const fileName = o.filePath.replace(/^.*\//, '');
                form.append(o.name, new G.Blob([file.data], { type: file.contentType }), fileName);
                let res;
                try {
                    res = await fetchFn(o.url, { method: 'POST', headers: Object.assign({}, ((_b = o.header) !== null && _b !== void 0 ? _b : {})), body: form });
                }
                catch (err) {
                    throw { errMsg: `uploadFile:fail ${String((_c = err === null || err === void 0 ? void 0 : err.message) !== null && _c !== void 0 ? _c : err)}` };
                }
                // Like WeChat, data is the body as a string.
                return { data: await res.text(), statusCode: res.status, header: headersOf(res) };
            })(opts);
            return { abort() { }, onProgressUpdate() { }, offProgressUpdate() { }, onHeadersReceived() { }, offHeadersReceived() { } };
        },
        getPrivacySetting: api('getPrivacySetting', async () => {
            var _a;
            const r = await device('GET', '/privacy?' + q());
            return { needAuthorization: !!r.needAuthorization, privacyContractName: (_a = r.privacyContractName) !== null && _a !== void 0 ? _a : '' };
        }),
        // askPrivacy's first question to the emulator also tells whether the
        // user agreed already or no agreement applies.
        requirePrivacyAuthorize: api('requirePrivacyAuthorize', async () => {
            await askPrivacy('requirePrivacyAuthorize', 'requirePrivacyAuthorize');
            return {};
        }),
        onNeedPrivacyAuthorization: (listener) => {
            privacyListener = listener;
        },
        simulated: {
            appid,
            user,
            emulatorURL: origin,
            baseLibrary,
            getPhoneNumberDetail: async (o = {}) => {
                if (o.deny)
                    return { errMsg: 'getPhoneNumber:fail user deny' };
                return tap('getPhoneNumber', () => privacyAPI('getPhoneNumber', 'POST', '/phone', who()));
            },
            getUserInfoDetail: async (o = {}) => {
                if (o.deny)
                    return { errMsg: 'getUserInfo:fail auth deny' };
                // The tap grants scope.userInfo (the button is the only way to).
                return tap('getUserInfo', () => privacyAPI('getUserInfo', 'POST', '/userinfo', who()));
            },
            chooseAvatarDetail: async (o = {}) => {
                if (o.deny)
                    return { errMsg: 'chooseAvatar:fail cancel' };
                return tap('chooseAvatar', async () => {
                    var _a, _b, _c, _d;
                    const r = await privacyAPI('chooseAvatar', 'POST', '/avatar', who());
                    let data;
                    let contentType = (_a = r.contentType) !== null && _a !== void 0 ? _a : 'image/png';
                    if (typeof r.data === 'string' && r.data !== '') {
                        data = fromBase64(r.data);
                    }
                    else {
                        // Download the emulator's temporary image so wx.uploadFile can send it.
                        const remote = (_c = (_b = r.path) !== null && _b !== void 0 ? _b : r.avatarUrl) !== null && _c !== void 0 ? _c : '';
                        const res = await fetchFn(/^https?:/.test(remote) ? remote : origin + remote, { method: 'GET' });
                        if (res.status !== 200)
                            throw { errMsg: `chooseAvatar:fail cannot read ${remote}: HTTP ${res.status}` };
                        contentType = (_d = headersOf(res)['content-type']) !== null && _d !== void 0 ? _d : contentType;
                        data = new Uint8Array(await res.arrayBuffer());
                    }
                    return { avatarUrl: addTempFile(data, contentType) };
                });
            },
            nicknameDetail: () => tap('nickname', async () => {
                var _a, _b, _c;
                const r = await privacyAPI('nickname', 'POST', '/nickname', who());
                return { value: (_c = (_b = (_a = r.nickname) !== null && _a !== void 0 ? _a : r.nickName) !== null && _b !== void 0 ? _b : r.value) !== null && _c !== void 0 ? _c : '' };
            }),
            addTempFile,
            readTempFile: (path) => tempFiles.get(path),
            device: (method, path, body) => device(method, path, body),
            setUser: async (data) => {
                await rawDevice('PUT', '/users/' + encodeURIComponent(user), data);
            },
            clearStorage: () => storage.clear(),
        },
    };
    /** tap runs what a button tap or input does and gives its event detail: "<api>:ok" with the result, or the fail result. */
    async function tap(apiName, run) {
        try {
            return Object.assign(Object.assign({}, (await run())), { errMsg: `${apiName}:ok` });
        }
        catch (err) {
            return Object.assign({}, failOf(apiName, err));
        }
    }
    function fromBase64(b64) {
        const bin = globalThis.atob(b64);
        const out = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++)
            out[i] = bin.charCodeAt(i);
        return out;
    }
    function addTempFile(data, contentType = 'application/octet-stream') {
        const G = globalThis;
        const bytes = typeof data === 'string' ? new G.TextEncoder().encode(data) : data;
        const ext = /png/.test(contentType) ? '.png' : /jpe?g/.test(contentType) ? '.jpg' : /webp/.test(contentType) ? '.webp' : '.bin';
        const path = `wxfile://tmp_${user}_${++tempSeq}${ext}`;
        tempFiles.set(path, { data: bytes, contentType });
        return path;
    }
    // APIs the simulated base library lacks are absent, as in WeChat; wx.qy
    // exists only inside WeCom.
    const w = wxObj;
    if (!weCom)
        delete w.qy;
    if (!has('2.10.4'))
        delete w.getUserProfile;
    if (!has('2.32.3')) {
        delete w.getPrivacySetting;
        delete w.requirePrivacyAuthorize;
        delete w.onNeedPrivacyAuthorization;
    }
    return wxObj;
}
