package adminclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Config configures a Client.
type Config struct {
	// URL is where wxlogin's API is served, such as
	// "http://127.0.0.1:8080", with the path prefix it is mounted under
	// if any.
	URL string
	// Token is the server's admin token (WXLOGIN_ADMIN_TOKEN).
	Token wxlogin.Secret
	// HTTPClient sends the requests; nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
}

// Client calls the admin API of one wxlogin server. It is safe for
// concurrent use.
type Client struct {
	base  string
	token wxlogin.Secret
	http  *http.Client
}

// New returns a Client of the server at cfg.URL.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("adminclient: Config.URL must be an http or https URL without query, such as http://127.0.0.1:8080")
	}
	if cfg.Token == "" {
		return nil, errors.New("adminclient: Config.Token is empty")
	}
	c := &Client{base: strings.TrimSuffix(u.String(), "/"), token: cfg.Token, http: cfg.HTTPClient}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	return c, nil
}

// User is a user with everything stored about them.
type User struct {
	ID    string
	AppID string
	// OpenID is the user in a WeChat app; "" for a member of a WeCom
	// app, whom CorpID and WeComUserID name instead.
	OpenID      string
	CorpID      string // WeCom apps only: the member's corp
	WeComUserID string // WeCom apps only: the member's userid in CorpID
	// OpenUserID is a WeCom suite member's open_userid: the service
	// provider's id of the member, the same in all the provider's apps.
	OpenUserID string
	UnionID    string // "" when WeChat gave none
	// AccountID is the person's account: the users with the same unionid
	// in apps of one Open Platform account share it (AccountUsers).
	AccountID string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Profile is what to show for the user: what they filled in, or
	// their classic user info.
	Profile Profile
	// UserInfo is the decrypted classic user info in WeChat's field
	// names; nil when none was sent.
	UserInfo json.RawMessage
	// Phone is nil until the user gave their phone number.
	Phone *wxlogin.Phone
}

// Profile is what to show for a user.
type Profile struct {
	Nickname string
	// AvatarURL is "" when the user has no avatar. An uploaded avatar's
	// URL is a path on the server (/v1/avatars/…).
	AvatarURL string
	// Source is where Nickname and AvatarURL come from: filled_in,
	// user_info, mixed or none.
	Source    string
	UpdatedAt time.Time // zero when the user never filled in a profile
}

// Session is one login of a user.
type Session struct {
	ID         string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	UserAgent  string
	IP         string
}

// AccessToken is an app's WeChat access token as wxlogin caches it.
type AccessToken struct {
	Value     wxlogin.Secret
	ExpiresAt time.Time
}

// FindUsers returns the users matching f, oldest first; an empty filter
// matches every user, up to f.Limit (the server's default 100, at most
// 1000).
func (c *Client) FindUsers(ctx context.Context, f wxlogin.UserFilter) ([]User, error) {
	return c.findUsers(ctx, url.Values{}, f.AppID, f.OpenID, f.UnionID, f.Limit)
}

// MemberFilter names one member of a WeCom corp.
type MemberFilter struct {
	CorpID string
	UserID string // the member's userid in CorpID
	AppID  string // "": the member in every WeCom app of the corp
}

// FindMember returns the users of the WeCom member f names, one per WeCom
// app of the corp (or the one of f.AppID). Both CorpID and UserID are
// needed: a userid names a member only inside its corp.
func (c *Client) FindMember(ctx context.Context, f MemberFilter) ([]User, error) {
	if f.CorpID == "" || f.UserID == "" {
		return nil, wxlogin.Errorf(wxlogin.EInvalidRequest, "adminclient: MemberFilter needs both CorpID and UserID")
	}
	q := url.Values{"corpid": {f.CorpID}, "userid": {f.UserID}}
	return c.findUsers(ctx, q, f.AppID, "", "", 0)
}

// AccountUsers returns the identities of one person: the users of the
// apps of one Open Platform account that share the person's unionid,
// oldest first. accountID is the "acc_…" id GET /v1/me shows the user.
// An account that does not exist has no users: the answer is empty, not
// an error.
func (c *Client) AccountUsers(ctx context.Context, accountID string) ([]User, error) {
	if accountID == "" {
		return nil, wxlogin.Errorf(wxlogin.EInvalidRequest, "adminclient: the account id is empty")
	}
	return c.findUsers(ctx, url.Values{"account_id": {accountID}}, "", "", "", 0)
}

func (c *Client) findUsers(ctx context.Context, q url.Values, appid, openid, unionid string, limit int) ([]User, error) {
	for k, v := range map[string]string{"appid": appid, "openid": openid, "unionid": unionid} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/admin/users"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		Users []userJSON `json:"users"`
	}
	if err := c.do(ctx, http.MethodGet, path, &out); err != nil {
		return nil, err
	}
	users := make([]User, 0, len(out.Users))
	for _, u := range out.Users {
		users = append(users, u.user())
	}
	return users, nil
}

// User returns the user with id; an error matching wxlogin.ErrNotFound
// when there is none.
func (c *Client) User(ctx context.Context, id string) (User, error) {
	var u userJSON
	if err := c.do(ctx, http.MethodGet, "/v1/admin/users/"+url.PathEscape(id), &u); err != nil {
		return User{}, err
	}
	return u.user(), nil
}

// Sessions returns the live sessions of the user with id.
func (c *Client) Sessions(ctx context.Context, userID string) ([]Session, error) {
	var out struct {
		Sessions []sessionJSON `json:"sessions"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/admin/users/"+url.PathEscape(userID)+"/sessions", &out); err != nil {
		return nil, err
	}
	list := make([]Session, 0, len(out.Sessions))
	for _, s := range out.Sessions {
		list = append(list, Session(s))
	}
	return list, nil
}

// RevokeSessions ends every session of the user: their tokens fail at
// once on every instance that hears of revocations.
func (c *Client) RevokeSessions(ctx context.Context, userID string) error {
	return c.do(ctx, http.MethodDelete, "/v1/admin/users/"+url.PathEscape(userID)+"/sessions", nil)
}

// RevokeSession ends one session.
func (c *Client) RevokeSession(ctx context.Context, sessionID string) error {
	return c.do(ctx, http.MethodDelete, "/v1/admin/sessions/"+url.PathEscape(sessionID), nil)
}

// EraseUser erases the user and everything of theirs (sessions, user
// info, phone, avatar). It cannot be undone.
func (c *Client) EraseUser(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/admin/users/"+url.PathEscape(id), nil)
}

// EraseAccount erases every identity of the person whose user has id:
// each user of the account, with everything of theirs. It cannot be
// undone. A user linked to nobody is erased alone, as EraseUser would.
func (c *Client) EraseAccount(ctx context.Context, userID string) error {
	return c.do(ctx, http.MethodDelete, "/v1/admin/users/"+url.PathEscape(userID)+"?scope=account", nil)
}

// AccessToken returns the app's cached WeChat access token, so that the
// app's other backends use it rather than fetch their own, which would
// invalidate wxlogin's.
func (c *Client) AccessToken(ctx context.Context, appid string) (AccessToken, error) {
	var out struct {
		AccessToken string    `json:"access_token"`
		ExpiresAt   time.Time `json:"expires_at"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/admin/apps/"+url.PathEscape(appid)+"/access_token", &out); err != nil {
		return AccessToken{}, err
	}
	return AccessToken{Value: wxlogin.Secret(out.AccessToken), ExpiresAt: out.ExpiresAt}, nil
}

// RotateKeys re-seals every stored value under the server's primary
// master key and returns how many were re-sealed; afterwards an older
// master key can be dropped from the configuration.
func (c *Client) RotateKeys(ctx context.Context) (resealed int, err error) {
	var out struct {
		Resealed int `json:"resealed"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/admin/rotate-key", &out); err != nil {
		return 0, err
	}
	return out.Resealed, nil
}

// maxAnswer bounds what is read of one answer: a thousand users with
// their user info fit well inside.
const maxAnswer = 16 << 20

// do sends one request and decodes a 2xx JSON answer into out (nil for
// answers without a body).
func (c *Client) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("adminclient: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		// A *url.Error prints the whole URL, whose query holds openids
		// and unionids: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("adminclient: %s %s: %w", method, routeOf(path), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("adminclient: %s %s: reading the answer: %w", method, routeOf(path), err)
	}
	if resp.StatusCode/100 != 2 {
		return answerError(resp, body)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("adminclient: %s %s: the answer is not the expected JSON: %w", method, routeOf(path), err)
	}
	return nil
}

// answerError turns wxlogin's error envelope into a *wxlogin.Error, so
// that callers match codes as wxlogin's own packages do.
func answerError(resp *http.Response, body []byte) error {
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil || env.Error.Code == "" {
		return &wxlogin.Error{Code: wxlogin.EInternal, Message: fmt.Sprintf("HTTP %d without wxlogin's error body: is Config.URL a wxlogin server?", resp.StatusCode)}
	}
	e := &wxlogin.Error{Code: env.Error.Code, Message: env.Error.Message}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

// routeOf is a path without its query, for error messages: a query holds
// openids and unionids.
func routeOf(path string) string {
	p, _, _ := strings.Cut(path, "?")
	return p
}

type userJSON struct {
	ID        string    `json:"id"`
	AppID     string    `json:"appid"`
	OpenID    string    `json:"openid"`
	CorpID    string    `json:"corpid"`
	UserID    string    `json:"userid"`
	OpenUser  string    `json:"open_userid"`
	UnionID   string    `json:"unionid"`
	AccountID string    `json:"account_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Profile   struct {
		Nickname  string     `json:"nickname"`
		AvatarURL *string    `json:"avatar_url"`
		Source    string     `json:"source"`
		UpdatedAt *time.Time `json:"updated_at"`
	} `json:"profile"`
	UserInfo json.RawMessage `json:"user_info"`
	Phone    *wxlogin.Phone  `json:"phone"`
}

func (u userJSON) user() User {
	out := User{
		ID: u.ID, AppID: u.AppID, OpenID: u.OpenID, CorpID: u.CorpID, WeComUserID: u.UserID, OpenUserID: u.OpenUser, UnionID: u.UnionID,
		AccountID: u.AccountID, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		UserInfo: u.UserInfo, Phone: u.Phone,
		Profile: Profile{Nickname: u.Profile.Nickname, Source: u.Profile.Source},
	}
	if u.Profile.AvatarURL != nil {
		out.Profile.AvatarURL = *u.Profile.AvatarURL
	}
	if u.Profile.UpdatedAt != nil {
		out.Profile.UpdatedAt = *u.Profile.UpdatedAt
	}
	return out
}

// sessionJSON has Session's fields in the same order, so one converts to
// the other; "current" is always false in the admin view and left out.
type sessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
}
