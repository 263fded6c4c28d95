// @wxlogin/web, built by sdk/web (npm run build) from src/. Do not edit. The API is the global wxloginWeb.
"use strict";
var wxloginWeb = (() => {
  var __defProp = Object.defineProperty;
  var __defProps = Object.defineProperties;
  var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
  var __getOwnPropDescs = Object.getOwnPropertyDescriptors;
  var __getOwnPropNames = Object.getOwnPropertyNames;
  var __getOwnPropSymbols = Object.getOwnPropertySymbols;
  var __hasOwnProp = Object.prototype.hasOwnProperty;
  var __propIsEnum = Object.prototype.propertyIsEnumerable;
  var __defNormalProp = (obj, key, value) => key in obj ? __defProp(obj, key, { enumerable: true, configurable: true, writable: true, value }) : obj[key] = value;
  var __spreadValues = (a, b) => {
    for (var prop in b || (b = {}))
      if (__hasOwnProp.call(b, prop))
        __defNormalProp(a, prop, b[prop]);
    if (__getOwnPropSymbols)
      for (var prop of __getOwnPropSymbols(b)) {
        if (__propIsEnum.call(b, prop))
          __defNormalProp(a, prop, b[prop]);
      }
    return a;
  };
  var __spreadProps = (a, b) => __defProps(a, __getOwnPropDescs(b));
  var __export = (target, all) => {
    for (var name in all)
      __defProp(target, name, { get: all[name], enumerable: true });
  };
  var __copyProps = (to, from, except, desc) => {
    if (from && typeof from === "object" || typeof from === "function") {
      for (let key of __getOwnPropNames(from))
        if (!__hasOwnProp.call(to, key) && key !== except)
          __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
    }
    return to;
  };
  var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);

  // src/index.ts
  var index_exports = {};
  __export(index_exports, {
    CSRF_COOKIE: () => CSRF_COOKIE,
    CSRF_HEADER: () => CSRF_HEADER,
    ClientErrorCodes: () => ClientErrorCodes,
    ERROR_PARAM: () => ERROR_PARAM,
    ErrorCodes: () => ErrorCodes,
    WebClient: () => WebClient,
    WxloginError: () => WxloginError,
    chooseApp: () => chooseApp,
    createWebClient: () => createWebClient,
    isInWeChat: () => isInWeChat,
    isWxloginError: () => isWxloginError
  });

  // src/errors.ts
  var ErrorCodes = {
    /** 401: no session, or it expired, was logged out or revoked: log in again. */
    sessionInvalid: "session_invalid",
    /** 403: an unsafe request by cookie without the page's CSRF token. */
    csrfRejected: "csrf_rejected",
    /** The user refused on WeChat's authorize page or on the phone. */
    accessDenied: "access_denied",
    /**
     * WeChat's snapshot-mode virtual user (a page opened in WeChat's
     * snapshot view): ask the user to open the page for real.
     */
    snapshotUser: "snapshot_user",
    /** WeChat's code was unknown, expired or used: start the login again. */
    invalidCode: "invalid_code",
    /** WeChat flagged the user as high-risk. */
    codeBlocked: "code_blocked",
    /**
     * The callback came without this browser's state (too late, replayed,
     * another browser). wxlogin answers it at /v1/web/callback itself: not
     * knowing which page started the login, it redirects nowhere.
     */
    invalidState: "invalid_state",
    /**
     * redirect_uri is not one of the app's redirect_uris: /v1/web/authorize
     * answers it itself, before any redirect (a configuration error).
     */
    redirectNotAllowed: "redirect_not_allowed",
    /** WeChat is busy or down; `retryAfter` says when to try again. */
    upstreamUnavailable: "upstream_unavailable",
    /** WeChat refused the app's appid or secret (a configuration error). */
    upstreamRejected: "upstream_rejected",
    /** Too many logins or requests; `retryAfter` says when to try again. */
    rateLimited: "rate_limited",
    /** wxlogin's store cannot be reached; `retryAfter` says when to try again. */
    storeUnavailable: "store_unavailable",
    invalidRequest: "invalid_request",
    unknownApp: "unknown_app",
    internal: "internal"
  };
  var ClientErrorCodes = {
    /** fetch failed before any HTTP answer (offline, DNS, a CORS refusal). */
    network: "network_error",
    /** The server answered something that is not the JSON the call expects. */
    badResponse: "bad_response",
    /**
     * A login came back without an error, but this page sees no session
     * cookie: wxlogin answered the login on another host than the page's
     * (its cookies belong to that host), or the browser refuses cookies.
     * Logging in again would loop.
     */
    cookieMissing: "cookie_missing"
  };
  var WxloginError = class _WxloginError extends Error {
    constructor(code, message, status = 0, extra = {}) {
      super(message);
      this.name = "WxloginError";
      this.code = code;
      this.status = status;
      if (extra.retryAfter !== void 0) this.retryAfter = extra.retryAfter;
      if (extra.cause !== void 0) this.cause = extra.cause;
      Object.setPrototypeOf(this, _WxloginError.prototype);
    }
    /** loginRequired reports whether the page has no session (any more) and should offer to log in. */
    get loginRequired() {
      return this.code === ErrorCodes.sessionInvalid;
    }
  };
  function isWxloginError(err, code) {
    return err instanceof WxloginError && (code === void 0 || err.code === code);
  }
  var loginMessages = {
    access_denied: "the user refused the authorization",
    snapshot_user: "the page was opened in WeChat's snapshot view: open it for real to log in",
    invalid_code: "WeChat's code was invalid or used: log in again",
    code_blocked: "WeChat blocked the login of this user",
    upstream_unavailable: "WeChat is unavailable: try again later",
    upstream_rejected: "WeChat refused the app's credentials",
    rate_limited: "too many logins: try again later",
    store_unavailable: "the login service is unavailable: try again later"
  };
  function loginError(code) {
    var _a;
    return new WxloginError(code, (_a = loginMessages[code]) != null ? _a : `the login failed (${code})`);
  }

  // src/client.ts
  var CSRF_COOKIE = "wxlogin_csrf";
  var CSRF_HEADER = "X-Wxlogin-Csrf";
  var ERROR_PARAM = "wxlogin_error";
  var PENDING_KEY = "wxlogin:web:login";
  var PENDING_LIFETIME_MS = 10 * 60 * 1e3;
  var WebClient = class {
    constructor(options = {}) {
      var _a;
      this.base = ((_a = options.baseURL) != null ? _a : "").replace(/\/+$/, "");
      if (options.fetch) this.fetchImpl = options.fetch;
      if (options.onSessionInvalid) this.onSessionInvalid = options.onSessionInvalid;
    }
    /** loginURL is the URL of wxlogin's /v1/web/authorize for opts, to put in a link. */
    loginURL(opts) {
      if (!opts || typeof opts.appid !== "string" || opts.appid === "") {
        throw new WxloginError(ErrorCodes.invalidRequest, "appid is required");
      }
      if (typeof opts.redirectURI !== "string" || opts.redirectURI === "") {
        throw new WxloginError(ErrorCodes.invalidRequest, "redirectURI is required: one of the app's redirect_uris");
      }
      if (opts.redirectURI.includes("#")) {
        throw new WxloginError(
          ErrorCodes.invalidRequest,
          "redirectURI cannot carry a fragment (#): a redirect would lose it; return to a page without one and pass the hash route as returnTo"
        );
      }
      const redirect = /^https?:\/\//i.test(opts.redirectURI) ? opts.redirectURI : new URL(opts.redirectURI, location.href).href;
      let q = "appid=" + encodeURIComponent(opts.appid) + "&redirect_uri=" + encodeURIComponent(redirect);
      if (opts.scope) q += "&scope=" + encodeURIComponent(opts.scope);
      return this.base + "/v1/web/authorize?" + q;
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
      if (opts.returnTo) pending.returnTo = opts.returnTo;
      try {
        sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
      } catch (e) {
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
      if (!this.outcome) this.outcome = this.readResult();
      return this.outcome;
    }
    readResult() {
      const pending = takePending();
      const returnTo = (pending == null ? void 0 : pending.returnTo) !== void 0 ? sameOriginURL(pending.returnTo) : void 0;
      const withReturn = (r) => returnTo ? __spreadProps(__spreadValues({}, r), { returnTo }) : r;
      const { value, rest } = cutParam(location.search, ERROR_PARAM);
      if (value !== void 0) {
        try {
          history.replaceState(history.state, "", location.pathname + rest + location.hash);
        } catch (e) {
        }
        return withReturn({ status: "error", error: loginError(value) });
      }
      if (!pending || navigationType() === "back_forward") return { status: "none" };
      if (!this.csrfToken()) {
        return withReturn({
          status: "error",
          error: new WxloginError(
            ClientErrorCodes.cookieMissing,
            "the login finished but this page sees no session cookie: wxlogin must answer the login on the page's own host (its cookies belong to the host that set them), and the browser must accept cookies"
          )
        });
      }
      return withReturn({ status: "ok" });
    }
    /**
     * csrfToken is the session's CSRF token from the `wxlogin_csrf` cookie,
     * or undefined without a session.
     */
    csrfToken() {
      let cookies;
      try {
        cookies = document.cookie;
      } catch (e) {
        return void 0;
      }
      for (const part of cookies.split(";")) {
        const c = part.trim();
        if (c.startsWith(CSRF_COOKIE + "=")) {
          const v = c.slice(CSRF_COOKIE.length + 1);
          return v === "" ? void 0 : v;
        }
      }
      return void 0;
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
      const method = ((_a = init.method) != null ? _a : "GET").toUpperCase();
      const headers = new Headers(init.headers);
      if (!isSafeMethod(method) && !headers.has(CSRF_HEADER) && sameOriginURL(String(input)) !== void 0) {
        const token = this.csrfToken();
        if (token) headers.set(CSRF_HEADER, token);
      }
      const f = (_b = this.fetchImpl) != null ? _b : globalThis.fetch;
      let res;
      try {
        res = await f(input, __spreadProps(__spreadValues({}, init), { headers, credentials: (_c = init.credentials) != null ? _c : "same-origin" }));
      } catch (err2) {
        if (isAbort(err2)) throw err2;
        throw new WxloginError(ClientErrorCodes.network, "the request failed before any answer: " + String((_d = err2 == null ? void 0 : err2.message) != null ? _d : err2), 0, {
          cause: err2
        });
      }
      if (res.ok) return res;
      const err = await wxloginError(res);
      if (!err) return res;
      if (notify && err.code === ErrorCodes.sessionInvalid && this.onSessionInvalid) this.onSessionInvalid(err);
      throw err;
    }
    /**
     * me is the logged-in user (GET /v1/me). Without a session it rejects
     * with session_invalid (`err.loginRequired`).
     */
    async me() {
      const res = await this.fetch(this.base + "/v1/me");
      return await readJSON(res);
    }
    /**
     * logout ends the session (POST /v1/web/logout with the CSRF token);
     * the server clears both cookies. A session that had already ended
     * counts as logged out.
     */
    async logout() {
      try {
        const res = await this.send(this.base + "/v1/web/logout", { method: "POST" }, false);
        if (!res.ok) throw new WxloginError(ClientErrorCodes.badResponse, `logout answered ${res.status}`, res.status);
      } catch (err) {
        if (!isWxloginError(err, ErrorCodes.sessionInvalid)) throw err;
      }
    }
  };
  function createWebClient(options) {
    return new WebClient(options);
  }
  function isInWeChat(userAgent) {
    const ua = userAgent != null ? userAgent : typeof navigator === "undefined" ? "" : navigator.userAgent;
    return /MicroMessenger\//i.test(ua) && !/wxwork\//i.test(ua);
  }
  function chooseApp(apps, userAgent) {
    var _a;
    if (isInWeChat(userAgent)) {
      return apps.officialAccount ? { appid: apps.officialAccount, scope: (_a = apps.officialAccountScope) != null ? _a : "snsapi_base" } : void 0;
    }
    return apps.website ? { appid: apps.website, scope: "snsapi_login" } : void 0;
  }
  function isSafeMethod(m) {
    return m === "GET" || m === "HEAD" || m === "OPTIONS";
  }
  function isAbort(err) {
    return typeof err === "object" && err !== null && err.name === "AbortError";
  }
  function sameOriginURL(u) {
    try {
      const url = new URL(u, location.href);
      return url.origin === location.origin ? url.href : void 0;
    } catch (e) {
      return void 0;
    }
  }
  function cutParam(search, name) {
    if (!search || search === "?") return { rest: search };
    let value;
    const kept = [];
    for (const part of search.slice(1).split("&")) {
      const eq = part.indexOf("=");
      const key = eq < 0 ? part : part.slice(0, eq);
      if (key === name) {
        if (value === void 0) value = safeDecode(eq < 0 ? "" : part.slice(eq + 1));
      } else {
        kept.push(part);
      }
    }
    return { value, rest: kept.length ? "?" + kept.join("&") : "" };
  }
  function safeDecode(s) {
    try {
      return decodeURIComponent(s.replace(/\+/g, " "));
    } catch (e) {
      return s;
    }
  }
  function takePending() {
    let raw;
    try {
      raw = sessionStorage.getItem(PENDING_KEY);
      sessionStorage.removeItem(PENDING_KEY);
    } catch (e) {
      return void 0;
    }
    if (!raw) return void 0;
    try {
      const p = JSON.parse(raw);
      if (typeof (p == null ? void 0 : p.at) !== "number" || Date.now() - p.at > PENDING_LIFETIME_MS || Date.now() < p.at - 6e4) return void 0;
      return typeof p.returnTo === "string" ? { at: p.at, returnTo: p.returnTo } : { at: p.at };
    } catch (e) {
      return void 0;
    }
  }
  function navigationType() {
    try {
      const nav = performance.getEntriesByType("navigation")[0];
      return nav == null ? void 0 : nav.type;
    } catch (e) {
      return void 0;
    }
  }
  async function wxloginError(res) {
    var _a;
    if (!/\bjson\b/i.test((_a = res.headers.get("Content-Type")) != null ? _a : "")) return void 0;
    let body;
    try {
      body = await res.clone().json();
    } catch (e2) {
      return void 0;
    }
    const e = body == null ? void 0 : body.error;
    if (!e || typeof e.code !== "string" || e.code === "") return void 0;
    const retry = Number(res.headers.get("Retry-After"));
    const extra = Number.isFinite(retry) && retry > 0 ? { retryAfter: retry } : {};
    return new WxloginError(e.code, typeof e.message === "string" ? e.message : e.code, res.status, extra);
  }
  async function readJSON(res) {
    if (!res.ok) throw new WxloginError(ClientErrorCodes.badResponse, `the server answered ${res.status} without wxlogin's error body`, res.status);
    try {
      return await res.json();
    } catch (err) {
      throw new WxloginError(ClientErrorCodes.badResponse, "the server's answer is not JSON", res.status, { cause: err });
    }
  }
  return __toCommonJS(index_exports);
})();
