package auth

// This file holds what a corp's uninstall of a WeCom suite app (WeCom's
// cancel_auth push) does: every session of the corp's members in that app
// ends, on every instance, with a sessions.revoked event per member. The
// users themselves stay: erasing them is the operator's decision (or the
// user's), not a side effect of a push.

import (
	"context"
	"time"

	"github.com/wxlogin/wxlogin"
)

// byCorpUninstalled: the member's corp uninstalled the WeCom suite app
// (cancel_auth), which ended the member's sessions in it.
const byCorpUninstalled = "corp_uninstalled"

const (
	// uninstallPage is how many members one read of an uninstall's walk
	// returns: memory stays bounded however large the corp.
	uninstallPage = 200
	// defaultUninstallWait is how long a cancel_auth callback waits for the
	// revocation before it answers. WeCom wants the answer within a
	// second of its push and retries otherwise; a small corp's sessions
	// are gone by the time WeCom reads "success", a large corp's go on
	// ending after it.
	defaultUninstallWait = 800 * time.Millisecond
	// uninstallTimeout bounds the whole revocation of one corp.
	uninstallTimeout = 10 * time.Minute
)

// endCorpSessions ends the sessions of the corp's members in the suite app
// after WeCom told of its uninstall. It waits up to s.uninstallWait and lets
// the rest run on, detached from the request (WeCom's connection may close
// once it has its answer) but not from Close.
func (s *Service) endCorpSessions(ctx context.Context, app wxlogin.App, corpID string) {
	if s.sweepCtx.Err() != nil {
		// Closing: nothing may start that Close would not wait for.
		s.log.ErrorContext(ctx, "auth: a WeCom corp uninstalled the app while this instance shuts down; its members' sessions stay until they expire or are revoked by the admin API",
			"appid", app.AppID, "corpid", corpID)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), uninstallTimeout)
	stopOnClose := context.AfterFunc(s.sweepCtx, cancel)
	done := make(chan struct{})
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		defer close(done)
		defer stopOnClose()
		defer cancel()
		s.revokeCorp(ctx, app, corpID)
	}()
	t := time.NewTimer(s.uninstallWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.log.InfoContext(ctx, "auth: a WeCom corp's uninstall is still ending its members' sessions; answering WeCom meanwhile",
			"appid", app.AppID, "corpid", corpID)
	}
}

// revokeCorp walks the corp's members who hold sessions in the app, a page
// at a time, and revokes each one's sessions through the usual path (the
// store's deletion with its event, then every instance's cache). A failure
// is logged at ERROR and ends the walk: WeCom is answered "success" all
// the same (see SuiteCallback), and the sessions left end at their expiry,
// or sooner by the admin API.
func (s *Service) revokeCorp(ctx context.Context, app wxlogin.App, corpID string) {
	holders, ok := s.logins.(wxlogin.SessionHolderLister)
	if !ok {
		s.log.ErrorContext(ctx, "auth: a WeCom corp uninstalled the app, but this store cannot find a corp's members: their sessions stay until they expire or are revoked by the admin API",
			"appid", app.AppID, "corpid", corpID)
		return
	}
	prefix := wxlogin.WeComKey(corpID, "")
	var members, sessions int
	fail := func(err error) {
		s.log.ErrorContext(ctx, "auth: ending the sessions of an uninstalling WeCom corp's members failed; the rest stay until they expire or are revoked by the admin API",
			"appid", app.AppID, "corpid", corpID, "members", members, "sessions", sessions, "err", err)
	}
	after := ""
	for {
		page, err := holders.SessionHoldersWithOpenIDPrefix(ctx, app.AppID, prefix, after, uninstallPage)
		if err != nil {
			fail(s.storeFailed(err))
			return
		}
		for _, u := range page {
			n, err := s.revokeUser(ctx, u.ID, revokedEvent(principalOf(u), byCorpUninstalled))
			if err != nil {
				fail(err)
				return
			}
			members++
			sessions += n
		}
		if len(page) < uninstallPage {
			break
		}
		after = page[len(page)-1].OpenID
	}
	s.log.InfoContext(ctx, "auth: a WeCom corp uninstalled the app; its members' sessions ended",
		"appid", app.AppID, "corpid", corpID, "members", members, "sessions", sessions)
}
