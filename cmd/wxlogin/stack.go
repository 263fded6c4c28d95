package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/webhook"
	"github.com/wxlogin/wxlogin/wechat"
)

// Main is a running wxlogin server: what `serve` and `dev` both start, and
// what the end-to-end tests start in-process. Fill the exported fields, call
// Start, then Close.
type Main struct {
	Config config
	Logger *slog.Logger
	Now    func() time.Time // nil: the wall clock
	// Dev, when set, adds the dev-only routes (emulator device API,
	// /dev/v1/ controls, playground). Never set by serve.
	Dev *httpapi.DevConfig
	// NoMigrate refuses a store with pending migrations instead of
	// applying them, for operators who migrate as a deploy step.
	NoMigrate bool

	// Set by Start.
	APIURL  string
	Service *auth.Service

	webhooks *webhook.Dispatcher // nil without webhooks
	stores   *storeSet
	coord    *coordination
	certs    *certFiles           // nil without TLS
	registry *prometheus.Registry // nil without metrics
	handler  handlerSwitch        // the API, replaced whole by a reload
	server   *http.Server
	listener net.Listener
	fresh    freshConns // the connections that have not begun a request
	done     chan error
}

// Start opens the store, builds the service and starts listening.
func (m *Main) Start(ctx context.Context) error {
	c := &m.Config
	// Refuse bad settings before anything is created (loadConfig has
	// checked a serve config already; dev builds its own).
	authCfg := c.authConfig()
	if err := yamlError(authCfg.Validate()); err != nil {
		return err
	}
	if err := c.checkDefaultApp(); err != nil {
		return err
	}
	var err error
	m.stores, err = openStores(ctx, c, openOptions{serve: true, noMigrate: m.NoMigrate})
	if err != nil {
		return err
	}
	if m.NoMigrate {
		if err := checkSchema(ctx, m.stores.migrator); err != nil {
			m.stores.Close()
			return err
		}
	}
	authCfg.Users, authCfg.Sessions, authCfg.Blobs = m.stores.Users, m.stores.Sessions, m.stores.Blobs
	m.coord, err = openCoordination(ctx, c, m.stores, c.masterKey, m.Logger)
	if err != nil {
		m.stores.Close()
		return err
	}
	authCfg.Revocations, authCfg.RateLimiter = m.coord.Revocations, m.coord.RateLimiter
	authCfg.UnfinishedRegistrations, authCfg.CodeExchanges = m.coord.UnfinishedRegistrations, m.coord.CodeExchanges
	// The server's clock also dates access tokens, so that the dev clock
	// (POST /dev/v1/clock) ages them as it ages sessions.
	wc := &wechat.Client{BaseURL: c.WeChatBaseURL, WeComBaseURL: c.WeComBaseURL, Logger: m.Logger, Now: m.Now, Tokens: m.coord.Tokens, UseClassicToken: c.WeChatClassicToken}
	authCfg.WeChat = wc
	var reg *prometheus.Registry
	var sm *httpapi.ServiceMetrics
	if c.Metrics {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		sm = httpapi.NewServiceMetrics(reg)
		wc.Observer, authCfg.Metrics = sm, sm
	}
	authCfg.Now, authCfg.Logger = m.Now, m.Logger
	if len(c.webhooks) > 0 {
		outbox, ok := m.stores.Users.(wxlogin.OutboxStore)
		if !ok {
			m.coord.Close()
			m.stores.Close()
			return errors.New("webhooks: the store keeps no webhook outbox")
		}
		wh := webhook.Config{Endpoints: c.webhooks, Store: outbox, Now: m.Now, Logger: m.Logger}
		if sm != nil {
			wh.Metrics = sm
		}
		m.webhooks, err = webhook.New(wh)
		if err != nil {
			m.coord.Close()
			m.stores.Close()
			return fmt.Errorf("webhooks: %v", err)
		}
		authCfg.Webhooks = m.webhooks
	}
	m.Service, err = auth.New(authCfg)
	if err != nil {
		m.coord.Close()
		m.stores.Close()
		return err
	}

	m.registry = reg
	m.handler.Store(m.newHandler(c))
	m.listener, err = net.Listen("tcp", c.Addr)
	if err != nil {
		m.Service.Close()
		m.coord.Close()
		m.stores.Close()
		return fmt.Errorf("addr: %v", err)
	}
	m.APIURL = "http://" + m.listener.Addr().String()
	if c.tlsOn() {
		if m.certs, err = newCertFiles(c.TLSCertFile, c.TLSKeyFile, m.Logger); err != nil {
			m.listener.Close()
			m.Service.Close()
			m.stores.Close()
			return err
		}
		m.APIURL = "https://" + m.listener.Addr().String()
	}
	m.server = &http.Server{
		Handler:           &m.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Longer than httpapi.DefaultRequestTimeout, which bounds the
		// handlers: a request whose store cannot write is answered 503
		// before this closes its connection.
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
		ConnState:    m.fresh.connState,
	}
	m.listener = m.fresh.listener(m.listener)
	// Started last, so that no failure above leaves it running against
	// a closed store.
	if m.webhooks != nil {
		m.webhooks.Start()
	}
	m.done = make(chan error, 1)
	if m.certs != nil {
		m.server.TLSConfig = serverTLSConfig(m.certs)
		go func() { m.done <- m.server.ServeTLS(m.listener, "", "") }()
		return nil
	}
	go func() { m.done <- m.server.Serve(m.listener) }()
	return nil
}

// Close stops accepting requests, lets those in flight finish until ctx
// ends, then closes the service and the store.
func (m *Main) Close(ctx context.Context) error {
	var errs []error
	if m.server != nil {
		// Shutdown would wait for the connections that have asked for
		// nothing yet until they are five seconds old: they are closed
		// instead (and any accepted until Shutdown closes the listener).
		m.fresh.closeAll()
		errs = append(errs, m.server.Shutdown(ctx))
		if err := <-m.done; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if m.webhooks != nil {
		// Before the store closes: an attempt under way records its outcome.
		errs = append(errs, m.webhooks.Close())
	}
	if m.Service != nil {
		errs = append(errs, m.Service.Close())
	}
	if m.coord != nil {
		errs = append(errs, m.coord.Close())
	}
	if m.stores != nil {
		errs = append(errs, m.stores.Close())
	}
	return errors.Join(errs...)
}

// newLogger returns the slog logger of a config.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	l, _ := parseLevel(level)
	opts := &slog.HandlerOptions{Level: l}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// offsetClock is the dev server's clock: the wall clock plus an offset that
// POST /dev/v1/clock moves, so a developer can watch a session expire.
type offsetClock struct{ offset atomic.Int64 }

func (c *offsetClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *offsetClock) Advance(d time.Duration) time.Time {
	c.offset.Add(int64(d))
	return c.Now()
}
