package wxlogin

import "strings"

// App is a mini program the server serves: its appid and the secret WeChat
// issued for it. A WeCom app (Kind AppKindWeCom) is a mini program
// associated with a WeCom (企业微信) corp: its users log in with
// wx.qy.login, and Secret is the secret of the corp's WeCom app the mini
// program is associated with, used with CorpID; AppID then only names the
// app to clients and in the stores.
type App struct {
	AppID  string
	Secret Secret
	// Kind is AppKindWeChat ("") or AppKindWeCom.
	Kind string
	// CorpID is the WeCom corp of a WeCom app; "" for a WeChat app.
	CorpID string
}

// The kinds of App.
const (
	AppKindWeChat = ""      // a WeChat mini program: wx.login, (appid, openid)
	AppKindWeCom  = "wecom" // a mini program inside WeCom: wx.qy.login, (corpid, userid)
)

// IsWeCom reports whether a is a WeCom app.
func (a App) IsWeCom() bool { return a.Kind == AppKindWeCom }

// WeComKey is the key under which a WeCom user is stored in the place of an
// openid (User.OpenID, Session.OpenID): "corpid/userid". Neither part can
// hold a slash (WeCom's corpids are letters and digits; its userids
// letters, digits and "_-@."), so the key splits back unambiguously, and
// a WeChat openid (base64 without slashes) never looks like one. Keeping the
// one (appid, openid) key means every store, its migrations and its
// conformance suite serve WeCom users unchanged, and an appid is of one
// kind only, so the two never meet in one app.
func WeComKey(corpID, userID string) string { return corpID + "/" + userID }

// SplitWeComKey splits a WeComKey; ok is false for anything else.
func SplitWeComKey(key string) (corpID, userID string, ok bool) {
	corpID, userID, ok = strings.Cut(key, "/")
	if !ok || corpID == "" || userID == "" || strings.Contains(userID, "/") {
		return "", "", false
	}
	return corpID, userID, true
}
