package wxlogin

import "strings"

// App is an application the server logs users in for: its appid and the
// secret WeChat issued for it, and what kind of WeChat surface it is.
//
// A WeCom app (KindWeCom) is a mini program associated with a WeCom
// (企业微信) corp: its users log in with wx.qy.login, and Secret is the
// secret of the corp's WeCom app the mini program is associated with, used
// with CorpID; AppID then only names the app to clients and in the stores.
type App struct {
	AppID  string
	Secret Secret

	// Kind is the surface; "" means KindMiniProgram, the original one.
	Kind AppKind
	// CorpID is the WeCom corp of a KindWeCom app; "" for every other kind.
	CorpID string
	// RedirectURIs are the pages a web login (KindOfficialAccount,
	// KindWebsite) may return to: exact absolute URLs. A redirect_uri
	// not in the list is refused, so the server is no open redirect.
	RedirectURIs []string
	// OpenPlatform names the Open Platform account the app is bound to:
	// the grouping WeChat's unionids belong to. "" when unbound.
	OpenPlatform string

	// Suite is set for a KindWeComSuite app only: the third-party app a
	// service provider built and corps install.
	Suite *WeComSuite
}

// WeComSuite is a WeCom third-party (suite) app: WeCom pushes its
// suite_ticket to the app's callback URL, and the suite_ticket with
// the suite secret (App.Secret) buys the suite_access_token that trades
// the mini program's wx.qy.login codes.
type WeComSuite struct {
	// SuiteID is the suite's id (WeCom's SuiteId, also the receiver id
	// of its callback messages).
	SuiteID string
	// Token and EncodingAESKey are the callback's: the first signs every
	// callback (msg_signature), the second encrypts it. Both are secrets.
	Token          Secret
	EncodingAESKey Secret
	// CorpIDs, when not empty, are the only installing corps whose
	// members may log in; empty admits a member of any corp that
	// installed the suite.
	CorpIDs []string
}

// CorpAllowed reports whether a member of corpID may log in to the suite
// app.
func (s *WeComSuite) CorpAllowed(corpID string) bool {
	if len(s.CorpIDs) == 0 {
		return true
	}
	for _, c := range s.CorpIDs {
		if c == corpID {
			return true
		}
	}
	return false
}

// AppKind is the WeChat surface an app is.
type AppKind string

// The kinds of apps.
const (
	// KindMiniProgram logs in with wx.login codes (jscode2session); its
	// users are (appid, openid).
	KindMiniProgram AppKind = "mini_program"
	// KindWeCom is a mini program inside WeCom: wx.qy.login codes traded
	// at WeCom's miniprogram/jscode2session; its users are (corpid, userid).
	KindWeCom AppKind = "wecom"
	// KindWeComSuite is a WeCom third-party (suite) mini program, which
	// many corps install: wx.qy.login codes traded at WeCom's
	// service/miniprogram/jscode2session with the suite_access_token; its
	// users are (corpid, userid) as for KindWeCom, with the provider's
	// open_userid beside.
	KindWeComSuite AppKind = "wecom_suite"
	// KindOfficialAccount is an Official Account's web pages opened inside
	// WeChat: OAuth at connect/oauth2/authorize, snsapi_base or
	// snsapi_userinfo.
	KindOfficialAccount AppKind = "official_account"
	// KindWebsite is an Open Platform website application: a desktop
	// browser shows WeChat's QR code (connect/qrconnect, snsapi_login).
	KindWebsite AppKind = "website"
)

// KindOf returns the app's kind, KindMiniProgram when unset.
func (a App) KindOf() AppKind {
	if a.Kind == "" {
		return KindMiniProgram
	}
	return a.Kind
}

// IsWeCom reports whether a is a WeCom app of one corp (KindWeCom).
func (a App) IsWeCom() bool { return a.Kind == KindWeCom }

// IsWeComSuite reports whether a is a WeCom third-party (suite) app.
func (a App) IsWeComSuite() bool { return a.Kind == KindWeComSuite }

// WeComUsers reports whether a's users are WeCom members, stored under a
// WeComKey: a WeCom app of one corp or a suite app.
func (a App) WeComUsers() bool { return a.Kind == KindWeCom || a.Kind == KindWeComSuite }

// Web reports whether users log in to the app in a browser (OAuth
// redirects and a session cookie) rather than with wx.login codes.
func (a App) Web() bool {
	k := a.KindOf()
	return k == KindOfficialAccount || k == KindWebsite
}

// RedirectAllowed reports whether uri is one of the app's redirect URIs,
// compared exactly: any looser rule (a prefix, a host) has let attackers
// append a path or a query that sends the user elsewhere.
func (a App) RedirectAllowed(uri string) bool {
	for _, u := range a.RedirectURIs {
		if u == uri {
			return true
		}
	}
	return false
}

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
