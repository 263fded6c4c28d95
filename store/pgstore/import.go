package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/wxlogin/wxlogin"
)

// ImportUsers stores users as they are, replacing a user with the same id:
// copying a store is idempotent, so an interrupted copy is resumed by
// running it again.
func (db *DB) ImportUsers(ctx context.Context, users []wxlogin.User) error {
	if len(users) == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	for _, u := range users {
		phone, err := phoneArg(u.Phone)
		if err != nil {
			return err
		}
		batch.Queue(`INSERT INTO users (`+userColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (id) DO UPDATE SET union_id = EXCLUDED.union_id, updated_at = EXCLUDED.updated_at,
			user_info = EXCLUDED.user_info, phone = EXCLUDED.phone, nickname = EXCLUDED.nickname,
			avatar_id = EXCLUDED.avatar_id, profile_updated_at = EXCLUDED.profile_updated_at,
			sealed_personal = EXCLUDED.sealed_personal`,
			u.ID, u.AppID, u.OpenID, u.UnionID, u.CreatedAt, u.UpdatedAt,
			jsonArg(u.UserInfo), phone, u.Profile.Nickname, u.Profile.AvatarID, u.Profile.UpdatedAt, bytesArg(u.Sealed))
	}
	return db.sendBatch(ctx, "ImportUsers", batch)
}

// ImportSessions stores sessions as they are (token hashes included, so
// their tokens keep working), replacing a session with the same id.
func (db *DB) ImportSessions(ctx context.Context, sessions []wxlogin.Session) error {
	if len(sessions) == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	for _, s := range sessions {
		batch.Queue(`INSERT INTO sessions (`+sessionColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (id) DO UPDATE SET sealed_session_key = EXCLUDED.sealed_session_key,
			last_seen_at = EXCLUDED.last_seen_at, idle_expires_at = EXCLUDED.idle_expires_at`,
			s.ID, s.TokenHash[:], s.UserID, s.AppID, s.OpenID, s.UnionID, s.SealedSessionKey,
			s.CreatedAt, s.LastSeenAt, s.IdleExpiresAt, s.ExpiresAt, s.UserAgent, s.IP)
	}
	return db.sendBatch(ctx, "ImportSessions", batch)
}

// ImportDeliveries stores webhook outbox rows as they are, replacing one
// with the same id; leases are not copied (the copy is made while no
// instance runs).
func (db *DB) ImportDeliveries(ctx context.Context, ds []wxlogin.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	for _, d := range ds {
		var last *time.Time
		if !d.LastAttemptAt.IsZero() {
			last = &d.LastAttemptAt
		}
		batch.Queue(`INSERT INTO webhook_deliveries (`+deliveryColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, attempts = EXCLUDED.attempts,
			next_attempt_at = EXCLUDED.next_attempt_at, give_up_at = EXCLUDED.give_up_at,
			last_attempt_at = EXCLUDED.last_attempt_at, last_status = EXCLUDED.last_status,
			last_error = EXCLUDED.last_error, lease_until = NULL`,
			d.ID, d.EventID, d.Event, d.URL, d.Payload, d.State, d.Attempts, d.CreatedAt,
			d.NextAttemptAt, d.GiveUpAt, last, d.LastStatus, d.LastError)
	}
	return db.sendBatch(ctx, "ImportDeliveries", batch)
}

func (db *DB) sendBatch(ctx context.Context, op string, batch *pgx.Batch) error {
	ctx, cancel := context.WithTimeout(ctx, 4*db.timeout)
	defer cancel()
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, batch).Close()
	})
	return storeError(op, err)
}

// Counts returns how many users, sessions and blobs the database holds.
func (db *DB) Counts(ctx context.Context) (users, sessions, blobs int, err error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	err = db.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM sessions),
		(SELECT count(*) FROM blobs)`).Scan(&users, &sessions, &blobs)
	return users, sessions, blobs, storeError("Counts", err)
}
