/**
 * @wxlogin/web: the browser side of wxlogin's web logins, for an Official
 * Account's pages inside WeChat (OAuth) and a website's QR login.
 *
 *   import { createWebClient, chooseApp } from '@wxlogin/web'
 *   const wx = createWebClient()
 *   const r = wx.result()                      // on the page the login returns to
 *   const me = await wx.me()                   // GET /v1/me by the session cookie
 *   await wx.fetch('/api/cart', { method: 'POST', body })  // CSRF token added
 *
 * No runtime dependencies; `dist/wxlogin-web.js` is the same API as a
 * script tag's global `wxloginWeb`.
 */
export { CSRF_COOKIE, CSRF_HEADER, ERROR_PARAM, WebClient, chooseApp, createWebClient, isInWeChat } from './client.js'
export type { Identity, LoginOptions, LoginResult, Me, WebApps, WebClientOptions, WebScope } from './client.js'
export { ClientErrorCodes, ErrorCodes, WxloginError, isWxloginError } from './errors.js'
export type { ClientErrorCode, ServerErrorCode, WxloginErrorCode } from './errors.js'
