package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/wxlogin/wxlogin"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// minFreeBytes is the free space under which CheckWrite reports the disk
// full: a login writes a few pages to the WAL, and a checkpoint needs room
// as well.
const minFreeBytes = 4 << 20

// storeError wraps err, the failure of the store method op, with its class
// (wxlogin.ErrUnavailable, wxlogin.ErrConflict) when SQLite or the context
// tells which it is. An error of no known class stays unclassified: the
// caller treats it as a bug.
func storeError(op string, err error) error {
	if class := classOf(err); class != nil {
		return fmt.Errorf("sqlitestore: %s: %w: %w", op, class, err)
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, err)
}

func classOf(err error) error {
	if errors.Is(err, wxlogin.ErrUnavailable) || errors.Is(err, wxlogin.ErrConflict) {
		return nil // already classified
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) {
		return wxlogin.ErrUnavailable
	}
	if msg := err.Error(); strings.Contains(msg, "sql: database is closed") ||
		strings.Contains(msg, "sql: statement is closed") {
		// database/sql does not export these errors; a closed store is one
		// that cannot serve (a server shutting down).
		return wxlogin.ErrUnavailable
	}
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return nil
	}
	switch e.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
		sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOMEM,
		sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOLFS,
		sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH:
		return wxlogin.ErrUnavailable
	case sqlite3.SQLITE_INTERRUPT:
		// modernc.org/sqlite interrupts a statement whose context ended; a
		// deadline is the store running out of time, a cancellation the
		// client leaving (no class: nobody is answered anyway).
		return wxlogin.ErrUnavailable
	case sqlite3.SQLITE_CONSTRAINT:
		return wxlogin.ErrConflict
	}
	return nil
}

// fileIdentity remembers which files SQLite opened, to notice when the path
// no longer leads to them. SQLite keeps writing into a database file (or
// -wal) that was deleted or replaced under it; every such write is lost at
// the next start, so from then on the store refuses to write.
type fileIdentity struct {
	path, walPath string
	db            os.FileInfo
	wal           atomic.Value           // os.FileInfo, once the -wal exists
	gone          atomic.Pointer[string] // why, once noticed; never cleared
}

func newFileIdentity(path string) (*fileIdentity, error) {
	id := &fileIdentity{path: path, walPath: path + "-wal"}
	var err error
	if id.db, err = os.Stat(path); err != nil {
		return nil, err
	}
	return id, nil
}

// check returns an error matching wxlogin.ErrUnavailable if the database
// file or its -wal is no longer the one SQLite has open.
func (id *fileIdentity) check() error {
	if why := id.gone.Load(); why != nil {
		return fmt.Errorf("%w: %s", wxlogin.ErrUnavailable, *why)
	}
	why := ""
	if fi, err := os.Stat(id.path); err != nil {
		why = fmt.Sprintf("the database file %s is gone (%v)", id.path, errors.Unwrap(err))
	} else if !os.SameFile(fi, id.db) {
		why = fmt.Sprintf("the database file %s was replaced by another file", id.path)
	} else if wal, _ := id.wal.Load().(os.FileInfo); wal == nil {
		// The -wal appears with the first write. From then on the write
		// connection holds it open for the life of the DB, so it is not
		// deleted and recreated on its own (the last connection to close
		// removes it).
		if fi, err := os.Stat(id.walPath); err == nil {
			id.wal.CompareAndSwap(nil, fi)
		}
	} else {
		if fi, err := os.Stat(id.walPath); err != nil {
			why = fmt.Sprintf("the write-ahead log %s is gone (%v)", id.walPath, errors.Unwrap(err))
		} else if !os.SameFile(fi, wal) {
			why = fmt.Sprintf("the write-ahead log %s was replaced by another file", id.walPath)
		}
	}
	if why == "" {
		return nil
	}
	why += "; restart the server once the file is back in place"
	id.gone.CompareAndSwap(nil, &why)
	return fmt.Errorf("%w: %s", wxlogin.ErrUnavailable, *id.gone.Load())
}

// writable reports why a write must not start: the file is no longer the
// one opened, or its filesystem is read-only.
func (db *DB) writable() error {
	if err := db.file.check(); err != nil {
		return err
	}
	return checkReadOnly(db.path)
}

// exec runs one write statement in its own transaction. The file is checked
// before and after: a write that went into a deleted or replaced file is
// reported as a failure, never acknowledged.
func (db *DB) exec(ctx context.Context, op, query string, args ...any) (sql.Result, error) {
	if err := db.writable(); err != nil {
		return nil, storeError(op, err)
	}
	conn, err := db.writeConn(ctx)
	if err != nil {
		return nil, storeError(op, err)
	}
	res, err := conn.ExecContext(ctx, query, args...)
	conn.Close()
	if err != nil {
		return nil, storeError(op, err)
	}
	if err := db.file.check(); err != nil {
		return nil, storeError(op, err)
	}
	return res, nil
}

// begin starts a write transaction (BEGIN IMMEDIATE) on a file still in
// place, on a writable filesystem.
// The caller ends it with commit or Rollback (which may follow commit).
func (db *DB) begin(ctx context.Context, op string) (writeTx, error) {
	if err := db.writable(); err != nil {
		return writeTx{}, storeError(op, err)
	}
	conn, err := db.writeConn(ctx)
	if err != nil {
		return writeTx{}, storeError(op, err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		conn.Close()
		return writeTx{}, storeError(op, err)
	}
	return writeTx{tx, conn}, nil
}

// commit commits tx and checks that the file it went to is still the one
// at the path (see exec).
func (db *DB) commit(tx writeTx, op string) error {
	if err := db.file.check(); err != nil {
		return storeError(op, err)
	}
	if err := tx.Commit(); err != nil {
		return storeError(op, err)
	}
	if err := db.file.check(); err != nil {
		return storeError(op, err)
	}
	return nil
}

// CheckWrite implements wxlogin.WriteChecker: the database file is the one
// opened, the filesystem is writable with room to spare, and the write lock
// can be taken within ctx (BEGIN IMMEDIATE, then ROLLBACK: nothing is
// written).
func (db *DB) CheckWrite(ctx context.Context) error {
	if err := db.file.check(); err != nil {
		return storeError("write check", err)
	}
	if err := checkFilesystem(db.path); err != nil {
		return storeError("write check", err)
	}
	conn, err := db.writeConn(ctx)
	if err != nil {
		return storeError("write check: taking the write lock", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return storeError("write check: taking the write lock", err)
	}
	if err := tx.Rollback(); err != nil {
		return storeError("write check", err)
	}
	return nil
}
