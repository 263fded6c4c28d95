package emulator

import (
	"net/http"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Configure runs change with the emulator's lock held, so that the knobs
// read while serving (NoPrivacyCheck, LoginsPerSecond, Code2SessionPerMinute,
// SessionKeyLifetime, SessionKeyIdleTimeout, CodeLifetime, TokenGrace, TokenLifetime, Now) can be
// changed while requests are in flight. change must not call the
// emulator's methods. Apps, Logger and CORSOrigin are read without the
// lock: set them before serving.
func (e *Emulator) Configure(change func(*Emulator)) {
	e.init()
	if change == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	change(e)
}

// Config is the HTTP form of the knobs that can change while serving:
// GET /emulator/v1/config shows them, PUT changes the fields it carries.
// Durations are Go durations ("5m"); "0s" means WeChat's default where the
// knob has one.
type Config struct {
	PrivacyCheck          *bool   `json:"privacy_check,omitempty"`
	LoginsPerSecond       *int    `json:"logins_per_second,omitempty"`
	Code2SessionPerMinute *int    `json:"code2session_per_minute,omitempty"`
	SessionKeyLifetime    *string `json:"session_key_lifetime,omitempty"`
	SessionKeyIdleTimeout *string `json:"session_key_idle_timeout,omitempty"`
	CodeLifetime          *string `json:"code_lifetime,omitempty"`
	TokenGrace            *string `json:"token_grace,omitempty"`
	TokenLifetime         *string `json:"token_lifetime,omitempty"`
}

func (e *Emulator) configLocked() Config {
	s := func(d time.Duration) *string { v := d.String(); return &v }
	privacy := !e.NoPrivacyCheck
	return Config{
		PrivacyCheck:          &privacy,
		LoginsPerSecond:       &e.LoginsPerSecond,
		Code2SessionPerMinute: &e.Code2SessionPerMinute,
		SessionKeyLifetime:    s(e.SessionKeyLifetime),
		SessionKeyIdleTimeout: s(e.SessionKeyIdleTimeout),
		CodeLifetime:          s(e.codeLifetime()),
		TokenGrace:            s(e.tokenGrace()),
		TokenLifetime:         s(e.tokenLifetime()),
	}
}

func (e *Emulator) serveConfig(*http.Request) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.configLocked()
	// Copy the values out: the pointers point into e.
	pc, lps, c2s := *c.PrivacyCheck, *c.LoginsPerSecond, *c.Code2SessionPerMinute
	c.PrivacyCheck, c.LoginsPerSecond, c.Code2SessionPerMinute = &pc, &lps, &c2s
	return c, nil
}

func (e *Emulator) servePutConfig(r *http.Request) (any, error) {
	var c Config
	if err := decode(r, &c); err != nil {
		return nil, err
	}
	durations := []struct {
		name string
		v    *string
		dst  *time.Duration
		d    time.Duration
	}{
		{"session_key_lifetime", c.SessionKeyLifetime, &e.SessionKeyLifetime, 0},
		{"session_key_idle_timeout", c.SessionKeyIdleTimeout, &e.SessionKeyIdleTimeout, 0},
		{"code_lifetime", c.CodeLifetime, &e.CodeLifetime, 0},
		{"token_grace", c.TokenGrace, &e.TokenGrace, 0},
		{"token_lifetime", c.TokenLifetime, &e.TokenLifetime, 0},
	}
	// Validate everything before changing anything.
	for i, d := range durations {
		if d.v == nil {
			continue
		}
		v, err := time.ParseDuration(*d.v)
		if err != nil || v < 0 {
			return nil, deviceErr(wxlogin.EInvalidRequest, "", "%s must be a non-negative Go duration like \"5m\"", d.name)
		}
		durations[i].d = v
	}
	if c.LoginsPerSecond != nil && *c.LoginsPerSecond < 0 || c.Code2SessionPerMinute != nil && *c.Code2SessionPerMinute < 0 {
		return nil, deviceErr(wxlogin.EInvalidRequest, "", "limits must not be negative (0 turns them off)")
	}
	e.Configure(func(e *Emulator) {
		if c.PrivacyCheck != nil {
			e.NoPrivacyCheck = !*c.PrivacyCheck
		}
		if c.LoginsPerSecond != nil {
			e.LoginsPerSecond = *c.LoginsPerSecond
		}
		if c.Code2SessionPerMinute != nil {
			e.Code2SessionPerMinute = *c.Code2SessionPerMinute
		}
		for _, d := range durations {
			if d.v != nil {
				*d.dst = d.d
			}
		}
	})
	return e.serveConfig(r)
}
