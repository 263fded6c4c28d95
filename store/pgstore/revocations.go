package pgstore

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/wxlogin/wxlogin/auth"
)

// Defaults of RevocationLogOptions.
const (
	DefaultRevocationPoll = 200 * time.Millisecond
)

// revocationOverlap is how far back each read of the log reaches past the
// newest row it saw: a row's time is taken when it is inserted, and it
// becomes visible at its commit, a moment later, so a row may appear
// behind one already read. Rows seen once are not delivered again.
const revocationOverlap = 2 * time.Second

// revocationKeep is how long the log keeps a row: long enough for a reader
// whose database was out for a while to catch up when it is back.
const revocationKeep = time.Hour

// pruneEvery is how often a reader deletes rows older than revocationKeep.
const pruneEvery = time.Minute

// RevocationLogOptions tune a RevocationLog. Zero fields take the defaults.
type RevocationLogOptions struct {
	// Poll is how often a subscription reads the log
	// (DefaultRevocationPoll): a revocation published only here reaches
	// the other instances within about that long.
	Poll time.Duration
	// Logger receives the losses and returns of a subscription; default
	// slog.Default().
	Logger *slog.Logger
}

// RevocationLog is auth.Revocations as a table that every subscriber reads
// a few times a second. It is slower than a pub/sub bus, but it needs
// nothing the instances do not already have: an instance that just
// deleted a session in this database can nearly always write the row too,
// even when it cannot reach Redis. A subscriber whose reads fail reports
// live(false) and, once they work again, reads what it missed (the log
// keeps an hour) before reporting live(true).
type RevocationLog struct {
	db   *DB
	poll time.Duration
	log  *slog.Logger
}

var _ auth.Revocations = (*RevocationLog)(nil)

// RevocationLog returns the database's revocation log.
func (db *DB) RevocationLog(o RevocationLogOptions) *RevocationLog {
	l := &RevocationLog{db: db, poll: o.Poll, log: o.Logger}
	if l.poll <= 0 {
		l.poll = DefaultRevocationPoll
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	return l
}

// Publish implements auth.Revocations: one row.
func (l *RevocationLog) Publish(ctx context.Context, r auth.Revocation) error {
	if r == (auth.Revocation{}) {
		return errors.New("pgstore: a revocation names a session or a user")
	}
	ctx, cancel := l.db.bound(ctx)
	defer cancel()
	_, err := l.db.pool.Exec(ctx, `INSERT INTO revocation_log (session_id, user_id) VALUES ($1, $2)`, r.SessionID, r.UserID)
	return storeError("PublishRevocation", err)
}

// Subscribe implements auth.Revocations. Every read and its deliveries
// happen on one goroutine per subscription.
func (l *RevocationLog) Subscribe(revoked func(auth.Revocation), live func(bool)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go l.follow(ctx, revoked, live, done)
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

// logReader is one subscription's position in the log.
type logReader struct {
	newest  time.Time             // the newest row's time seen (at first, the server's clock)
	seen    map[int64]time.Time   // rows delivered within revocationOverlap of newest
	deliver func(auth.Revocation) // the subscriber's revoked
}

func (l *RevocationLog) follow(ctx context.Context, revoked func(auth.Revocation), live func(bool), done chan struct{}) {
	defer close(done)
	rd := &logReader{seen: map[int64]time.Time{}, deliver: revoked}
	up := false
	var pruned time.Time
	tick := time.NewTicker(l.poll)
	defer tick.Stop()
	for {
		err := l.read(ctx, rd)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil && !up:
			up = true
			live(true)
		case err != nil && up:
			up = false
			live(false)
			l.log.Warn("pgstore: reading the revocation log failed; retrying", "err", err)
		}
		if err == nil && time.Since(pruned) > pruneEvery {
			pruned = time.Now()
			if err := l.prune(ctx); err != nil && ctx.Err() == nil {
				l.log.Warn("pgstore: pruning the revocation log failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// read delivers the rows rd has not seen.
func (l *RevocationLog) read(ctx context.Context, rd *logReader) error {
	ctx, cancel := l.db.bound(ctx)
	defer cancel()
	if rd.newest.IsZero() {
		// Start from now, by the server's clock: what was revoked before
		// the subscription is the store's business, not the log's.
		if err := l.db.pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&rd.newest); err != nil {
			return storeError("ReadRevocations", err)
		}
	}
	rows, err := l.db.pool.Query(ctx,
		`SELECT id, at, session_id, user_id FROM revocation_log WHERE at > $1 ORDER BY at, id`,
		rd.newest.Add(-revocationOverlap))
	if err != nil {
		return storeError("ReadRevocations", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var at time.Time
		var r auth.Revocation
		if err := rows.Scan(&id, &at, &r.SessionID, &r.UserID); err != nil {
			return storeError("ReadRevocations", err)
		}
		if _, ok := rd.seen[id]; ok {
			continue
		}
		rd.seen[id] = at
		if at.After(rd.newest) {
			rd.newest = at
		}
		if r != (auth.Revocation{}) {
			rd.deliver(r)
		}
	}
	if err := rows.Err(); err != nil {
		return storeError("ReadRevocations", err)
	}
	for id, at := range rd.seen {
		if at.Before(rd.newest.Add(-revocationOverlap)) {
			delete(rd.seen, id)
		}
	}
	return nil
}

func (l *RevocationLog) prune(ctx context.Context) error {
	ctx, cancel := l.db.bound(ctx)
	defer cancel()
	_, err := l.db.pool.Exec(ctx, `DELETE FROM revocation_log WHERE at < clock_timestamp() - make_interval(secs => $1)`,
		revocationKeep.Seconds())
	return storeError("PruneRevocations", err)
}
