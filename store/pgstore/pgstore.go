package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/wxlogin/wxlogin"
)

//go:embed migrations/*.sql
var migrations embed.FS

var (
	_ wxlogin.UserStore    = (*DB)(nil)
	_ wxlogin.SessionStore = (*DB)(nil)
	_ wxlogin.BlobStore    = (*DB)(nil)
	_ wxlogin.Pinger       = (*DB)(nil)
)

// Defaults of Options.
const (
	DefaultMaxConns         = 10
	DefaultConnectTimeout   = 3 * time.Second
	DefaultStatementTimeout = 2 * time.Second
)

// migrationLock is the pg_advisory_lock key Migrate holds, so that two
// instances starting at once apply each migration once. It is the first
// eight bytes of "wxlogin\x01" read as a number: any constant works as long
// as nothing else on the server uses it.
const migrationLock int64 = 0x77786c6f67696e01

// Options tune a DB. Zero fields take the defaults.
type Options struct {
	// Password is the role's password. URLs never carry one (Open refuses
	// them): a URL ends up in configuration files, process lists and logs.
	Password string
	// MaxConns bounds the pool (DefaultMaxConns).
	MaxConns int
	// ConnectTimeout bounds opening one connection (DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// StatementTimeout bounds every operation of the store, on the server
	// (statement_timeout) and on the client, which gives up on a server
	// that does not answer at all (DefaultStatementTimeout).
	StatementTimeout time.Duration
	// Schema, when set, is where the tables live (search_path); Migrate
	// creates it if missing. Tests give each store its own schema.
	Schema string
}

// DB is a PostgreSQL store of users, sessions and blobs.
type DB struct {
	pool    *pgxpool.Pool
	timeout time.Duration
	schema  string // Options.Schema: created by Migrate
}

// ParseURL checks a postgres:// (or postgresql://) URL and returns it with
// the scheme normalised. It refuses a URL with a password.
func ParseURL(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("pgstore: invalid store URL")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", fmt.Errorf("pgstore: store URL scheme %q is not postgres://", u.Scheme)
	}
	if _, ok := u.User.Password(); ok {
		return "", errors.New("pgstore: the store URL carries a password; give it in WXLOGIN_STORE_PASSWORD or WXLOGIN_STORE_PASSWORD_FILE instead")
	}
	if u.Query().Has("password") {
		return "", errors.New("pgstore: the store URL carries a password parameter; give it in WXLOGIN_STORE_PASSWORD or WXLOGIN_STORE_PASSWORD_FILE instead")
	}
	if u.Host == "" && !u.Query().Has("host") {
		return "", errors.New("pgstore: the store URL names no host")
	}
	u.Scheme = "postgres"
	return u.String(), nil
}

// Open connects to the database at rawURL and applies the migrations.
func Open(ctx context.Context, rawURL string, o Options) (*DB, error) {
	db, err := Connect(ctx, rawURL, o)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Connect connects to the database at rawURL without migrating it.
func Connect(ctx context.Context, rawURL string, o Options) (*DB, error) {
	norm, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = DefaultStatementTimeout
	}
	cfg, err := pgxpool.ParseConfig(norm)
	if err != nil {
		// pgx's message may quote the URL; it has no password (ParseURL).
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if o.Password != "" {
		cfg.ConnConfig.Password = o.Password
	}
	cfg.MaxConns = int32(o.MaxConns)
	cfg.ConnConfig.ConnectTimeout = o.ConnectTimeout
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(o.StatementTimeout.Milliseconds())
	cfg.ConnConfig.RuntimeParams["lock_timeout"] = fmt.Sprint(o.StatementTimeout.Milliseconds())
	cfg.ConnConfig.RuntimeParams["application_name"] = "wxlogin"
	// A connection that sat idle through a server restart is found dead
	// by its first query; a short health check period drops such
	// connections soon after the server is back.
	cfg.HealthCheckPeriod = time.Second
	if o.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{o.Schema}.Sanitize()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	db := &DB{pool: pool, timeout: o.StatementTimeout, schema: o.Schema}
	return db, nil
}

// Close closes the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping implements wxlogin.Pinger: one round trip on a pooled connection.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	if _, err := db.pool.Exec(ctx, `SELECT 1`); err != nil {
		return storeError("Ping", err)
	}
	return nil
}

// bound gives ctx the store's per-operation deadline, so that a server that
// accepts connections but never answers (SIGSTOP) costs one timeout.
func (db *DB) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, db.timeout)
}

// Migrate applies the embedded migrations not yet recorded in
// schema_migrations, in name order, each in its own transaction, holding an
// advisory lock so that concurrent instances wait for each other.
func (db *DB) Migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	sort.Strings(names)
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return storeError("Migrate", err)
	}
	defer conn.Release()
	// Session-level: waits for another instance's migration, not bounded
	// by statement_timeout (set off for this connection only while held).
	if _, err := conn.Exec(ctx, `SET statement_timeout = 0; SET lock_timeout = 0`); err != nil {
		return storeError("Migrate", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `RESET statement_timeout; RESET lock_timeout`)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return storeError("Migrate", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)
	if db.schema != "" {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{db.schema}.Sanitize()); err != nil {
			return storeError("Migrate", err)
		}
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       text        NOT NULL PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return storeError("Migrate", err)
	}
	rows, err := conn.Query(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return storeError("Migrate", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return storeError("Migrate", err)
	}
	if unknown := unknownMigrations(applied); len(unknown) > 0 {
		return newerSchemaError(unknown)
	}
	for _, file := range names {
		name := strings.TrimPrefix(file, "migrations/")
		body, err := migrations.ReadFile(file)
		if err != nil {
			return fmt.Errorf("pgstore: %w", err)
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = $1)`, name).Scan(&done); err != nil {
				return err
			}
			if done {
				return nil
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (name) VALUES ($1)`, name)
			return err
		})
		if err != nil {
			return storeError("migration "+name, err)
		}
	}
	return nil
}

// KnownMigrations returns the names of the migrations this build embeds,
// in the order Migrate applies them, spelt as AppliedMigrations spells them.
func (db *DB) KnownMigrations() []string { return knownMigrations() }

func knownMigrations() []string {
	// Glob fails only on a malformed pattern, and this one is constant.
	files, _ := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(files)
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = strings.TrimPrefix(f, "migrations/")
	}
	return names
}

// unknownMigrations returns the applied migrations this build does not
// embed: a newer wxlogin migrated the database.
func unknownMigrations(applied []string) []string {
	known := knownMigrations()
	var unknown []string
	for _, name := range applied {
		if !slices.Contains(known, name) {
			unknown = append(unknown, name)
		}
	}
	return unknown
}

// newerSchemaError refuses a database a newer wxlogin has migrated: this
// build would read and write tables whose meaning has changed under it.
func newerSchemaError(unknown []string) error {
	return fmt.Errorf("pgstore: the database has migrations this wxlogin does not know (%s): a newer wxlogin migrated it; run that version, or restore a backup taken before the upgrade",
		strings.Join(unknown, ", "))
}

// AppliedMigrations lists the recorded migrations in order: none for a
// database never migrated.
func (db *DB) AppliedMigrations(ctx context.Context) ([]string, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, storeError("AppliedMigrations", err)
	}
	if !exists {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return nil, storeError("AppliedMigrations", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, storeError("AppliedMigrations", err)
	}
	return names, nil
}

// notFound returns an error matching wxlogin.ErrNotFound.
func notFound(what string) error { return wxlogin.Errorf(wxlogin.ENotFound, "%s not found", what) }

func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

// utc returns t in UTC truncated to the microsecond, as the database keeps
// it, so that what a write returns equals what a later read returns.
func utc(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }
