package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/wxlogin/wxlogin"
)

// className names the class err matches, for test messages.
func className(err error) string {
	switch {
	case errors.Is(err, wxlogin.ErrUnavailable) && errors.Is(err, wxlogin.ErrConflict):
		return "both"
	case errors.Is(err, wxlogin.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, wxlogin.ErrConflict):
		return "conflict"
	}
	return "none"
}

// seedSession stores a user and a session of it and returns the session.
func seedSession(t *testing.T, db *DB, id string) wxlogin.Session {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	u, _, err := db.EnsureUser(t.Context(), wxlogin.User{ID: "usr_" + id, AppID: "wxapp", OpenID: "o_" + id, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatalf("EnsureUser: %v", err)
	}
	s := wxlogin.Session{ID: "ses_" + id, UserID: u.ID, AppID: "wxapp", OpenID: u.OpenID,
		CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
	copy(s.TokenHash[:], id+"________________________________")
	if err := db.CreateSession(t.Context(), s); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return s
}

// TestErrorClassBySQLSTATE maps the server's error codes to the store's
// classes: what says the server cannot serve now is unavailable, a lost
// race is a conflict, and every other code (a bug in a query, bad data)
// has no class, so auth answers 500 and logs it.
func TestErrorClassBySQLSTATE(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code, name, want string
	}{
		{"08000", "connection_exception", "unavailable"},
		{"08006", "connection_failure", "unavailable"},
		{"08001", "sqlclient_unable_to_establish_sqlconnection", "unavailable"},
		{"57P01", "admin_shutdown", "unavailable"},
		{"57P02", "crash_shutdown", "unavailable"},
		{"57P03", "cannot_connect_now", "unavailable"},
		{"57P04", "database_dropped", "unavailable"},
		{"57014", "query_canceled", "unavailable"},
		{"55P03", "lock_not_available", "unavailable"},
		{"53300", "too_many_connections", "unavailable"},
		{"53100", "disk_full", "unavailable"},
		{"53200", "out_of_memory", "unavailable"},
		{"58030", "io_error", "unavailable"},
		{"25006", "read_only_sql_transaction", "unavailable"},
		{"25P03", "idle_in_transaction_session_timeout", "unavailable"},
		{"40003", "statement_completion_unknown", "unavailable"},
		{"40001", "serialization_failure", "conflict"},
		{"40P01", "deadlock_detected", "conflict"},
		{"23505", "unique_violation", "conflict"},
		{"23502", "not_null_violation", "none"},
		{"23514", "check_violation", "none"},
		{"22P02", "invalid_text_representation", "none"},
		{"42P01", "undefined_table", "none"},
		{"42703", "undefined_column", "none"},
		{"42601", "syntax_error", "none"},
		{"XX000", "internal_error", "none"},
		{"28P01", "invalid_password (outside a connect)", "none"},
		{"", "no code", "none"},
	} {
		err := storeError("Op", fmt.Errorf("query: %w", &pgconn.PgError{Code: tc.code, Message: tc.name}))
		if got := className(err); got != tc.want {
			t.Errorf("SQLSTATE %s (%s): class %s, want %s (%v)", tc.code, tc.name, got, tc.want, err)
		}
	}
}

// TestErrorClassOfOtherFailures covers what fails before or around the
// SQL: the network, the context, the pool.
func TestErrorClassOfOtherFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, "unavailable"},
		{"reset", fmt.Errorf("failed to receive message: %w", syscall.ECONNRESET), "unavailable"},
		{"unexpected EOF", fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF), "unavailable"},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), "unavailable"},
		{"closed pool", errors.New("closed pool"), "unavailable"},
		{"conn closed", pgconn.ErrConnClosed, "unavailable"},
		{"canceled: the client left", fmt.Errorf("query: %w", context.Canceled), "none"},
		{"no rows", pgx.ErrNoRows, "none"},
		{"a scan error", errors.New("can't scan into dest[3]: cannot scan NULL into *string"), "none"},
		{"already classified", fmt.Errorf("%w: x", wxlogin.ErrConflict), "conflict"},
	} {
		if got := className(storeError("Op", tc.err)); got != tc.want {
			t.Errorf("%s: class %s, want %s", tc.name, got, tc.want)
		}
	}
	if err := storeError("Op", nil); err != nil {
		t.Errorf("storeError(nil) = %v", err)
	}
}

// TestErrorClassOnServer checks the classes with real failures: a port
// nothing listens on, a statement over the timeout, a backend terminated
// under the store, a duplicate row, a query of a missing table.
func TestErrorClassOnServer(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	down, err := Connect(t.Context(), "postgres://wx@"+closed+"/wx?sslmode=disable", Options{ConnectTimeout: time.Second})
	if err != nil {
		t.Fatalf("Connect (lazy): %v", err)
	}
	defer down.Close()
	if err := down.Ping(t.Context()); className(err) != "unavailable" {
		t.Errorf("Ping of a closed port: %v, want unavailable", err)
	}
	if _, err := down.User(t.Context(), "u1"); className(err) != "unavailable" {
		t.Errorf("User on a closed port: %v, want unavailable", err)
	}

	short, err := Connect(t.Context(), testURL(t), Options{StatementTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	_, err = short.pool.Exec(t.Context(), `SELECT pg_sleep(5)`)
	if err = storeError("sleep", err); className(err) != "unavailable" {
		t.Errorf("a statement over statement_timeout: %v, want unavailable", err)
	}

	db := newDB(t)
	s := seedSession(t, db, "dup")
	if err := db.CreateSession(t.Context(), s); className(err) != "conflict" {
		t.Errorf("CreateSession of a stored id: %v, want conflict", err)
	}
	_, err = db.pool.Exec(t.Context(), `SELECT * FROM no_such_table`)
	if err = storeError("bad SQL", err); className(err) != "none" {
		t.Errorf("a query of a missing table: %v, want no class", err)
	}

	// One connection, terminated by the server (as pg_ctl stop does to
	// every backend): its next query fails with admin_shutdown or a dropped
	// connection, both unavailable; the pool then reconnects by itself.
	one, err := Connect(t.Context(), testURL(t), Options{Schema: db.schema, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	var pid int
	if err := one.pool.QueryRow(t.Context(), `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(t.Context(), `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	if _, err := one.Session(t.Context(), s.ID); className(err) != "unavailable" {
		t.Errorf("Session on a terminated backend: %v, want unavailable", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := one.Session(t.Context(), s.ID)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Session after the backend was terminated never recovered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSerializationFailureIsRetried makes a serializable transaction lose
// to a concurrent update on a real server: inTx runs it again and the
// second attempt commits; one that loses every attempt is a conflict.
func TestSerializationFailureIsRetried(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	if _, err := db.pool.Exec(t.Context(), `CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL);
		INSERT INTO counters VALUES (1, 0)`); err != nil {
		t.Fatal(err)
	}
	// bump reads the counter in a serializable snapshot, lets another
	// connection update it when interfere says so, then writes: the write
	// is refused with 40001 whenever the other update came in between.
	bump := func(interfere func(attempt int) bool) (attempts int, err error) {
		var n atomic.Int32
		err = db.inTx(t.Context(), func(tx pgx.Tx) error {
			attempt := int(n.Add(1))
			if _, err := tx.Exec(t.Context(), `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE`); err != nil {
				return err
			}
			var v int
			if err := tx.QueryRow(t.Context(), `SELECT n FROM counters WHERE id = 1`).Scan(&v); err != nil {
				return err
			}
			if interfere(attempt) {
				if _, err := db.pool.Exec(t.Context(), `UPDATE counters SET n = n + 100 WHERE id = 1`); err != nil {
					return fmt.Errorf("the interfering update: %w", err)
				}
			}
			_, err := tx.Exec(t.Context(), `UPDATE counters SET n = $1 WHERE id = 1`, v+1)
			return err
		})
		return int(n.Load()), storeError("bump", err)
	}

	attempts, err := bump(func(attempt int) bool { return attempt == 1 })
	if err != nil || attempts != 2 {
		t.Fatalf("one lost race: %d attempts, %v; want 2 attempts and success", attempts, err)
	}
	var v int
	if err := db.pool.QueryRow(t.Context(), `SELECT n FROM counters WHERE id = 1`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != 101 {
		t.Errorf("counter = %d, want 101 (the interfering +100, then the retried +1 on top of it)", v)
	}

	attempts, err = bump(func(int) bool { return true })
	if attempts != txAttempts || className(err) != "conflict" {
		t.Errorf("always losing: %d attempts, %v (class %s); want %d attempts and a conflict", attempts, err, className(err), txAttempts)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "40001" {
		t.Errorf("always losing: %v, want the server's 40001 kept as the cause", err)
	}
}
