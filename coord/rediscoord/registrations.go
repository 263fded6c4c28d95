package rediscoord

import (
	"context"
	"strconv"
	"time"

	"github.com/wxlogin/wxlogin/auth"
)

// UnfinishedRegistrations is auth.UnfinishedRegistrations in Redis: one
// key per user holding when its registering login failed, read and deleted
// at once (GETDEL) so that of concurrent Takes on any instances one wins.
// Redis expires a record after auth.UnfinishedTTL. While Redis fails,
// records go to, and are taken from, this process's own.
type UnfinishedRegistrations struct {
	c     *Client
	local auth.LocalUnfinishedRegistrations
}

var _ auth.UnfinishedRegistrations = (*UnfinishedRegistrations)(nil)

// UnfinishedRegistrations returns the deployment's shared record.
func (c *Client) UnfinishedRegistrations() *UnfinishedRegistrations {
	return &UnfinishedRegistrations{c: c}
}

// Add implements auth.UnfinishedRegistrations.
func (u *UnfinishedRegistrations) Add(ctx context.Context, userID string, now time.Time) error {
	err := u.c.call(ctx, func(ctx context.Context) error {
		return u.c.rdb.Set(ctx, u.c.key("unfinished", userID), now.UnixMicro(), auth.UnfinishedTTL).Err()
	})
	if err != nil {
		return u.local.Add(ctx, userID, now)
	}
	return nil
}

// Take implements auth.UnfinishedRegistrations.
func (u *UnfinishedRegistrations) Take(ctx context.Context, userID string, now time.Time) (bool, error) {
	var at string
	err := u.c.call(ctx, func(ctx context.Context) error {
		var err error
		at, err = u.c.rdb.GetDel(ctx, u.c.key("unfinished", userID)).Result()
		return err
	})
	if err != nil {
		// Not in Redis (redis.Nil), or Redis failed: the record may be
		// this process's, added while Redis was down.
		return u.local.Take(ctx, userID, now)
	}
	us, perr := strconv.ParseInt(at, 10, 64)
	if perr != nil {
		return false, nil
	}
	return now.Sub(time.UnixMicro(us)) < auth.UnfinishedTTL, nil
}

// Sweep forgets the fallback's old records.
func (u *UnfinishedRegistrations) Sweep(now time.Time) { u.local.Sweep(now) }
