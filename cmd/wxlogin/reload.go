package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/httpapi"
)

// handlerSwitch is the http.Handler of the server: the API built from the
// configuration in force. A reload builds a new API and switches to it;
// requests already inside the old one finish there.
type handlerSwitch struct {
	h atomic.Pointer[httpapi.Server]
}

func (s *handlerSwitch) Store(h *httpapi.Server) { s.h.Store(h) }

func (s *handlerSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.h.Load().ServeHTTP(w, r)
}

// newHandler builds the API of c around the running service. Its metrics
// register with the one registry again, which hands back the collectors
// already there, so counters go on across reloads.
func (m *Main) newHandler(c *config) *httpapi.Server {
	api := httpapi.Config{
		Service:        m.Service,
		AdminToken:     c.adminToken,
		Logger:         m.Logger,
		TrustedProxies: c.proxies,
		Dev:            m.Dev,
		DefaultApp:     c.DefaultApp,
		PublicURL:      c.PublicURL,
	}
	if m.registry != nil {
		api.Metrics = m.registry
	}
	return httpapi.New(api)
}

// Reload puts next, a checked configuration (loadConfig), in force without
// a restart: apps and their secrets, the master keys, the admin token,
// limits, trusted proxies, the TLS files and the shutdown timeout. It
// refuses a change to anything else (see fixedSettings), and a master key
// dropped while it still seals stored values; a refused reload changes
// nothing. Requests in flight finish in the API they started in; the
// service's steps they have left may see the new settings.
func (m *Main) Reload(ctx context.Context, next config) error {
	if err := fixedSettingChanged(&m.Config, &next); err != nil {
		return err
	}
	err := m.Service.Reload(ctx, auth.LiveSettings{Apps: next.apps, Keys: next.masterKey, Limits: next.limits(), SessionPolicies: next.policies})
	if err != nil {
		return yamlError(err)
	}
	if m.certs != nil {
		// Checked by loadConfig a moment ago; should the files have
		// changed since, certFiles logs it and keeps the certificate it
		// serves, and its own checks pick up the next good pair.
		m.certs.reload(next.TLSCertFile, next.TLSKeyFile)
	}
	m.handler.Store(m.newHandler(&next))
	added, removed := appChanges(m.Config.apps, next.apps)
	m.Config = next
	m.Logger.Info("configuration reloaded", "apps", len(next.apps), "added", added, "removed", removed,
		"primary_key", next.masterKey.PrimaryID(), "admin", next.adminToken != "")
	return nil
}

// reloadFrom re-reads the configuration file and secret files and reloads.
// Whatever the outcome it logs one line, so an operator who sent SIGHUP
// reads in the log what happened.
func (m *Main) reloadFrom(ctx context.Context, path string, getenv func(string) string) {
	next, err := loadConfig(path, getenv)
	if err == nil {
		err = m.Reload(ctx, next)
	}
	if err != nil {
		m.Logger.Error("configuration reload refused; the running configuration is kept", "err", err.Error())
	}
}

// fixedSettingChanged names the first setting that differs between c and
// next and that a running server cannot change: the listener, the store
// and what the service and its clients were built with. They need a
// restart.
func fixedSettingChanged(c, next *config) error {
	for _, f := range []struct {
		name      string
		was, is   any
		whyIsOnce string
	}{
		{"addr", c.Addr, next.Addr, "the listener is open"},
		{"tls_cert_file", c.tlsOn(), next.tlsOn(), "turning TLS on or off changes the listener"},
		{"store", c.Store, next.Store, "the store is open"},
		{"WXLOGIN_STORE_PASSWORD", c.storePassword, next.storePassword, "the store is open"},
		{"postgres", c.Postgres, next.Postgres, "the store is open"},
		{"single_instance", c.SingleInstance, next.SingleInstance, "the store is open"},
		{"data", c.Data, next.Data, "the avatar folder is open"},
		{"redis", c.Redis, next.Redis, "coordination is set up at start"},
		{"wechat_base_url", c.WeChatBaseURL, next.WeChatBaseURL, "the WeChat client is built at start"},
		{"wecom_base_url", c.WeComBaseURL, next.WeComBaseURL, "the WeChat client is built at start"},
		{"sessions", c.Sessions, next.Sessions, "session lifetimes are fixed at start"},
		{"decrypt_max_age", c.DecryptMaxAge, next.DecryptMaxAge, "it is fixed at start"},
		{"code_reuse_window", c.CodeReuseWindow, next.CodeReuseWindow, "it is fixed at start"},
		{"max_avatar_bytes", c.MaxAvatarBytes, next.MaxAvatarBytes, "request bodies are sized at start"},
		{"metrics", c.Metrics, next.Metrics, "the metrics registry is built at start"},
		{"log_level", c.LogLevel, next.LogLevel, "the logger is built at start"},
		{"log_format", c.LogFormat, next.LogFormat, "the logger is built at start"},
		{"webhooks", webhooksKey(c.webhooks), webhooksKey(next.webhooks), "the webhook sender is built at start"},
	} {
		if f.was != f.is {
			// The values are not shown: one of them is a password.
			return fmt.Errorf("%s: changed, and a reload cannot change it (%s): restart to apply it", f.name, f.whyIsOnce)
		}
	}
	return nil
}

// appChanges lists the appids added and removed between two app lists.
func appChanges(was, is []wxlogin.App) (added, removed []string) {
	ids := func(apps []wxlogin.App) []string {
		var out []string
		for _, a := range apps {
			out = append(out, a.AppID)
		}
		return out
	}
	wasIDs, isIDs := ids(was), ids(is)
	for _, id := range isIDs {
		if !slices.Contains(wasIDs, id) {
			added = append(added, id)
		}
	}
	for _, id := range wasIDs {
		if !slices.Contains(isIDs, id) {
			removed = append(removed, id)
		}
	}
	return added, removed
}
