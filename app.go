package wxlogin

// App is an application the server logs users in for: its appid and the
// secret WeChat issued for it, and what kind of WeChat surface it is.
type App struct {
	AppID  string
	Secret Secret

	// Kind is the surface; "" means KindMiniProgram, the original one.
	Kind AppKind
	// RedirectURIs are the pages a web login (KindOfficialAccount,
	// KindWebsite) may return to: exact absolute URLs. A redirect_uri
	// not in the list is refused, so the server is no open redirect.
	RedirectURIs []string
	// OpenPlatform names the Open Platform account the app is bound to:
	// the grouping WeChat's unionids belong to. "" when unbound.
	OpenPlatform string
}

// AppKind is the WeChat surface an app is.
type AppKind string

// The kinds of apps.
const (
	// KindMiniProgram logs in with wx.login codes (jscode2session).
	KindMiniProgram AppKind = "mini_program"
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
