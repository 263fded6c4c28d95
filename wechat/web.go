package wechat

import (
	"context"
	"net/http"
	"net/url"

	"github.com/wxlogin/wxlogin"
)

// WebToken is sns/oauth2/access_token's answer: a web login of one user of
// an Official Account or a website app. AccessToken is that user's web
// token (not the app's cgi-bin token); both tokens are Secrets.
type WebToken struct {
	AccessToken  wxlogin.Secret
	ExpiresIn    int // seconds
	RefreshToken wxlogin.Secret
	OpenID       string
	Scope        string
	UnionID      string // only with snsapi_userinfo or snsapi_login and an Open Platform binding
	// SnapshotUser reports is_snapshotuser: 1, WeChat's virtual user of a
	// page opened in snapshot mode. Its openid is not the real user's.
	SnapshotUser bool
}

type webTokenAnswer struct {
	envelope
	AccessToken    string `json:"access_token"`
	ExpiresIn      int    `json:"expires_in"`
	RefreshToken   string `json:"refresh_token"`
	OpenID         string `json:"openid"`
	Scope          string `json:"scope"`
	IsSnapshotUser int    `json:"is_snapshotuser"`
	UnionID        string `json:"unionid"`
}

// WebAccessToken trades the code of a web authorization (the redirect of
// connect/oauth2/authorize or connect/qrconnect) at sns/oauth2/access_token.
// Like a wx.login code it works once: the call is never repeated.
func (c *Client) WebAccessToken(ctx context.Context, app wxlogin.App, code string) (*WebToken, error) {
	const api = "oauth2_access_token"
	if code == "" {
		return nil, emptyCode(api)
	}
	var a webTokenAnswer
	err := c.do(ctx, &call{
		api:    api,
		method: http.MethodGet,
		path:   "/sns/oauth2/access_token",
		query: url.Values{
			"appid":      {app.AppID},
			"secret":     {app.Secret.Reveal()},
			"code":       {code},
			"grant_type": {"authorization_code"},
		},
		secrets: []string{app.Secret.Reveal(), code},
	}, &a)
	if err != nil {
		return nil, err
	}
	if a.AccessToken == "" {
		return nil, invalidAnswer(api, "access_token is missing")
	}
	if r := checkID("openid", a.OpenID); r != "" {
		return nil, invalidAnswer(api, r)
	}
	if a.UnionID != "" {
		if r := checkID("unionid", a.UnionID); r != "" {
			return nil, invalidAnswer(api, r)
		}
	}
	return &WebToken{
		AccessToken: wxlogin.Secret(a.AccessToken), ExpiresIn: a.ExpiresIn,
		RefreshToken: wxlogin.Secret(a.RefreshToken), OpenID: a.OpenID, Scope: a.Scope,
		UnionID: a.UnionID, SnapshotUser: a.IsSnapshotUser == 1,
	}, nil
}

// WebUserInfo is sns/userinfo's answer. Since 2021 WeChat gives
// sex 0 and empty places; the fields stay for older answers.
type WebUserInfo struct {
	OpenID     string   `json:"openid"`
	Nickname   string   `json:"nickname"`
	Sex        int      `json:"sex"`
	Province   string   `json:"province"`
	City       string   `json:"city"`
	Country    string   `json:"country"`
	HeadImgURL string   `json:"headimgurl"`
	Privilege  []string `json:"privilege"`
	UnionID    string   `json:"unionid"`
}

type webUserInfoAnswer struct {
	envelope
	WebUserInfo
}

// WebUserInfo fetches the profile of the user of a web token: only a token
// of scope snsapi_userinfo or snsapi_login may (others: 48001).
func (c *Client) WebUserInfo(ctx context.Context, token wxlogin.Secret, openid string) (*WebUserInfo, error) {
	const api = "sns_userinfo"
	var a webUserInfoAnswer
	err := c.do(ctx, &call{
		api:        api,
		method:     http.MethodGet,
		path:       "/sns/userinfo",
		query:      url.Values{"access_token": {token.Reveal()}, "openid": {openid}, "lang": {"zh_CN"}},
		secrets:    []string{token.Reveal()},
		repeatable: true,
	}, &a)
	if err != nil {
		return nil, err
	}
	if a.OpenID != openid {
		return nil, invalidAnswer(api, "openid is not the token's user")
	}
	if a.UnionID != "" {
		if r := checkID("unionid", a.UnionID); r != "" {
			return nil, invalidAnswer(api, r)
		}
	}
	return &a.WebUserInfo, nil
}

// WebRefreshToken renews a web access token with its refresh token (30
// days) at sns/oauth2/refresh_token.
func (c *Client) WebRefreshToken(ctx context.Context, app wxlogin.App, refresh wxlogin.Secret) (*WebToken, error) {
	const api = "oauth2_refresh_token"
	var a webTokenAnswer
	err := c.do(ctx, &call{
		api:     api,
		method:  http.MethodGet,
		path:    "/sns/oauth2/refresh_token",
		query:   url.Values{"appid": {app.AppID}, "grant_type": {"refresh_token"}, "refresh_token": {refresh.Reveal()}},
		secrets: []string{refresh.Reveal()},
	}, &a)
	if err != nil {
		return nil, err
	}
	if a.AccessToken == "" {
		return nil, invalidAnswer(api, "access_token is missing")
	}
	return &WebToken{AccessToken: wxlogin.Secret(a.AccessToken), ExpiresIn: a.ExpiresIn,
		RefreshToken: wxlogin.Secret(a.RefreshToken), OpenID: a.OpenID, Scope: a.Scope, UnionID: a.UnionID}, nil
}

// WebCheckToken asks sns/auth whether a web access token is still valid:
// nil when it is.
func (c *Client) WebCheckToken(ctx context.Context, token wxlogin.Secret, openid string) error {
	const api = "sns_auth"
	var a envelope
	return c.do(ctx, &call{
		api:        api,
		method:     http.MethodGet,
		path:       "/sns/auth",
		query:      url.Values{"access_token": {token.Reveal()}, "openid": {openid}},
		secrets:    []string{token.Reveal()},
		repeatable: true,
	}, &a)
}
