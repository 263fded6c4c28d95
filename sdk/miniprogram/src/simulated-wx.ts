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
import type {
  WxAsyncAPI,
  WxFail,
  WxLike,
  WxLoginResult,
  WxPrivacyListener,
  WxPrivacySettingResult,
  WxResult,
  WxSettingResult,
} from './wx'

/** The parts of fetch's Response the simulated wx reads. */
export interface FetchResponseLike {
  status: number
  headers: { forEach(cb: (value: string, key: string) => void): void }
  text(): Promise<string>
  arrayBuffer(): Promise<ArrayBuffer>
}

/** FetchLike is the fetch function (the global one by default). */
export type FetchLike = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; body?: unknown },
) => Promise<FetchResponseLike>

/** What the simulated user answers when WeChat would ask them something. */
export interface SimulatedPrompts {
  /** The wx.authorize popup (and the one of wx.getWeRunData); default: allow. */
  authorize?(scope: string): boolean | Promise<boolean>
  /** The settings page of wx.openSetting: return the new authSetting; default: unchanged. */
  openSetting?(authSetting: Record<string, boolean>): Record<string, boolean> | Promise<Record<string, boolean>>
  /** The wx.getUserProfile confirmation; default: allow. */
  getUserProfile?(desc: string): boolean | Promise<boolean>
  /** WeChat's own privacy popup, shown when the app registered no onNeedPrivacyAuthorization listener; default: agree. */
  privacy?(referrer: string): boolean | Promise<boolean>
}

/** SimulatedWxOptions configures {@link createSimulatedWx}. */
export interface SimulatedWxOptions {
  /** Where the emulator's device API is: its origin (a `/emulator/v1` suffix is fine). */
  emulatorURL: string
  /** The mini program's appid. */
  appid: string
  /** The simulated WeChat user's name (any name; the emulator makes the user on first use). */
  user: string
  /** fetch to use; default the global one. */
  fetch?: FetchLike
  /** Answers to prompts; default: the user allows everything. */
  prompts?: SimulatedPrompts
  /**
   * The device's base library version (e.g. "2.10.0" or "3.5.0"). When set,
   * it is written to the simulated user before the first call, and APIs the
   * version lacks are left out of this wx (getUserProfile before 2.10.4,
   * privacy APIs before 2.32.3), as in WeChat.
   */
  baseLibrary?: string
  /** The device's storage (wx.setStorageSync and friends); default a new, empty one. Share it to keep storage across simulated wx objects. */
  storage?: Map<string, string>
  /**
   * Run inside WeCom (企业微信) as a member of this corp: `user` is then the
   * member's userid, wx.qy.login and wx.qy.checkSession exist (backed by
   * the emulator's WeCom device API), and wx.getSystemInfoSync() says
   * `environment: "wxwork"`, as WeCom does.
   */
  wecom?: { corpid: string }
}

/** An event detail as a button's bind handler receives it. */
export type ButtonDetail = Record<string, unknown> & { errMsg: string }

/** Helpers beyond the wx API, for tests and the playground. */
export interface SimulatedControls {
  readonly appid: string
  readonly user: string
  /** The origin of the emulator's device API. */
  readonly emulatorURL: string
  /** The base library this wx simulates (the emulator's default when undefined). */
  readonly baseLibrary: string | undefined
  /** The detail a tap on `<button open-type="getPhoneNumber">` gives (deny: the user refused). */
  getPhoneNumberDetail(options?: { deny?: boolean }): Promise<ButtonDetail>
  /** The detail a tap on `<button open-type="getUserInfo">` gives (deny: the user refused). */
  getUserInfoDetail(options?: { deny?: boolean }): Promise<ButtonDetail>
  /** The detail a tap on `<button open-type="chooseAvatar">` gives: `{avatarUrl}`, a temporary file path. */
  chooseAvatarDetail(options?: { deny?: boolean }): Promise<ButtonDetail>
  /** What `<input type="nickname">` gives when the user picks WeChat's nickname. */
  nicknameDetail(): Promise<ButtonDetail>
  /** Adds a temporary file (as if the device made it) and returns its path, for wx.uploadFile. */
  addTempFile(data: Uint8Array | string, contentType?: string): string
  /** Reads a temporary file. */
  readTempFile(path: string): { data: Uint8Array; contentType: string } | undefined
  /** Calls the emulator's device API directly (`/emulator/v1` + path), rejecting on an error envelope. */
  device<T = unknown>(method: string, path: string, body?: unknown): Promise<T>
  /** Updates the simulated user's data (nickName, phoneNumber, baseLibrary, ...). */
  setUser(data: Record<string, unknown>): Promise<void>
  /** Clears this device's storage. */
  clearStorage(): void
}

/** SimulatedUserInfoResult is what wx.getUserInfo and wx.getUserProfile give (with credentials). */
export interface SimulatedUserInfoResult extends WxResult {
  userInfo: Record<string, unknown>
  rawData: string
  signature: string
  encryptedData?: string
  iv?: string
}

/** SimulatedEncryptedResult is encrypted open data, as wx.getWeRunData gives it. */
export interface SimulatedEncryptedResult extends WxResult {
  encryptedData: string
  iv: string
}

/**
 * SimulatedWx is a {@link WxLike} whose asynchronous APIs also return
 * promises, with the user info and WeRun APIs and {@link SimulatedControls}.
 * APIs its base library lacks are absent (`undefined`), as in WeChat.
 */
export interface SimulatedWx extends WxLike {
  login: WxAsyncAPI<{ timeout?: number }, WxLoginResult>
  checkSession: WxAsyncAPI<{}, WxResult>
  getSetting: WxAsyncAPI<{}, WxSettingResult>
  authorize: WxAsyncAPI<{ scope: string }, WxResult>
  openSetting: WxAsyncAPI<{}, WxSettingResult>
  getUserInfo: WxAsyncAPI<{ withCredentials?: boolean; lang?: string }, SimulatedUserInfoResult>
  /** Base library 2.10.4+. */
  getUserProfile?: WxAsyncAPI<{ desc: string; lang?: string }, SimulatedUserInfoResult>
  getWeRunData: WxAsyncAPI<{}, SimulatedEncryptedResult>
  /** Base library 2.32.3+, as the other privacy APIs. */
  getPrivacySetting?: WxAsyncAPI<{}, WxPrivacySettingResult>
  requirePrivacyAuthorize?: WxAsyncAPI<{}, WxResult>
  onNeedPrivacyAuthorization?: (listener: WxPrivacyListener) => void
  /** `environment: "wxwork"` inside WeCom (options.wecom), absent in WeChat. */
  getSystemInfoSync(): { SDKVersion: string; platform: string; environment?: 'wxwork' }
  /** Inside WeCom only (options.wecom). */
  qy?: {
    login: WxAsyncAPI<{ timeout?: number; suiteId?: string }, WxLoginResult>
    checkSession: WxAsyncAPI<{}, WxResult>
  }
  simulated: SimulatedControls
}

class DeviceFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly errMsg: string | undefined,
    readonly errno: number | undefined,
    message: string,
  ) {
    super(message)
  }
}

/** compareVersions compares dotted versions numerically. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => parseInt(x, 10) || 0)
  const pb = b.split('.').map((x) => parseInt(x, 10) || 0)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d < 0 ? -1 : 1
  }
  return 0
}

const PRIVACY_ERRNO = 104
const PRIVACY_ERRMSG = 'privacy permission is not authorized'

/**
 * createSimulatedWx returns a simulated wx for one user of one app, backed by
 * the emulator's device API.
 */
export function createSimulatedWx(options: SimulatedWxOptions): SimulatedWx {
  const fetchFn: FetchLike =
    options.fetch ?? ((globalThis as unknown as { fetch?: FetchLike }).fetch as FetchLike)
  if (typeof fetchFn !== 'function') throw new TypeError('createSimulatedWx: no fetch (pass options.fetch)')
  const origin = options.emulatorURL.replace(/\/+$/, '').replace(/\/emulator\/v1$/, '')
  const { appid, user } = options
  const prompts = options.prompts ?? {}
  const baseLibrary = options.baseLibrary
  const storage = options.storage ?? new Map<string, string>()
  const tempFiles = new Map<string, { data: Uint8Array; contentType: string }>()
  let tempSeq = 0
  let privacyListener: WxPrivacyListener | null = null
  let setup: Promise<void> | null = null

  const has = (v: string) => baseLibrary === undefined || compareVersions(baseLibrary, v) >= 0

  async function rawDevice<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: { method: string; headers?: Record<string, string>; body?: string } = { method }
    if (body !== undefined) {
      init.headers = { 'Content-Type': 'application/json' }
      init.body = JSON.stringify(body)
    }
    const res = await fetchFn(origin + '/emulator/v1' + path, init)
    const text = await res.text()
    let json: unknown
    try {
      json = text === '' ? undefined : JSON.parse(text)
    } catch {
      json = undefined
    }
    if (res.status < 200 || res.status >= 300) {
      const e = (json as { error?: { code?: string; message?: string; errMsg?: string; errno?: number } } | undefined)?.error
      throw new DeviceFailure(
        res.status,
        e?.code ?? 'http_' + res.status,
        e?.errMsg,
        e?.errno,
        e?.message ?? `emulator answered HTTP ${res.status} to ${method} ${path}`,
      )
    }
    return json as T
  }

  async function device<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (baseLibrary !== undefined) {
      if (!setup) {
        setup = rawDevice<void>('PUT', '/users/' + encodeURIComponent(user), { baseLibrary }).then(
          () => undefined,
          (err) => {
            setup = null
            throw err
          },
        )
      }
      await setup
    }
    return rawDevice<T>(method, path, body)
  }

  const q = () => `appid=${encodeURIComponent(appid)}&user=${encodeURIComponent(user)}`
  const who = () => ({ appid, user })

  /** failOf turns a device failure into the fail result a wx API gives. */
  function failOf(api: string, err: unknown): WxFail {
    if (err instanceof DeviceFailure) {
      const fail: WxFail = { errMsg: err.errMsg ?? `${api}:fail ${err.message}` }
      if (err.errno !== undefined) fail.errno = err.errno
      if (err.code === 'privacy_not_authorized' && fail.errno === undefined) fail.errno = PRIVACY_ERRNO
      return fail
    }
    if (err && typeof err === 'object' && typeof (err as WxFail).errMsg === 'string') return err as WxFail
    return { errMsg: `${api}:fail ${String((err as Error)?.message ?? err)}` }
  }

  /**
   * api wraps an async implementation in wx's calling convention: callbacks
   * when given, a promise otherwise; errMsg "<name>:ok" on success.
   */
  function api<O extends Record<string, any>>(name: string, impl: (opts: O) => Promise<Record<string, unknown>>) {
    return (opts?: O): any => {
      const o = (opts ?? {}) as O & { success?: (r: unknown) => void; fail?: (r: unknown) => void; complete?: (r: unknown) => void }
      const p = (async () => {
        try {
          const res = await impl(o)
          return { ok: true as const, res: { ...res, errMsg: (res.errMsg as string | undefined) ?? `${name}:ok` } }
        } catch (err) {
          return { ok: false as const, res: failOf(name, err) }
        }
      })()
      if (o.success || o.fail || o.complete) {
        p.then((r) => {
          if (r.ok) o.success?.(r.res)
          else o.fail?.(r.res)
          o.complete?.(r.res)
        })
        return undefined
      }
      return p.then((r) => (r.ok ? r.res : Promise.reject(r.res)))
    }
  }

  async function authSetting(): Promise<Record<string, boolean>> {
    const r = await device<{ authSetting?: Record<string, boolean> }>('GET', '/settings?' + q())
    return r.authSetting ?? {}
  }

  /** authorize asks the user for scope unless already decided; resolves or throws a wx fail. */
  async function authorizeScope(apiName: string, scope: string): Promise<void> {
    const s = await authSetting()
    if (s[scope] === true) return
    if (s[scope] === false) throw { errMsg: `${apiName}:fail auth deny` }
    const accept = prompts.authorize ? await prompts.authorize(scope) : true
    try {
      await device('POST', '/authorize', { ...who(), scope, accept })
    } catch (err) {
      if (err instanceof DeviceFailure && err.code === 'scope_denied') throw { errMsg: `${apiName}:fail auth deny` }
      throw err
    }
    if (!accept) throw { errMsg: `${apiName}:fail auth deny` }
  }

  /**
   * askPrivacy runs the privacy agreement flow as WeChat does: nothing when
   * the user agreed already (or no agreement applies); within the pause
   * after a refusal, a refusal at once and no popup; otherwise the app's
   * popup (its onNeedPrivacyAuthorization listener, or WeChat's own without
   * one), whose answer decides. Resolves when agreed, throws errno 104
   * otherwise.
   */
  async function askPrivacy(apiName: string, referrer: string): Promise<void> {
    const refused = (): WxFail => ({ errMsg: `${apiName}:fail ${PRIVACY_ERRMSG}`, errno: PRIVACY_ERRNO })
    const isRefusal = (err: unknown) => err instanceof DeviceFailure && err.code === 'privacy_not_authorized'
    // The emulator keeps the pause: its privacy setting says how long a
    // refusal still blocks a new request, without recording any answer.
    const setting = await device<{ needAuthorization?: boolean; refusalPauseMs?: number }>('GET', `/privacy?${q()}`)
    if (!setting?.needAuthorization) return // agreed before, or no agreement applies
    if (setting.refusalPauseMs) throw refused()

    let agree: boolean
    if (privacyListener) {
      const listener = privacyListener
      const answer = await new Promise<{ event?: string; buttonId?: string }>((resolve) => {
        listener((r) => resolve(r ?? {}), { referrer })
      })
      agree = answer.event === 'agree'
    } else {
      agree = prompts.privacy ? await prompts.privacy(referrer) : true
    }
    try {
      await device('POST', '/privacy', { ...who(), event: agree ? 'agree' : 'disagree' })
    } catch (err) {
      if (isRefusal(err)) throw refused()
      throw err
    }
    if (!agree) throw refused()
  }

  /** privacyAPI calls a privacy device API; on errno 104 it runs the agreement flow once and retries, as WeChat does. */
  async function privacyAPI<T>(apiName: string, method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await device<T>(method, path, body)
    } catch (err) {
      // WeChat asks the user (the app's popup, or its own without one) and
      // goes on when they agree.
      if (!(err instanceof DeviceFailure && err.code === 'privacy_not_authorized')) throw err
      await askPrivacy(apiName, apiName)
      return device<T>(method, path, body)
    }
  }

  function headersOf(res: FetchResponseLike): Record<string, string> {
    const h: Record<string, string> = {}
    res.headers.forEach((value, key) => {
      h[key] = value
    })
    return h
  }

  function toQuery(data: Record<string, unknown>): string {
    return Object.keys(data)
      .filter((k) => data[k] !== undefined)
      .map((k) => encodeURIComponent(k) + '=' + encodeURIComponent(String(data[k])))
      .join('&')
  }

  const weCom = options.wecom
  const weComWho = () => ({ corpid: weCom?.corpid, user })

  const wxObj = {
    getSystemInfoSync: () => ({
      SDKVersion: baseLibrary ?? '3.5.0',
      platform: 'devtools',
      ...(weCom ? { environment: 'wxwork' as const } : {}),
    }),

    qy: {
      login: api('qy.login', async () => {
        const r = await rawDevice<{ code: string }>('POST', '/wecom/login', weComWho())
        return { code: r.code }
      }),
      checkSession: api('qy.checkSession', async () => {
        const r = await rawDevice<{ valid: boolean }>(
          'GET',
          `/wecom/session?corpid=${encodeURIComponent(weCom?.corpid ?? '')}&user=${encodeURIComponent(user)}`,
        )
        if (!r.valid) throw { errMsg: 'qy.checkSession:fail session time out' }
        return {}
      }),
    },

    login: api('login', async () => {
      const r = await device<{ code: string }>('POST', '/login', who())
      return { code: r.code }
    }),

    checkSession: api('checkSession', async () => {
      const r = await device<{ valid: boolean }>('GET', '/session?' + q())
      if (!r.valid) throw { errMsg: 'checkSession:fail session time out' }
      return {}
    }),

    request: (opts: {
      url: string
      method?: string
      data?: unknown
      header?: Record<string, string>
      dataType?: string
      responseType?: string
      success?: (r: unknown) => void
      fail?: (r: unknown) => void
      complete?: (r: unknown) => void
    }) => {
      api('request', async (o: typeof opts) => {
        const method = (o.method ?? 'GET').toUpperCase()
        const headers: Record<string, string> = { ...(o.header ?? {}) }
        let url = o.url
        let body: string | undefined
        const data = o.data
        if (data !== undefined && data !== null) {
          if (method === 'GET' || method === 'HEAD') {
            if (typeof data === 'object') {
              const qs = toQuery(data as Record<string, unknown>)
              if (qs) url += (url.includes('?') ? '&' : '?') + qs
            } else url += (url.includes('?') ? '&' : '?') + String(data)
          } else if (typeof data === 'string') {
            body = data
          } else {
            const ct = Object.keys(headers).find((k) => k.toLowerCase() === 'content-type')
            if (!ct) headers['Content-Type'] = 'application/json'
            const type = headers[ct ?? 'Content-Type'] ?? ''
            body = /x-www-form-urlencoded/i.test(type) ? toQuery(data as Record<string, unknown>) : JSON.stringify(data)
          }
        }
        let res: FetchResponseLike
        try {
          const init: { method: string; headers: Record<string, string>; body?: string } = { method, headers }
          if (body !== undefined) init.body = body
          res = await fetchFn(url, init)
        } catch (err) {
          throw { errMsg: `request:fail ${String((err as Error)?.message ?? err)}` }
        }
        const text = await res.text()
        let parsed: unknown = text
        if ((o.dataType ?? 'json') === 'json' && text !== '') {
          try {
            parsed = JSON.parse(text)
          } catch {
            parsed = text
          }
        }
        return { data: parsed, statusCode: res.status, header: headersOf(res), cookies: [] }
      })(opts as any)
      // The real wx.request returns a RequestTask.
      return { abort() {}, onHeadersReceived() {}, offHeadersReceived() {} }
    },

    getStorageSync: (key: string): any => {
      const v = storage.get(key)
      return v === undefined ? '' : JSON.parse(v)
    },
    setStorageSync: (key: string, value: unknown): void => {
      storage.set(key, JSON.stringify(value === undefined ? null : value))
    },
    removeStorageSync: (key: string): void => {
      storage.delete(key)
    },

    getSetting: api('getSetting', async () => ({ authSetting: await authSetting() })),

    authorize: api('authorize', async (o: { scope?: string }) => {
      if (!o.scope) throw { errMsg: 'authorize:fail parameter error: scope is required' }
      if (o.scope === 'scope.userInfo') {
        // WeChat: scope.userInfo needs a button tap; authorize never prompts for it.
        throw { errMsg: 'authorize:fail scope.userInfo is not allowed to authorize, use a button with open-type="getUserInfo"' }
      }
      await authorizeScope('authorize', o.scope)
      return {}
    }),

    openSetting: api('openSetting', async () => {
      const current = await authSetting()
      const next = prompts.openSetting ? await prompts.openSetting({ ...current }) : current
      const r = await device<{ authSetting?: Record<string, boolean> }>('POST', '/settings', { ...who(), authSetting: next })
      return { authSetting: r?.authSetting ?? next }
    }),

    getUserInfo: api('getUserInfo', async (o: { withCredentials?: boolean; lang?: string }) => {
      const s = await authSetting()
      if (s['scope.userInfo'] !== true) {
        throw { errMsg: 'getUserInfo:fail scope unauthorized' }
      }
      const r = await privacyAPI<Record<string, unknown>>('getUserInfo', 'POST', '/userinfo', who())
      return o.withCredentials === false ? { userInfo: r.userInfo, rawData: r.rawData, signature: r.signature } : r
    }),

    getUserProfile: api('getUserProfile', async (o: { desc?: string; lang?: string }) => {
      if (!o.desc) throw { errMsg: 'getUserProfile:fail parameter error: desc is required' }
      const allow = prompts.getUserProfile ? await prompts.getUserProfile(o.desc) : true
      if (!allow) throw { errMsg: 'getUserProfile:fail auth deny' }
      return privacyAPI<Record<string, unknown>>('getUserProfile', 'POST', '/profile', who())
    }),

    getWeRunData: api('getWeRunData', async () => {
      await authorizeScope('getWeRunData', 'scope.werun')
      const r = await privacyAPI<{ encryptedData: string; iv: string }>('getWeRunData', 'POST', '/werun', { ...who(), accept: true })
      return { encryptedData: r.encryptedData, iv: r.iv }
    }),

    uploadFile: (opts: {
      url: string
      filePath: string
      name: string
      header?: Record<string, string>
      formData?: Record<string, string>
      success?: (r: unknown) => void
      fail?: (r: unknown) => void
      complete?: (r: unknown) => void
    }) => {
      api('uploadFile', async (o: typeof opts) => {
        const file = tempFiles.get(o.filePath)
        if (!file) throw { errMsg: `uploadFile:fail file not found: ${o.filePath}` }
        const G = globalThis as unknown as { FormData: new () => any; Blob: new (parts: unknown[], o?: { type?: string }) => unknown }
        const form = new G.FormData()
        for (const [k, v] of Object.entries(o.formData ?? {})) form.append(k, v)
        const fileName = o.filePath.replace(/^.*\//, '')
        form.append(o.name, new G.Blob([file.data], { type: file.contentType }), fileName)
        let res: FetchResponseLike
        try {
          res = await fetchFn(o.url, { method: 'POST', headers: { ...(o.header ?? {}) }, body: form })
        } catch (err) {
          throw { errMsg: `uploadFile:fail ${String((err as Error)?.message ?? err)}` }
        }
        // Like WeChat, data is the body as a string.
        return { data: await res.text(), statusCode: res.status, header: headersOf(res) }
      })(opts as any)
      return { abort() {}, onProgressUpdate() {}, offProgressUpdate() {}, onHeadersReceived() {}, offHeadersReceived() {} }
    },

    getPrivacySetting: api('getPrivacySetting', async () => {
      const r = await device<{ needAuthorization: boolean; privacyContractName?: string }>('GET', '/privacy?' + q())
      return { needAuthorization: !!r.needAuthorization, privacyContractName: r.privacyContractName ?? '' }
    }),

    // askPrivacy's first question to the emulator also tells whether the
    // user agreed already or no agreement applies.
    requirePrivacyAuthorize: api('requirePrivacyAuthorize', async () => {
      await askPrivacy('requirePrivacyAuthorize', 'requirePrivacyAuthorize')
      return {}
    }),

    onNeedPrivacyAuthorization: (listener: WxPrivacyListener) => {
      privacyListener = listener
    },

    simulated: {
      appid,
      user,
      emulatorURL: origin,
      baseLibrary,
      getPhoneNumberDetail: async (o: { deny?: boolean } = {}): Promise<ButtonDetail> => {
        if (o.deny) return { errMsg: 'getPhoneNumber:fail user deny' }
        return tap('getPhoneNumber', () => privacyAPI<Record<string, unknown>>('getPhoneNumber', 'POST', '/phone', who()))
      },
      getUserInfoDetail: async (o: { deny?: boolean } = {}): Promise<ButtonDetail> => {
        if (o.deny) return { errMsg: 'getUserInfo:fail auth deny' }
        // The tap grants scope.userInfo (the button is the only way to).
        return tap('getUserInfo', () => privacyAPI<Record<string, unknown>>('getUserInfo', 'POST', '/userinfo', who()))
      },
      chooseAvatarDetail: async (o: { deny?: boolean } = {}): Promise<ButtonDetail> => {
        if (o.deny) return { errMsg: 'chooseAvatar:fail cancel' }
        return tap('chooseAvatar', async () => {
          const r = await privacyAPI<{ path?: string; avatarUrl?: string; contentType?: string; data?: string }>(
            'chooseAvatar',
            'POST',
            '/avatar',
            who(),
          )
          let data: Uint8Array
          let contentType = r.contentType ?? 'image/png'
          if (typeof r.data === 'string' && r.data !== '') {
            data = fromBase64(r.data)
          } else {
            // Download the emulator's temporary image so wx.uploadFile can send it.
            const remote = r.path ?? r.avatarUrl ?? ''
            const res = await fetchFn(/^https?:/.test(remote) ? remote : origin + remote, { method: 'GET' })
            if (res.status !== 200) throw { errMsg: `chooseAvatar:fail cannot read ${remote}: HTTP ${res.status}` }
            contentType = headersOf(res)['content-type'] ?? contentType
            data = new Uint8Array(await res.arrayBuffer())
          }
          return { avatarUrl: addTempFile(data, contentType) }
        })
      },
      nicknameDetail: (): Promise<ButtonDetail> =>
        tap('nickname', async () => {
          const r = await privacyAPI<{ nickname?: string; value?: string; nickName?: string }>('nickname', 'POST', '/nickname', who())
          return { value: r.nickname ?? r.nickName ?? r.value ?? '' }
        }),
      addTempFile,
      readTempFile: (path: string) => tempFiles.get(path),
      device: <T>(method: string, path: string, body?: unknown) => device<T>(method, path, body),
      setUser: async (data: Record<string, unknown>) => {
        await rawDevice('PUT', '/users/' + encodeURIComponent(user), data)
      },
      clearStorage: () => storage.clear(),
    } satisfies SimulatedControls,
  }

  /** tap runs what a button tap or input does and gives its event detail: "<api>:ok" with the result, or the fail result. */
  async function tap(apiName: string, run: () => Promise<Record<string, unknown>>): Promise<ButtonDetail> {
    try {
      return { ...(await run()), errMsg: `${apiName}:ok` }
    } catch (err) {
      return { ...failOf(apiName, err) }
    }
  }

  function fromBase64(b64: string): Uint8Array {
    const bin = (globalThis as unknown as { atob(s: string): string }).atob(b64)
    const out = new Uint8Array(bin.length)
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
    return out
  }

  function addTempFile(data: Uint8Array | string, contentType = 'application/octet-stream'): string {
    const G = globalThis as unknown as { TextEncoder: new () => { encode(s: string): Uint8Array } }
    const bytes = typeof data === 'string' ? new G.TextEncoder().encode(data) : data
    const ext = /png/.test(contentType) ? '.png' : /jpe?g/.test(contentType) ? '.jpg' : /webp/.test(contentType) ? '.webp' : '.bin'
    const path = `wxfile://tmp_${user}_${++tempSeq}${ext}`
    tempFiles.set(path, { data: bytes, contentType })
    return path
  }

  // APIs the simulated base library lacks are absent, as in WeChat; wx.qy
  // exists only inside WeCom.
  const w = wxObj as Record<string, unknown>
  if (!weCom) delete w.qy
  if (!has('2.10.4')) delete w.getUserProfile
  if (!has('2.32.3')) {
    delete w.getPrivacySetting
    delete w.requirePrivacyAuthorize
    delete w.onNeedPrivacyAuthorization
  }
  return wxObj as unknown as SimulatedWx
}
