package auth

// This file holds the session policies and the session_key checker: with
// PolicyWeChat a session lives while WeChat's session_key for it is valid.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// The session policies (SessionPolicy.Mode).
const (
	// PolicyOwn: a session lives by wxlogin's idle and absolute timeouts
	// alone, whatever becomes of its session_key on WeChat's side.
	PolicyOwn = "own"
	// PolicyWeChat: beside those timeouts, a session ends when WeChat says
	// its user's session_key is no longer valid.
	PolicyWeChat = "wechat"
)

// SessionPolicy is how long one app's sessions live beside the idle and
// absolute timeouts, which apply under every policy.
//
// Under PolicyWeChat a background checker asks WeChat's checksession about
// each recently verified session's session_key at most once per
// CheckInterval, within CheckRate calls a second for the app, most
// recently active sessions first. It never runs on the verification path:
// Verify stays a memory lookup. WeChat's "invalid signature" (87009) ends
// the session as a logout does; any other failure (WeChat down, busy, over
// quota, a token trouble) keeps it, to be checked again an interval later.
//
// Every wx.login gives the user a new session_key and kills the previous
// one, and 87009 cannot tell a rotated key from an expired one. So before
// it ends a session the checker also asks about every other key it holds
// for the user (their other sessions: a second device, or a code the SDK
// handed over with Service.UpdateSessionKey) and keeps the session, taking
// that key, when one of them is valid; and it ends nothing whose key was
// replaced while it asked. A key the server never saw (a wx.login whose
// code was not handed over) cannot be told from an expired one: such a
// session ends, and its client logs in again.
//
// The checker finds sessions through the verification cache, so with the
// cache off (Config.CacheSize negative) nothing is checked.
type SessionPolicy struct {
	Mode string // PolicyOwn ("" too) or PolicyWeChat
	// CheckInterval is the least time between two checks of one session's
	// key; default 30 minutes.
	CheckInterval time.Duration
	// CheckRate is how many checksession calls a second the app may make,
	// taken from the Service's RateLimiter (so one shared by several
	// instances makes it their total); default 10, burst one second's worth.
	CheckRate float64
}

// Defaults of SessionPolicy and Config.KeyCheckEvery.
const (
	DefaultKeyCheckInterval = 30 * time.Minute
	DefaultKeyCheckRate     = 10.0
	DefaultKeyCheckEvery    = time.Second
)

// SessionKeyChecker is what the wechat policy needs of WeChat:
// checksession. *wechat.Client implements it; Config.WeChat must too when
// an app has PolicyWeChat.
type SessionKeyChecker interface {
	CheckSessionKey(ctx context.Context, app wxlogin.App, openid string, sessionKey wxlogin.Secret) error
}

var _ SessionKeyChecker = (*wechat.Client)(nil)

// validatePolicies checks the policies against the configured apps.
func validatePolicies(policies map[string]SessionPolicy, apps map[string]wxlogin.AppKind) error {
	for appid, p := range policies {
		setting := "SessionPolicies[" + appid + "]"
		bad := func(field, format string, args ...any) error {
			return &ConfigError{Setting: setting + field, Problem: fmt.Sprintf(format, args...)}
		}
		switch {
		case apps[appid] == "":
			return bad("", "names an app that is not configured")
		case p.Mode == PolicyWeChat && apps[appid] != wxlogin.KindMiniProgram:
			// WeCom and web sessions hold no key WeChat's checksession knows.
			return bad(".Mode", "the wechat policy is for WeChat mini programs; %q is of kind %s", appid, apps[appid])
		case p.Mode != "" && p.Mode != PolicyOwn && p.Mode != PolicyWeChat:
			return bad(".Mode", "%q is neither %q nor %q", p.Mode, PolicyOwn, PolicyWeChat)
		case p.CheckInterval < 0:
			return bad(".CheckInterval", "%v is negative", p.CheckInterval)
		case math.IsNaN(p.CheckRate) || math.IsInf(p.CheckRate, 0) || p.CheckRate < 0:
			return bad(".CheckRate", "%v is not a number of calls per second", p.CheckRate)
		}
	}
	return nil
}

// resolvePolicies keeps the PolicyWeChat apps, with defaults filled in.
func resolvePolicies(policies map[string]SessionPolicy) map[string]SessionPolicy {
	out := make(map[string]SessionPolicy)
	for appid, p := range policies {
		if p.Mode != PolicyWeChat {
			continue
		}
		p.CheckInterval = orDefault(p.CheckInterval, DefaultKeyCheckInterval)
		if p.CheckRate == 0 {
			p.CheckRate = DefaultKeyCheckRate
		}
		out[appid] = p
	}
	return out
}

// SessionPolicy returns the policy in force for appid: PolicyOwn or
// PolicyWeChat.
func (s *Service) SessionPolicy(appid string) string {
	if _, ok := s.live().policies[appid]; ok {
		return PolicyWeChat
	}
	return PolicyOwn
}

// UpdateSessionKey trades a fresh wx.login code of the principal's user
// for the user's new session_key and keeps it on the session. Under
// PolicyWeChat the SDK hands over every code it takes this way at once:
// the wx.login that made it killed the key the session held, and the
// checker must ask WeChat about the newest key. Errors: ESessionInvalid,
// EInvalidRequest (a missing code, or one of another user), EInvalidCode,
// EUpstreamUnavailable, EStoreUnavailable.
func (s *Service) UpdateSessionKey(ctx context.Context, p wxlogin.Principal, code string) error {
	app, err := s.principalApp(p)
	if err != nil {
		return err
	}
	if err := checkCode("code", code); err != nil {
		return err
	}
	// As with a payload's login_code, the requester is the session: its
	// own retry shares the exchange, nobody else's use of the code does.
	ws, _, err := s.exchange(ctx, app, code, Client{IP: "session " + p.SessionID})
	if err != nil {
		return err
	}
	if ws.OpenID != p.OpenID {
		s.log.WarnContext(ctx, "auth: a code of another user handed to a session", "session_id", p.SessionID)
		return wxlogin.Errorf(wxlogin.EInvalidRequest, "the code belongs to another user than this session's")
	}
	if err := s.sessions.SetSessionKey(ctx, p.SessionID, s.live().keys.Seal([]byte(ws.SessionKey.Reveal()))); err != nil {
		if errors.Is(err, wxlogin.ErrNotFound) {
			return errSessionInvalid()
		}
		return s.storeFailed(err)
	}
	s.log.InfoContext(ctx, "auth: session key updated from a handed code", "session_id", p.SessionID, "user_id", p.UserID)
	return nil
}

// KeyCheckStats counts the key checker's work since the service started.
type KeyCheckStats struct {
	Checked uint64 // sessions whose key was asked about
	Valid   uint64 // of them: the key (or a newer one of the user) is valid
	Ended   uint64 // of them: ended, no key of the user valid
	Kept    uint64 // of them: kept because WeChat failed otherwise, the budget ran out, or the key changed meanwhile
	Calls   uint64 // checksession calls made
}

type keyCheckCounters struct{ checked, valid, ended, kept, calls atomic.Uint64 }

// KeyCheckStats returns the key checker's counters.
func (s *Service) KeyCheckStats() KeyCheckStats {
	c := &s.keyCounts
	return KeyCheckStats{Checked: c.checked.Load(), Valid: c.valid.Load(), Ended: c.ended.Load(),
		Kept: c.kept.Load(), Calls: c.calls.Load()}
}

// startKeyChecks starts the checker's goroutine unless every is negative
// or the WeChat client cannot check keys. It runs whether or not an app
// has PolicyWeChat now, since a reload may give one the policy.
func (s *Service) startKeyChecks(w WeChat, every time.Duration) {
	s.keyChecksStopped = make(chan struct{})
	kc, ok := w.(SessionKeyChecker)
	if ok {
		s.keyChecker = kc
	}
	if !ok || every < 0 {
		close(s.keyChecksStopped)
		return
	}
	go func() {
		defer close(s.keyChecksStopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.checkKeys(s.sweepCtx)
			}
		}
	}()
}

// keyCheckTimeout bounds one checksession call (its retries included).
const keyCheckTimeout = 5 * time.Second

// checkKeys is one round of the checker. It works through a list of the
// cached sessions of PolicyWeChat apps that were due a check, most recently
// active first, as far as each app's budget allows; what is left waits for
// the next round. Only once the list is done does it walk the verification
// cache again, and at most every tenth of the shortest check interval: a
// walk of 100,000 entries takes tens of milliseconds of a core, and a check
// may start that much later without harm. The cache is what knows recent
// use without a write on the hot path, so sessions nobody verified since
// this instance started are checked once they are used again.
func (s *Service) checkKeys(ctx context.Context) {
	if !s.keyRound.TryLock() {
		return
	}
	defer s.keyRound.Unlock()
	live := s.live()
	if len(live.policies) == 0 || s.keyChecker == nil {
		s.keyPending = nil
		return
	}
	now := s.now()
	due := func(appid string, keyChecked int64) bool {
		p, ok := live.policies[appid]
		return ok && now.Sub(time.Unix(0, keyChecked)) >= p.CheckInterval
	}
	if len(s.keyPending) == 0 {
		if now.Sub(s.keyScanned) < scanEvery(live.policies) {
			return
		}
		s.keyScanned = now
		s.keyPending = s.cache.keyScan(s.keyPending, due)
		slices.SortFunc(s.keyPending, func(a, b keyRef) int {
			return -cmpInt64(a.lastSeen, b.lastSeen)
		})
	}
	spent := make(map[string]bool) // apps whose budget ran out this round
	held := make(map[string]bool)  // apps holding a budget token no check has used yet
	rest := s.keyPending[:0]
	var e entry
	for i, r := range s.keyPending {
		if ctx.Err() != nil {
			rest = append(rest, s.keyPending[i:]...)
			break
		}
		// A session removed from the cache since the walk (revoked,
		// expired, evicted) is left alone.
		if !s.cache.keyEntry(r, &e) {
			continue
		}
		appid := e.principal.AppID
		if !due(appid, e.keyChecked) {
			continue
		}
		if spent[appid] {
			rest = append(rest, r)
			continue
		}
		p := live.policies[appid]
		// The budget token comes first and is held until a check uses it,
		// so a session another instance checked costs no call, and one
		// left unchecked for want of budget stays due for the next round.
		if !held[appid] {
			if !s.keyCallAllowed(ctx, appid, p, now) {
				spent[appid] = true
				rest = append(rest, r)
				continue
			}
			held[appid] = true
		}
		// The claim makes one instance of many do the check: a shared
		// RateLimiter grants it to the first that asks in each interval.
		// Each instance asks once per interval per session (keyChecked),
		// whoever wins.
		s.cache.setKeyChecked(&e, now.UnixNano())
		claim := Limit{Rate: 1 / p.CheckInterval.Seconds(), Burst: 1}
		if ok, _, err := s.buckets.Allow(ctx, "keycheck_session:"+e.principal.SessionID, claim, now); err == nil && !ok {
			continue
		}
		held[appid] = false
		s.checkSessionKey(ctx, live, &e, p, now)
	}
	s.keyPending = rest
}

// scanEvery is how often the checker walks the cache for due sessions: a
// tenth of the shortest check interval.
func scanEvery(policies map[string]SessionPolicy) time.Duration {
	shortest := time.Duration(math.MaxInt64)
	for _, p := range policies {
		shortest = min(shortest, p.CheckInterval)
	}
	return shortest / 10
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// keyCallAllowed takes one checksession call from the app's budget. A
// limiter that fails admits, as every limit does.
func (s *Service) keyCallAllowed(ctx context.Context, appid string, p SessionPolicy, now time.Time) bool {
	budget := Limit{Rate: p.CheckRate, Burst: max(1, int(math.Ceil(p.CheckRate)))}
	ok, _, err := s.buckets.Allow(ctx, "keycheck_app:"+appid, budget, now)
	if err != nil {
		s.log.WarnContext(ctx, "auth: rate limiter failed; admitting the key check", "appid", appid, "err", err)
		return true
	}
	return ok
}

// keyVerdict is what WeChat said of one key.
type keyVerdict int

const (
	keyValid   keyVerdict = iota
	keyInvalid            // 87009: not the user's valid key
	keyUnknown            // any other failure: nothing learnt
)

// askWeChat asks checksession about key.
func (s *Service) askWeChat(ctx context.Context, app wxlogin.App, openid string, key []byte) (keyVerdict, error) {
	ctx, cancel := context.WithTimeout(ctx, keyCheckTimeout)
	defer cancel()
	s.keyCounts.calls.Add(1)
	err := s.keyChecker.CheckSessionKey(ctx, app, openid, wxlogin.Secret(key))
	switch {
	case err == nil:
		return keyValid, nil
	case wechat.Classify(err) == wechat.KindSignature:
		return keyInvalid, nil
	}
	return keyUnknown, err
}

// checkSessionKey checks the key of e's session and ends the session when
// no key of its user that the server holds is valid.
func (s *Service) checkSessionKey(ctx context.Context, live *liveSettings, e *entry, p SessionPolicy, now time.Time) {
	s.keyCounts.checked.Add(1)
	id := e.principal.SessionID
	app, ok := live.appByID[e.principal.AppID]
	if !ok {
		return
	}
	sess, err := s.sessions.Session(ctx, id)
	if errors.Is(err, wxlogin.ErrNotFound) {
		s.cache.drop(e) // revoked elsewhere
		return
	}
	if err != nil {
		s.log.WarnContext(ctx, "auth: key check: reading the session failed", "session_id", id, "err", err)
		s.keyCounts.kept.Add(1)
		return
	}
	key, err := live.keys.Open(sess.SealedSessionKey)
	if err != nil {
		s.log.ErrorContext(ctx, "auth: key check: cannot open the session's sealed session_key", "session_id", id, "err", err)
		s.keyCounts.kept.Add(1)
		return
	}
	verdict, err := s.askWeChat(ctx, app, sess.OpenID, key)
	switch verdict {
	case keyValid:
		s.keyCounts.valid.Add(1)
		return
	case keyUnknown:
		// WeChat being down, busy or refusing our token logs nobody out.
		s.log.WarnContext(ctx, "auth: key check: WeChat failed; keeping the session, checking again later",
			"appid", app.AppID, "session_id", id, "kind", wechat.Classify(err).String(), "err", err)
		s.keyCounts.kept.Add(1)
		return
	}

	// 87009: this key is dead. Rotated or expired? Ask about every other
	// key the server holds for the user; WeChat keeps one valid at a time.
	siblings, err := s.sessions.UserSessions(ctx, sess.UserID)
	if err != nil {
		s.log.WarnContext(ctx, "auth: key check: listing the user's sessions failed", "session_id", id, "err", err)
		s.keyCounts.kept.Add(1)
		return
	}
	asked := [][]byte{key}
	for _, o := range siblings {
		if o.ID == id {
			if !bytes.Equal(o.SealedSessionKey, sess.SealedSessionKey) {
				// A newer key arrived while WeChat was asked: it decides,
				// at the next check.
				s.keyCounts.kept.Add(1)
				return
			}
			continue
		}
		other, err := live.keys.Open(o.SealedSessionKey)
		if err != nil || slices.ContainsFunc(asked, func(k []byte) bool { return bytes.Equal(k, other) }) {
			continue
		}
		asked = append(asked, other)
		if !s.keyCallAllowed(ctx, app.AppID, p, now) {
			s.keyCounts.kept.Add(1)
			return
		}
		verdict, err := s.askWeChat(ctx, app, sess.OpenID, other)
		switch verdict {
		case keyUnknown:
			s.log.WarnContext(ctx, "auth: key check: WeChat failed; keeping the session, checking again later",
				"appid", app.AppID, "session_id", id, "kind", wechat.Classify(err).String(), "err", err)
			s.keyCounts.kept.Add(1)
			return
		case keyValid:
			// The user logged in elsewhere (or handed a code to another
			// session): that key is theirs now, and this session's too.
			if err := s.sessions.SetSessionKey(ctx, id, live.keys.Seal(other)); err != nil && !errors.Is(err, wxlogin.ErrNotFound) {
				s.log.WarnContext(ctx, "auth: key check: keeping the user's newer key on the session failed", "session_id", id, "err", err)
			}
			s.keyCounts.valid.Add(1)
			return
		}
	}

	// No key of the user that the server holds is valid. Read the session
	// once more right before ending it: a code handed over meanwhile
	// brought a key nobody has asked about.
	cur, err := s.sessions.Session(ctx, id)
	if errors.Is(err, wxlogin.ErrNotFound) {
		return
	}
	if err != nil || !bytes.Equal(cur.SealedSessionKey, sess.SealedSessionKey) {
		s.keyCounts.kept.Add(1)
		return
	}
	owner := wxlogin.Principal{UserID: sess.UserID, AppID: sess.AppID, OpenID: sess.OpenID}
	if err := s.revokeSession(ctx, id, revokedEvent(owner, bySessionKey, id)); err != nil {
		s.log.WarnContext(ctx, "auth: key check: ending the session failed", "session_id", id, "err", err)
		s.keyCounts.kept.Add(1)
		return
	}
	s.keyCounts.ended.Add(1)
	s.log.InfoContext(ctx, "auth: session ended: WeChat reports no session_key of its user valid",
		"appid", app.AppID, "user_id", sess.UserID, "session_id", id, "keys_asked", len(asked))
}
