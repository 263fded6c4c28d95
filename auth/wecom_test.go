package auth_test

import (
	"context"
	"sync"
	"testing"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/emulator"
)

const weComApp = "wecom-dev"

// withWeCom serves the emulator's first dev corp as a WeCom app.
func withWeCom(e *env, c *auth.Config) {
	e.wc.WeComBaseURL = e.wc.BaseURL
	corp := emulator.DevCorps()[0]
	c.Apps = append(c.Apps, wxlogin.App{AppID: weComApp, Kind: wxlogin.KindWeCom, CorpID: corp.CorpID, Secret: wxlogin.Secret(corp.Secret)})
}

func (e *env) weComCode(corpid, user string) string {
	e.t.Helper()
	c, err := e.em.WeComLogin(corpid, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// TestWeComConcurrentFirstLogins: members logging in for the first time
// at once, each twice, register one user each, as WeChat users do.
func TestWeComConcurrentFirstLogins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withWeCom)
	corp := emulator.DevCorps()[0].CorpID
	const members = 8
	ids := make([][2]string, members)
	var wg sync.WaitGroup
	for i := range members {
		user := "m" + string(rune('a'+i))
		codes := [2]string{e.weComCode(corp, user), e.weComCode(corp, user)}
		for j := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := e.svc.Login(ctx, weComApp, codes[j], auth.Client{IP: "192.0.2.1"})
				if err != nil {
					t.Errorf("login %s #%d: %v", user, j, err)
					return
				}
				ids[i][j] = r.User.ID
			}()
		}
	}
	wg.Wait()
	for i, pair := range ids {
		if pair[0] == "" || pair[0] != pair[1] {
			t.Errorf("member %d: users %v, want one", i, pair)
		}
	}
	users, err := e.db.FindUsers(ctx, wxlogin.UserFilter{AppID: weComApp})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != members {
		t.Errorf("%d users stored, want %d", len(users), members)
	}
}

// TestWeComPrincipal: a WeCom session's principal is (corpid, userid)
// without openid, also when verified from the cache.
func TestWeComPrincipal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withWeCom)
	corp := emulator.DevCorps()[0].CorpID
	r, err := e.svc.Login(ctx, weComApp, e.weComCode(corp, "zhangsan"), auth.Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.User.OpenID != wxlogin.WeComKey(corp, "zhangsan") {
		t.Errorf("stored key %q, want %q", r.User.OpenID, wxlogin.WeComKey(corp, "zhangsan"))
	}
	for range 2 { // a store read, then the cache
		p, err := e.svc.Verify(ctx, r.Token.Reveal())
		if err != nil {
			t.Fatal(err)
		}
		if p.CorpID != corp || p.WeComUserID != "zhangsan" || p.OpenID != "" || p.AppID != weComApp {
			t.Errorf("principal = %+v", p)
		}
	}

	// A login_code of another member beside a payload is refused.
	p, _ := e.svc.Verify(ctx, r.Token.Reveal())
	_, err = e.svc.SaveUserInfo(ctx, p, "{}", "x", auth.Encrypted{EncryptedData: "x", IV: "x", LoginCode: e.weComCode(corp, "lisi")})
	wantCode(t, err, wxlogin.EInvalidRequest)
	// Its own login_code is accepted and the payload checked with its key.
	_, err = e.svc.SaveUserInfo(ctx, p, "{}", "x", auth.Encrypted{EncryptedData: "x", IV: "x", LoginCode: e.weComCode(corp, "zhangsan")})
	// Its key checks the signature, which this made-up payload fails.
	wantCode(t, err, wxlogin.EInvalidSignature)
}

// TestWeComReloadKeepsTheCorp: a reload may not move an app to another
// corp or kind, whose members its stored users are not.
func TestWeComReloadKeepsTheCorp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, withWeCom)
	moved := e.liveWith(app1, weComApp)
	moved.Apps[1].CorpID = emulator.DevCorps()[1].CorpID
	if err := e.svc.Reload(ctx, moved); err == nil {
		t.Error("a reload moved the WeCom app to another corp")
	}
	kind := e.liveWith(app1, weComApp)
	kind.Apps[0].Kind, kind.Apps[0].CorpID = wxlogin.KindWeCom, "ww1"
	if err := e.svc.Reload(ctx, kind); err == nil {
		t.Error("a reload turned a WeChat app into a WeCom app")
	}
	if err := e.svc.Reload(ctx, e.liveWith(app1, weComApp)); err != nil {
		t.Errorf("an unchanged reload: %v", err)
	}
}
