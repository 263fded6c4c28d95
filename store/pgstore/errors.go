package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/wxlogin/wxlogin"
)

// storeError wraps err, the failure of the store method op, with its class
// (wxlogin.ErrUnavailable, wxlogin.ErrConflict) when the server's SQLSTATE,
// the connection or the context tells which it is. An error of no known
// class (a SQL error, a row that does not scan) stays unclassified: the
// caller treats it as a bug, answered 500 and logged with its cause.
func storeError(op string, err error) error {
	if err == nil {
		return nil
	}
	if class := classOf(err); class != nil {
		return fmt.Errorf("pgstore: %s: %w: %w", op, class, err)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// classOf returns the class of err, or nil for none.
func classOf(err error) error {
	switch {
	case errors.Is(err, wxlogin.ErrUnavailable) || errors.Is(err, wxlogin.ErrConflict):
		return nil // already classified
	case errors.Is(err, context.Canceled):
		// The caller left; nobody reads the answer, and it is no outage.
		return nil
	}
	// A failure to connect comes before any SQL: whatever the server said
	// (a wrong password, a database that does not exist, too many
	// connections), this store cannot serve until that changes.
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return wxlogin.ErrUnavailable
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return classOfCode(pgErr.Code)
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, pgconn.ErrConnClosed) {
		return wxlogin.ErrUnavailable
	}
	// pgx and its pool do not export these; a closed pool is a server
	// shutting down, a closed connection one the server dropped.
	if msg := err.Error(); strings.Contains(msg, "closed pool") || strings.Contains(msg, "conn closed") ||
		strings.Contains(msg, "unexpected EOF") || strings.Contains(msg, "connection reset") {
		return wxlogin.ErrUnavailable
	}
	return nil
}

// classOfCode returns the class of a SQLSTATE (the PostgreSQL manual's
// appendix "PostgreSQL Error Codes"), or nil for a code that means a bug.
func classOfCode(code string) error {
	switch code {
	case "57P01", // admin_shutdown: pg_ctl stop, or the backend was terminated
		"57P02", // crash_shutdown
		"57P03", // cannot_connect_now: starting up or in recovery
		"57P04", // database_dropped
		"57P05", // idle_session_timeout
		"57014", // query_canceled: statement_timeout ran out
		"55P03", // lock_not_available: lock_timeout ran out
		"55006", // object_in_use
		"25006", // read_only_sql_transaction: a standby, or a primary after failover
		"25P03", // idle_in_transaction_session_timeout
		"40003": // statement_completion_unknown: the connection failed mid-commit
		return wxlogin.ErrUnavailable
	case "40001", // serialization_failure
		"40P01", // deadlock_detected
		"23505": // unique_violation
		// A race with another writer. Transactions retry the first two
		// (retryable); what reaches here lost every attempt.
		return wxlogin.ErrConflict
	}
	switch code[:min(2, len(code))] {
	case "08", // connection exception
		"53", // insufficient resources: disk full, out of memory, too many connections
		"58": // system error: I/O error
		return wxlogin.ErrUnavailable
	}
	return nil
}

// retryable reports whether err is a serialization failure or a deadlock:
// the server rolled the transaction back because of another one, and
// running it again is the documented answer.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// txAttempts is how often inTx runs a transaction that keeps losing races.
const txAttempts = 4

// inTx runs fn in a transaction and commits it, running it again (after a
// short random pause, so that the two losers of a deadlock do not meet
// again) when the server aborted it as a serialization failure or a
// deadlock. fn must have no effects outside the transaction, as it may run
// more than once. The last failure is returned unwrapped: the caller
// classifies it (a conflict that lost every attempt is ErrConflict).
func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = pgx.BeginFunc(ctx, db.pool, fn)
		if err == nil || !retryable(err) || attempt == txAttempts {
			return err
		}
		pause := time.Duration(attempt) * time.Duration(1+rand.IntN(10)) * time.Millisecond
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}
