package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
)

var _ wxlogin.OutboxStore = (*DB)(nil)

const deliveryColumns = `id, event_id, event, url, payload, state, attempts, created_at,
	next_attempt_at, give_up_at, last_attempt_at, last_status, last_error`

// defaultDeliveryLimit is Deliveries' limit when the filter gives none.
const defaultDeliveryLimit = 100

func scanDelivery(r rowScanner) (wxlogin.Delivery, error) {
	var (
		d                                  wxlogin.Delivery
		created, next, giveUp, lastAttempt int64
	)
	if err := r.Scan(&d.ID, &d.EventID, &d.Event, &d.URL, &d.Payload, &d.State, &d.Attempts, &created,
		&next, &giveUp, &lastAttempt, &d.LastStatus, &d.LastError); err != nil {
		return wxlogin.Delivery{}, err
	}
	d.CreatedAt, d.NextAttemptAt, d.GiveUpAt = fromMicros(created), fromMicros(next), fromMicros(giveUp)
	if lastAttempt != 0 {
		d.LastAttemptAt = fromMicros(lastAttempt)
	}
	return d, nil
}

// insertDeliveries appends ds, pending, to the outbox inside tx.
func insertDeliveries(ctx context.Context, tx execer, ds []wxlogin.Delivery) error {
	for _, d := range ds {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries
			(id, event_id, event, url, payload, state, created_at, next_attempt_at, give_up_at)
			VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
			d.ID, d.EventID, d.Event, d.URL, d.Payload, micros(d.CreatedAt), micros(d.NextAttemptAt), micros(d.GiveUpAt)); err != nil {
			return err
		}
	}
	return nil
}

// EnsureUserWithDeliveries implements wxlogin.OutboxStore.
func (db *DB) EnsureUserWithDeliveries(ctx context.Context, u wxlogin.User, deliveries func(wxlogin.UserChange) []wxlogin.Delivery) (wxlogin.User, bool, error) {
	return db.ensureUser(ctx, u, deliveries)
}

// UpdateUserWithDeliveries implements wxlogin.OutboxStore.
func (db *DB) UpdateUserWithDeliveries(ctx context.Context, id string, update func(*wxlogin.User) error, ds []wxlogin.Delivery) (wxlogin.User, error) {
	return db.updateUser(ctx, id, update, ds)
}

// DeleteUserWithDeliveries implements wxlogin.OutboxStore.
func (db *DB) DeleteUserWithDeliveries(ctx context.Context, id string, ds []wxlogin.Delivery) error {
	_, err := db.deleteWithDeliveries(ctx, "DeleteUser", `DELETE FROM users WHERE id = ?`, id, ds)
	return err
}

// DeleteSessionWithDeliveries implements wxlogin.OutboxStore.
func (db *DB) DeleteSessionWithDeliveries(ctx context.Context, id string, ds []wxlogin.Delivery) error {
	_, err := db.deleteWithDeliveries(ctx, "DeleteSession", `DELETE FROM sessions WHERE id = ?`, id, ds)
	return err
}

// DeleteUserSessionsWithDeliveries implements wxlogin.OutboxStore.
func (db *DB) DeleteUserSessionsWithDeliveries(ctx context.Context, userID string, ds []wxlogin.Delivery) (int, error) {
	return db.deleteWithDeliveries(ctx, "DeleteUserSessions", `DELETE FROM sessions WHERE user_id = ?`, userID, ds)
}

// deleteWithDeliveries runs one DELETE and, when it deleted a row, appends
// ds, in one write transaction; it returns how many rows it deleted.
func (db *DB) deleteWithDeliveries(ctx context.Context, op, query, arg string, ds []wxlogin.Delivery) (int, error) {
	tx, err := db.begin(ctx, op)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, query, arg)
	if err != nil {
		return 0, storeError(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, storeError(op, err)
	}
	if n > 0 {
		if err := insertDeliveries(ctx, tx, ds); err != nil {
			return 0, storeError(op, err)
		}
	}
	if err := db.commit(tx, op); err != nil {
		return 0, err
	}
	return int(n), nil
}

// ClaimDeliveries implements wxlogin.OutboxStore. SQLite has one writer, so
// the select and the update of one claim cannot interleave with another's.
func (db *DB) ClaimDeliveries(ctx context.Context, urls []string, now, leaseUntil time.Time, limit int) ([]wxlogin.Delivery, error) {
	if len(urls) == 0 || limit <= 0 {
		return nil, nil
	}
	tx, err := db.begin(ctx, "ClaimDeliveries")
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	args := []any{micros(leaseUntil), micros(now), micros(now)}
	for _, u := range urls {
		args = append(args, u)
	}
	args = append(args, limit)
	rows, err := tx.QueryContext(ctx, `UPDATE webhook_deliveries SET lease_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM webhook_deliveries
			WHERE state = 'pending' AND next_attempt_at <= ? AND lease_until <= ?
			AND url IN (?`+strings.Repeat(", ?", len(urls)-1)+`)
			ORDER BY next_attempt_at, id LIMIT ?)
		RETURNING `+deliveryColumns, args...)
	if err != nil {
		return nil, storeError("ClaimDeliveries", err)
	}
	var out []wxlogin.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			rows.Close()
			return nil, storeError("ClaimDeliveries", err)
		}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, storeError("ClaimDeliveries", err)
	}
	if err := db.commit(tx, "ClaimDeliveries"); err != nil {
		return nil, err
	}
	// RETURNING gives rows in no promised order.
	slices.SortFunc(out, func(a, b wxlogin.Delivery) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// FinishDelivery implements wxlogin.OutboxStore.
func (db *DB) FinishDelivery(ctx context.Context, r wxlogin.DeliveryResult) (bool, error) {
	res, err := db.exec(ctx, "FinishDelivery", `UPDATE webhook_deliveries SET state = ?,
		next_attempt_at = CASE WHEN ? = 'pending' THEN ? ELSE next_attempt_at END,
		lease_until = 0, last_attempt_at = ?, last_status = ?, last_error = ?
		WHERE id = ? AND attempts = ? AND state = 'pending'`,
		r.State, r.State, micros(r.NextAttemptAt), micros(r.At), r.Status, r.Error, r.ID, r.Attempt)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, storeError("FinishDelivery", err)
	}
	return n == 1, nil
}

// Deliveries implements wxlogin.OutboxStore.
func (db *DB) Deliveries(ctx context.Context, f wxlogin.DeliveryFilter) ([]wxlogin.Delivery, error) {
	var (
		where []string
		args  []any
	)
	for _, c := range []struct{ col, v string }{{"state", f.State}, {"event", f.Event}, {"url", f.URL}} {
		if c.v != "" {
			where, args = append(where, c.col+" = ?"), append(args, c.v)
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultDeliveryLimit
	}
	q := `SELECT ` + deliveryColumns + ` FROM webhook_deliveries`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	return queryAll(ctx, db, "Deliveries", scanDelivery, q, append(args, limit)...)
}

// Delivery implements wxlogin.OutboxStore.
func (db *DB) Delivery(ctx context.Context, id string) (wxlogin.Delivery, error) {
	d, err := scanDelivery(db.queryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return wxlogin.Delivery{}, notFound("delivery")
	}
	if err != nil {
		return wxlogin.Delivery{}, storeError("Delivery", err)
	}
	return d, nil
}

// DeleteFinishedDeliveries implements wxlogin.OutboxStore, in batches
// like the session sweep, so that logins get the write lock in between.
func (db *DB) DeleteFinishedDeliveries(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		res, err := db.exec(ctx, "DeleteFinishedDeliveries", `DELETE FROM webhook_deliveries WHERE id IN (
			SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND last_attempt_at < ? LIMIT ?)`,
			micros(before), sweepBatch)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, storeError("DeleteFinishedDeliveries", err)
		}
		total += int(n)
		if n < sweepBatch {
			return total, nil
		}
	}
}

// ExportDeliveries returns up to limit outbox rows whose id is after the
// given one, in id order, for copying a store elsewhere (wxlogin migrate):
// pending events must survive the move.
func (db *DB) ExportDeliveries(ctx context.Context, after string, limit int) ([]wxlogin.Delivery, error) {
	return queryAll(ctx, db, "ExportDeliveries", scanDelivery,
		`SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
}

// RedeliverDelivery implements wxlogin.OutboxStore.
func (db *DB) RedeliverDelivery(ctx context.Context, id string, now, giveUpAt time.Time) (wxlogin.Delivery, error) {
	tx, err := db.begin(ctx, "RedeliverDelivery")
	if err != nil {
		return wxlogin.Delivery{}, err
	}
	defer tx.Rollback()
	d, err := scanDelivery(tx.QueryRowContext(ctx, `UPDATE webhook_deliveries
		SET state = 'pending', next_attempt_at = ?, give_up_at = ?, lease_until = 0
		WHERE id = ? RETURNING `+deliveryColumns, micros(now), micros(giveUpAt), id))
	if errors.Is(err, sql.ErrNoRows) {
		return wxlogin.Delivery{}, notFound("delivery")
	}
	if err != nil {
		return wxlogin.Delivery{}, storeError("RedeliverDelivery", err)
	}
	if err := db.commit(tx, "RedeliverDelivery"); err != nil {
		return wxlogin.Delivery{}, err
	}
	return d, nil
}
