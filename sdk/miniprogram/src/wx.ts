/**
 * The part of the mini program's `wx` that the SDK uses, declared here so
 * that the published types stand alone: a TypeScript project needs neither
 * miniprogram-api-typings nor any other package to compile against them.
 * The real `wx` satisfies {@link WxLike} (the SDK's own build checks it
 * against miniprogram-api-typings), and so does the simulated wx.
 */

/** WxFail is what a wx API gives its fail callback: errMsg "<api>:fail <reason>", and errno on newer base libraries. */
export interface WxFail {
  errMsg: string
  errno?: number
}

/** WxResult is the least a wx API gives its success callback. */
export interface WxResult {
  errMsg: string
}

/** WxCallbacks are the callbacks every asynchronous wx API takes. */
export interface WxCallbacks<R> {
  success?: (res: R) => void
  fail?: (err: WxFail) => void
  complete?: (res: R | WxFail) => void
}

/** WxLoginResult is wx.login's answer. */
export interface WxLoginResult extends WxResult {
  code: string
}

/** WxRequestOptions are the options of wx.request the SDK sends. */
export interface WxRequestOptions extends WxCallbacks<WxRequestResult> {
  url: string
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD' | 'OPTIONS' | 'TRACE' | 'CONNECT'
  header?: Record<string, string>
  data?: string | Record<string, unknown> | ArrayBuffer
  dataType?: 'json' | '其他'
  responseType?: 'text' | 'arraybuffer'
  timeout?: number
}

/** WxRequestResult is wx.request's answer: any HTTP status is a success. */
export interface WxRequestResult extends WxResult {
  statusCode: number
  data: unknown
  header: Record<string, string>
}

/** WxScope names a scope of wx.authorize and wx.getSetting. */
export type WxScope =
  | 'scope.userInfo'
  | 'scope.userLocation'
  | 'scope.userFuzzyLocation'
  | 'scope.address'
  | 'scope.invoice'
  | 'scope.invoiceTitle'
  | 'scope.werun'
  | 'scope.record'
  | 'scope.writePhotosAlbum'
  | 'scope.camera'
  | 'scope.bluetooth'
  | 'scope.addPhoneContact'
  | 'scope.addPhoneCalendar'

/** WxAuthSetting is authSetting: true for a granted scope, false for a refused one, absent when never asked. */
export type WxAuthSetting = { [S in WxScope]?: boolean }

/** WxSettingResult is the answer of wx.getSetting and wx.openSetting. */
export interface WxSettingResult extends WxResult {
  authSetting: WxAuthSetting
}

/** WxUploadFileOptions are the options of wx.uploadFile. */
export interface WxUploadFileOptions extends WxCallbacks<WxUploadFileResult> {
  url: string
  filePath: string
  name: string
  header?: Record<string, string>
  formData?: Record<string, string>
  timeout?: number
}

/** WxUploadFileResult is wx.uploadFile's answer: the body is a string, any HTTP status is a success. */
export interface WxUploadFileResult extends WxResult {
  statusCode: number
  data: string
  header?: Record<string, string>
}

/** WxPrivacySettingResult is wx.getPrivacySetting's answer. */
export interface WxPrivacySettingResult extends WxResult {
  needAuthorization: boolean
  privacyContractName: string
}

/** WxPrivacyAnswer is what the app passes to the resolve function of wx.onNeedPrivacyAuthorization. */
export interface WxPrivacyAnswer {
  event: 'agree' | 'disagree' | 'exposureAuthorization'
  buttonId?: string
}

/**
 * WxPrivacyListener is the listener of wx.onNeedPrivacyAuthorization:
 * WeChat hands it a resolve function and says which API asked.
 */
export type WxPrivacyListener = (resolve: (answer: WxPrivacyAnswer) => void, eventInfo?: { referrer?: string }) => void

/**
 * WxQyLike is `wx.qy`, the WeCom (企业微信) APIs a mini program has when it
 * runs inside WeCom: wx.qy.login gives a code for WeCom's jscode2session,
 * wx.qy.checkSession checks the WeCom session_key.
 */
export interface WxQyLike {
  login(options: { timeout?: number; suiteId?: string } & WxCallbacks<WxLoginResult>): unknown
  checkSession(options: WxCallbacks<WxResult>): unknown
}

/**
 * WxLike is the part of `wx` the SDK uses. The privacy and upload APIs are
 * optional: old base libraries lack them.
 */
export interface WxLike {
  login(options: { timeout?: number } & WxCallbacks<WxLoginResult>): unknown
  checkSession(options: WxCallbacks<WxResult>): unknown
  request(options: WxRequestOptions): unknown
  getStorageSync(key: string): unknown
  setStorageSync(key: string, data: unknown): void
  removeStorageSync(key: string): void
  getSetting(options: WxCallbacks<WxSettingResult>): unknown
  authorize(options: { scope: string } & WxCallbacks<WxResult>): unknown
  openSetting(options: WxCallbacks<WxSettingResult>): unknown
  uploadFile?(options: WxUploadFileOptions): unknown
  getPrivacySetting?(options: WxCallbacks<WxPrivacySettingResult>): unknown
  requirePrivacyAuthorize?(options: WxCallbacks<WxResult>): unknown
  /**
   * WeChat calls listener as a {@link WxPrivacyListener}: resolve is a
   * function. It is `unknown` here because miniprogram-api-typings declares
   * it as a result object, and the real wx must still be a WxLike.
   */
  onNeedPrivacyAuthorization?(listener: (resolve: unknown, eventInfo?: { referrer?: string }) => void): unknown
  /**
   * Inside WeCom its answer carries `environment: "wxwork"` (in WeChat the
   * field is absent); it is read as a plain object because the typings of
   * the real wx do not declare that field.
   */
  getSystemInfoSync?(): object
  /** Present inside WeCom only. */
  qy?: WxQyLike
}

/**
 * WxAsyncAPI is an asynchronous wx API as base library 2.10.2+ has them:
 * given a callback it calls it; given none it returns a promise that
 * resolves with the success result and rejects with the {@link WxFail}.
 */
export interface WxAsyncAPI<O, R> {
  (options?: O & { success?: undefined; fail?: undefined; complete?: undefined }): Promise<R>
  (options: O & WxCallbacks<R>): void
}
