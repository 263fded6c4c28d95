// Package emulator is WeChat, for development and tests: the `wxlogin
// emulator` command, the WeChat behind `wxlogin dev`, and the WeChat every
// test of wxlogin runs against. WeChat's servers are not reachable from our
// machines; the emulator reproduces what ../shared/WECHAT.md records of
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
// session_key and the previous one dies. openids are stable per (app,
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
// # The emulator's controls
//
//	GET    /emulator/v1/apps    [{"appid","secret","open_platform"}]
//	GET    /emulator/v1/stats   {"apis": {"jscode2session": {"calls", "errcodes": {"0": n}}}, "unknown_routes": [...]}
//	DELETE /emulator/v1/stats   zero the counters
//	GET    /emulator/v1/faults  {"faults": [...]} pending faults
//	POST   /emulator/v1/faults  {"api", "count", "errcode" | "http_status" | "delay_ms" | "body": "truncated"|"empty"}
//	DELETE /emulator/v1/faults  remove every fault
//	GET    /emulator/v1/clock   {"now", "unix", "offset"}
//	POST   /emulator/v1/clock   {"advance": "6m"} moves the emulator's clock
//
// A request matching no route is never a silent 404: it answers an error
// naming the route (errcode 40066 on WeChat's paths, not_found under
// /emulator/v1/), is logged, and is listed in Stats().UnknownRoutes, so a
// test can assert that nothing called a wrong path or method.
//
// # The device
//
//	POST /emulator/v1/login    {"appid","user"} → {"code"}                      wx.login
//	GET  /emulator/v1/session?appid=&user= → {"valid"}                         wx.checkSession
//	POST /emulator/v1/phone    {"appid","user"} → {"code","encryptedData","iv"} getPhoneNumber button
//	GET  /emulator/v1/users/{user}      the simulated user's data (User)
//	PUT  /emulator/v1/users/{user}      change the fields the body carries
//
// Device errors carry a code (wxlogin's codes, plus scope_denied and
// not_supported), a message, and where WeChat has them its errMsg and errno.
package emulator
