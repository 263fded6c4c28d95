package wechat_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin/wechat"
)

// errcodeOf returns WeChat's errcode of err, 0 when it carries none.
func errcodeOf(err error) int {
	var we *wechat.Error
	if errors.As(err, &we) {
		return we.ErrCode
	}
	return 0
}

// TestWebTokenFlow runs the web login's server side against the emulator:
// the code once (40163 after), 40029 for an expired or foreign code, the
// profile only for a scope that shows it (48001), snapshot users, refresh
// and sns/auth, and no secret in any error text.
func TestWebTokenFlow(t *testing.T) {
	t.Parallel()
	e := newEmulated(t)
	ctx := t.Context()
	c := e.client

	code, err := e.emu.WebCode(devOA.AppID, "olga", "snsapi_userinfo", false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := c.WebAccessToken(ctx, devOA, code)
	if err != nil {
		t.Fatal(err)
	}
	if wt.OpenID == "" || wt.Scope != "snsapi_userinfo" || wt.UnionID == "" || wt.SnapshotUser || wt.ExpiresIn != 7200 || wt.RefreshToken == "" {
		t.Fatalf("token %+v", wt)
	}
	if _, err := c.WebAccessToken(ctx, devOA, code); errcodeOf(err) != 40163 {
		t.Errorf("the code again: %v, want 40163", err)
	} else if strings.Contains(err.Error(), code) || strings.Contains(err.Error(), devOA.Secret.Reveal()) {
		t.Errorf("the error text carries a secret: %v", err)
	}
	info, err := c.WebUserInfo(ctx, wt.AccessToken, wt.OpenID)
	if err != nil || info.Nickname != "olga" || info.UnionID != wt.UnionID || info.Sex != 0 || info.City != "" {
		t.Errorf("userinfo %+v, %v", info, err)
	}
	if err := c.WebCheckToken(ctx, wt.AccessToken, wt.OpenID); err != nil {
		t.Errorf("sns/auth: %v", err)
	}
	if err := c.WebCheckToken(ctx, wt.AccessToken, "o-someone-else"); errcodeOf(err) != 40003 {
		t.Errorf("sns/auth for another openid: %v, want 40003", err)
	}
	e.clock.Advance(7201e9)
	if _, err := c.WebUserInfo(ctx, wt.AccessToken, wt.OpenID); errcodeOf(err) != 42001 {
		t.Errorf("an expired token: %v, want 42001", err)
	}
	nt, err := c.WebRefreshToken(ctx, devOA, wt.RefreshToken)
	if err != nil || nt.AccessToken == wt.AccessToken || nt.OpenID != wt.OpenID {
		t.Fatalf("refresh: %+v, %v", nt, err)
	}
	if _, err := c.WebUserInfo(ctx, nt.AccessToken, nt.OpenID); err != nil {
		t.Errorf("the refreshed token: %v", err)
	}
	if _, err := c.WebRefreshToken(ctx, devOA, "not-a-refresh-token"); errcodeOf(err) != 40030 {
		t.Errorf("a bad refresh token: %v, want 40030", err)
	}

	// snsapi_base: openid only, no unionid, no profile.
	code, _ = e.emu.WebCode(devOA.AppID, "olga", "snsapi_base", false)
	bt, err := c.WebAccessToken(ctx, devOA, code)
	if err != nil || bt.UnionID != "" || bt.OpenID != wt.OpenID {
		t.Fatalf("base token %+v, %v", bt, err)
	}
	if _, err := c.WebUserInfo(ctx, bt.AccessToken, bt.OpenID); errcodeOf(err) != 48001 {
		t.Errorf("userinfo with snsapi_base: %v, want 48001", err)
	}

	// A snapshot-mode virtual user: flagged, another openid, no unionid.
	code, _ = e.emu.WebCode(devOA.AppID, "olga", "snsapi_base", true)
	st, err := c.WebAccessToken(ctx, devOA, code)
	if err != nil || !st.SnapshotUser || st.OpenID == wt.OpenID || st.UnionID != "" {
		t.Errorf("snapshot token %+v, %v", st, err)
	}

	// Codes are for their own app, and live five minutes.
	code, _ = e.emu.WebCode(devSite.AppID, "olga", "", false)
	if _, err := c.WebAccessToken(ctx, devOA, code); errcodeOf(err) != 40029 {
		t.Errorf("another app's code: %v, want 40029", err)
	}
	if _, err := c.Code2Session(ctx, devApp1, code); errcodeOf(err) != 40029 {
		t.Errorf("a web code at jscode2session: %v, want 40029", err)
	}
	e.clock.Advance(301e9)
	if _, err := c.WebAccessToken(ctx, devSite, code); errcodeOf(err) != 40029 {
		t.Errorf("an expired code: %v, want 40029", err)
	}
}
