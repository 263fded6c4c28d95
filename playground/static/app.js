// Built by sdk/miniprogram (npm run build) from playground/src and the SDK. Do not edit.
(() => {
  // src/errors.ts
  var ClientErrorCodes = {
    /** wx.request failed before any HTTP answer (offline, DNS, timeout). */
    network: "network_error",
    /** The server answered something that is not wxlogin's JSON. */
    badResponse: "bad_response",
    /** The user tapped "deny"/"cancel" on a button or popup. */
    userCancelled: "user_cancelled",
    /** A wx.* API failed for another reason; errMsg says which. */
    wxApi: "wx_api_failed",
    /** The user has not agreed to the mini program's privacy guidelines (errno 104). */
    privacyNotAuthorized: "privacy_not_authorized",
    /**
     * Encrypted open data (user info, legacy phone, WeRun, share) could not be
     * sent: it was encrypted with the session key that the login needed to
     * send it replaced (wx.login rotates the key). The client is logged in
     * now: take the data again (ask the user to tap again). Calling
     * prepareLoginCode() before the user can tap avoids it.
     */
    stalePayload: "stale_payload"
  };
  var WxloginError = class _WxloginError extends Error {
    constructor(code, message, status = 0, extra = {}) {
      super(message);
      this.name = "WxloginError";
      this.code = code;
      this.status = status;
      if (extra.retryAfter !== void 0) this.retryAfter = extra.retryAfter;
      if (extra.errMsg !== void 0) this.errMsg = extra.errMsg;
      if (extra.errno !== void 0) this.errno = extra.errno;
      Object.setPrototypeOf(this, _WxloginError.prototype);
    }
  };
  function wxFailure(api, err) {
    const e = err ?? {};
    const errMsg = typeof e.errMsg === "string" ? e.errMsg : `${api}:fail`;
    const errno = typeof e.errno === "number" ? e.errno : void 0;
    let code = ClientErrorCodes.wxApi;
    if (errno === 104 || /privacy permission is not authorized/i.test(errMsg)) {
      code = ClientErrorCodes.privacyNotAuthorized;
    } else if (/\b(deny|denied|cancel|cancelled|canceled)\b/i.test(errMsg)) {
      code = ClientErrorCodes.userCancelled;
    }
    return new WxloginError(code, errMsg, 0, { errMsg, errno });
  }

  // src/client.ts
  var PENDING_CODE_TTL_MS = 4 * 60 * 1e3;
  var STALE_KEY_CODES = /* @__PURE__ */ new Set(["invalid_signature", "invalid_encrypted_data"]);
  var ANONYMOUS_NICKNAME = "微信用户";
  function isAnonymousProfile(userInfo) {
    return !!userInfo && userInfo.nickName === ANONYMOUS_NICKNAME;
  }
  function settled(ret) {
    if (ret && typeof ret.then === "function") {
      ;
      ret.then(void 0, () => {
      });
    }
  }
  function promisify(api, fn, opts = {}) {
    return new Promise((resolve, reject) => {
      if (typeof fn !== "function") {
        reject(new WxloginError(ClientErrorCodes.wxApi, `wx.${api} is not available in this base library`, 0, { errMsg: `${api}:fail not supported` }));
        return;
      }
      try {
        settled(
          fn({
            ...opts,
            success: (res) => resolve(res),
            fail: (err) => reject(wxFailure(api, err))
          })
        );
      } catch (err) {
        reject(wxFailure(api, { errMsg: `${api}:fail ${String(err?.message ?? err)}` }));
      }
    });
  }
  function headerValue(header, name) {
    if (!header) return void 0;
    const want = name.toLowerCase();
    for (const k of Object.keys(header)) {
      if (k.toLowerCase() === want) {
        const v = header[k];
        return v === void 0 || v === null ? void 0 : String(v);
      }
    }
    return void 0;
  }
  function runsInWeCom(w) {
    if (typeof w.qy?.login !== "function" || typeof w.getSystemInfoSync !== "function") return false;
    try {
      return w.getSystemInfoSync().environment === "wxwork";
    } catch {
      return false;
    }
  }
  function retryAfterSeconds(header, now) {
    const v = headerValue(header, "Retry-After");
    if (v === void 0 || v.trim() === "") return void 0;
    if (/^\d+$/.test(v.trim())) return parseInt(v.trim(), 10);
    const t = Date.parse(v);
    if (isNaN(t)) return void 0;
    return Math.max(0, Math.ceil((t - now) / 1e3));
  }
  function parseTime(s) {
    return Date.parse(String(s).replace(/(\.\d{3})\d+/, "$1"));
  }
  function parseBody(data) {
    if (typeof data === "string" && data !== "") {
      try {
        return JSON.parse(data);
      } catch {
        return data;
      }
    }
    return data;
  }
  function errorFromResponse(status, data, header, now) {
    const body = parseBody(data);
    const retryAfter = retryAfterSeconds(header, now);
    const extra = retryAfter === void 0 ? {} : { retryAfter };
    if (body && typeof body === "object" && body.error && typeof body.error.code === "string") {
      const message = typeof body.error.message === "string" ? body.error.message : body.error.code;
      return new WxloginError(body.error.code, message, status, extra);
    }
    return new WxloginError(ClientErrorCodes.badResponse, `unexpected answer: HTTP ${status}`, status, extra);
  }
  function checkDetail(api, detail) {
    if (!detail || typeof detail !== "object") {
      throw new WxloginError(ClientErrorCodes.wxApi, `${api}: no event detail given`);
    }
    if (typeof detail.errMsg === "string" && !/:ok$/.test(detail.errMsg)) {
      throw wxFailure(api, detail);
    }
  }
  var Client = class {
    constructor(options) {
      this.inflight = null;
      this.checkedToken = null;
      this.pendingCode = null;
      this.privacyPrompt = null;
      this.privacyListening = false;
      if (!options || typeof options.baseURL !== "string" || options.baseURL === "") {
        throw new TypeError("createClient: baseURL is required");
      }
      const w = options.wx ?? (typeof wx !== "undefined" ? wx : void 0);
      if (!w) throw new TypeError("createClient: no wx object (pass options.wx outside a mini program)");
      this.wx = w;
      this.baseURL = options.baseURL.replace(/\/+$/, "");
      this.weCom = options.wecom === "auto" || options.wecom === void 0 ? runsInWeCom(w) : options.wecom;
      const appid2 = this.weCom ? options.wecomAppid ?? options.appid : options.appid;
      if (appid2) this.appid = appid2;
      this.storageKey = options.storageKey ?? "wxlogin:session";
      this.maxRetryWaitMs = options.maxRetryWaitMs ?? 1e4;
      this.maxRetries = options.maxRetries ?? 2;
      if (options.timeoutMs !== void 0) this.timeoutMs = options.timeoutMs;
      this.now = options.now ?? (() => Date.now());
      this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
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
      if (this.inflight) return this.inflight;
      const done = () => {
        if (this.inflight === p) this.inflight = null;
      };
      const p = this.doLogin(!!options.force).then(
        (s) => {
          done();
          return s;
        },
        (err) => {
          done();
          throw err;
        }
      );
      this.inflight = p;
      return p;
    }
    async doLogin(force) {
      if (!force) {
        const s = this.stored();
        if (s && !(parseTime(s.expires_at) <= this.now())) {
          if (this.checkedToken === s.token) return s;
          try {
            if (this.weCom) {
              await promisify("qy.checkSession", this.wx.qy?.checkSession?.bind(this.wx.qy));
            } else {
              await promisify("checkSession", this.wx.checkSession.bind(this.wx));
            }
            this.checkedToken = s.token;
            return s;
          } catch {
            if (s.session_policy === "wechat") await this.endQuietly(s.token);
          }
        }
      }
      const budget = { waited: 0 };
      for (let attempt = 0; ; attempt++) {
        const code = this.takePendingCode() ?? await this.wxLogin();
        const body = { code };
        if (this.appid) body.appid = this.appid;
        try {
          const res = await this.send(
            { path: "/v1/login", method: "POST", data: body, auth: false },
            null,
            false
          );
          const session = { token: res.data.token, expires_at: res.data.expires_at, user: res.data.user };
          if (res.data.session_policy === "wechat" || res.data.session_policy === "own") session.session_policy = res.data.session_policy;
          if (typeof session.token !== "string" || session.token === "") {
            throw new WxloginError(ClientErrorCodes.badResponse, "login answer has no token", res.status);
          }
          this.wx.setStorageSync(this.storageKey, session);
          this.checkedToken = session.token;
          return session;
        } catch (err) {
          const retryable = err instanceof WxloginError && (err.code === "invalid_code" || err.code === "upstream_unavailable");
          if (!retryable || attempt >= this.maxRetries) throw err;
          if (err.code === "upstream_unavailable" && !await this.waitRetryAfter(err, budget)) throw err;
        }
      }
    }
    async wxLogin() {
      this.pendingCode = null;
      const opts = {};
      if (this.timeoutMs !== void 0) opts.timeout = this.timeoutMs;
      const api = this.weCom ? "qy.login" : "login";
      const fn = this.weCom ? this.wx.qy?.login?.bind(this.wx.qy) : this.wx.login.bind(this.wx);
      const res = await promisify(api, fn, opts);
      if (!res || typeof res.code !== "string" || res.code === "") {
        throw new WxloginError(ClientErrorCodes.wxApi, `wx.${api} returned no code`, 0, { errMsg: `${api}:fail no code` });
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
      if (s && s.session_policy === "wechat" && await this.handCode(s.token, code)) return;
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
        await this.send({ path: "/v1/session/code", method: "POST", data: { code } }, token, true);
        return true;
      } catch {
        return false;
      }
    }
    /** endQuietly ends a session on the server (DELETE /v1/session), ignoring any failure. */
    async endQuietly(token) {
      try {
        await this.send({ path: "/v1/session", method: "DELETE" }, token, false);
      } catch {
      }
    }
    /** hasPreparedLoginCode reports whether a code from prepareLoginCode is kept and fresh. */
    hasPreparedLoginCode() {
      return !!this.pendingCode && this.now() - this.pendingCode.at < PENDING_CODE_TTL_MS;
    }
    takePendingCode() {
      const p = this.pendingCode;
      this.pendingCode = null;
      if (p && this.now() - p.at < PENDING_CODE_TTL_MS) return p.code;
      return void 0;
    }
    /**
     * request sends a request with the login token, logging in first when
     * needed. On 401 session_invalid it logs in again once and retries once; on
     * 503 (or 429) it waits for Retry-After within a bound and retries. Other
     * errors reject with a {@link WxloginError} carrying the server's code.
     */
    async request(options) {
      if (options.auth === false) return this.send(options, null, true);
      let session = await this.login();
      try {
        return await this.send(options, session.token, true);
      } catch (err) {
        if (!(err instanceof WxloginError && err.status === 401 && err.code === "session_invalid")) throw err;
        session = await this.relogin(session.token);
        return this.send(options, session.token, true);
      }
    }
    /** relogin replaces a token the server refused, sharing one login among callers. */
    relogin(failedToken) {
      if (this.inflight) return this.inflight;
      const cur = this.stored();
      if (cur && cur.token !== failedToken) return Promise.resolve(cur);
      this.removeStored();
      return this.login({ force: true });
    }
    /** send performs one logical call: wx.request plus Retry-After retries. */
    async send(options, token, retry) {
      const budget = { waited: 0 };
      for (let attempt = 0; ; attempt++) {
        const res = await this.wxRequest(options, token);
        if (res.statusCode >= 200 && res.statusCode < 300) {
          return { status: res.statusCode, data: parseBody(res.data), header: res.header };
        }
        const err = errorFromResponse(res.statusCode, res.data, res.header, this.now());
        if (retry && (res.statusCode === 503 || res.statusCode === 429) && attempt < this.maxRetries) {
          if (await this.waitRetryAfter(err, budget)) continue;
        }
        throw err;
      }
    }
    /** waitRetryAfter sleeps for the error's Retry-After when it fits the budget and reports whether it did. */
    async waitRetryAfter(err, budget) {
      const ms = (err.retryAfter ?? 1) * 1e3;
      if (budget.waited + ms > this.maxRetryWaitMs) return false;
      budget.waited += ms;
      await this.sleep(ms);
      return true;
    }
    wxRequest(options, token) {
      const url = /^https?:\/\//.test(options.path) ? options.path : this.baseURL + (options.path.startsWith("/") ? "" : "/") + options.path;
      const header = { ...options.header ?? {} };
      if (token) header.Authorization = `Bearer ${token}`;
      if (options.data !== void 0 && typeof options.data === "object" && !(options.data instanceof ArrayBuffer)) {
        header["Content-Type"] = header["Content-Type"] ?? "application/json";
      }
      return new Promise((resolve, reject) => {
        const opts = {
          url,
          method: options.method ?? "GET",
          header,
          dataType: "json",
          success: (res) => resolve({ statusCode: res.statusCode, data: res.data, header: res.header ?? {} }),
          fail: (err) => reject(new WxloginError(ClientErrorCodes.network, err?.errMsg ?? "request:fail", 0, err?.errMsg ? { errMsg: err.errMsg } : {}))
        };
        if (options.data !== void 0) opts.data = options.data;
        if (this.timeoutMs !== void 0) opts.timeout = this.timeoutMs;
        try {
          settled(this.wx.request(opts));
        } catch (err) {
          reject(new WxloginError(ClientErrorCodes.network, `request:fail ${String(err?.message ?? err)}`));
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
      if (!s) return;
      try {
        await this.send({ path: "/v1/session", method: "DELETE" }, s.token, false);
      } catch (err) {
        if (!(err instanceof WxloginError && err.status === 401)) {
          this.removeStored();
          throw err;
        }
      }
      this.removeStored();
    }
    /** me returns the signed-in user with their profile (GET /v1/me). */
    async me() {
      return (await this.request({ path: "/v1/me" })).data;
    }
    /**
     * saveUserInfo sends the detail of a getUserInfo button (or the result of
     * wx.getUserProfile / wx.getUserInfo with credentials) to POST /v1/userinfo
     * and returns the verified user info. A user who tapped "deny" rejects with
     * code `user_cancelled`.
     */
    async saveUserInfo(detail, options = {}) {
      checkDetail("getUserInfo", detail);
      if (!detail.rawData || !detail.signature || !detail.encryptedData || !detail.iv) {
        throw new WxloginError(ClientErrorCodes.wxApi, "getUserInfo: detail lacks rawData/signature/encryptedData/iv (call it with credentials)");
      }
      const data = {
        rawData: detail.rawData,
        signature: detail.signature,
        encryptedData: detail.encryptedData,
        iv: detail.iv
      };
      const res = await this.payloadRequest("/v1/userinfo", data, options);
      return res.user_info;
    }
    /**
     * savePhone sends the detail of a getPhoneNumber button to POST /v1/phone:
     * the one-time phone code when the base library gives one (2.21.2+), else
     * the legacy encryptedData/iv. Returns the stored phone number.
     */
    async savePhone(detail, options = {}) {
      checkDetail("getPhoneNumber", detail);
      if (detail.code) {
        return (await this.request({ path: "/v1/phone", method: "POST", data: { code: detail.code } })).data;
      }
      if (!detail.encryptedData || !detail.iv) {
        throw new WxloginError(ClientErrorCodes.wxApi, "getPhoneNumber: detail has neither code nor encryptedData/iv");
      }
      return this.payloadRequest("/v1/phone", { encryptedData: detail.encryptedData, iv: detail.iv }, options);
    }
    /** decrypt sends WeRun (`werun`) or share (`share`) data to POST /v1/decrypt and returns the plaintext object. */
    async decrypt(kind, detail, options = {}) {
      checkDetail(kind === "werun" ? "getWeRunData" : "getShareInfo", detail);
      if (!detail.encryptedData || !detail.iv) {
        throw new WxloginError(ClientErrorCodes.wxApi, `${kind}: detail lacks encryptedData/iv`);
      }
      return this.payloadRequest("/v1/decrypt", { kind, encryptedData: detail.encryptedData, iv: detail.iv }, options);
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
      const loginCode = options.loginCode ?? this.takePendingCode();
      const post = async (token, withCode) => {
        const body = withCode && loginCode ? { ...data, login_code: loginCode } : data;
        return (await this.send({ path, method: "POST", data: body }, token, true)).data;
      };
      const stored = this.stored();
      if (stored) {
        try {
          return await post(stored.token, true);
        } catch (err) {
          if (!(err instanceof WxloginError && err.status === 401 && err.code === "session_invalid")) throw err;
        }
      }
      if (loginCode) this.pendingCode = { code: loginCode, at: this.now() };
      const session = stored ? await this.relogin(stored.token) : await this.login();
      const unspent = !!loginCode && this.pendingCode?.code === loginCode;
      if (unspent) this.pendingCode = null;
      try {
        return await post(session.token, unspent);
      } catch (err) {
        if (!loginCode && err instanceof WxloginError && STALE_KEY_CODES.has(err.code)) {
          throw new WxloginError(
            ClientErrorCodes.stalePayload,
            `the data was encrypted with the session key that logging in to send it replaced (the server answered ${err.code}); the client is logged in now, so the same data taken again works: ask the user to tap again, and call prepareLoginCode() before they can tap`
          );
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
      const authSetting = async () => {
        const res = await promisify("getSetting", this.wx.getSetting.bind(this.wx));
        return res.authSetting ?? {};
      };
      const state = (await authSetting())[scope];
      if (state === true) return { scope, granted: true, status: "granted" };
      if (scope === "scope.userInfo") return { scope, granted: false, status: "needs_button" };
      if (state === false) return { scope, granted: false, status: "denied" };
      try {
        await promisify("authorize", this.wx.authorize.bind(this.wx), { scope });
        return { scope, granted: true, status: "granted" };
      } catch (err) {
        if (!(err instanceof WxloginError) || err.code === ClientErrorCodes.privacyNotAuthorized) throw err;
        if (/\bauth:?\s*(deny|denied|cancel|canceled|cancelled)\b/i.test(err.errMsg ?? "")) {
          return { scope, granted: false, status: "denied" };
        }
        let recorded;
        try {
          recorded = (await authSetting())[scope];
        } catch {
          throw err;
        }
        if (recorded === false) return { scope, granted: false, status: "denied" };
        throw err;
      }
    }
    /**
     * openSettingFor opens WeChat's settings page (call it from a tap: WeChat
     * requires one) and reports whether scope is granted when the user comes back.
     */
    async openSettingFor(scope) {
      const res = await promisify("openSetting", this.wx.openSetting.bind(this.wx));
      return !!(res.authSetting && res.authSetting[scope] === true);
    }
    /**
     * onPrivacyPrompt registers the app's privacy popup: when a privacy API
     * needs the user's agreement, WeChat calls wx.onNeedPrivacyAuthorization and
     * the SDK asks prompt. Register once, early (e.g. in App.onLaunch).
     */
    onPrivacyPrompt(prompt) {
      this.privacyPrompt = prompt;
      if (this.privacyListening || typeof this.wx.onNeedPrivacyAuthorization !== "function") return;
      this.privacyListening = true;
      const listener = (resolve, eventInfo) => {
        const ask2 = this.privacyPrompt;
        if (!ask2) {
          resolve({ event: "disagree" });
          return;
        }
        const referrer = eventInfo && typeof eventInfo.referrer === "string" ? eventInfo.referrer : void 0;
        ask2(referrer === void 0 ? {} : { referrer }).then(
          (answer) => {
            const agree = typeof answer === "boolean" ? answer : !!answer.agree;
            const buttonId = typeof answer === "object" && answer.buttonId ? answer.buttonId : void 0;
            const event = agree ? buttonId ? { event: "agree", buttonId } : { event: "agree" } : { event: "disagree" };
            resolve(event);
          },
          () => resolve({ event: "disagree" })
        );
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
      if (prompt) this.onPrivacyPrompt(prompt);
      if (typeof this.wx.getPrivacySetting !== "function") return { asked: false };
      const setting = await promisify(
        "getPrivacySetting",
        this.wx.getPrivacySetting.bind(this.wx)
      );
      const contract = setting.privacyContractName ? { contractName: setting.privacyContractName } : {};
      if (!setting.needAuthorization) return { asked: false, ...contract };
      await promisify("requirePrivacyAuthorize", this.wx.requirePrivacyAuthorize?.bind(this.wx));
      return { asked: true, ...contract };
    }
    /**
     * saveProfile saves what the user filled in: the avatar from
     * `<button open-type="chooseAvatar">` uploaded with wx.uploadFile to
     * POST /v1/me/avatar, and the nickname from `<input type="nickname">` with
     * PUT /v1/me/profile. Returns the user as the last answer gives it.
     */
    async saveProfile(input) {
      let last = {};
      if (input.avatarPath) last = await this.uploadAvatar(input.avatarPath);
      if (input.nickname !== void 0) {
        last = (await this.request({ path: "/v1/me/profile", method: "PUT", data: { nickname: input.nickname } })).data;
      }
      return last;
    }
    async uploadAvatar(filePath) {
      const upload = this.wx.uploadFile;
      if (typeof upload !== "function") {
        throw new WxloginError(ClientErrorCodes.wxApi, "wx.uploadFile is not available", 0, { errMsg: "uploadFile:fail not supported" });
      }
      const once = (token) => new Promise((resolve, reject) => {
        settled(
          upload.call(this.wx, {
            url: this.baseURL + "/v1/me/avatar",
            filePath,
            name: "file",
            header: { Authorization: `Bearer ${token}` },
            success: (res2) => resolve(res2),
            fail: (err) => reject(wxFailure("uploadFile", err))
          })
        );
      });
      let session = await this.login();
      let res = await once(session.token);
      if (res.statusCode === 401) {
        const err = errorFromResponse(res.statusCode, res.data, res.header, this.now());
        if (err.code !== "session_invalid") throw err;
        session = await this.relogin(session.token);
        res = await once(session.token);
      }
      if (res.statusCode < 200 || res.statusCode >= 300) throw errorFromResponse(res.statusCode, res.data, res.header, this.now());
      return parseBody(res.data) ?? {};
    }
    stored() {
      let v;
      try {
        v = this.wx.getStorageSync(this.storageKey);
      } catch {
        return null;
      }
      if (typeof v === "string" && v !== "") v = parseBody(v);
      if (v && typeof v === "object" && typeof v.token === "string" && v.token !== "") {
        return v;
      }
      return null;
    }
    removeStored() {
      try {
        this.wx.removeStorageSync(this.storageKey);
      } catch {
      }
    }
  };
  function createClient(options) {
    return new Client(options);
  }

  // src/simulated-wx.ts
  var DeviceFailure = class extends Error {
    constructor(status, code, errMsg, errno, message) {
      super(message);
      this.status = status;
      this.code = code;
      this.errMsg = errMsg;
      this.errno = errno;
    }
  };
  function compareVersions(a, b) {
    const pa = a.split(".").map((x) => parseInt(x, 10) || 0);
    const pb = b.split(".").map((x) => parseInt(x, 10) || 0);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
      const d = (pa[i] ?? 0) - (pb[i] ?? 0);
      if (d !== 0) return d < 0 ? -1 : 1;
    }
    return 0;
  }
  var PRIVACY_ERRNO = 104;
  var PRIVACY_ERRMSG = "privacy permission is not authorized";
  function createSimulatedWx(options) {
    const fetchFn = options.fetch ?? globalThis.fetch;
    if (typeof fetchFn !== "function") throw new TypeError("createSimulatedWx: no fetch (pass options.fetch)");
    const origin = options.emulatorURL.replace(/\/+$/, "").replace(/\/emulator\/v1$/, "");
    const { appid: appid2, user } = options;
    const prompts = options.prompts ?? {};
    const baseLibrary2 = options.baseLibrary;
    const storage = options.storage ?? /* @__PURE__ */ new Map();
    const tempFiles = /* @__PURE__ */ new Map();
    let tempSeq = 0;
    let privacyListener = null;
    let setup = null;
    const has = (v) => baseLibrary2 === void 0 || compareVersions(baseLibrary2, v) >= 0;
    async function rawDevice(method, path, body) {
      const init = { method };
      if (body !== void 0) {
        init.headers = { "Content-Type": "application/json" };
        init.body = JSON.stringify(body);
      }
      const res = await fetchFn(origin + "/emulator/v1" + path, init);
      const text = await res.text();
      let json;
      try {
        json = text === "" ? void 0 : JSON.parse(text);
      } catch {
        json = void 0;
      }
      if (res.status < 200 || res.status >= 300) {
        const e = json?.error;
        throw new DeviceFailure(
          res.status,
          e?.code ?? "http_" + res.status,
          e?.errMsg,
          e?.errno,
          e?.message ?? `emulator answered HTTP ${res.status} to ${method} ${path}`
        );
      }
      return json;
    }
    async function device(method, path, body) {
      if (baseLibrary2 !== void 0) {
        if (!setup) {
          setup = rawDevice("PUT", "/users/" + encodeURIComponent(user), { baseLibrary: baseLibrary2 }).then(
            () => void 0,
            (err) => {
              setup = null;
              throw err;
            }
          );
        }
        await setup;
      }
      return rawDevice(method, path, body);
    }
    const q = () => `appid=${encodeURIComponent(appid2)}&user=${encodeURIComponent(user)}`;
    const who = () => ({ appid: appid2, user });
    function failOf(api2, err) {
      if (err instanceof DeviceFailure) {
        const fail = { errMsg: err.errMsg ?? `${api2}:fail ${err.message}` };
        if (err.errno !== void 0) fail.errno = err.errno;
        if (err.code === "privacy_not_authorized" && fail.errno === void 0) fail.errno = PRIVACY_ERRNO;
        return fail;
      }
      if (err && typeof err === "object" && typeof err.errMsg === "string") return err;
      return { errMsg: `${api2}:fail ${String(err?.message ?? err)}` };
    }
    function api(name, impl) {
      return (opts) => {
        const o = opts ?? {};
        const p = (async () => {
          try {
            const res = await impl(o);
            return { ok: true, res: { ...res, errMsg: res.errMsg ?? `${name}:ok` } };
          } catch (err) {
            return { ok: false, res: failOf(name, err) };
          }
        })();
        if (o.success || o.fail || o.complete) {
          p.then((r) => {
            if (r.ok) o.success?.(r.res);
            else o.fail?.(r.res);
            o.complete?.(r.res);
          });
          return void 0;
        }
        return p.then((r) => r.ok ? r.res : Promise.reject(r.res));
      };
    }
    async function authSetting() {
      const r = await device("GET", "/settings?" + q());
      return r.authSetting ?? {};
    }
    async function authorizeScope(apiName, scope) {
      const s = await authSetting();
      if (s[scope] === true) return;
      if (s[scope] === false) throw { errMsg: `${apiName}:fail auth deny` };
      const accept = prompts.authorize ? await prompts.authorize(scope) : true;
      try {
        await device("POST", "/authorize", { ...who(), scope, accept });
      } catch (err) {
        if (err instanceof DeviceFailure && err.code === "scope_denied") throw { errMsg: `${apiName}:fail auth deny` };
        throw err;
      }
      if (!accept) throw { errMsg: `${apiName}:fail auth deny` };
    }
    async function askPrivacy(apiName, referrer) {
      const refused = () => ({ errMsg: `${apiName}:fail ${PRIVACY_ERRMSG}`, errno: PRIVACY_ERRNO });
      const isRefusal = (err) => err instanceof DeviceFailure && err.code === "privacy_not_authorized";
      const setting = await device("GET", `/privacy?${q()}`);
      if (!setting?.needAuthorization) return;
      if (setting.refusalPauseMs) throw refused();
      let agree;
      if (privacyListener) {
        const listener = privacyListener;
        const answer = await new Promise((resolve) => {
          listener((r) => resolve(r ?? {}), { referrer });
        });
        agree = answer.event === "agree";
      } else {
        agree = prompts.privacy ? await prompts.privacy(referrer) : true;
      }
      try {
        await device("POST", "/privacy", { ...who(), event: agree ? "agree" : "disagree" });
      } catch (err) {
        if (isRefusal(err)) throw refused();
        throw err;
      }
      if (!agree) throw refused();
    }
    async function privacyAPI(apiName, method, path, body) {
      try {
        return await device(method, path, body);
      } catch (err) {
        if (!(err instanceof DeviceFailure && err.code === "privacy_not_authorized")) throw err;
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
      return Object.keys(data).filter((k) => data[k] !== void 0).map((k) => encodeURIComponent(k) + "=" + encodeURIComponent(String(data[k]))).join("&");
    }
    const weCom = options.wecom;
    const weComWho = () => ({ corpid: weCom?.corpid, user });
    const wxObj = {
      getSystemInfoSync: () => ({
        SDKVersion: baseLibrary2 ?? "3.5.0",
        platform: "devtools",
        ...weCom ? { environment: "wxwork" } : {}
      }),
      qy: {
        login: api("qy.login", async () => {
          const r = await rawDevice("POST", "/wecom/login", weComWho());
          return { code: r.code };
        }),
        checkSession: api("qy.checkSession", async () => {
          const r = await rawDevice(
            "GET",
            `/wecom/session?corpid=${encodeURIComponent(weCom?.corpid ?? "")}&user=${encodeURIComponent(user)}`
          );
          if (!r.valid) throw { errMsg: "qy.checkSession:fail session time out" };
          return {};
        })
      },
      login: api("login", async () => {
        const r = await device("POST", "/login", who());
        return { code: r.code };
      }),
      checkSession: api("checkSession", async () => {
        const r = await device("GET", "/session?" + q());
        if (!r.valid) throw { errMsg: "checkSession:fail session time out" };
        return {};
      }),
      request: (opts) => {
        api("request", async (o) => {
          const method = (o.method ?? "GET").toUpperCase();
          const headers = { ...o.header ?? {} };
          let url = o.url;
          let body;
          const data = o.data;
          if (data !== void 0 && data !== null) {
            if (method === "GET" || method === "HEAD") {
              if (typeof data === "object") {
                const qs = toQuery(data);
                if (qs) url += (url.includes("?") ? "&" : "?") + qs;
              } else url += (url.includes("?") ? "&" : "?") + String(data);
            } else if (typeof data === "string") {
              body = data;
            } else {
              const ct = Object.keys(headers).find((k) => k.toLowerCase() === "content-type");
              if (!ct) headers["Content-Type"] = "application/json";
              const type = headers[ct ?? "Content-Type"] ?? "";
              body = /x-www-form-urlencoded/i.test(type) ? toQuery(data) : JSON.stringify(data);
            }
          }
          let res;
          try {
            const init = { method, headers };
            if (body !== void 0) init.body = body;
            res = await fetchFn(url, init);
          } catch (err) {
            throw { errMsg: `request:fail ${String(err?.message ?? err)}` };
          }
          const text = await res.text();
          let parsed = text;
          if ((o.dataType ?? "json") === "json" && text !== "") {
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = text;
            }
          }
          return { data: parsed, statusCode: res.status, header: headersOf(res), cookies: [] };
        })(opts);
        return { abort() {
        }, onHeadersReceived() {
        }, offHeadersReceived() {
        } };
      },
      getStorageSync: (key) => {
        const v = storage.get(key);
        return v === void 0 ? "" : JSON.parse(v);
      },
      setStorageSync: (key, value) => {
        storage.set(key, JSON.stringify(value === void 0 ? null : value));
      },
      removeStorageSync: (key) => {
        storage.delete(key);
      },
      getSetting: api("getSetting", async () => ({ authSetting: await authSetting() })),
      authorize: api("authorize", async (o) => {
        if (!o.scope) throw { errMsg: "authorize:fail parameter error: scope is required" };
        if (o.scope === "scope.userInfo") {
          throw { errMsg: 'authorize:fail scope.userInfo is not allowed to authorize, use a button with open-type="getUserInfo"' };
        }
        await authorizeScope("authorize", o.scope);
        return {};
      }),
      openSetting: api("openSetting", async () => {
        const current = await authSetting();
        const next = prompts.openSetting ? await prompts.openSetting({ ...current }) : current;
        const r = await device("POST", "/settings", { ...who(), authSetting: next });
        return { authSetting: r?.authSetting ?? next };
      }),
      getUserInfo: api("getUserInfo", async (o) => {
        const s = await authSetting();
        if (s["scope.userInfo"] !== true) {
          throw { errMsg: "getUserInfo:fail scope unauthorized" };
        }
        const r = await privacyAPI("getUserInfo", "POST", "/userinfo", who());
        return o.withCredentials === false ? { userInfo: r.userInfo, rawData: r.rawData, signature: r.signature } : r;
      }),
      getUserProfile: api("getUserProfile", async (o) => {
        if (!o.desc) throw { errMsg: "getUserProfile:fail parameter error: desc is required" };
        const allow = prompts.getUserProfile ? await prompts.getUserProfile(o.desc) : true;
        if (!allow) throw { errMsg: "getUserProfile:fail auth deny" };
        return privacyAPI("getUserProfile", "POST", "/profile", who());
      }),
      getWeRunData: api("getWeRunData", async () => {
        await authorizeScope("getWeRunData", "scope.werun");
        const r = await privacyAPI("getWeRunData", "POST", "/werun", { ...who(), accept: true });
        return { encryptedData: r.encryptedData, iv: r.iv };
      }),
      uploadFile: (opts) => {
        api("uploadFile", async (o) => {
          const file = tempFiles.get(o.filePath);
          if (!file) throw { errMsg: `uploadFile:fail file not found: ${o.filePath}` };
          const G = globalThis;
          const form = new G.FormData();
          for (const [k, v] of Object.entries(o.formData ?? {})) form.append(k, v);
          const fileName = o.filePath.replace(/^.*\//, "");
          form.append(o.name, new G.Blob([file.data], { type: file.contentType }), fileName);
          let res;
          try {
            res = await fetchFn(o.url, { method: "POST", headers: { ...o.header ?? {} }, body: form });
          } catch (err) {
            throw { errMsg: `uploadFile:fail ${String(err?.message ?? err)}` };
          }
          return { data: await res.text(), statusCode: res.status, header: headersOf(res) };
        })(opts);
        return { abort() {
        }, onProgressUpdate() {
        }, offProgressUpdate() {
        }, onHeadersReceived() {
        }, offHeadersReceived() {
        } };
      },
      getPrivacySetting: api("getPrivacySetting", async () => {
        const r = await device("GET", "/privacy?" + q());
        return { needAuthorization: !!r.needAuthorization, privacyContractName: r.privacyContractName ?? "" };
      }),
      // askPrivacy's first question to the emulator also tells whether the
      // user agreed already or no agreement applies.
      requirePrivacyAuthorize: api("requirePrivacyAuthorize", async () => {
        await askPrivacy("requirePrivacyAuthorize", "requirePrivacyAuthorize");
        return {};
      }),
      onNeedPrivacyAuthorization: (listener) => {
        privacyListener = listener;
      },
      simulated: {
        appid: appid2,
        user,
        emulatorURL: origin,
        baseLibrary: baseLibrary2,
        getPhoneNumberDetail: async (o = {}) => {
          if (o.deny) return { errMsg: "getPhoneNumber:fail user deny" };
          return tap("getPhoneNumber", () => privacyAPI("getPhoneNumber", "POST", "/phone", who()));
        },
        getUserInfoDetail: async (o = {}) => {
          if (o.deny) return { errMsg: "getUserInfo:fail auth deny" };
          return tap("getUserInfo", () => privacyAPI("getUserInfo", "POST", "/userinfo", who()));
        },
        chooseAvatarDetail: async (o = {}) => {
          if (o.deny) return { errMsg: "chooseAvatar:fail cancel" };
          return tap("chooseAvatar", async () => {
            const r = await privacyAPI(
              "chooseAvatar",
              "POST",
              "/avatar",
              who()
            );
            let data;
            let contentType = r.contentType ?? "image/png";
            if (typeof r.data === "string" && r.data !== "") {
              data = fromBase64(r.data);
            } else {
              const remote = r.path ?? r.avatarUrl ?? "";
              const res = await fetchFn(/^https?:/.test(remote) ? remote : origin + remote, { method: "GET" });
              if (res.status !== 200) throw { errMsg: `chooseAvatar:fail cannot read ${remote}: HTTP ${res.status}` };
              contentType = headersOf(res)["content-type"] ?? contentType;
              data = new Uint8Array(await res.arrayBuffer());
            }
            return { avatarUrl: addTempFile(data, contentType) };
          });
        },
        nicknameDetail: () => tap("nickname", async () => {
          const r = await privacyAPI("nickname", "POST", "/nickname", who());
          return { value: r.nickname ?? r.nickName ?? r.value ?? "" };
        }),
        addTempFile,
        readTempFile: (path) => tempFiles.get(path),
        device: (method, path, body) => device(method, path, body),
        setUser: async (data) => {
          await rawDevice("PUT", "/users/" + encodeURIComponent(user), data);
        },
        clearStorage: () => storage.clear()
      }
    };
    async function tap(apiName, run) {
      try {
        return { ...await run(), errMsg: `${apiName}:ok` };
      } catch (err) {
        return { ...failOf(apiName, err) };
      }
    }
    function fromBase64(b64) {
      const bin = globalThis.atob(b64);
      const out = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
      return out;
    }
    function addTempFile(data, contentType = "application/octet-stream") {
      const G = globalThis;
      const bytes = typeof data === "string" ? new G.TextEncoder().encode(data) : data;
      const ext = /png/.test(contentType) ? ".png" : /jpe?g/.test(contentType) ? ".jpg" : /webp/.test(contentType) ? ".webp" : ".bin";
      const path = `wxfile://tmp_${user}_${++tempSeq}${ext}`;
      tempFiles.set(path, { data: bytes, contentType });
      return path;
    }
    const w = wxObj;
    if (!weCom) delete w.qy;
    if (!has("2.10.4")) delete w.getUserProfile;
    if (!has("2.32.3")) {
      delete w.getPrivacySetting;
      delete w.requirePrivacyAuthorize;
      delete w.onNeedPrivacyAuthorization;
    }
    return wxObj;
  }

  // ../../playground/src/app.ts
  var $ = (id) => document.getElementById(id);
  var WHY = {
    session_invalid: "wxlogin no longer accepts this token (expired, logged out or revoked). The SDK logs in again once (wx.login → POST /v1/login) and retries the request.",
    invalid_code: "The wx.login code was used already, is older than 5 minutes, or unknown. A code works once; the SDK asks wx.login for a new one.",
    invalid_encrypted_data: 'wxlogin could not decrypt with the session_key it holds: WeChat rotated the key (a wx.login after this session logged in). Send a fresh login_code with the payload — tick the box under "User data".',
    invalid_signature: 'sha1(rawData + session_key) did not match the session_key wxlogin holds: usually WeChat rotated the key (a wx.login after this session logged in), or the data was altered. Send a fresh login_code with the payload — tick the box under "User data".',
    upstream_unavailable: "WeChat was busy or unreachable. The SDK waits for Retry-After (within a bound) and tries again.",
    rate_limited: "A limit was hit; Retry-After says when to try again.",
    privacy_not_authorized: "The user has not agreed to the privacy guidelines (errno 104): they refused in the popup, or refused less than about 10 s ago, when WeChat refuses at once without showing it. Call client.ensurePrivacy() to show your privacy popup before privacy APIs.",
    stale_payload: "No session could decrypt this data: logging in took a wx.login, which replaced the session key the data was encrypted with. The SDK is logged in now, so the same tap again works; call client.prepareLoginCode() before the user can tap to avoid it.",
    user_cancelled: 'The user tapped "deny" or "cancel". Nothing reached wxlogin.',
    scope_denied: "The user refused this scope. WeChat will not ask again: explain why, then open wx.openSetting from a tap.",
    code_blocked: "WeChat flagged this user as high-risk (errcode 40226): wxlogin refuses the login.",
    unsupported_media_type: "The upload is not a JPEG, PNG or WebP image (checked by content, not by name).",
    request_too_large: "The upload is over the size limit.",
    invalid_request: "wxlogin refused the request as malformed.",
    unknown_app: "The appid is not configured on this wxlogin server."
  };
  var WECHAT_ERRCODES = {
    "0": "ok",
    "40001": "invalid access_token",
    "40029": "invalid code",
    "40163": "code been used",
    "40226": "high-risk user",
    "45011": "minute quota",
    "-1": "system busy",
    "87009": "invalid signature"
  };
  var DEVICE_APIS = [
    [/^POST \/emulator\/v1\/login/, "wx.login"],
    [/^GET \/emulator\/v1\/session/, "wx.checkSession"],
    [/^GET \/emulator\/v1\/settings/, "wx.getSetting"],
    [/^POST \/emulator\/v1\/settings/, "wx.openSetting"],
    [/^POST \/emulator\/v1\/authorize/, "authorize popup"],
    [/^POST \/emulator\/v1\/userinfo/, "getUserInfo"],
    [/^POST \/emulator\/v1\/profile/, "wx.getUserProfile"],
    [/^POST \/emulator\/v1\/phone/, "getPhoneNumber button"],
    [/^POST \/emulator\/v1\/werun/, "wx.getWeRunData"],
    // Also how the simulated wx learns of the pause after a refusal.
    [/^GET \/emulator\/v1\/privacy/, "wx.getPrivacySetting"],
    [/^POST \/emulator\/v1\/privacy/, "privacy popup answer"],
    [/^POST \/emulator\/v1\/avatar/, "chooseAvatar"],
    [/^POST \/emulator\/v1\/nickname/, "nickname input"],
    [/^PUT \/emulator\/v1\/users/, "device setup"]
  ];
  function clock() {
    const d = /* @__PURE__ */ new Date();
    const p = (n, w = 2) => String(n).padStart(w, "0");
    return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  }
  function pretty(v) {
    if (typeof v === "string") {
      try {
        return JSON.stringify(JSON.parse(v), null, 2);
      } catch {
        return v;
      }
    }
    return JSON.stringify(v, null, 2) ?? String(v);
  }
  var LANE_LABEL = {
    sdk: "SDK",
    wx: "wx → WeChat",
    wxlogin: "client → wxlogin",
    wechat: "wxlogin → WeChat",
    dev: "dev control"
  };
  function addEntry(e) {
    const li = document.createElement("li");
    li.className = "entry " + (e.action ? "action" : e.ok === false ? "error" : "ok");
    li.dataset.lane = e.lane;
    if (e.code) li.dataset.code = e.code;
    if (e.status) li.dataset.status = e.status;
    const row = document.createElement("div");
    row.className = "row";
    const t = document.createElement("time");
    t.textContent = clock();
    const lane = document.createElement("span");
    lane.className = "lane lane-" + e.lane;
    lane.textContent = LANE_LABEL[e.lane];
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = e.title;
    row.append(t, lane, title);
    if (e.code) {
      const c = document.createElement("span");
      c.className = "code";
      c.textContent = e.code;
      row.append(c);
    }
    if (e.status) {
      const s = document.createElement("span");
      s.className = "status " + (e.ok === false ? "err" : "ok");
      s.textContent = e.status;
      row.append(s);
    }
    li.append(row);
    if (e.why) {
      const w = document.createElement("div");
      w.className = "why" + (e.good ? " good" : "");
      w.textContent = e.why;
      li.append(w);
    }
    if (e.details && e.details.length) {
      const d = document.createElement("details");
      const sum = document.createElement("summary");
      sum.textContent = e.details.map(([k]) => k).join(" · ");
      d.append(sum);
      for (const [k, v] of e.details) {
        const pre = document.createElement("pre");
        pre.textContent = `${k}:
${pretty(v)}`;
        d.append(pre);
      }
      li.append(d);
    }
    const list = $("timeline");
    list.append(li);
    $("timeline-empty").hidden = true;
    list.scrollTop = list.scrollHeight;
  }
  var rawFetch = window.fetch.bind(window);
  function shortToken(s) {
    return s.length > 18 ? s.slice(0, 12) + "…" + s.slice(-4) : s;
  }
  function describeBody(body) {
    if (body === void 0 || body === null) return void 0;
    if (typeof body === "string") return body;
    if (body instanceof FormData) {
      const parts = {};
      body.forEach((v, k) => {
        parts[k] = typeof v === "string" ? v : `<file ${v.name || "blob"}, ${v.type || "?"}, ${v.size} bytes>`;
      });
      return { multipart: parts };
    }
    return String(body);
  }
  var lastCall = 0;
  async function readCalls() {
    try {
      const r = await rawFetch(`/emulator/v1/calls?after=${lastCall}&appid=${encodeURIComponent(appid)}`);
      if (!r.ok) return { calls: [], next: lastCall };
      const j = await r.json();
      return { calls: j.calls ?? [], next: j.next ?? lastCall };
    } catch {
      return { calls: [], next: lastCall };
    }
  }
  async function wechatCalls() {
    const { calls, next } = await readCalls();
    lastCall = Math.max(lastCall, next);
    for (const c of calls) {
      const failed = c.status !== 200 || c.errcode !== 0;
      const meaning = WECHAT_ERRCODES[String(c.errcode)];
      const answer = c.status !== 200 ? `HTTP ${c.status}` : c.errcode !== 0 ? `errcode ${c.errcode}${meaning ? " (" + meaning + ")" : ""}` : "ok";
      const details = [["request", c.request ?? {}]];
      if (c.response !== void 0 && c.response !== null) details.push(["response", c.response]);
      const e = { lane: "wechat", title: `${c.api} · ${c.method} ${c.path} → ${answer}`, ok: !failed, status: String(c.status), details };
      if (c.errcode !== 0) e.code = `errcode ${c.errcode}`;
      addEntry(e);
    }
  }
  var traced = async (url, init = {}) => {
    const u = new URL(url, location.href);
    const method = (init.method ?? "GET").toUpperCase();
    const path = u.pathname + u.search;
    const knob = /^\/emulator\/v1\/(config|clock|faults|stats)\b/.test(u.pathname);
    const lane = knob || u.pathname.startsWith("/dev/v1/") ? "dev" : u.pathname.startsWith("/emulator/v1/") ? "wx" : "wxlogin";
    const headers = { ...init.headers ?? {} };
    for (const k of Object.keys(headers)) {
      if (k.toLowerCase() === "authorization") headers[k] = (headers[k] ?? "").replace(/^(Bearer )(.*)$/, (_m, a, b) => a + shortToken(b));
    }
    let res;
    try {
      res = await rawFetch(url, init);
    } catch (err2) {
      addEntry({ lane, title: `${method} ${path}`, ok: false, status: "network", why: String(err2) });
      throw err2;
    }
    const text = await res.clone().text();
    let body = text;
    try {
      body = text ? JSON.parse(text) : "";
    } catch {
    }
    const err = body?.error;
    const api = lane === "wx" ? DEVICE_APIS.find(([re]) => re.test(`${method} ${path}`))?.[1] : void 0;
    const reqBody = describeBody(init.body);
    const details = [];
    if (Object.keys(headers).length) details.push(["request headers", headers]);
    if (reqBody !== void 0) details.push(["request", reqBody]);
    const ra = res.headers.get("Retry-After");
    if (text) details.push(["response" + (ra ? ` (Retry-After: ${ra})` : ""), redact(body)]);
    const entry = {
      lane,
      title: (api ? api + " · " : "") + `${method} ${path}`,
      ok: res.ok,
      status: String(res.status),
      details
    };
    if (err?.code) {
      entry.code = err.code;
      entry.why = WHY[err.code] ? WHY[err.code] : err.errMsg ?? err.message;
    }
    addEntry(entry);
    if (lane === "wxlogin") await wechatCalls();
    return res;
  };
  function redact(v) {
    if (!v || typeof v !== "object") return v;
    const o = { ...v };
    if (typeof o.token === "string") o.token = shortToken(o.token);
    return o;
  }
  var appid = "wxdec0de0000000001";
  var storages = /* @__PURE__ */ new Map();
  var wx2;
  var client;
  var avatarPath = "";
  var nextAuthorizeAnswer = null;
  var modalQueue = [];
  function ask(title, body, yes = "Agree", no = "Disagree") {
    return new Promise((resolve) => {
      const show = () => {
        $("modal-title").textContent = title;
        $("modal-body").textContent = body;
        $("modal-yes").textContent = yes;
        $("modal-no").textContent = no;
        $("modal").hidden = false;
        const done = (v) => {
          $("modal").hidden = true;
          $("modal-yes").onclick = null;
          $("modal-no").onclick = null;
          resolve(v);
          const next = modalQueue.shift();
          if (next) next();
        };
        $("modal-yes").onclick = () => done(true);
        $("modal-no").onclick = () => done(false);
      };
      if ($("modal").hidden) show();
      else modalQueue.push(show);
    });
  }
  function baseLibrary() {
    return $("base-library").value;
  }
  function userName() {
    return $("user").value.trim() || "alice";
  }
  function setupDevice() {
    const user = userName();
    let storage = storages.get(user);
    if (!storage) {
      storage = /* @__PURE__ */ new Map();
      storages.set(user, storage);
    }
    wx2 = createSimulatedWx({
      emulatorURL: location.origin,
      appid,
      user,
      fetch: traced,
      storage,
      baseLibrary: baseLibrary(),
      prompts: {
        authorize: async (scope) => {
          if (nextAuthorizeAnswer !== null) {
            const a = nextAuthorizeAnswer;
            nextAuthorizeAnswer = null;
            return a;
          }
          return ask(`Allow ${scope}?`, `The mini program asks for ${scope}. WeChat asks once; a refusal sticks until the settings page.`, "Allow", "Deny");
        },
        openSetting: async (s) => {
          const next = { ...s };
          for (const k of Object.keys(next)) if (next[k] === false) next[k] = true;
          return next;
        }
      }
    });
    client = createClient({ baseURL: location.origin, appid, wx: wx2, maxRetryWaitMs: 5e3 });
    client.onPrivacyPrompt(
      () => ask("Privacy guidelines", "Before using your phone number, avatar or nickname, this mini program needs you to agree to its privacy guidelines.")
    );
    const old = compareVersions(baseLibrary(), "2.21.2") < 0;
    $("lib-badge").textContent = "base library " + baseLibrary();
    $("btn-profile").textContent = typeof wx2.getUserProfile === "function" ? "getUserProfile" : "getUserInfo button";
    for (const id of ["btn-privacy", "btn-avatar", "btn-nickname", "btn-save-profile", "btn-upload-text", "btn-upload-big", "nickname", "chk-privacy"]) {
      ;
      $(id).disabled = old;
    }
    $("today-note").hidden = !old;
    void refreshState();
  }
  async function refreshState() {
    const s = client.getSession();
    $("st-token").textContent = s ? shortToken(s.token) : "— (logged out)";
    $("st-expires").textContent = s ? s.expires_at : "—";
    $("st-policy").textContent = s ? s.session_policy ?? "own" : "—";
    $("st-user").textContent = s?.user?.id ?? "—";
    $("st-openid").textContent = s?.user?.openid ?? "—";
    if (!s) showProfile(null);
    try {
      const r = await rawFetch(`/emulator/v1/settings?appid=${encodeURIComponent(appid)}&user=${encodeURIComponent(userName())}`);
      const j = await r.json();
      const entries = Object.entries(j.authSetting ?? {});
      $("st-scopes").textContent = entries.length ? entries.map(([k, v]) => `${k.replace("scope.", "")}: ${v ? "granted" : "denied"}`).join(", ") : "none asked yet";
    } catch {
      $("st-scopes").textContent = "?";
    }
  }
  function sdkNote(title, why, ok = true) {
    const e = { lane: "sdk", title, ok, good: ok };
    if (why) e.why = why;
    addEntry(e);
  }
  function explainError(err) {
    if (err instanceof WxloginError) {
      const e = {
        lane: "sdk",
        title: `✗ WxloginError ${err.code}${err.status ? " (HTTP " + err.status + ")" : ""}: ${err.message}`,
        ok: false,
        code: err.code
      };
      const why = err.status === 0 ? WHY[err.code] : void 0;
      if (why) e.why = why;
      addEntry(e);
    } else {
      addEntry({ lane: "sdk", title: "✗ " + String(err?.errMsg ?? err), ok: false });
    }
  }
  function wxloginCalls() {
    const all = () => Array.from(document.querySelectorAll('#timeline > li[data-lane="wxlogin"]'));
    const before = all().length;
    return () => {
      const since = all().slice(before);
      return {
        logins: since.filter((li) => /POST \/v1\/login\b/.test(li.querySelector(".title")?.textContent ?? "")).length,
        refused: since.some((li) => li.dataset.code === "session_invalid")
      };
    };
  }
  function tapped(d) {
    if (!/:ok$/.test(d.errMsg)) throw Object.assign(new Error(d.errMsg), { errMsg: d.errMsg });
    return d;
  }
  var MAX_AVATAR_BYTES = 2 << 20;
  async function refusedUpload(path, what) {
    const before = await client.me();
    try {
      await client.saveProfile({ avatarPath: path });
      sdkNote(`✗ wxlogin accepted ${what}`, void 0, false);
    } catch (err) {
      explainError(err);
    }
    const after = await client.me();
    showProfile(after);
    const unchanged = (after.profile?.avatar_url ?? null) === (before.profile?.avatar_url ?? null);
    sdkNote(
      unchanged ? `✓ nothing stored: the avatar is still ${after.profile?.avatar_url ?? "unset"}` : `✗ the avatar changed to ${after.profile?.avatar_url}`,
      void 0,
      unchanged
    );
  }
  async function prepareIfAsked() {
    if ($("chk-login-code").checked) {
      await client.prepareLoginCode();
      sdkNote("client.prepareLoginCode(): wx.login now, code kept for the payload", "The data below is encrypted with the key of this new code; sending the code as login_code lets wxlogin decrypt it.");
    }
  }
  var actions = {
    "btn-login": {
      label: "client.login()",
      run: async () => {
        const calls = wxloginCalls();
        const s = await client.login();
        const { logins } = calls();
        sdkNote(
          logins ? `✓ logged in as user ${s.user.id}${s.user.created ? " (new user)" : ""}` : `✓ reused the stored token of user ${s.user.id}`,
          logins ? "wx.login gave a one-time code; wxlogin traded it with WeChat (jscode2session) for openid + session_key, kept the key sealed on the server and returned its own token." : "A token was in storage and wx.checkSession succeeded (the client asks once per token): no wx.login, no call to wxlogin."
        );
      }
    },
    "btn-request": {
      label: "client.request({path: '/v1/session'})",
      run: async () => {
        const calls = wxloginCalls();
        const r = await client.request({ path: "/v1/session" });
        const { logins, refused } = calls();
        sdkNote(
          `✓ HTTP ${r.status}: session of user ${r.data.user.id}, expires ${r.data.expires_at}`,
          refused ? "The token was refused (401 session_invalid), so the SDK logged in once and retried: the caller never saw the 401." : logins ? "There was no usable token (none stored, or wx.checkSession failed), so the SDK logged in first, then sent the request with the new token." : "The stored token went along and wxlogin accepted it."
        );
      }
    },
    "btn-logout": {
      label: "client.logout()",
      run: async () => {
        await client.logout();
        sdkNote("✓ logged out: the token is dead on the server and gone from storage");
      }
    },
    "btn-profile": {
      label: "user info",
      run: async () => {
        await client.ensurePrivacy();
        await prepareIfAsked();
        const detail = wx2.getUserProfile ? await wx2.getUserProfile({ desc: "Show your profile in the playground" }) : await wx2.simulated.getUserInfoDetail();
        const info = detail.userInfo;
        if (isAnonymousProfile(info)) {
          sdkNote('getUserProfile gave the anonymised "微信用户" profile', "Since base library 2.27.1 getUserProfile returns an anonymous nickname and grey avatar. wxlogin stores it but never lets it overwrite a profile the user filled in; use the avatar/nickname form.", true);
        }
        const saved = await client.saveUserInfo(detail);
        sdkNote(`✓ user info verified and stored: ${String(saved.nickName ?? "")}`);
        const me = await client.me();
        showProfile(me);
        if (isAnonymousProfile(info) && me.profile?.nickname) sdkNote(`✓ the filled-in profile stays: ${me.profile.nickname}`);
      }
    },
    "btn-phone": {
      label: "phone number",
      run: async () => {
        await client.ensurePrivacy();
        const legacy = compareVersions(baseLibrary(), "2.21.2") < 0;
        if (legacy) await prepareIfAsked();
        const detail = await wx2.simulated.getPhoneNumberDetail();
        sdkNote(detail.code ? "getPhoneNumber gave a one-time phone code: the SDK sends only the code" : "getPhoneNumber gave only encryptedData/iv (before 2.21.2): the legacy path");
        const phone = await client.savePhone(detail);
        sdkNote(`✓ phone number stored: +${phone.countryCode} ${phone.purePhoneNumber}`);
      }
    },
    "btn-werun": {
      label: "WeRun steps",
      run: async () => {
        await client.ensurePrivacy();
        const scope = await client.ensureScope("scope.werun");
        if (!scope.granted) {
          sdkNote(`ensureScope('scope.werun') → ${scope.status}`, WHY.scope_denied, false);
          return;
        }
        await prepareIfAsked();
        const data = await wx2.getWeRunData();
        const r = await client.decrypt("werun", data);
        const days = r.stepInfoList ?? [];
        sdkNote(`✓ decrypted ${days.length} days of steps${days.length ? ", latest " + days[days.length - 1].step : ""}`);
      }
    },
    "btn-expire": {
      label: "expire my session (dev)",
      run: async () => {
        const token = client.getToken();
        if (!token) {
          sdkNote("no session to expire: log in first", void 0, false);
          return;
        }
        const r = await traced("/dev/v1/session/expire", { method: "POST", headers: { Authorization: "Bearer " + token } });
        if (r.status === 204) sdkNote("the server expired this session; the token is still in storage", 'Press "Protected request": the SDK gets 401 session_invalid, logs in once and retries.');
      }
    },
    "btn-rotate": {
      label: "rotate my session key (a stray wx.login)",
      run: async () => {
        await wx2.login();
        sdkNote("WeChat rotated the session key; wxlogin still holds the old one", "Encrypted data from now on is encrypted with the new key. Without a fresh login_code wxlogin cannot decrypt it (untick the box and try getUserProfile).", false);
      }
    },
    "btn-key-expire": {
      label: "let WeChat's session_key expire (dev)",
      run: async () => {
        const s = client.getSession();
        if (!s) {
          sdkNote("no session: log in first", void 0, false);
          return;
        }
        const json = { "Content-Type": "application/json" };
        await traced("/emulator/v1/config", { method: "PUT", headers: json, body: JSON.stringify({ session_key_idle_timeout: "10m" }) });
        try {
          await traced("/dev/v1/clock", { method: "POST", headers: json, body: JSON.stringify({ advance: "31m" }) });
          const policy = s.session_policy ?? "own";
          const until = Date.now() + (policy === "wechat" ? 1e4 : 2500);
          let ended = false;
          while (!ended && Date.now() < until) {
            await new Promise((resolve) => setTimeout(resolve, 250));
            const r = await rawFetch("/v1/session", { headers: { Authorization: "Bearer " + s.token } });
            ended = r.status === 401;
          }
          await traced("/v1/session", { headers: { Authorization: "Bearer " + s.token } });
          if (ended) {
            sdkNote(
              "✓ the server ended the session: WeChat reports its session_key dead (session_policy: wechat)",
              'wxlogin asked WeChat (checksession, on the timeline) about every key it holds for the user; none was valid, so the session ended as a logout does. Press "Protected request": the SDK gets 401, its wx.login gives a new key and a new session.'
            );
          } else {
            sdkNote(
              `the session lives on (session_policy: ${policy})`,
              policy === "wechat" ? "No check has reached this session yet: it is checked once it has been verified recently and its check interval is over." : "Under the own policy a session lives by wxlogin's idle and absolute timeouts alone. Start `wxlogin dev --session-policy wechat` to see the session end with the key.",
              policy !== "wechat"
            );
          }
        } finally {
          await traced("/emulator/v1/config", { method: "PUT", headers: json, body: JSON.stringify({ session_key_idle_timeout: "0s" }) });
        }
      }
    },
    "btn-deny": {
      label: "deny a scope (scope.werun)",
      run: async () => {
        const s = await wx2.getSetting();
        if (s.authSetting["scope.werun"] === void 0) {
          nextAuthorizeAnswer = false;
          await client.ensureScope("scope.werun");
        } else if (s.authSetting["scope.werun"] === true) {
          await wx2.simulated.device("POST", "/settings", { appid, user: userName(), authSetting: { ...s.authSetting, "scope.werun": false } });
        }
        const again = await client.ensureScope("scope.werun");
        sdkNote(`ensureScope('scope.werun') → ${again.status}`, WHY.scope_denied, false);
      }
    },
    "btn-settings": {
      label: "client.openSettingFor('scope.werun')",
      run: async () => {
        const ok = await client.openSettingFor("scope.werun");
        sdkNote(ok ? "✓ the user turned scope.werun on in the settings page" : "scope.werun is still off", void 0, ok);
      }
    },
    "btn-privacy": {
      label: "client.ensurePrivacy()",
      run: async () => {
        const r = await client.ensurePrivacy();
        sdkNote(r.asked ? "✓ the user agreed to the privacy guidelines" : "✓ no agreement needed (agreed before, or the check is off)");
      }
    },
    "btn-avatar": {
      label: "chooseAvatar",
      run: async () => {
        await client.ensurePrivacy();
        const d = tapped(await wx2.simulated.chooseAvatarDetail());
        avatarPath = String(d.avatarUrl);
        const f = wx2.simulated.readTempFile(avatarPath);
        if (f) {
          const img = $("avatar-preview");
          img.src = URL.createObjectURL(new Blob([f.data], { type: f.contentType }));
          img.hidden = false;
          $("avatar-placeholder").hidden = true;
        }
        sdkNote(`chooseAvatar gave a temporary file ${avatarPath}`, "Upload it with Save profile (wx.uploadFile → POST /v1/me/avatar).");
      }
    },
    "btn-nickname": {
      label: "nickname input",
      run: async () => {
        await client.ensurePrivacy();
        const d = tapped(await wx2.simulated.nicknameDetail());
        $("nickname").value = String(d.value ?? "");
      }
    },
    "btn-save-profile": {
      label: "client.saveProfile()",
      run: async () => {
        const nickname = $("nickname").value;
        const input = {};
        if (nickname) input.nickname = nickname;
        if (avatarPath) input.avatarPath = avatarPath;
        if (!input.nickname && !input.avatarPath) {
          sdkNote("nothing to save: choose an avatar or type a nickname first", void 0, false);
          return;
        }
        await client.saveProfile(input);
        const me = await client.me();
        showProfile(me);
        sdkNote(`✓ profile saved: ${me.profile?.nickname || "(no nickname)"}${me.profile?.avatar_url ? ", avatar at " + me.profile.avatar_url : ""}`);
      }
    },
    "btn-upload-text": {
      label: "upload a text file named like a PNG",
      run: () => refusedUpload(wx2.simulated.addTempFile('<svg onload="alert(1)"></svg>', "image/png"), "a text file")
    },
    "btn-upload-big": {
      label: "upload an image over the size limit",
      run: () => {
        const big = new Uint8Array(MAX_AVATAR_BYTES + 1024);
        big.set([137, 80, 78, 71, 13, 10, 26, 10]);
        return refusedUpload(wx2.simulated.addTempFile(big, "image/png"), "an oversized image");
      }
    }
  };
  function showProfile(me) {
    const img = $("st-avatar");
    const url = me?.profile?.avatar_url;
    const local = !!url && url.startsWith("/");
    if (local) {
      img.src = url;
      img.hidden = false;
    } else {
      img.removeAttribute("src");
      img.hidden = true;
    }
    const nickname = me?.profile?.nickname || "";
    const remote = url && !local ? `avatar ${url}` : "";
    $("st-profile").textContent = [nickname, remote].filter(Boolean).join(" · ") || (local ? "" : "—");
  }
  async function setPrivacyCheck(on) {
    const r = await traced("/emulator/v1/config", { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ privacy_check: on }) });
    await showPrivacyCheck(r);
  }
  async function showPrivacyCheck(answer) {
    try {
      const r = answer ?? await rawFetch("/emulator/v1/config");
      const c = JSON.parse(await r.text());
      if (typeof c.privacy_check === "boolean") $("chk-privacy").checked = c.privacy_check;
    } catch {
    }
  }
  var busy = 0;
  function setBusy(delta) {
    busy += delta;
    document.body.dataset.busy = busy > 0 ? "true" : "false";
  }
  function bind() {
    for (const [id, a] of Object.entries(actions)) {
      const btn = $(id);
      btn.addEventListener("click", async () => {
        btn.classList.add("busy");
        setBusy(1);
        addEntry({ lane: "sdk", title: "▶ " + a.label, action: true });
        try {
          await a.run();
        } catch (err) {
          explainError(err);
        } finally {
          btn.classList.remove("busy");
          await refreshState();
          setBusy(-1);
        }
      });
    }
    $("btn-clear").addEventListener("click", () => {
      $("timeline").textContent = "";
      $("timeline-empty").hidden = false;
    });
    $("base-library").addEventListener("change", () => {
      addEntry({ lane: "sdk", title: `▶ new device: base library ${baseLibrary()}`, action: true });
      setupDevice();
    });
    $("user").addEventListener("change", () => {
      addEntry({ lane: "sdk", title: `▶ now playing ${userName()}`, action: true });
      setupDevice();
    });
    $("btn-new-device").addEventListener("click", () => {
      storages.delete(userName());
      avatarPath = "";
      addEntry({ lane: "sdk", title: `▶ new device for ${userName()}: empty storage`, action: true });
      setupDevice();
    });
    $("device-form").addEventListener("submit", (e) => e.preventDefault());
    $("chk-privacy").addEventListener("change", async () => {
      setBusy(1);
      const on = $("chk-privacy").checked;
      addEntry({ lane: "sdk", title: `▶ WeChat privacy check ${on ? "on" : "off"}`, action: true });
      try {
        await setPrivacyCheck(on);
        sdkNote(
          on ? "privacy APIs now fail with errno 104 until the user agrees" : "privacy APIs no longer need an agreement",
          on ? "Phone, avatar, nickname, user info and WeRun call wx.onNeedPrivacyAuthorization first; client.ensurePrivacy() shows your popup ahead of time." : void 0
        );
      } catch (err) {
        explainError(err);
      } finally {
        setBusy(-1);
      }
    });
  }
  var WEB_APPS = { h5: "wxdec0de00000000a1", qr: "wxdec0de00000000b1" };
  var webPending = {};
  function cookie(name) {
    const c = document.cookie.split("; ").find((x) => x.startsWith(name + "="));
    return c ? decodeURIComponent(c.slice(name.length + 1)) : "";
  }
  async function waitingAuthorizations() {
    const r = await rawFetch("/emulator/v1/web/authorizations");
    return (await r.json()).authorizations;
  }
  async function webStart(pane, scope) {
    const known = new Set((await waitingAuthorizations()).map((a) => a.id));
    const redirect = location.origin + "/playground/web-done.html";
    const url = `/v1/web/authorize?appid=${WEB_APPS[pane]}&redirect_uri=${encodeURIComponent(redirect)}${scope ? "&scope=" + scope : ""}`;
    addEntry({ lane: "wxlogin", title: `GET ${url.split("&redirect_uri")[0]}…`, why: "wxlogin checks redirect_uri against the app's allow-list, sets the state cookie and redirects to WeChat." });
    $(pane + "-frame").src = url;
    for (let i = 0; i < 50; i++) {
      const found = (await waitingAuthorizations()).find((a) => a.appid === WEB_APPS[pane] && !known.has(a.id));
      if (found) {
        webPending[pane] = found.id;
        $(pane + "-status").textContent = "waiting for the phone";
        addEntry({ lane: "wx", title: `WeChat shows ${pane === "qr" ? "the QR code" : "the authorize page"} (${found.id.slice(0, 6)}…)` });
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("WeChat's page did not open");
  }
  async function webPhone(pane, action, snapshot = false) {
    const id = webPending[pane];
    if (!id) throw new Error("open the page first");
    const r = await rawFetch("/emulator/v1/web/authorizations/" + id, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: userName(), action, snapshot })
    });
    const a = await r.json();
    if (!r.ok) throw new Error(a.error?.message ?? "the phone failed");
    $(pane + "-status").textContent = a.status ?? "";
    addEntry({ lane: "wx", title: `phone: ${action}${snapshot ? " (snapshot mode)" : ""} as ${userName()}`, status: a.status });
  }
  async function webCall(method, withCSRF) {
    const headers = {};
    if (withCSRF) headers["X-Wxlogin-Csrf"] = cookie("wxlogin_csrf");
    const r = await rawFetch("/v1/auth", { method, headers, credentials: "same-origin" });
    const code = r.ok ? "" : (await r.json()).error?.code ?? "";
    addEntry({
      lane: "wxlogin",
      title: `${method} /v1/auth by cookie${withCSRF ? " + X-Wxlogin-Csrf" : ""}`,
      status: String(r.status),
      code: code || void 0,
      ok: r.ok,
      why: r.ok ? `allowed: X-Wxlogin-Account-Id ${r.headers.get("X-Wxlogin-Account-Id")}` : code === "csrf_rejected" ? "An unsafe request by cookie needs the page's CSRF token: another site could make the browser send the cookie, not the header." : void 0
    });
    await refreshWeb();
  }
  async function refreshWeb() {
    const r = await rawFetch("/v1/auth", { credentials: "same-origin" });
    $("st-web").textContent = r.ok ? `${r.headers.get("X-Wxlogin-Appid")} · ${r.headers.get("X-Wxlogin-Openid")}` : "none";
    $("st-account").textContent = r.ok ? r.headers.get("X-Wxlogin-Account-Id") ?? "" : "—";
  }
  function bindWeb() {
    const run = (id, f) => $(id).addEventListener("click", async () => {
      setBusy(1);
      try {
        await f();
      } catch (err) {
        explainError(err);
      } finally {
        setBusy(-1);
      }
    });
    run("btn-h5-base", () => webStart("h5", "snsapi_base"));
    run("btn-h5-userinfo", () => webStart("h5", "snsapi_userinfo"));
    run("btn-h5-allow", () => webPhone("h5", "approve"));
    run("btn-h5-snapshot", () => webPhone("h5", "approve", true));
    run("btn-h5-refuse", () => webPhone("h5", "refuse"));
    run("btn-qr-start", () => webStart("qr", ""));
    run("btn-qr-scan", () => webPhone("qr", "scan"));
    run("btn-qr-confirm", () => webPhone("qr", "approve"));
    run("btn-qr-refuse", () => webPhone("qr", "refuse"));
    run("btn-web-get", () => webCall("GET", false));
    run("btn-web-post-bare", () => webCall("POST", false));
    run("btn-web-post", () => webCall("POST", true));
    run("btn-web-logout", async () => {
      const r = await rawFetch("/v1/web/logout", { method: "POST", headers: { "X-Wxlogin-Csrf": cookie("wxlogin_csrf") }, credentials: "same-origin" });
      addEntry({ lane: "wxlogin", title: "POST /v1/web/logout", status: String(r.status), ok: r.ok });
      await refreshWeb();
    });
    window.addEventListener("message", async (e) => {
      const d = e.data?.wxloginWeb;
      if (e.origin !== location.origin || !d) return;
      for (const pane of Object.keys(WEB_APPS)) {
        const frame = $(pane + "-frame");
        if (frame.contentWindow === e.source) {
          $(pane + "-status").textContent = d.error ? "back with " + d.error : "logged in";
          delete webPending[pane];
        }
      }
      addEntry({
        lane: "wxlogin",
        title: "GET /v1/web/callback → the page",
        ok: !d.error,
        code: d.error ?? void 0,
        why: d.error === "snapshot_user" ? "WeChat opened the page in snapshot mode: a virtual user, never an account. Ask the user to open the page for real." : d.error ? void 0 : "state matched the browser's cookie; the code was traded at sns/oauth2/access_token; wxlogin_session (HttpOnly) and wxlogin_csrf are set."
      });
      await refreshWeb();
    });
  }
  async function main() {
    setBusy(1);
    try {
      const r = await rawFetch("/emulator/v1/apps");
      const apps = await r.json();
      if (apps[0]?.appid) appid = apps[0].appid;
    } catch {
    }
    $("app-name").textContent = appid;
    lastCall = (await readCalls()).next;
    await showPrivacyCheck();
    bind();
    bindWeb();
    setupDevice();
    await refreshWeb();
    setBusy(-1);
  }
  void main();
})();
