package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// The access tokens of both endpoints: cgi-bin/token, which replaces the
// app's token on every call, and stable_token, which hands every caller the
// same one.

// tokenLocked returns the app of a valid access token.
func (e *Emulator) tokenLocked(q url.Values, now time.Time) (*app, *wxError) {
	v := q.Get("access_token")
	if v == "" {
		return nil, errc(41001)
	}
	t := e.tokens[v]
	switch {
	case t == nil || t.app == nil: // a WeCom token is not WeChat's
		return nil, errc(40001)
	case !now.Before(t.expires):
		return nil, errc(42001)
	case !t.deadAt.IsZero() && !now.Before(t.deadAt):
		return nil, errc(40001)
	}
	return t.app, nil
}

// issueTokenLocked creates a new access token for a, forgetting tokens long
// dead so a dev session does not grow without bound.
func (e *Emulator) issueTokenLocked(a *app, stable bool, now time.Time) *token {
	if len(e.tokens) >= 1024 {
		for k, t := range e.tokens {
			if now.After(t.expires) || !t.deadAt.IsZero() && now.After(t.deadAt) {
				delete(e.tokens, k)
			}
		}
	}
	t := &token{app: a, stable: stable, expires: now.Add(e.tokenLifetime())}
	for {
		t.value = randomString(136, alnum+"_-")
		if _, dup := e.tokens[t.value]; !dup {
			break
		}
	}
	e.tokens[t.value] = t
	return t
}

// retire makes t stop working at the latest at deadline.
func (t *token) retire(deadline time.Time) {
	if t == nil {
		return
	}
	if t.deadAt.IsZero() || deadline.Before(t.deadAt) {
		t.deadAt = deadline
	}
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

func expiresIn(t *token, now time.Time) int64 {
	return int64(t.expires.Sub(now) / time.Second)
}

// cgiToken is getAccessToken: GET /cgi-bin/token. Every call issues a new
// token; the previous one keeps working for TokenGrace.
func (e *Emulator) cgiToken(r *http.Request, _ []byte, now time.Time) (any, *wxError) {
	q := r.URL.Query()
	if q.Get("grant_type") != "client_credential" {
		return nil, errc(40002)
	}
	a, werr := e.appLocked(q.Get("appid"), q.Get("secret"))
	if werr != nil {
		return nil, werr
	}
	a.cgiToken.retire(now.Add(e.tokenGrace()))
	a.cgiToken = e.issueTokenLocked(a, false, now)
	return tokenResponse{a.cgiToken.value, expiresIn(a.cgiToken, now)}, nil
}

// Limits of stable_token's force_refresh.
const (
	forceRefreshPerDay   = 20
	forceRefreshInterval = 30 * time.Second
	stableRenewBefore    = 5 * time.Minute
)

// stableToken is getStableAccessToken: POST /cgi-bin/stable_token. Without
// force_refresh it returns the same token until stableRenewBefore its
// expiry, then a new one (the old one lives on until it expires). A force
// refresh, at most 20 a day and 30 s apart (45009 and 45011 otherwise),
// issues a new token and kills the previous one at once.
func (e *Emulator) stableToken(_ *http.Request, body []byte, now time.Time) (any, *wxError) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errc(44002)
	}
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if json.Unmarshal(body, &req) != nil {
		return nil, errc(47001)
	}
	if req.GrantType != "client_credential" {
		return nil, errc(40002)
	}
	a, werr := e.appLocked(req.AppID, req.Secret)
	if werr != nil {
		return nil, werr
	}
	cur := a.stableToken
	if req.ForceRefresh {
		day := now.In(beijing).Format(time.DateOnly)
		if day != a.forceDay {
			a.forceDay, a.forceCount = day, 0
		}
		if a.forceCount >= forceRefreshPerDay {
			return nil, errc(45009)
		}
		if !a.forceLast.IsZero() && now.Sub(a.forceLast) < forceRefreshInterval {
			return nil, errc(45011)
		}
		a.forceCount++
		a.forceLast = now
		cur.retire(now)
	} else if cur != nil && now.Before(cur.expires.Add(-stableRenewBefore)) && cur.deadAt.IsZero() {
		return tokenResponse{cur.value, expiresIn(cur, now)}, nil
	}
	a.stableToken = e.issueTokenLocked(a, true, now)
	return tokenResponse{a.stableToken.value, expiresIn(a.stableToken, now)}, nil
}
