package wechat

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/wxlogin/wxlogin"
)

// WeCom third-party (suite) apps. WeCom pushes each suite's suite_ticket to
// the suite's callback URL every 10 minutes; with the suite secret it buys
// the suite_access_token (get_suite_token), which trades the mini
// program's wx.qy.login codes at service/miniprogram/jscode2session.
//
// The latest ticket and the token both live in the TokenCache, under keys
// of their own: the instance that received the push is seldom the one that
// needs a token next, and a shared cache (Redis) is what every instance
// already reads its tokens from, sealed. Put-if-newer keeps a late or
// replayed push from replacing a newer ticket.

// The names of the suite APIs in errors, logs and metrics.
const (
	APIWeComSuiteToken          = "wecom_get_suite_token"
	APIWeComSuiteJSCode2Session = "wecom_suite_jscode2session"
)

// SuiteTicketLifetime is how long WeCom accepts a suite_ticket after
// issuing it.
const SuiteTicketLifetime = 30 * time.Minute

// WeCom's errcodes of the suite APIs that Classify reads.
const (
	errSuiteTokenInvalid = 40082 // suite_access_token unknown
	errSuiteIDInvalid    = 40083 // suite_id unknown
	errSuiteTicket       = 40085 // suite_ticket unknown, expired or another suite's
	errSuiteTokenExpired = 42009 // suite_access_token expired
)

// WeComSuiteSession is what service/miniprogram/jscode2session gives for a
// wx.qy.login code of a suite app: the member's corp and userid (the
// identity), the provider's open_userid of the member, and the session_key.
type WeComSuiteSession struct {
	CorpID     string
	UserID     string
	OpenUserID string
	SessionKey wxlogin.Secret
}

// NoSuiteTicketError reports that no usable suite_ticket is at hand for a
// suite: none arrived yet (WeCom pushes one within 10 minutes of the
// callback URL being verified, and every 10 minutes after), the latest is
// older than SuiteTicketLifetime, or WeCom refused it (40085, in Err). It is
// classified KindUnavailable: the next push ends it, nothing on our side
// would.
type NoSuiteTicketError struct {
	SuiteID string
	Err     error // WeCom's refusal, if any
}

func (e *NoSuiteTicketError) Error() string {
	s := "wechat " + APIWeComSuiteToken + ": no usable suite_ticket for suite " + e.SuiteID
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *NoSuiteTicketError) Unwrap() error { return e.Err }

func suiteTicketKey(suiteID string) string { return "wecom_suite_ticket:" + suiteID }
func suiteTokenKey(suiteID string) string  { return "wecom_suite:" + suiteID }

func suiteOf(app wxlogin.App) (*wxlogin.WeComSuite, error) {
	if !app.IsWeComSuite() || app.Suite == nil || app.Suite.SuiteID == "" {
		return nil, errors.New("wechat: " + app.AppID + " is not a WeCom suite app")
	}
	return app.Suite, nil
}

// PutSuiteTicket keeps ticket, issued by WeCom at issued, as the suite's
// latest unless a newer one is kept already. It goes to the shared cache
// and to this process's own copy, for while the shared cache fails.
func (c *Client) PutSuiteTicket(ctx context.Context, app wxlogin.App, ticket wxlogin.Secret, issued time.Time) error {
	suite, err := suiteOf(app)
	if err != nil {
		return err
	}
	t := Token{Value: ticket, ExpiresAt: issued.Add(SuiteTicketLifetime)}
	key := suiteTicketKey(suite.SuiteID)
	c.defaultTokens.Put(ctx, key, t)
	if c.Tokens != nil {
		return c.Tokens.Put(ctx, key, t)
	}
	return nil
}

// SuiteTicket returns the suite's latest unexpired suite_ticket; ok is false
// when there is none.
func (c *Client) SuiteTicket(ctx context.Context, app wxlogin.App) (t Token, ok bool, err error) {
	suite, err := suiteOf(app)
	if err != nil {
		return Token{}, false, err
	}
	key := suiteTicketKey(suite.SuiteID)
	t, ok, err = c.tokens().Get(ctx, key)
	if err != nil {
		c.logger().WarnContext(ctx, "wechat token cache unreadable; using this process's suite_ticket", "suite_id", suite.SuiteID, "err", err)
		t, ok, _ = c.defaultTokens.Get(ctx, key)
	}
	if !ok || !c.now().Before(t.ExpiresAt) {
		return Token{}, false, nil
	}
	return t, true, nil
}

// SuiteTicketIssued returns when WeCom issued the suite's latest kept
// suite_ticket, expired or not, for as long as the cache holds it; ok is
// false when none is kept. Operators watch its age: WeCom pushes a ticket
// every 10 minutes, so one much older means pushes are not arriving.
func (c *Client) SuiteTicketIssued(ctx context.Context, app wxlogin.App) (issued time.Time, ok bool, err error) {
	suite, err := suiteOf(app)
	if err != nil {
		return time.Time{}, false, err
	}
	key := suiteTicketKey(suite.SuiteID)
	t, ok, err := c.tokens().Get(ctx, key)
	if err != nil {
		t, ok, _ = c.defaultTokens.Get(ctx, key)
	}
	if !ok {
		return time.Time{}, false, nil
	}
	return t.ExpiresAt.Add(-SuiteTicketLifetime), true, nil
}

type suiteTokenAnswer struct {
	envelope
	SuiteAccessToken string `json:"suite_access_token"`
	ExpiresIn        int64  `json:"expires_in"`
}

// GetSuiteAccessToken fetches the suite's suite_access_token from
// get_suite_token with the latest suite_ticket, uncached; prefer
// AccessToken, which caches it. Without a ticket, or when WeCom refuses
// the ticket (which is then forgotten), the error is a
// *NoSuiteTicketError.
func (c *Client) GetSuiteAccessToken(ctx context.Context, app wxlogin.App) (Token, error) {
	const api = APIWeComSuiteToken
	suite, err := suiteOf(app)
	if err != nil {
		return Token{}, err
	}
	ticket, ok, err := c.SuiteTicket(ctx, app)
	if err != nil {
		return Token{}, err
	}
	if !ok {
		return Token{}, &NoSuiteTicketError{SuiteID: suite.SuiteID}
	}
	issued := c.now()
	var a suiteTokenAnswer
	err = c.do(ctx, &call{
		base:   c.weComBaseURL(),
		api:    api,
		method: http.MethodPost,
		path:   "/cgi-bin/service/get_suite_token",
		body: struct {
			SuiteID     string `json:"suite_id"`
			SuiteSecret string `json:"suite_secret"`
			SuiteTicket string `json:"suite_ticket"`
		}{suite.SuiteID, app.Secret.Reveal(), ticket.Value.Reveal()},
		secrets:    []string{app.Secret.Reveal(), ticket.Value.Reveal()},
		repeatable: true,
	}, &a)
	var we *Error
	if errors.As(err, &we) && we.ErrCode == errSuiteTicket {
		// A ticket WeCom no longer takes is of no use to any instance;
		// unless a newer push replaced it meanwhile, drop it.
		key := suiteTicketKey(suite.SuiteID)
		c.defaultTokens.Delete(ctx, key, ticket.Value)
		if c.Tokens != nil {
			if derr := c.Tokens.Delete(ctx, key, ticket.Value); derr != nil {
				c.logger().WarnContext(ctx, "wechat token cache: dropping the refused suite_ticket failed", "suite_id", suite.SuiteID, "err", derr)
			}
		}
		return Token{}, &NoSuiteTicketError{SuiteID: suite.SuiteID, Err: err}
	}
	if err != nil {
		return Token{}, err
	}
	ta := tokenAnswer{AccessToken: a.SuiteAccessToken, ExpiresIn: a.ExpiresIn}
	return ta.token(api, issued)
}

// SuiteCode2Session trades a wx.qy.login code of a suite app at WeCom's
// service/miniprogram/jscode2session with the suite_access_token (cached;
// renewed once when WeCom calls it expired or unknown). The corpid is the
// installing corp of the member; the caller decides whether that corp may
// log in. A code works once, so a transport failure is not retried.
func (c *Client) SuiteCode2Session(ctx context.Context, app wxlogin.App, code string) (*WeComSuiteSession, error) {
	a, err := c.memberCode2Session(ctx, app, APIWeComSuiteJSCode2Session, "/cgi-bin/service/miniprogram/jscode2session", "suite_access_token", code)
	if err != nil {
		return nil, err
	}
	return &WeComSuiteSession{CorpID: a.CorpID, UserID: a.UserID, OpenUserID: a.OpenUserID,
		SessionKey: wxlogin.Secret(a.SessionKey)}, nil
}
