package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/coord/rediscoord"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/store/blobdir"
	"github.com/wxlogin/wxlogin/store/pgstore"
	"github.com/wxlogin/wxlogin/store/sqlitestore"
	"github.com/wxlogin/wxlogin/wechat"
)

// This file is the one place in the binary that knows the concrete store
// types: everything else sees a storeSet of interfaces, chosen by the
// store URL's scheme, and a coordination of interfaces, on Redis when
// redis: is set.

// storeKind is a store URL's backend.
type storeKind string

const (
	kindSQLite   storeKind = "sqlite"
	kindPostgres storeKind = "postgres"
)

// parseStore returns the backend of a store URL and, for SQLite, the file
// path.
func parseStore(store string) (storeKind, string, error) {
	scheme, _, found := strings.Cut(store, ":")
	if !found || scheme == "" {
		return "", "", fmt.Errorf("store: %q is not a URL like sqlite:///var/lib/wxlogin/wxlogin.db or postgres://wxlogin@db:5432/wxlogin", redactURL(store))
	}
	switch scheme {
	case "sqlite":
		path, err := sqlitestore.ParseURL(store)
		if err != nil {
			return "", "", fmt.Errorf("store: %v", err)
		}
		return kindSQLite, path, nil
	case "postgres", "postgresql":
		if _, err := pgstore.ParseURL(store); err != nil {
			return "", "", fmt.Errorf("store: %v", err)
		}
		return kindPostgres, "", nil
	}
	return "", "", fmt.Errorf("store: scheme %q is not supported (sqlite:///path or postgres://user@host/db)", scheme)
}

// resolveStore checks the store settings of a serve configuration and reads
// the PostgreSQL password.
func (c *config) resolveStore(getenv func(string) string) error {
	kind, _, err := parseStore(c.Store)
	if err != nil {
		return err
	}
	if err := c.resolveStorePassword(getenv); err != nil {
		return err
	}
	if c.Postgres.MaxConns < 0 || c.Postgres.ConnectTimeout < 0 || c.Postgres.StatementTimeout < 0 {
		return errors.New("postgres: max_conns, connect_timeout and statement_timeout must not be negative")
	}
	if c.Redis != "" {
		if err := rediscoord.CheckURL(c.Redis); err != nil {
			return fmt.Errorf("redis: %v (the password goes in WXLOGIN_REDIS_PASSWORD or WXLOGIN_REDIS_PASSWORD_FILE)", err)
		}
		pw, err := secretFromEnvOrFile(getenv, "WXLOGIN_REDIS_PASSWORD", "", "")
		if err != nil {
			return err
		}
		c.redisPassword = pw
		if c.WeChatClassicToken {
			return errors.New("wechat_classic_token: refused with redis: every cgi-bin/token fetch ends the token the other instances hold; use stable_token (the default)")
		}
	}
	// Several instances on one PostgreSQL without Redis would each keep
	// their own revocations, rate limits, code exchanges and access tokens
	// in memory: a token logged out on one would still pass on another
	// until the touch interval. Without a coordinator the operator must
	// say there is one instance.
	if kind == kindPostgres && !c.SingleInstance && c.Redis == "" {
		return errors.New("single_instance: a postgres:// store needs redis: (WXLOGIN_REDIS) to run several instances, or single_instance: true (WXLOGIN_SINGLE_INSTANCE=true) to run exactly one")
	}
	return nil
}

func (c *config) resolveStorePassword(getenv func(string) string) error {
	pw, err := secretFromEnvOrFile(getenv, "WXLOGIN_STORE_PASSWORD", "", "")
	if err != nil {
		return err
	}
	c.storePassword = pw
	return nil
}

// migrator is what wxlogin migrate needs of a store.
type migrator interface {
	Migrate(ctx context.Context) error
	AppliedMigrations(ctx context.Context) ([]string, error)
	KnownMigrations() []string
}

// schemaStatus compares a database's applied migrations with those this
// build embeds.
type schemaStatus struct {
	Applied []string // known and applied, in order
	Pending []string // known, not yet applied
	Unknown []string // applied by a newer wxlogin: this build must not run on it
}

func statusOf(known, applied []string) schemaStatus {
	var st schemaStatus
	for _, name := range known {
		if slices.Contains(applied, name) {
			st.Applied = append(st.Applied, name)
		} else {
			st.Pending = append(st.Pending, name)
		}
	}
	for _, name := range applied {
		if !slices.Contains(known, name) {
			st.Unknown = append(st.Unknown, name)
		}
	}
	return st
}

func readSchemaStatus(ctx context.Context, m migrator) (schemaStatus, error) {
	applied, err := m.AppliedMigrations(ctx)
	if err != nil {
		return schemaStatus{}, err
	}
	return statusOf(m.KnownMigrations(), applied), nil
}

// checkSchema refuses a database whose schema is not the one this build
// knows, for a server started with --no-migrate.
func checkSchema(ctx context.Context, m migrator) error {
	st, err := readSchemaStatus(ctx, m)
	if err != nil {
		return fmt.Errorf("store: %v", err)
	}
	if len(st.Unknown) > 0 {
		return fmt.Errorf("store: the schema is newer than this wxlogin (migrations %s are unknown to it); run the wxlogin that migrated it", strings.Join(st.Unknown, ", "))
	}
	if len(st.Pending) > 0 {
		return fmt.Errorf("store: the schema is behind (%d migrations pending: %s) and --no-migrate is set; run `wxlogin migrate` first", len(st.Pending), strings.Join(st.Pending, ", "))
	}
	return nil
}

// storeSet is the stores a store URL opens.
type storeSet struct {
	Users    wxlogin.UserStore
	Sessions wxlogin.SessionStore
	Blobs    wxlogin.BlobStore
	// revocationLog is a revocation bus in the store itself (PostgreSQL),
	// which several instances share; nil for SQLite, which they cannot.
	revocationLog *pgstore.DB
	migrator      migrator
	closers       []func() error
}

func (s *storeSet) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	return errors.Join(errs...)
}

// openOptions say how openStores opens a store.
type openOptions struct {
	// noMigrate leaves pending migrations alone (wxlogin migrate applies
	// them itself, to report them; serve --no-migrate checks there are
	// none).
	noMigrate bool
	// serve takes the SQLite file's instance lock, which
	// `wxlogin migrate --from` checks so as not to copy a live store.
	serve bool
}

// openStores opens the store c.Store names.
func openStores(ctx context.Context, c *config, o openOptions) (*storeSet, error) {
	kind, path, err := parseStore(c.Store)
	if err != nil {
		return nil, err
	}
	s := &storeSet{}
	switch kind {
	case kindSQLite:
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("store: %v", err)
			}
		}
		if o.serve {
			unlock, err := lockInstance(path)
			if err != nil {
				return nil, fmt.Errorf("store: %v", err)
			}
			s.closers = append(s.closers, unlock)
		}
		db, err := sqlitestore.OpenOptions(ctx, path, sqlitestore.Options{NoMigrate: o.noMigrate})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("store: %v", err)
		}
		s.closers = append(s.closers, db.Close)
		dataDir := c.Data
		if dataDir == "" {
			dataDir = filepath.Dir(path)
		}
		blobs, err := blobdir.New(filepath.Join(dataDir, "avatars"))
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("data: %v", err)
		}
		s.Users, s.Sessions, s.Blobs, s.migrator = db, db, blobs, db
	case kindPostgres:
		po := pgstore.Options{
			Password:         c.storePassword,
			MaxConns:         c.Postgres.MaxConns,
			ConnectTimeout:   time.Duration(c.Postgres.ConnectTimeout),
			StatementTimeout: time.Duration(c.Postgres.StatementTimeout),
		}
		open := pgstore.Open
		if o.noMigrate {
			open = pgstore.Connect
		}
		db, err := open(ctx, c.Store, po)
		if err != nil {
			return nil, fmt.Errorf("store: %v", err)
		}
		s.closers = append(s.closers, db.Close)
		// Avatars live in the database: instances cannot share a folder.
		s.Users, s.Sessions, s.Blobs, s.migrator = db, db, db, db
		s.revocationLog = db
	}
	return s, nil
}

// lockInstance takes an exclusive lock on path+".lock" for as long as the
// server runs. wxlogin migrate --from tries the same lock and refuses a
// store that a server holds: a copy of a live store would bring back
// sessions revoked during the copy.
func lockInstance(path string) (func() error, error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by a running wxlogin (lock file %s.lock)", path, path)
		}
		return nil, fmt.Errorf("lock %s.lock: %v", path, err)
	}
	return f.Close, nil
}

// coordination is what the instances of one deployment share beyond the
// store: nil fields leave auth and the WeChat client to their in-process
// defaults (one instance).
type coordination struct {
	Revocations             auth.Revocations
	RateLimiter             auth.RateLimiter
	UnfinishedRegistrations auth.UnfinishedRegistrations
	CodeExchanges           auth.CodeExchanges
	Tokens                  wechat.TokenCache
	close                   func() error
}

// Close closes the connection to the coordinator; the Service must be
// closed first (it stops its subscription).
func (c *coordination) Close() error {
	if c.close == nil {
		return nil
	}
	return c.close()
}

// openCoordination connects to the Redis c.Redis names, if any. It does
// not wait for Redis to answer: a Redis that is down at start is an outage
// the instance falls back from (see coord/rediscoord), and it is logged.
//
// Revocations travel over Redis and, on PostgreSQL, also through the
// store's revocation log: an instance that deleted a session can nearly
// always write the log row in the same database, even when it cannot reach
// Redis, and the others read the log several times a second.
func openCoordination(ctx context.Context, c *config, stores *storeSet, keys *keyring.Keyring, log *slog.Logger) (*coordination, error) {
	if c.Redis == "" {
		return &coordination{}, nil
	}
	rc, err := rediscoord.New(c.Redis, rediscoord.Options{Password: c.redisPassword, Keys: keys, Logger: log})
	if err != nil {
		return nil, err
	}
	if err := rc.Ping(ctx); err != nil {
		log.Warn("redis: not answering at start; each instance keeps its own limits and code exchanges, and verifies every token against the store, until it does", "err", err)
	}
	var revocations auth.Revocations = rc.Revocations()
	if stores.revocationLog != nil {
		revocations = auth.JoinRevocations(revocations, stores.revocationLog.RevocationLog(pgstore.RevocationLogOptions{Logger: log}))
	}
	return &coordination{
		Revocations:             revocations,
		RateLimiter:             rc.RateLimiter(),
		UnfinishedRegistrations: rc.UnfinishedRegistrations(),
		CodeExchanges:           rc.CodeExchanges(),
		Tokens:                  rc.TokenCache(),
		close:                   rc.Close,
	}, nil
}
