/**
 * @wxlogin/miniprogram: the mini program client of wxlogin.
 *
 *   import { createClient } from '@wxlogin/miniprogram'
 *   const client = createClient({ baseURL: 'https://login.example.com' })
 *   const me = await client.request({ path: '/v1/session' })
 *
 * The simulated wx for tests lives in '@wxlogin/miniprogram/simulated-wx'.
 */
export { ANONYMOUS_NICKNAME, Client, createClient, isAnonymousProfile, runsInWeCom, } from './client';
export type { ClientOptions, EncryptedDetail, PayloadOptions, Phone, PhoneDetail, PrivacyPrompt, PrivacyResult, ProfileInput, RequestOptions, Response, ScopeResult, Session, SessionPolicy, User, UserInfoDetail, } from './client';
export type { WxAsyncAPI, WxAuthSetting, WxCallbacks, WxFail, WxLike, WxLoginResult, WxPrivacyAnswer, WxPrivacyListener, WxPrivacySettingResult, WxQyLike, WxRequestOptions, WxRequestResult, WxResult, WxScope, WxSettingResult, WxUploadFileOptions, WxUploadFileResult, } from './wx';
export { ClientErrorCodes, WxloginError, isWxloginError } from './errors';
