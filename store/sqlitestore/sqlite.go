package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wxlogin/wxlogin"
	"modernc.org/sqlite" // also registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

var (
	_ wxlogin.UserStore    = (*DB)(nil)
	_ wxlogin.SessionStore = (*DB)(nil)
	_ wxlogin.Pinger       = (*DB)(nil)
	_ wxlogin.WriteChecker = (*DB)(nil)
	_ wxlogin.LoginStore   = (*DB)(nil)
)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeout bounds how long a write waits, for the write connection and
// then for the lock held by a writer from another process (a second server
// on the same file, wxlogin migrate), before it fails (see writeDeadline:
// a write's context can shorten it). Writers of one *DB never wait on the
// lock: they queue for the single write connection instead.
const busyTimeout = 10 * time.Second

// DB is a wxlogin database in one SQLite file. It implements
// wxlogin.UserStore, wxlogin.SessionStore and wxlogin.Pinger, and is safe for
// concurrent use.
type DB struct {
	path string

	// write has exactly one connection and begins transactions with BEGIN
	// IMMEDIATE: SQLite admits one writer at a time, and waiting for the one
	// connection in database/sql cannot fail with SQLITE_BUSY, where letting
	// several connections race for the lock ends in SQLITE_BUSY under load
	// (a deferred transaction that read first cannot wait for the lock).
	// The wait is not first come, first served: database/sql hands a freed
	// connection to any one of its waiters. Logins do not wait here at all
	// but in the committer's queue (group.go), which is in order.
	write *sql.DB
	// read has several query-only connections; in WAL mode they read a
	// consistent snapshot while the writer commits.
	read *sql.DB

	// stmts holds the read pool's prepared statements by query text (see
	// readStmt).
	stmts sync.Map // string → *sql.Stmt
	// writeStmts holds the write pool's prepared statements of group
	// writes (see writeStmt).
	writeStmts sync.Map // string → *sql.Stmt

	// file tells whether the path still leads to the files SQLite has open.
	file *fileIdentity

	// group commits logins together (see group.go).
	group     *committer
	closeOnce sync.Once
	// ckpt copies the WAL into the database file (see checkpoint.go).
	ckpt *checkpointer

	// sweepChunkDone, when set (by tests), is called by the sweep after
	// each of its statements, on the committer's goroutine, with how many
	// sessions its transaction has deleted so far.
	sweepChunkDone func(deleted int)
}

// Options tune Open.
type Options struct {
	// NoMigrate opens the database without applying pending migrations, for
	// deployments that run wxlogin migrate as a separate step.
	NoMigrate bool

	// checkpoints replaces the checkpointer's policy (tests); zero: the
	// default.
	checkpoints checkpointPolicy
}

// Open opens (creating if needed) the database file at path and applies
// pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenOptions(ctx, path, Options{})
}

// OpenURL opens the database a sqlite: URL names (see ParseURL) and applies
// pending migrations.
func OpenURL(ctx context.Context, rawURL string) (*DB, error) {
	path, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return Open(ctx, path)
}

// ParseURL returns the file path of a sqlite: URL:
//
//	sqlite:///var/lib/wxlogin/wxlogin.db  →  /var/lib/wxlogin/wxlogin.db
//	sqlite://data/wxlogin.db              →  data/wxlogin.db (relative)
//	sqlite:wxlogin.db                     →  wxlogin.db (relative)
//
// What follows "sqlite://" is all path: sqlite://localhost/w.db is the
// relative path localhost/w.db. Percent-escapes are decoded. Query parameters and fragments are rejected
// rather than ignored: the pragmas are wxlogin's choice (see the package
// comment), not the URL's, and a setting that silently does nothing is worse
// than an error at start.
func ParseURL(rawURL string) (string, error) {
	rest, ok := strings.CutPrefix(rawURL, "sqlite:")
	if !ok {
		return "", fmt.Errorf("sqlitestore: %q is not a sqlite: URL", rawURL)
	}
	if strings.ContainsAny(rest, "?#") {
		return "", fmt.Errorf("sqlitestore: %q: query parameters and fragments are not supported", rawURL)
	}
	// "//" introduces what a URL calls the authority; here it is simply the
	// start of the path, so that sqlite:///abs is absolute and sqlite://rel
	// is relative, as in SQLAlchemy and most tools.
	rest = strings.TrimPrefix(rest, "//")
	path, err := url.PathUnescape(rest)
	if err != nil {
		return "", fmt.Errorf("sqlitestore: %q: %w", rawURL, err)
	}
	if path == "" || strings.HasSuffix(path, "/") {
		return "", fmt.Errorf("sqlitestore: %q names no file", rawURL)
	}
	return path, nil
}

// OpenOptions opens (creating if needed) the database file at path.
//
// A new file is created with mode 0600 (SQLite gives its -wal and -shm files
// the same mode): it holds phone numbers and sealed session keys. Missing
// parent directories are created with mode 0700.
func OpenOptions(ctx context.Context, path string, o Options) (_ *DB, err error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// In-memory databases are per connection and would differ between
		// the read and write pools.
		return nil, fmt.Errorf("sqlitestore: %q: a file path is required", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	f.Close()

	db := &DB{path: abs}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()

	policy := o.checkpoints.orDefault()
	// The -wal file is cut back when the WAL starts afresh: after a burst
	// (a sweep, an import) it would otherwise keep its largest size on
	// disk.
	db.write, err = sql.Open("sqlite", withPragma(dsn(abs, true), fmt.Sprintf("journal_size_limit(%d)", policy.sizeLimit())))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxLifetime(0)
	db.write.SetConnMaxIdleTime(0)

	if err := db.enableWAL(ctx); err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", abs, err)
	}
	if db.file, err = newFileIdentity(abs); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	db.startCommitter()
	db.startCheckpointer(policy)

	if !o.NoMigrate {
		if err := db.Migrate(ctx); err != nil {
			return nil, err
		}
	}

	db.read, err = sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	db.read.SetMaxOpenConns(n)
	db.read.SetMaxIdleConns(n)
	db.read.SetConnMaxLifetime(0)
	db.read.SetConnMaxIdleTime(0)

	if !o.NoMigrate {
		// Prepare the verification hot path's statement now, so that the
		// first request does not pay for it.
		if _, err := db.readStmt(ctx, sessionByTokenQuery); err != nil {
			return nil, err
		}
	}
	return db, nil
}

// enableWAL switches the database to WAL mode (a setting kept in the file)
// and checks that it took: a filesystem without shared-memory support keeps
// the rollback journal, and the durability reasoning of the package comment
// would not hold. While another connection is switching the same new file,
// SQLite answers SQLITE_BUSY without waiting; retry then, within
// busyTimeout.
func (db *DB) enableWAL(ctx context.Context) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		var mode string
		err := db.write.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		switch {
		case err == nil && strings.EqualFold(mode, "wal"):
			return nil
		case err == nil:
			return fmt.Errorf("journal_mode is %q, want wal", mode)
		case !isBusy(err) || time.Now().After(deadline):
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// isBusy reports whether err is SQLITE_BUSY or one of its extended codes.
func isBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// isForeignKeyViolation reports whether err is SQLITE_CONSTRAINT_FOREIGNKEY:
// a row that references a missing one.
func isForeignKeyViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// dsn returns the modernc.org/sqlite data source name of a connection to
// the file at abs. The "file:" URI form keeps characters such as '?' in the
// path from being taken for parameters.
func dsn(abs string, write bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	// journal_mode is not set here but by enableWAL: switching a new file
	// to WAL fails at once with SQLITE_BUSY, without the busy timeout,
	// when another process is opening it at the same moment, and a pragma
	// in the DSN would make that a failure to connect.
	// FULL: in WAL mode, fsync the log at every commit. See the package
	// comment for why and for what it costs.
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "1")
	// Every login runs in a savepoint of its group's transaction (group.go),
	// and SQLite copies each page a savepoint first changes into a
	// sub-journal, a temporary file by default: two writes to the OS per
	// page. In memory it costs a copy. Nothing in it outlives the
	// transaction, so durability does not depend on where it is.
	q.Add("_pragma", "temp_store(memory)")
	// OpenOptions creates the file; a connection opened later (the pools
	// open them as needed) must never create one: after the file was
	// deleted under a running server, a fresh empty database at the path
	// would answer "no such table" (a bug's 500) instead of failing to open
	// (unavailable), and would stand where an operator restores the file.
	q.Set("mode", "rw")
	if write {
		q.Set("_txlock", "immediate")
		// The checkpointer copies the WAL into the database file, off the
		// write path (checkpoint.go); a commit never does.
		q.Add("_pragma", "wal_autocheckpoint(0)")
	} else {
		// A write through the read pool would bypass the writer queue and
		// could meet SQLITE_BUSY; make it an error instead.
		q.Set("_query_only", "1")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String()
}

// withPragma adds a pragma, run on each new connection, to a DSN of dsn.
func withPragma(dsn, pragma string) string {
	return dsn + "&" + url.Values{"_pragma": {pragma}}.Encode()
}

// readStmt returns the read pool's prepared statement of query, preparing
// it on first use. Parsing and planning cost more than an indexed point
// query itself, so every read with a fixed text goes through here; FindUsers
// has at most eight texts. Preparing lazily also lets a database opened with
// NoMigrate get its schema later.
func (db *DB) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := db.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: prepare: %w", err)
	}
	if prev, loaded := db.stmts.LoadOrStore(query, st); loaded {
		st.Close() // another goroutine prepared it first
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// writeStmt returns the write pool's prepared statement of query, preparing
// it on first use (which waits for the write connection). A group write
// runs it through tx.StmtContext, which reuses the statement already
// prepared on the one write connection: the committer runs every login's
// statements one after the other, and parsing them again each time would
// be most of its work.
func (db *DB) writeStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := db.writeStmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.write.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: prepare: %w", err)
	}
	if prev, loaded := db.writeStmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// queryRow runs a single-row read through a prepared statement.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	st, err := db.readStmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// query runs a read through a prepared statement.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := db.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryAll runs a read and scans every row with scan; op names the store
// method in errors.
func queryAll[T any](ctx context.Context, db *DB, op string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: %s: %w", op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: %w", op, err)
	}
	return out, nil
}

// errRow is a row whose query could not even be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// Close closes the database. The last connection to close checkpoints the
// WAL into the main file.
func (db *DB) Close() error {
	// The checkpointer first: it may be waiting for an idle turn of the
	// committer.
	db.stopCheckpointer()
	db.stopCommitter()
	var errs []error
	for _, m := range []*sync.Map{&db.stmts, &db.writeStmts} {
		m.Range(func(_, st any) bool {
			errs = append(errs, st.(*sql.Stmt).Close())
			return true
		})
	}
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// Path returns the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// Ping reports whether the database can be read, schema included.
func (db *DB) Ping(ctx context.Context) error {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return storeError("ping", err)
	}
	return nil
}

// Migrate applies the embedded migrations not yet applied, in name order,
// each in its own transaction together with its row in schema_migrations.
// It is idempotent, and safe against a concurrent Migrate from another
// process: the check for a migration runs inside the write transaction.
func (db *DB) Migrate(ctx context.Context) error {
	if err := db.createMigrationsTable(ctx); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	applied, err := db.AppliedMigrations(ctx)
	if err != nil {
		return err
	}
	if unknown := unknownMigrations(applied); len(unknown) > 0 {
		return newerSchemaError(unknown)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := db.migrate(ctx, name); err != nil {
			return fmt.Errorf("sqlitestore: migration %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) createMigrationsTable(ctx context.Context) error {
	_, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT    NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL -- Unix microseconds
	) STRICT`)
	return err
}

// migrate applies one migration file unless schema_migrations records it.
func (db *DB) migrate(ctx context.Context, file string) error {
	name := strings.TrimSuffix(filepath.Base(file), ".sql")
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	src, err := fs.ReadFile(migrations, file)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(src)); err != nil {
		return err
	}
	// The wall clock is right here: applied_at is a record for operators,
	// not data the service reasons with.
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
		name, time.Now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}

// KnownMigrations returns the names of the migrations this build embeds,
// in the order Migrate applies them, spelt as AppliedMigrations spells them.
func (db *DB) KnownMigrations() []string { return KnownMigrations() }

// KnownMigrations returns the names of the migrations this build embeds, for
// a status report on a database not created yet.
func KnownMigrations() []string {
	// Glob fails only on a malformed pattern, and this one is constant.
	files, _ := fs.Glob(migrations, "migrations/*.sql")
	slices.Sort(files)
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = strings.TrimSuffix(filepath.Base(f), ".sql")
	}
	return names
}

// unknownMigrations returns the applied migrations this build does not
// embed: a newer wxlogin migrated the database.
func unknownMigrations(applied []string) []string {
	known := KnownMigrations()
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
	return fmt.Errorf("sqlitestore: the database has migrations this wxlogin does not know (%s): a newer wxlogin migrated it; run that version, or restore a backup taken before the upgrade",
		strings.Join(unknown, ", "))
}

// AppliedMigrations returns the names of the applied migrations, in order:
// none for a database never migrated.
func (db *DB) AppliedMigrations(ctx context.Context) ([]string, error) {
	var tables int
	if err := db.write.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&tables); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	if tables == 0 {
		return nil, nil
	}
	rows, err := db.write.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return names, nil
}

// micros encodes a time for storage: Unix microseconds. The zero time
// encodes as its own (very negative) value, so it comes back zero and, as
// a deadline, lies before every now.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros decodes a stored time, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// notFound returns an error matching wxlogin.ErrNotFound.
func notFound(what string) error { return wxlogin.Errorf(wxlogin.ENotFound, "%s not found", what) }

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }
