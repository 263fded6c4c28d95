package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/keyring"
)

// LiveSettings are the settings of a running Service that Reload changes:
// what an operator changes without a restart (an app added or removed, a
// rotated app secret, a new master key, tuned limits). Everything else of
// Config is fixed for the life of the Service.
type LiveSettings struct {
	Apps   []wxlogin.App
	Keys   *keyring.Keyring
	Limits Limits
	// SessionPolicies are Config.SessionPolicies.
	SessionPolicies map[string]SessionPolicy
}

// liveSettings is LiveSettings resolved for the use cases: apps by id and
// the limits with their defaults filled in. It is never changed, only
// replaced (Service.live reads the one in force).
type liveSettings struct {
	apps    []wxlogin.App
	appByID map[string]wxlogin.App
	keys    *keyring.Keyring

	loginPerIP, loginPerApp, decryptPerSession, avatarPerUser *limiter

	// policies are the apps of PolicyWeChat with their defaults filled
	// in, by appid; an app absent here has PolicyOwn.
	policies map[string]SessionPolicy
}

// live returns the settings in force.
func (s *Service) live() *liveSettings { return s.settings.Load() }

// newSettings resolves ls. The limiters take from the Service's one
// RateLimiter, so a reload keeps every bucket's tokens.
func (s *Service) newSettings(ls LiveSettings) *liveSettings {
	l := &liveSettings{
		apps:    slices.Clone(ls.Apps),
		appByID: make(map[string]wxlogin.App, len(ls.Apps)),
		keys:    ls.Keys,
	}
	for _, a := range ls.Apps {
		l.appByID[a.AppID] = a
	}
	l.loginPerIP = newLimiter("login_ip", limitOrDefault(ls.Limits.LoginPerIP, DefaultLoginPerIP), s.buckets, s.log)
	l.loginPerApp = newLimiter("login_app", limitOrDefault(ls.Limits.LoginPerApp, DefaultLoginPerApp), s.buckets, s.log)
	l.decryptPerSession = newLimiter("decrypt", limitOrDefault(ls.Limits.DecryptPerSession, DefaultDecryptPerSession), s.buckets, s.log)
	l.avatarPerUser = newLimiter("avatar", limitOrDefault(ls.Limits.AvatarPerUser, DefaultAvatarPerUser), s.buckets, s.log)
	l.policies = resolvePolicies(ls.SessionPolicies)
	return l
}

// Reload puts ls in force for every call that starts after it returns
// (a call already running may see the old settings or the new for the
// steps it has left, each of them whole). Caches
// and coordination state (the verify cache, code exchanges, rate-limit
// buckets, unfinished registrations) stay. A removed app's sessions fail
// Verify at once, cached or not.
//
// It refuses, with a *ConfigError, settings that New would refuse, and a
// keyring that drops a key still sealing stored values (the store is asked)
// or drops the primary key (values are sealed under it until the moment of
// the swap, so no check before it can be complete). A refused reload
// changes nothing.
func (s *Service) Reload(ctx context.Context, ls LiveSettings) error {
	if err := (Config{Apps: ls.Apps, Limits: ls.Limits, SessionPolicies: ls.SessionPolicies}).Validate(); err != nil {
		return err
	}
	if ls.Keys == nil {
		return &ConfigError{Setting: "Keys", Problem: "a master keyring is required to seal session keys"}
	}
	s.reloading.Lock()
	defer s.reloading.Unlock()
	old := s.live()
	if err := s.checkAppKinds(old, ls.Apps); err != nil {
		return err
	}
	if err := s.checkDroppedKeys(ctx, old.keys, ls.Keys); err != nil {
		return err
	}
	s.settings.Store(s.newSettings(ls))
	return nil
}

// checkAppKinds refuses a reload that changes the kind or corp of an app
// it keeps: the app's stored users and live sessions are identities of the
// old kind and corp (a corp's member is stored as corpid/userid), which the
// changed app would go on accepting as its own. It also refuses a WeCom app
// when the service has no WeCom client.
func (s *Service) checkAppKinds(old *liveSettings, apps []wxlogin.App) error {
	for i, a := range apps {
		if a.IsWeCom() && s.wecom == nil {
			return &ConfigError{Setting: fmt.Sprintf("Apps[%d].Kind", i), Problem: "a WeCom app needs a WeCom client, which this service was built without"}
		}
		if a.IsWeComSuite() && s.suite == nil {
			return &ConfigError{Setting: fmt.Sprintf("Apps[%d].Kind", i), Problem: "a WeCom suite app needs a WeCom suite client, which this service was built without"}
		}
		was, ok := old.appByID[a.AppID]
		if !ok {
			continue
		}
		if was.Kind != a.Kind || was.CorpID != a.CorpID {
			return &ConfigError{Setting: fmt.Sprintf("Apps[%d].CorpID", i), Problem: fmt.Sprintf(
				"%q changes from kind %q corp %q to kind %q corp %q: its users belong to the old one; configure the new one under another appid",
				a.AppID, was.Kind, was.CorpID, a.Kind, a.CorpID)}
		}
		if a.IsWeComSuite() && was.Suite.SuiteID != a.Suite.SuiteID {
			// Another suite is another provider's app: its members'
			// open_userids differ from those stored.
			return &ConfigError{Setting: fmt.Sprintf("Apps[%d].Suite.SuiteID", i), Problem: fmt.Sprintf(
				"%q changes from suite %q to %q: its users belong to the old one; configure the new one under another appid",
				a.AppID, was.Suite.SuiteID, a.Suite.SuiteID)}
		}
	}
	return nil
}

// checkDroppedKeys refuses a new keyring that lacks a key of the old one
// still in use.
func (s *Service) checkDroppedKeys(ctx context.Context, old, next *keyring.Keyring) error {
	kept := next.IDs()
	var dropped []string
	for _, id := range old.IDs() {
		if !slices.Contains(kept, id) {
			dropped = append(dropped, id)
		}
	}
	if len(dropped) == 0 {
		return nil
	}
	if slices.Contains(dropped, old.PrimaryID()) {
		return &ConfigError{Setting: "Keys", Problem: fmt.Sprintf(
			"%s seals new values and cannot be dropped in the reload that replaces it: put the new key first and keep %s after it, reload, run rotate-key, then drop %s",
			old.PrimaryID(), old.PrimaryID(), old.PrimaryID())}
	}
	sessions, users, err := s.countSealedWith(ctx, dropped)
	if err != nil {
		return fmt.Errorf("auth: checking which values the dropped master keys seal: %w", s.storeFailed(err))
	}
	if sessions > 0 || users > 0 {
		return &ConfigError{Setting: "Keys", Problem: fmt.Sprintf(
			"%s still seals %d session keys and %d users' personal data: run rotate-key before dropping it",
			strings.Join(dropped, ", "), sessions, users)}
	}
	return nil
}

// countSealedWith counts the stored session keys and users' personal data
// sealed under one of ids: by a count in the store when it has one, else
// through the stores' re-seal walks with callbacks that change nothing, so
// no value is written either way.
func (s *Service) countSealedWith(ctx context.Context, ids []string) (sessions, users int, err error) {
	under := func(sealed []byte) bool {
		id, err := keyring.SealedWith(sealed)
		return err == nil && slices.Contains(ids, id)
	}
	if c, ok := s.sessions.(wxlogin.SealedSessionCounter); ok {
		for _, id := range ids {
			n, err := c.CountSealedSessions(ctx, keyring.Header(id))
			if err != nil {
				return 0, 0, err
			}
			sessions += n
		}
	} else if _, err := s.sessions.ResealSessionKeys(ctx, func(sealed []byte) ([]byte, error) {
		if len(sealed) > 0 && under(sealed) {
			sessions++
		}
		return sealed, nil
	}); err != nil {
		return 0, 0, err
	}
	if c, ok := s.users.(wxlogin.SealedUserCounter); ok {
		for _, id := range ids {
			n, err := c.CountSealedUsers(ctx, keyring.Header(id))
			if err != nil {
				return 0, 0, err
			}
			users += n
		}
	} else if _, err := s.users.ResealUsers(ctx, func(u *wxlogin.User) (bool, error) {
		if len(u.Sealed) > 0 && under(u.Sealed) {
			users++
		}
		return false, nil
	}); err != nil {
		return 0, 0, err
	}
	return sessions, users, nil
}
