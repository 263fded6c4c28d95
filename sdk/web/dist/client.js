import { ClientErrorCodes, ErrorCodes, WxloginError, isWxloginError, loginError } from './errors.js';
/** The cookie the server sets beside the session cookie for the page's script (not HttpOnly). */
export const CSRF_COOKIE = 'wxlogin_csrf';
/** The header an unsafe request by cookie must carry the CSRF token in. */
export const CSRF_HEADER = 'X-Wxlogin-Csrf';
/** The query parameter a failed login returns to the page with. */
export const ERROR_PARAM = 'wxlogin_error';
const PENDING_KEY = 'wxlogin:web:login';
// As long as the server keeps a started login's state: an older marker is
// a login abandoned long ago, not the one this page load returns from.
const PENDING_LIFETIME_MS = 10 * 60 * 1000;
/**
 * WebClient is the page's handle on wxlogin's web logins and on requests
 * by the session cookie. Make one per page (`createWebClient`).
 */
export class WebClient {
    constructor(options = {}) {
        var _a;
        this.base = ((_a = options.baseURL) !== null && _a !== void 0 ? _a : '').replace(/\/+$/, '');
        if (options.fetch)
            this.fetchImpl = options.fetch;
        if (options.onSessionInvalid)
            this.onSessionInvalid = options.onSessionInvalid;
    }
    /** loginURL is the URL of wxlogin's /v1/web/authorize for opts, to put in a link. */
    loginURL(opts) {
        if (!opts || typeof opts.appid !== 'string' || opts.appid === '') {
            throw new WxloginError(ErrorCodes.invalidRequest, 'appid is required');
        }
        if (typeof opts.redirectURI !== 'string' || opts.redirectURI === '') {
            throw new WxloginError(ErrorCodes.invalidRequest, 'redirectURI is required: one of the app\'s redirect_uris');
        }
        if (opts.redirectURI.includes('#')) {
            throw new WxloginError(ErrorCodes.invalidRequest, 'redirectURI cannot carry a fragment (#): a redirect would lose it; return to a page without one and pass the hash route as returnTo');
        }
        const redirect = /^https?:\/\//i.test(opts.redirectURI) ? opts.redirectURI : new URL(opts.redirectURI, location.href).href;
        let q = 'appid=' + encodeURIComponent(opts.appid) + '&redirect_uri=' + encodeURIComponent(redirect);
        if (opts.scope)
            q += '&scope=' + encodeURIComponent(opts.scope);
        return this.base + '/v1/web/authorize?' + q;
    }
    /**
     * login sends the browser to WeChat's authorize page (inside WeChat) or
     * QR code (a website app) through wxlogin. The page it returns to calls
     * `result()`. Never call login() by itself on a page load whose
     * `result()` is an error: that loops between the page and WeChat.
     */
    login(opts) {
        const url = this.loginURL(opts);
        const pending = { at: Date.now() };
        if (opts.returnTo)
            pending.returnTo = opts.returnTo;
        try {
            sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
        }
        catch (_a) {
            // Storage off (some private modes): result() still reads errors from the URL.
        }
        location.assign(url);
    }
    /**
     * result tells how the login this page load returns from ended, and
     * removes `wxlogin_error` from the address bar (so that a reload or a
     * shared link does not show the error again). It reads the page once:
     * later calls on this client answer the same.
     */
    result() {
        if (!this.outcome)
            this.outcome = this.readResult();
        return this.outcome;
    }
    readResult() {
        const pending = takePending();
        const returnTo = (pending === null || pending === void 0 ? void 0 : pending.returnTo) !== undefined ? sameOriginURL(pending.returnTo) : undefined;
        const withReturn = (r) => (returnTo ? Object.assign(Object.assign({}, r), { returnTo }) : r);
        const { value, rest } = cutParam(location.search, ERROR_PARAM);
        if (value !== undefined) {
            try {
                history.replaceState(history.state, '', location.pathname + rest + location.hash);
            }
            catch (_a) {
                // A sandboxed frame may refuse; the result stands.
            }
            return withReturn({ status: 'error', error: loginError(value) });
        }
        // Only a login started in this tab, and only a forward navigation:
        // Back from WeChat's page also lands here, with nothing finished.
        if (!pending || navigationType() === 'back_forward')
            return { status: 'none' };
        if (!this.csrfToken()) {
            return withReturn({
                status: 'error',
                error: new WxloginError(ClientErrorCodes.cookieMissing, 'the login finished but this page sees no session cookie: wxlogin must answer the login on the page\'s own host (its cookies belong to the host that set them), and the browser must accept cookies'),
            });
        }
        return withReturn({ status: 'ok' });
    }
    /**
     * csrfToken is the session's CSRF token from the `wxlogin_csrf` cookie,
     * or undefined without a session.
     */
    csrfToken() {
        let cookies;
        try {
            cookies = document.cookie;
        }
        catch (_a) {
            return undefined;
        }
        for (const part of cookies.split(';')) {
            const c = part.trim();
            if (c.startsWith(CSRF_COOKIE + '=')) {
                const v = c.slice(CSRF_COOKIE.length + 1);
                return v === '' ? undefined : v;
            }
        }
        return undefined;
    }
    /**
     * fetch is the browser's fetch for requests by the session cookie: the
     * cookie goes along (credentials 'same-origin' unless init says
     * otherwise), an unsafe method to the page's own origin carries the CSRF
     * token (never to another origin), and an answer that is one of
     * wxlogin's JSON errors (from wxlogin, or from forward-auth through the
     * site's proxy) rejects with a WxloginError. Any other answer resolves,
     * your API's own errors included: check `res.ok`.
     */
    async fetch(input, init = {}) {
        return this.send(input, init, true);
    }
    async send(input, init, notify) {
        var _a, _b, _c, _d;
        const method = ((_a = init.method) !== null && _a !== void 0 ? _a : 'GET').toUpperCase();
        const headers = new Headers(init.headers);
        if (!isSafeMethod(method) && !headers.has(CSRF_HEADER) && sameOriginURL(String(input)) !== undefined) {
            const token = this.csrfToken();
            if (token)
                headers.set(CSRF_HEADER, token);
        }
        const f = (_b = this.fetchImpl) !== null && _b !== void 0 ? _b : globalThis.fetch;
        let res;
        try {
            res = await f(input, Object.assign(Object.assign({}, init), { headers, credentials: (_c = init.credentials) !== null && _c !== void 0 ? _c : 'same-origin' }));
        }
        catch (err) {
            if (isAbort(err))
                throw err;
            throw new WxloginError(ClientErrorCodes.network, 'the request failed before any answer: ' + String((_d = err === null || err === void 0 ? void 0 : err.message) !== null && _d !== void 0 ? _d : err), 0, {
                cause: err,
            });
        }
        if (res.ok)
            return res;
        const err = await wxloginError(res);
        if (!err)
            return res;
        if (notify && err.code === ErrorCodes.sessionInvalid && this.onSessionInvalid)
            this.onSessionInvalid(err);
        throw err;
    }
    /**
     * me is the logged-in user (GET /v1/me). Without a session it rejects
     * with session_invalid (`err.loginRequired`).
     */
    async me() {
        const res = await this.fetch(this.base + '/v1/me');
        return (await readJSON(res));
    }
    /**
     * logout ends the session (POST /v1/web/logout with the CSRF token);
     * the server clears both cookies. A session that had already ended
     * counts as logged out.
     */
    async logout() {
        try {
            const res = await this.send(this.base + '/v1/web/logout', { method: 'POST' }, false);
            if (!res.ok)
                throw new WxloginError(ClientErrorCodes.badResponse, `logout answered ${res.status}`, res.status);
        }
        catch (err) {
            // A session that had already ended answers session_invalid, and
            // the server clears its cookies all the same.
            if (!isWxloginError(err, ErrorCodes.sessionInvalid))
                throw err;
        }
    }
}
/** createWebClient makes the page's client. */
export function createWebClient(options) {
    return new WebClient(options);
}
/**
 * isInWeChat reports whether the page runs in WeChat's own browser (its
 * user agent says MicroMessenger), where an Official Account's OAuth
 * works; elsewhere a website app's QR code is the way. WeCom's browser
 * also says MicroMessenger, but its user is signed in to WeCom, not to
 * WeChat: it does not count.
 */
export function isInWeChat(userAgent) {
    const ua = userAgent !== null && userAgent !== void 0 ? userAgent : (typeof navigator === 'undefined' ? '' : navigator.userAgent);
    return /MicroMessenger\//i.test(ua) && !/wxwork\//i.test(ua);
}
/**
 * chooseApp picks the app and scope for where the page runs: the Official
 * Account inside WeChat, the website app's QR code elsewhere. It returns
 * undefined when the page has no app for here (WeChat's OAuth page does
 * not open outside WeChat; a QR code cannot be scanned by the phone that
 * shows it), so that the page can say so instead of sending the user to
 * an error page.
 */
export function chooseApp(apps, userAgent) {
    var _a;
    if (isInWeChat(userAgent)) {
        return apps.officialAccount ? { appid: apps.officialAccount, scope: (_a = apps.officialAccountScope) !== null && _a !== void 0 ? _a : 'snsapi_base' } : undefined;
    }
    return apps.website ? { appid: apps.website, scope: 'snsapi_login' } : undefined;
}
function isSafeMethod(m) {
    return m === 'GET' || m === 'HEAD' || m === 'OPTIONS';
}
function isAbort(err) {
    return typeof err === 'object' && err !== null && err.name === 'AbortError';
}
/** sameOriginURL resolves u against the page and returns it when it is of the page's origin. */
function sameOriginURL(u) {
    try {
        const url = new URL(u, location.href);
        return url.origin === location.origin ? url.href : undefined;
    }
    catch (_a) {
        return undefined;
    }
}
/**
 * cutParam takes one parameter out of a query string ("?a=1&b=2") and
 * leaves the rest as it was written (URLSearchParams would re-encode it).
 */
function cutParam(search, name) {
    if (!search || search === '?')
        return { rest: search };
    let value;
    const kept = [];
    for (const part of search.slice(1).split('&')) {
        const eq = part.indexOf('=');
        const key = eq < 0 ? part : part.slice(0, eq);
        if (key === name) {
            if (value === undefined)
                value = safeDecode(eq < 0 ? '' : part.slice(eq + 1));
        }
        else {
            kept.push(part);
        }
    }
    return { value, rest: kept.length ? '?' + kept.join('&') : '' };
}
function safeDecode(s) {
    try {
        return decodeURIComponent(s.replace(/\+/g, ' '));
    }
    catch (_a) {
        return s;
    }
}
function takePending() {
    let raw;
    try {
        raw = sessionStorage.getItem(PENDING_KEY);
        sessionStorage.removeItem(PENDING_KEY);
    }
    catch (_a) {
        return undefined;
    }
    if (!raw)
        return undefined;
    try {
        const p = JSON.parse(raw);
        if (typeof (p === null || p === void 0 ? void 0 : p.at) !== 'number' || Date.now() - p.at > PENDING_LIFETIME_MS || Date.now() < p.at - 60000)
            return undefined;
        return typeof p.returnTo === 'string' ? { at: p.at, returnTo: p.returnTo } : { at: p.at };
    }
    catch (_b) {
        return undefined;
    }
}
function navigationType() {
    try {
        const nav = performance.getEntriesByType('navigation')[0];
        return nav === null || nav === void 0 ? void 0 : nav.type;
    }
    catch (_a) {
        return undefined;
    }
}
/** wxloginError reads an answer's `{"error": {"code", "message"}}`, or undefined when it is not one. */
async function wxloginError(res) {
    var _a;
    if (!/\bjson\b/i.test((_a = res.headers.get('Content-Type')) !== null && _a !== void 0 ? _a : ''))
        return undefined;
    let body;
    try {
        body = await res.clone().json();
    }
    catch (_b) {
        return undefined;
    }
    const e = body === null || body === void 0 ? void 0 : body.error;
    if (!e || typeof e.code !== 'string' || e.code === '')
        return undefined;
    const retry = Number(res.headers.get('Retry-After'));
    const extra = Number.isFinite(retry) && retry > 0 ? { retryAfter: retry } : {};
    return new WxloginError(e.code, typeof e.message === 'string' ? e.message : e.code, res.status, extra);
}
async function readJSON(res) {
    if (!res.ok)
        throw new WxloginError(ClientErrorCodes.badResponse, `the server answered ${res.status} without wxlogin's error body`, res.status);
    try {
        return await res.json();
    }
    catch (err) {
        throw new WxloginError(ClientErrorCodes.badResponse, 'the server\'s answer is not JSON', res.status, { cause: err });
    }
}
