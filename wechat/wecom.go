package wechat

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/wxlogin/wxlogin"
)

// DefaultWeComBaseURL is WeCom's (企业微信) API root.
const DefaultWeComBaseURL = "https://qyapi.weixin.qq.com"

// The names of WeCom's APIs in errors, logs and metrics; prefixed so that
// they never read as WeChat's API of the same name.
const (
	APIWeComGetToken       = "wecom_gettoken"
	APIWeComJSCode2Session = "wecom_jscode2session"
)

// WeComSession is what WeCom's jscode2session gives for a wx.qy.login code:
// the member's corp and userid (the identity), and the session_key.
type WeComSession struct {
	CorpID     string
	UserID     string
	SessionKey wxlogin.Secret
}

func (c *Client) weComBaseURL() string {
	if c.WeComBaseURL == "" {
		return DefaultWeComBaseURL
	}
	return strings.TrimRight(c.WeComBaseURL, "/")
}

// weComTokenKey is the TokenCache key of a WeCom app's token: apart from
// the WeChat tokens, since WeCom issues its own from the corp's secret.
func weComTokenKey(app wxlogin.App) string { return "wecom:" + app.CorpID + ":" + app.AppID }

// GetWeComAccessToken fetches the access token of a WeCom app from
// cgi-bin/gettoken (corpid and the secret of the corp's WeCom app), uncached.
// WeCom hands back the same token until it expires, so repeating the call
// is harmless.
func (c *Client) GetWeComAccessToken(ctx context.Context, app wxlogin.App) (Token, error) {
	const api = APIWeComGetToken
	issued := c.now()
	var a tokenAnswer
	err := c.do(ctx, &call{
		base:   c.weComBaseURL(),
		api:    api,
		method: http.MethodGet,
		path:   "/cgi-bin/gettoken",
		query: url.Values{
			"corpid":     {app.CorpID},
			"corpsecret": {app.Secret.Reveal()},
		},
		secrets:    []string{app.Secret.Reveal()},
		repeatable: true,
	}, &a)
	if err != nil {
		return Token{}, err
	}
	return a.token(api, issued)
}

type weComSessionAnswer struct {
	envelope
	CorpID     string `json:"corpid"`
	UserID     string `json:"userid"`
	OpenUserID string `json:"open_userid"` // suite apps only
	SessionKey string `json:"session_key"`
}

// WeComCode2Session trades a wx.qy.login code at WeCom's
// cgi-bin/miniprogram/jscode2session, with the app's WeCom access token
// (cached, renewed once when WeCom rejects it). The answer's corpid is the
// member's corp, which may be another corp than the app's when several
// corps are associated with the mini program: the caller compares. A code
// works once, so a transport failure is not retried.
func (c *Client) WeComCode2Session(ctx context.Context, app wxlogin.App, code string) (*WeComSession, error) {
	a, err := c.memberCode2Session(ctx, app, APIWeComJSCode2Session, "/cgi-bin/miniprogram/jscode2session", "access_token", code)
	if err != nil {
		return nil, err
	}
	return &WeComSession{CorpID: a.CorpID, UserID: a.UserID, SessionKey: wxlogin.Secret(a.SessionKey)}, nil
}

// memberCode2Session trades a wx.qy.login code at one of WeCom's
// jscode2session paths, the app's token (fetched by withAccessToken for
// the app's kind) sent as tokenParam, and checks the member's ids and key.
func (c *Client) memberCode2Session(ctx context.Context, app wxlogin.App, api, path, tokenParam, code string) (*weComSessionAnswer, error) {
	if code == "" {
		return nil, emptyCode(api)
	}
	var a weComSessionAnswer
	err := c.withAccessToken(ctx, app, api, func(token string) error {
		return c.do(ctx, &call{
			base:   c.weComBaseURL(),
			api:    api,
			method: http.MethodGet,
			path:   path,
			query: url.Values{
				tokenParam:   {token},
				"js_code":    {code},
				"grant_type": {"authorization_code"},
			},
			secrets: []string{token, code},
		}, &a)
	})
	if err != nil {
		return nil, err
	}
	if r := checkSessionKey(a.SessionKey); r != "" {
		return nil, invalidAnswer(api, r)
	}
	for _, f := range [...]struct{ name, v string }{{"corpid", a.CorpID}, {"userid", a.UserID}} {
		if r := checkID(f.name, f.v); r != "" {
			return nil, invalidAnswer(api, r)
		}
		if strings.Contains(f.v, "/") {
			// WeCom's ids have no slash; the stores rely on it (WeComKey).
			return nil, invalidAnswer(api, f.name+" holds a slash")
		}
	}
	if a.OpenUserID != "" {
		if r := checkID("open_userid", a.OpenUserID); r != "" {
			return nil, invalidAnswer(api, r)
		}
	}
	return &a, nil
}
