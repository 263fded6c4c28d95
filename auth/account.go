package auth

// This file holds accounts: one per person. A person has one unionid in
// every app bound to the same Open Platform account, so the users (one per
// app and openid) with the same unionid under the same Open Platform
// account are one account, whichever surface they came from first.
//
// The account is not stored: its id is derived from its oldest user
// ("acc_" and that user's id without "usr_"). So a unionid that arrives
// after a first login (a page that asked snsapi_base first, snsapi_userinfo
// later) merges two accounts by itself, the older one staying, and no
// store, backup or migration has a column to keep in step.

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
)

// accountPrefix starts every account id.
const accountPrefix = "acc_"

// soleAccount is the account id of a user linked to nobody.
func soleAccount(userID string) string {
	return accountPrefix + strings.TrimPrefix(userID, "usr_")
}

// Identity is one user of an account: the person in one app.
type Identity struct {
	UserID string
	AppID  string
	Kind   wxlogin.AppKind
	OpenID string
}

// linked returns the users that are one account with u, u included, oldest
// first: those with u's unionid in apps of u's app's Open Platform account.
func (s *Service) linked(ctx context.Context, u wxlogin.User) ([]wxlogin.User, error) {
	live := s.live()
	app, ok := live.appByID[u.AppID]
	if u.UnionID == "" || !ok || app.OpenPlatform == "" {
		return []wxlogin.User{u}, nil
	}
	us, err := s.users.FindUsers(ctx, wxlogin.UserFilter{UnionID: u.UnionID})
	if err != nil {
		return nil, err
	}
	return sameAccount(live, app.OpenPlatform, u, us), nil
}

// sameAccount keeps the users of us in apps of Open Platform account op,
// adding u (in creation order) when it is not among them yet.
func sameAccount(live *liveSettings, op string, u wxlogin.User, us []wxlogin.User) []wxlogin.User {
	out := make([]wxlogin.User, 0, len(us)+1)
	placed := false
	for _, x := range us {
		if a, ok := live.appByID[x.AppID]; !ok || a.OpenPlatform != op {
			continue
		}
		if x.ID == u.ID {
			placed = true
		} else if !placed && olderThan(u, x) {
			out, placed = append(out, u), true
		}
		out = append(out, x)
	}
	if !placed {
		out = append(out, u)
	}
	return out
}

// accountAfter is the account of u, a user of an app of Open Platform
// account op ("" for none), once its login is done, from the users that
// had its unionid before (unionGroupBefore): no further read.
func (s *Service) accountAfter(op string, u wxlogin.User, before []wxlogin.User) string {
	if u.UnionID == "" || op == "" {
		return soleAccount(u.ID)
	}
	return accountOf(sameAccount(s.live(), op, u, before))
}

// merge is two accounts becoming one: merged no longer exists.
type merge struct{ survivor, merged string }

// mergeOf tells whether recording u's unionid, for u of an app of Open
// Platform account op, merged two accounts, and which: from the users that
// held the unionid before the login (before, oldest first) and the live
// apps, reading nothing, since it runs inside the store's write. prev is
// the unionid u had until now.
//
// A user without a unionid until now was an account of its own; if users
// of op already hold the unionid, the two accounts become one, whose id
// comes from the older of its oldest users. Nobody else holding it means
// nothing merged (the user's account only has a unionid now). A unionid
// that replaces another is no merge this can tell: the account the user
// leaves was not read (WeChat keeps a person's unionid, so only an app
// moved to another Open Platform account changes it).
func (s *Service) mergeOf(op string, u wxlogin.User, prev string, before []wxlogin.User) (merge, bool) {
	if u.UnionID == "" || op == "" || prev != "" {
		return merge{}, false
	}
	live := s.live()
	var oldest *wxlogin.User // of the others: the id of their account
	for i := range before {
		x := &before[i]
		if x.ID == u.ID {
			return merge{}, false // the user was in the account already
		}
		if a, ok := live.appByID[x.AppID]; ok && a.OpenPlatform == op && (oldest == nil || olderThan(*x, *oldest)) {
			oldest = x
		}
	}
	if oldest == nil {
		return merge{}, false
	}
	mine, theirs := soleAccount(u.ID), soleAccount(oldest.ID)
	if olderThan(u, *oldest) {
		return merge{survivor: mine, merged: theirs}, true
	}
	return merge{survivor: theirs, merged: mine}, true
}

// accountOfSession is the account of a session's user as it is now (the
// user's unionid may have arrived after the session began).
func (s *Service) accountOfSession(ctx context.Context, sess *wxlogin.Session) (string, error) {
	u, err := s.users.User(ctx, sess.UserID)
	if err != nil {
		return "", err
	}
	group, err := s.linked(ctx, u)
	if err != nil {
		return "", err
	}
	return accountOf(group), nil
}

// olderThan orders users as FindUsers does: by creation, then id.
func olderThan(a, b wxlogin.User) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.Before(b.CreatedAt)
	}
	return a.ID < b.ID
}

// accountOf is the account id of a group of linked users, oldest first.
func accountOf(group []wxlogin.User) string { return soleAccount(group[0].ID) }

// unionGroupBefore reads, before a login records unionid for a user of
// app, who already has it: the accounts a login may merge. Nil when the
// app belongs to no Open Platform account or there is no unionid.
func (s *Service) unionGroupBefore(ctx context.Context, app wxlogin.App, unionid string) ([]wxlogin.User, error) {
	if unionid == "" || app.OpenPlatform == "" {
		return nil, nil
	}
	return s.users.FindUsers(ctx, wxlogin.UserFilter{UnionID: unionid})
}

// joinAfter dates a user about to be registered with a unionid no earlier
// than the newest of the users already holding it: the account's id comes
// from its oldest user, so a newcomer registered within the same
// microsecond as a member must not sort before it and take the account's
// id over (ties are broken by random ids).
func joinAfter(now time.Time, before []wxlogin.User) time.Time {
	for _, x := range before {
		if !now.After(x.CreatedAt) {
			now = x.CreatedAt.Add(time.Microsecond)
		}
	}
	return now
}

// noteLink tells, after a login's EnsureUser, what the login did to
// accounts: a user whose unionid is new to the account joins it, and an
// existing user whose unionid arrived only now merges its own account into
// the older one. The caches of every user of the account are dropped, so
// that forward-auth names only the surviving account at once.
func (s *Service) noteLink(ctx context.Context, app wxlogin.App, u wxlogin.User, created bool, before []wxlogin.User) {
	if u.UnionID == "" || app.OpenPlatform == "" {
		return
	}
	live := s.live()
	for _, x := range before {
		if x.ID == u.ID && x.UnionID == u.UnionID {
			return // nothing new: the user was in the account already
		}
	}
	if !slices.ContainsFunc(before, func(x wxlogin.User) bool {
		a, ok := live.appByID[x.AppID]
		return ok && a.OpenPlatform == app.OpenPlatform && x.ID != u.ID
	}) {
		return // nobody else in the account: nothing linked
	}
	group := sameAccount(live, app.OpenPlatform, u, before)
	survivor := accountOf(group)
	if created {
		s.log.InfoContext(ctx, "auth: identity linked to an account", "account_id", survivor, "user_id", u.ID, "appid", u.AppID)
	} else if m, ok := s.mergeOf(app.OpenPlatform, u, "", before); ok {
		// Until now the user was an account of its own, and the others one
		// too: the older of the two stays (the account.merged webhook says
		// the same, written with the unionid).
		s.log.InfoContext(ctx, "auth: accounts merged", "event", "account_merged",
			"account_id", m.survivor, "merged_account_id", m.merged, "user_id", u.ID, "appid", u.AppID)
	}
	for _, x := range group {
		// Nothing is revoked: the cached sessions are forgotten, and read
		// again with the account they now belong to.
		s.announce(ctx, Revocation{UserID: x.ID})
	}
}

// Identities lists the users of the principal's account, oldest first.
func (s *Service) Identities(ctx context.Context, p wxlogin.Principal) (string, []Identity, error) {
	u, err := s.users.User(ctx, p.UserID)
	if err != nil {
		return "", nil, s.userErr(err)
	}
	group, err := s.linked(ctx, u)
	if err != nil {
		return "", nil, s.storeFailed(err)
	}
	live := s.live()
	out := make([]Identity, 0, len(group))
	for _, x := range group {
		out = append(out, Identity{UserID: x.ID, AppID: x.AppID, Kind: live.appByID[x.AppID].KindOf(), OpenID: x.OpenID})
	}
	return accountOf(group), out, nil
}

// AccountUsers returns the users of an account, oldest first; ENotFound
// for an id that is no account (or one that merged into another: only the
// survivor is shown).
func (s *Service) AccountUsers(ctx context.Context, accountID string) ([]wxlogin.User, error) {
	notFound := wxlogin.Errorf(wxlogin.ENotFound, "no such account")
	rest, ok := strings.CutPrefix(accountID, accountPrefix)
	if !ok || !validID("usr_", "usr_"+rest) {
		return nil, notFound
	}
	u, err := s.users.User(ctx, "usr_"+rest)
	if err != nil {
		if wxlogin.ErrorCode(err) == wxlogin.ENotFound {
			return nil, notFound
		}
		return nil, s.storeFailed(err)
	}
	group, err := s.linked(ctx, u)
	if err != nil {
		return nil, s.storeFailed(err)
	}
	if accountOf(group) != accountID {
		return nil, notFound // merged into an older account
	}
	for i := range group {
		if err := s.openUser(&group[i]); err != nil {
			return nil, err
		}
	}
	return group, nil
}

// AccountID returns the account of a user.
func (s *Service) AccountID(ctx context.Context, u wxlogin.User) (string, error) {
	group, err := s.linked(ctx, u)
	if err != nil {
		return "", s.storeFailed(err)
	}
	return accountOf(group), nil
}

// EraseAccount erases every user of the principal's account, each as
// EraseMe erases one.
func (s *Service) EraseAccount(ctx context.Context, p wxlogin.Principal) error {
	return s.eraseAccount(ctx, p.UserID, byUser)
}

// eraseAccount erases every user of the account of userID; by says who
// asked, for the erasure events.
func (s *Service) eraseAccount(ctx context.Context, userID, by string) error {
	u, err := s.users.User(ctx, userID)
	if err != nil {
		return s.userErr(err)
	}
	group, err := s.linked(ctx, u)
	if err != nil {
		return s.storeFailed(err)
	}
	for _, x := range group {
		if err := s.erase(ctx, x.ID, by); err != nil {
			return err
		}
	}
	s.log.InfoContext(ctx, "auth: account erased", "account_id", accountOf(group), "users", len(group))
	return nil
}

// AdminEraseAccount erases every user of the account of user id;
// ENotFound for an unknown user.
func (s *Service) AdminEraseAccount(ctx context.Context, id string) error {
	if _, err := s.AdminUser(ctx, id); err != nil {
		return err
	}
	return s.eraseAccount(ctx, id, byAdmin)
}
