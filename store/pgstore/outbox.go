package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wxlogin/wxlogin"
)

var _ wxlogin.OutboxStore = (*DB)(nil)

const deliveryColumns = `id, event_id, event, url, payload, state, attempts, created_at,
	next_attempt_at, give_up_at, last_attempt_at, last_status, last_error`

// defaultDeliveryLimit is Deliveries' limit when the filter gives none.
const defaultDeliveryLimit = 100

func scanDelivery(r pgx.Row) (wxlogin.Delivery, error) {
	var (
		d           wxlogin.Delivery
		lastAttempt *time.Time
	)
	if err := r.Scan(&d.ID, &d.EventID, &d.Event, &d.URL, &d.Payload, &d.State, &d.Attempts, &d.CreatedAt,
		&d.NextAttemptAt, &d.GiveUpAt, &lastAttempt, &d.LastStatus, &d.LastError); err != nil {
		return wxlogin.Delivery{}, err
	}
	d.CreatedAt, d.NextAttemptAt, d.GiveUpAt = d.CreatedAt.UTC(), d.NextAttemptAt.UTC(), d.GiveUpAt.UTC()
	if lastAttempt != nil {
		d.LastAttemptAt = lastAttempt.UTC()
	}
	return d, nil
}

// insertDeliveries appends ds, pending, to the outbox inside tx.
func insertDeliveries(ctx context.Context, tx pgx.Tx, ds []wxlogin.Delivery) error {
	for _, d := range ds {
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries
			(id, event_id, event, url, payload, state, created_at, next_attempt_at, give_up_at)
			VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8)`,
			d.ID, d.EventID, d.Event, d.URL, d.Payload, d.CreatedAt, d.NextAttemptAt, d.GiveUpAt); err != nil {
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
	_, err := db.deleteWithDeliveries(ctx, "DeleteUser", `DELETE FROM users WHERE id = $1`, id, ds)
	return err
}

// DeleteSessionWithDeliveries implements wxlogin.OutboxStore.
func (db *DB) DeleteSessionWithDeliveries(ctx context.Context, id string, ds []wxlogin.Delivery) error {
	_, err := db.deleteWithDeliveries(ctx, "DeleteSession", `DELETE FROM sessions WHERE id = $1`, id, ds)
	return err
}

// DeleteUserSessionsWithDeliveries implements wxlogin.OutboxStore.
func (db *DB) DeleteUserSessionsWithDeliveries(ctx context.Context, userID string, ds []wxlogin.Delivery) (int, error) {
	return db.deleteWithDeliveries(ctx, "DeleteUserSessions", `DELETE FROM sessions WHERE user_id = $1`, userID, ds)
}

// deleteWithDeliveries runs one DELETE and, when it deleted a row, appends
// ds, in one transaction; it returns how many rows it deleted.
func (db *DB) deleteWithDeliveries(ctx context.Context, op, query, arg string, ds []wxlogin.Delivery) (int, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var n int64
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, query, arg)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		if n == 0 {
			return nil
		}
		return insertDeliveries(ctx, tx, ds)
	})
	if err != nil {
		return 0, storeError(op, err)
	}
	return int(n), nil
}

// ClaimDeliveries implements wxlogin.OutboxStore. FOR UPDATE SKIP LOCKED
// lets concurrent claims from several instances pass each other's rows
// instead of waiting for them, and the lease keeps a claimed row from
// being claimed again after the claiming transaction committed.
func (db *DB) ClaimDeliveries(ctx context.Context, urls []string, now, leaseUntil time.Time, limit int) ([]wxlogin.Delivery, error) {
	if len(urls) == 0 || limit <= 0 {
		return nil, nil
	}
	ds, err := queryAll(ctx, db, "ClaimDeliveries", scanDelivery, `WITH due AS (
			SELECT id FROM webhook_deliveries
			WHERE state = 'pending' AND next_attempt_at <= $1
				AND (lease_until IS NULL OR lease_until <= $1) AND url = ANY($2)
			ORDER BY next_attempt_at, id LIMIT $3
			FOR UPDATE SKIP LOCKED)
		UPDATE webhook_deliveries d SET lease_until = $4, attempts = d.attempts + 1
		FROM due WHERE d.id = due.id
		RETURNING `+prefixed("d.", deliveryColumns), now, urls, limit, leaseUntil)
	// RETURNING gives rows in no promised order.
	slices.SortFunc(ds, func(a, b wxlogin.Delivery) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return ds, err
}

// prefixed qualifies each column of a column list with p.
func prefixed(p, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// FinishDelivery implements wxlogin.OutboxStore.
func (db *DB) FinishDelivery(ctx context.Context, r wxlogin.DeliveryResult) (bool, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := db.pool.Exec(ctx, `UPDATE webhook_deliveries SET state = $1,
		next_attempt_at = CASE WHEN $1 = 'pending' THEN $2 ELSE next_attempt_at END,
		lease_until = NULL, last_attempt_at = $3, last_status = $4, last_error = $5
		WHERE id = $6 AND attempts = $7 AND state = 'pending'`,
		r.State, r.NextAttemptAt, r.At, r.Status, r.Error, r.ID, r.Attempt)
	if err != nil {
		return false, storeError("FinishDelivery", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Deliveries implements wxlogin.OutboxStore.
func (db *DB) Deliveries(ctx context.Context, f wxlogin.DeliveryFilter) ([]wxlogin.Delivery, error) {
	var (
		where []string
		args  []any
	)
	for _, c := range []struct{ col, v string }{{"state", f.State}, {"event", f.Event}, {"url", f.URL}} {
		if c.v != "" {
			args = append(args, c.v)
			where = append(where, fmt.Sprintf("%s = $%d", c.col, len(args)))
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
	args = append(args, limit)
	q += fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args))
	return queryAll(ctx, db, "Deliveries", scanDelivery, q, args...)
}

// Delivery implements wxlogin.OutboxStore.
func (db *DB) Delivery(ctx context.Context, id string) (wxlogin.Delivery, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	d, err := scanDelivery(db.pool.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return wxlogin.Delivery{}, notFound("delivery")
	}
	if err != nil {
		return wxlogin.Delivery{}, storeError("Delivery", err)
	}
	return d, nil
}

// DeleteFinishedDeliveries implements wxlogin.OutboxStore, in batches,
// each its own statement and deadline.
func (db *DB) DeleteFinishedDeliveries(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		n, err := db.deleteFinishedBatch(ctx, before)
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
	}
}

func (db *DB) deleteFinishedBatch(ctx context.Context, before time.Time) (int, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	tag, err := db.pool.Exec(ctx, `DELETE FROM webhook_deliveries WHERE id IN (
		SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND last_attempt_at < $1 LIMIT $2)`, before, sweepBatch)
	if err != nil {
		return 0, storeError("DeleteFinishedDeliveries", err)
	}
	return int(tag.RowsAffected()), nil
}

// RedeliverDelivery implements wxlogin.OutboxStore.
func (db *DB) RedeliverDelivery(ctx context.Context, id string, now, giveUpAt time.Time) (wxlogin.Delivery, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	d, err := scanDelivery(db.pool.QueryRow(ctx, `UPDATE webhook_deliveries
		SET state = 'pending', next_attempt_at = $1, give_up_at = $2, lease_until = NULL
		WHERE id = $3 RETURNING `+deliveryColumns, now, giveUpAt, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return wxlogin.Delivery{}, notFound("delivery")
	}
	if err != nil {
		return wxlogin.Delivery{}, storeError("RedeliverDelivery", err)
	}
	return d, nil
}
