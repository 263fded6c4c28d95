// Package emulator is WeChat, for development and tests: the `wxlogin
// emulator` command, the WeChat behind `wxlogin dev`, and the WeChat every
// test of wxlogin runs against. WeChat's servers are not reachable from our
// machines; the emulator reproduces what WeChat documents and integrators report of
// them, so a client works against it by changing only its base URL.
//
// It owns two faces of WeChat and the knobs to bend them:
//
//   - the server APIs, at WeChat's own paths, answering exactly as WeChat
//     does (HTTP 200, JSON, {"errcode","errmsg"} with a " rid: ..." suffix);
//   - the device: what the wx.* APIs of a mini program give a simulated
//     user ("alice") of an app, under /emulator/v1/, JSON in and out,
//     errors in wxlogin's envelope {"error": {"code", "message"}}.
//
// # Use
//
// In Go tests the zero value is ready:
//
//	em := &emulator.Emulator{}          // serves DevApps()
//	srv := httptest.NewServer(em)       // WeChat's base URL is srv.URL
//	code, _ := em.Login(appid, "alice") // wx.login
//	em.Advance(6 * time.Minute)         // the code has expired
//
// Every device operation is also a Go method (Login, SessionKeyValid,
// Phone, SetUser, ...), so a Go test can act as the device without HTTP.
// A server may mount the emulator on its own mux at DevicePrefix; it routes
// on the full path.
//
// # WeChat's server APIs
//
//	GET  /sns/jscode2session?appid=&secret=&js_code=&grant_type=authorization_code
//	GET  /cgi-bin/token?grant_type=client_credential&appid=&secret=
//	POST /cgi-bin/stable_token  {"grant_type","appid","secret","force_refresh"}
//	GET  /wxa/checksession?access_token=&openid=&signature=&sig_method=hmac_sha256
//	GET  /wxa/resetusersessionkey?access_token=&openid=&signature=&sig_method=hmac_sha256
//	POST /wxa/business/getuserphonenumber?access_token=  {"code","openid"?}
//	GET  /wxa/getpaidunionid?access_token=&openid=
//
// As WeChat: a login code works once (40163 on reuse) and for CodeLifetime
// (40029 after); an unknown code, a code of another app or of the other
// kind (a phone code at jscode2session, a login code at
// getuserphonenumber) answers 40029. Every wx.login rotates the user's
// session_key and the previous one dies. A code exchanged after a later
// wx.login still answers with the session_key its own wx.login created,
// although checksession already reports that key dead: WeChat does not
// document this case, and this is the choice under which data the client
// encrypted with that key stays decryptable. openids are stable per (app,
// user); unionids are the same for a user across the apps bound to the
// Open Platform account and absent for the others. cgi-bin/token issues a
// new token on every call and the previous one works for TokenGrace more
// (then 40001); stable_token returns the same token until 5 minutes before
// its expiry; force_refresh kills the previous stable token, at most 20 a
// day (45009) and 30 s apart (45011). Tokens expire after TokenLifetime
// (42001); a missing token answers 41001, an unknown or replaced one 40001.
// The two endpoints' tokens are separate. checksession and
// resetusersessionkey take hmac_sha256 keyed with the session_key's base64
// text (87009 otherwise, 87008 for another sig_method). A wrong secret
// answers 40125, an unknown appid 40013. getpaidunionid does not model
// payments: it gives the unionid of any user of a bound app (89002 for an
// unbound one).
//
// # WeCom (企业微信)
//
// For mini programs associated with a WeCom corp, the emulator is WeCom
// too, on the same host (WeCom's paths differ from WeChat's):
//
//	GET  /cgi-bin/gettoken?corpid=&corpsecret=
//	GET  /cgi-bin/miniprogram/jscode2session?access_token=&js_code=&grant_type=authorization_code
//	POST /emulator/v1/wecom/login   {"corpid","user"} → {"code"}      wx.qy.login
//	GET  /emulator/v1/wecom/session?corpid=&user= → {"valid"}          wx.qy.checkSession
//	GET  /emulator/v1/wecom/corps   [{"corpid","secret"}]
//
// Corps (nil: DevCorps()) are all associated with the mini program.
// gettoken returns the same token until it expires (TokenLifetime), then a
// new one; 41002/41004 for a missing corpid/corpsecret, 40013 an unknown
// corpid, 40001 a wrong secret (WeCom's meaning of 40001). jscode2session
// answers {corpid, userid, session_key} of the code's member, whose corpid
// is their own corp even through another corp's token; an unknown,
// expired, used or WeChat code answers 40029 (WeCom documents no 40163);
// 41001 a missing token, 40014 an unknown one (a WeChat token included),
// 42001 an expired one. A member's userid is the simulated user's name,
// which must be a valid WeCom userid (letters, digits, "_-@."). Errors read
// as WeCom's: "invalid code, hint: [...], more info at ...". Faults and
// stats name these APIs wecom_gettoken and wecom_jscode2session.
//
// # WeCom third-party (suite) apps
//
// The emulator plays WeCom for a service provider's suites too (Suites;
// nil: DevSuites(), installed by both dev corps):
//
//	POST /cgi-bin/service/get_suite_token {"suite_id","suite_secret","suite_ticket"} → {"suite_access_token","expires_in"}
//	GET  /cgi-bin/service/miniprogram/jscode2session?suite_access_token=&js_code=&grant_type=authorization_code
//	GET  /emulator/v1/wecom/suites                        [{"suite_id","corps","callback_url","verified","last_push"}] (no secrets)
//	PUT  /emulator/v1/wecom/suites/{id} {"callback_url"}  the suite's 指令回调 URL ("" removes it)
//	POST /emulator/v1/wecom/suites/{id}/push_ticket       push a new suite_ticket now → {"verified","status","answer","delivered"}
//	POST /emulator/v1/wecom/suites/{id}/login {"corpid","user"} → {"code"}   wx.qy.login inside the suite's mini program
//	POST /emulator/v1/wecom/suites/{id}/expire_token      end the current suite_access_token (then 42009)
//	POST /emulator/v1/wecom/suites/{id}/corps/{corpid}/uninstall  the corp removes the app: cancel_auth pushed, its untraded codes 40029 → the push's result
//	POST /emulator/v1/wecom/suites/{id}/corps/{corpid}/install    the corp installs it (again): create_auth pushed → the push's result
//
// A push is what WeCom sends: a URL not verified yet first gets the GET
// with msg_signature, timestamp, nonce and an encrypted echostr, and must
// answer its plaintext; then the POST of <xml><ToUserName/><Encrypt/>
// <AgentID/></xml>, the suite_ticket message (SuiteId, InfoType
// suite_ticket, TimeStamp, SuiteTicket) sealed for the suite id under its
// EncodingAESKey and signed with its token; "success" means delivered. A
// ticket is issued even when the delivery fails, and lives 30 minutes.
// Once a callback URL is set, a ticket is pushed at once and every 10
// minutes of the emulator's clock (looked for every PushPoll of wall
// time) until Close. get_suite_token answers 40083 for an unknown suite,
// 40001 for a wrong suite_secret, 40085 for a ticket not pushed for the
// suite in the last 30 minutes, and the same token until it expires.
// jscode2session answers {corpid, userid, session_key, open_userid} (the
// open_userid stable per suite, corp and member: OpenUserID); 41001 a
// missing token, 40082 an unknown one, 42009 an expired one, 40029 a code
// unknown, used, expired or not of this suite. Only members of corps that
// installed the suite get codes under it. Faults and stats name these APIs
// wecom_get_suite_token and wecom_suite_jscode2session; the calls log
// redacts suite_secret, suite_ticket and suite_access_token.
//
// # The emulator's controls
//
//	GET    /emulator/v1/apps    [{"appid","secret","open_platform"}]
//	GET    /emulator/v1/stats   {"apis": {"jscode2session": {"calls", "errcodes": {"0": n}}}, "unknown_routes": [...]}
//	DELETE /emulator/v1/stats   zero the counters
//	GET    /emulator/v1/calls   ?after=N&appid=: {"calls": [{"seq", "api", "request", "status", "errcode", "response", ...}], "next"}
//	                            the latest WeChat API calls (256 kept), secrets, session keys, tokens
//	                            and signatures shown as "(redacted)"
//	GET    /emulator/v1/faults  {"faults": [...]} pending faults
//	POST   /emulator/v1/faults  {"api", "count", "errcode" | "http_status" | "delay_ms" | "body": "truncated"|"empty"}
//	DELETE /emulator/v1/faults  remove every fault
//	GET    /emulator/v1/clock   {"now", "unix", "offset"}
//	POST   /emulator/v1/clock   {"advance": "6m"} moves the emulator's clock
//	GET    /emulator/v1/config  the knobs that can change while serving (Config)
//	PUT    /emulator/v1/config  {"privacy_check": false, "logins_per_second": 4, "code_lifetime": "1m", ...}
//
// A request matching no route is never a silent 404: it answers an error
// naming the route (errcode 40066 on WeChat's paths, not_found under
// /emulator/v1/), is logged, and is listed in Stats().UnknownRoutes, so a
// test can assert that nothing called a wrong path or method.
//
// # The device
//
// Each call names an app and a simulated user by any name ("alice"); users
// come into being on first use. A user is one person across apps: one
// profile (User), one unionid in the Open Platform apps, one openid, one
// session_key, one set of scopes and one privacy decision per app.
//
//	POST   /emulator/v1/login     {"appid","user"} → {"code"}                        wx.login (rotates the session_key)
//	GET    /emulator/v1/session?appid=&user= → {"valid"}                            wx.checkSession (renews the key's idle expiry)
//	POST   /emulator/v1/activity  {"appid","user"} → {"valid"}                      the user opens or uses the mini program (renews it too)
//	POST   /emulator/v1/userinfo  {"appid","user"} → {"userInfo","rawData","signature","encryptedData","iv"}
//	                                                                              wx.getUserInfo({withCredentials: true}); openId/unionId inside
//	POST   /emulator/v1/profile   {"appid","user","desc"} → the same                wx.getUserProfile; no openId/unionId inside
//	POST   /emulator/v1/phone     {"appid","user"} → {"code","encryptedData","iv"}  getPhoneNumber button
//	POST   /emulator/v1/werun     {"appid","user","accept"?} → {"encryptedData","iv"} wx.getWeRunData (30 days)
//	POST   /emulator/v1/share     {"appid","user","group"?} → {"encryptedData","iv"} wx.getShareInfo (openGId)
//	GET    /emulator/v1/settings?appid=&user= → {"authSetting": {...}}             wx.getSetting
//	POST   /emulator/v1/authorize {"appid","user","scope","accept"?} → {"authorized","prompted"}  wx.authorize
//	POST   /emulator/v1/settings  {"appid","user","authSetting": {...}}            the user on wx.openSetting's page
//	GET    /emulator/v1/privacy?appid=&user= → {"needAuthorization","privacyContractName","refusalPauseMs"}  wx.getPrivacySetting (+ the pause left after a refusal)
//	POST   /emulator/v1/privacy   {"appid","user","event": "agree"|"disagree"} → {"agreed","prompted"}
//	                                                                              wx.requirePrivacyAuthorize / onNeedPrivacyAuthorization
//	POST   /emulator/v1/privacy/agree {"appid","user"}                             <button open-type="agreePrivacyAuthorization">
//	DELETE /emulator/v1/privacy?appid=&user=                                       forget the decision (new guidelines)
//	POST   /emulator/v1/avatar    {"appid","user"} → {"avatarUrl","path","contentType","size","data"}  chooseAvatar
//	GET    /emulator/v1/tmp/{id}  the temporary avatar image (PNG)
//	POST   /emulator/v1/nickname  {"appid","user"} → {"nickname"}                   <input type="nickname">
//	GET    /emulator/v1/users/{user}      the simulated user's data (User)
//	PUT    /emulator/v1/users/{user}      change the fields the body carries (nickName, avatarUrl, gender,
//	                                      city, province, country, language, phoneNumber, countryCode, baseLibrary,
//	                                      blocked: jscode2session answers 40226 for a high-risk user)
//
// An "accept" or "event" left out means the user says yes. The privacy
// APIs also take "privacy": "agree"|"disagree", the user's answer to the
// popup wx.onNeedPrivacyAuthorization shows when the call needs one, so a
// simulated wx can run that flow in one request. Encrypted data
// uses the user's current session_key (the one of their latest login), with
// watermark {appid, timestamp} from the emulator's clock; calls that carry
// encrypted data or a signature need a login first (session_invalid).
//
// The device follows its base library version (User.BaseLibrary, default
// DefaultBaseLibrary "3.5.0"): getUserProfile exists from 2.10.4; the phone
// button gives a code and the avatar/nickname fill-in exist from 2.21.2;
// from 2.27.1 getUserProfile and getUserInfo are anonymised ("微信用户",
// the grey avatar, gender 0, empty region); the privacy check applies from
// 2.32.3.
//
// Scopes (Scopes()) are never asked, granted or refused. authorize prompts
// only for a scope never asked; a refused scope fails at once (scope_denied)
// until the user changes it on the openSetting page, which lists only the
// scopes already asked. scope.userInfo cannot be authorized this way; the
// getUserInfo button grants it.
//
// Privacy authorization is on, as in today's WeChat: a user on base
// library 2.32.3 or later must agree before the privacy APIs (phone,
// userinfo, profile, werun, avatar, nickname) work; until then they fail
// with privacy_not_authorized, errno 104 and errMsg "...:fail privacy
// permission is not authorized". After a refusal a new request is refused
// without a popup for PrivacyRefusalPause (10 s) of emulator time; the
// agree button works at any time.
//
// Device errors are {"error": {"code", "message", "errMsg", "errno"}}: code
// is one of wxlogin's codes (invalid_request, unknown_app, session_invalid,
// rate_limited, privacy_not_authorized, not_found) or scope_denied (403) or
// not_supported (501, the device's base library lacks the API); errMsg and
// errno are what WeChat's fail callback would give.
//
// # Knobs
//
// The exported fields of Emulator, all off or WeChat's values when zero:
// Now (the clock, moved by Advance), Logger, CodeLifetime, TokenGrace,
// TokenLifetime, SessionKeyLifetime, SessionKeyIdleTimeout, LoginsPerSecond (WeChat: 4),
// Code2SessionPerMinute (45011; one doc says 100), NoPrivacyCheck, CORSOrigin.
// Configure (or PUT /emulator/v1/config) changes them while serving, e.g.
// to turn the privacy check on in a dev server that is already running.
//
// A session_key dies in three ways: the user's next wx.login replaces it
// (at once), SessionKeyLifetime after the login that issued it, or
// SessionKeyIdleTimeout after the user's last activity with it. Activity
// is what the user does in the mini program: wx.login, a wx.checkSession
// that finds the key valid, the device calls that sign or encrypt with it
// (getUserInfo, getUserProfile, getPhoneNumber, getWeRunData,
// getShareInfo) and POST /emulator/v1/activity. A server's calls
// (jscode2session, checksession, ...) are not: a server asking whether a
// key is alive must not keep it alive. After either expiry checksession
// answers 87009 and wx.checkSession fails, as for a rotated key.
// Faults (InjectFault) make WeChat's server APIs fail, hang or answer
// garbage; Stats counts what was called.
package emulator
