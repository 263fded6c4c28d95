package wechat

import (
	"context"
	"net/http"
	"net/url"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// apiPhoneNumber is getuserphonenumber's name in errors; Classify reads
// one of its errcodes differently from other APIs'.
const apiPhoneNumber = "getuserphonenumber"

// sigMethod is the only login-state signature method WeChat accepts.
const sigMethod = "hmac_sha256"

type sessionAnswer struct {
	envelope
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid"`
}

// emptyCode answers a call made without a code the way WeChat would
// (40029), without spending a request and a share of the quota on it.
func emptyCode(api string) error {
	return &Error{API: api, ErrCode: 40029, ErrMsg: "invalid code: empty (not sent to WeChat)"}
}

// Code2Session trades a wx.login code for the user's openid, session_key and,
// for apps bound to an Open Platform account, unionid. A code works once: on
// a transport failure the call is not repeated, because WeChat may have
// consumed the code already.
func (c *Client) Code2Session(ctx context.Context, app wxlogin.App, code string) (*Session, error) {
	const api = "jscode2session"
	if code == "" {
		return nil, emptyCode(api)
	}
	var a sessionAnswer
	err := c.do(ctx, &call{
		api:    api,
		method: http.MethodGet,
		path:   "/sns/jscode2session",
		query: url.Values{
			"appid":      {app.AppID},
			"secret":     {app.Secret.Reveal()},
			"js_code":    {code},
			"grant_type": {"authorization_code"},
		},
		secrets: []string{app.Secret.Reveal(), code},
	}, &a)
	if err != nil {
		return nil, err
	}
	if err := a.check(api, true); err != nil {
		return nil, err
	}
	return &Session{OpenID: a.OpenID, UnionID: a.UnionID, SessionKey: wxlogin.Secret(a.SessionKey)}, nil
}

// check refuses a session answer WeChat cannot have sent: a session_key
// that is not base64 of 16 bytes, an openid (needed unless optional) or a
// unionid (always optional) that cannot be an id.
func (a *sessionAnswer) check(api string, needOpenID bool) error {
	if r := checkSessionKey(a.SessionKey); r != "" {
		return invalidAnswer(api, r)
	}
	if needOpenID || a.OpenID != "" {
		if r := checkID("openid", a.OpenID); r != "" {
			return invalidAnswer(api, r)
		}
	}
	if a.UnionID != "" {
		if r := checkID("unionid", a.UnionID); r != "" {
			return invalidAnswer(api, r)
		}
	}
	return nil
}

// loginStateQuery is the query of checksession and resetusersessionkey; the
// signature proves we hold the session_key without sending it.
func loginStateQuery(token, openid, signature string) url.Values {
	return url.Values{
		"access_token": {token},
		"openid":       {openid},
		"signature":    {signature},
		"sig_method":   {sigMethod},
	}
}

// CheckSessionKey asks WeChat whether sessionKey is still the user's current
// session_key. nil means it is; an error classified KindSignature (87009)
// means it is not, because a later wx.login rotated it.
func (c *Client) CheckSessionKey(ctx context.Context, app wxlogin.App, openid string, sessionKey wxlogin.Secret) error {
	const api = "checksession"
	signature := wxcrypt.LoginStateSignature(sessionKey.Reveal(), "")
	return c.withAccessToken(ctx, app, api, func(token string) error {
		var a envelope
		return c.do(ctx, &call{
			api:        api,
			method:     http.MethodGet,
			path:       "/wxa/checksession",
			query:      loginStateQuery(token, openid, signature),
			secrets:    []string{token, signature, sessionKey.Reveal()},
			repeatable: true,
		}, &a)
	})
}

// ResetUserSessionKey makes WeChat replace the user's session_key, proving
// possession of the current one, and returns the new one. UnionID is not
// part of WeChat's answer and stays empty.
func (c *Client) ResetUserSessionKey(ctx context.Context, app wxlogin.App, openid string, sessionKey wxlogin.Secret) (*Session, error) {
	const api = "resetusersessionkey"
	signature := wxcrypt.LoginStateSignature(sessionKey.Reveal(), "")
	var a sessionAnswer
	err := c.withAccessToken(ctx, app, api, func(token string) error {
		return c.do(ctx, &call{
			api:     api,
			method:  http.MethodGet,
			path:    "/wxa/resetusersessionkey",
			query:   loginStateQuery(token, openid, signature),
			secrets: []string{token, signature, sessionKey.Reveal()},
		}, &a)
	})
	if err != nil {
		return nil, err
	}
	if err := a.check(api, false); err != nil {
		return nil, err
	}
	if a.OpenID == "" {
		a.OpenID = openid
	}
	return &Session{OpenID: a.OpenID, SessionKey: wxlogin.Secret(a.SessionKey)}, nil
}

type phoneAnswer struct {
	envelope
	PhoneInfo *PhoneInfo `json:"phone_info"`
}

// PhoneNumber trades the one-time code of a getPhoneNumber button for the
// user's phone number. openid is optional; WeChat uses it to check that the
// code belongs to that user. A wx.login code is not a phone code: WeChat
// answers 40029 (KindCodeInvalid).
func (c *Client) PhoneNumber(ctx context.Context, app wxlogin.App, code, openid string) (*PhoneInfo, error) {
	const api = apiPhoneNumber
	if code == "" {
		return nil, emptyCode(api)
	}
	body := struct {
		Code   string `json:"code"`
		OpenID string `json:"openid,omitempty"`
	}{code, openid}
	var a phoneAnswer
	err := c.withAccessToken(ctx, app, api, func(token string) error {
		return c.do(ctx, &call{
			api:     api,
			method:  http.MethodPost,
			path:    "/wxa/business/getuserphonenumber",
			query:   url.Values{"access_token": {token}},
			body:    body,
			secrets: []string{token, code},
		}, &a)
	})
	if err != nil {
		return nil, err
	}
	if a.PhoneInfo == nil || a.PhoneInfo.PhoneNumber == "" {
		return nil, invalidAnswer(api, "phone_info or its phoneNumber is missing")
	}
	for _, f := range [...]struct{ name, v string }{
		{"phoneNumber", a.PhoneInfo.PhoneNumber}, {"purePhoneNumber", a.PhoneInfo.PurePhoneNumber}, {"countryCode", a.PhoneInfo.CountryCode},
	} {
		if f.v != "" {
			if r := checkID(f.name, f.v); r != "" {
				return nil, invalidAnswer(api, r)
			}
		}
	}
	return a.PhoneInfo, nil
}

type unionIDAnswer struct {
	envelope
	UnionID string `json:"unionid"`
}

// PaidUnionID returns the unionid of a user who paid in the mini program,
// without the user having authorized it. transactionID (a WeChat Pay order)
// is optional: without it WeChat looks for a payment in the last 5 minutes.
func (c *Client) PaidUnionID(ctx context.Context, app wxlogin.App, openid, transactionID string) (string, error) {
	const api = "getpaidunionid"
	var a unionIDAnswer
	err := c.withAccessToken(ctx, app, api, func(token string) error {
		q := url.Values{"access_token": {token}, "openid": {openid}}
		if transactionID != "" {
			q.Set("transaction_id", transactionID)
		}
		return c.do(ctx, &call{
			api:        api,
			method:     http.MethodGet,
			path:       "/wxa/getpaidunionid",
			query:      q,
			secrets:    []string{token},
			repeatable: true,
		}, &a)
	})
	if err != nil {
		return "", err
	}
	if r := checkID("unionid", a.UnionID); r != "" {
		return "", invalidAnswer(api, r)
	}
	return a.UnionID, nil
}
