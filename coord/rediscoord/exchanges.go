package rediscoord

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxlogin/wxlogin/auth"
)

// CodeExchanges is auth.CodeExchanges in Redis, so that a code sent to two
// instances at once reaches WeChat once. An exchange is a hash named by the
// app and the code's SHA-256, holding the claim, the client's hash, whether
// it is done and its times (µs of the caller's clock); WeChat's answer (the
// session_key sealed as auth gives it) lives in a second key that Redis
// expires a few seconds after the reuse window, so the sealed key does not
// outstay its use. Claims, Finish and Abandon are Lua scripts, atomic
// across instances. Wait polls the record: a double tap waits for one
// WeChat round trip, and a poll every few tens of milliseconds costs less
// than a subscription per waiter.
//
// While Redis fails, claims go to this process's own record (an
// auth.LocalCodeExchanges) and the exchanges they start stay there until
// remembered no more: code sharing then holds per instance.
type CodeExchanges struct {
	c     *Client
	local auth.LocalCodeExchanges

	mu      sync.Mutex
	inLocal map[auth.ExchangeKey]time.Time // exchanges claimed in local, by real time claimed
}

var _ auth.CodeExchanges = (*CodeExchanges)(nil)

// answerGrace is how long WeChat's answer outlives its reuse window in
// Redis: long enough for every Wait already polling to read it.
const answerGrace = 5 * time.Second

// localKeep is how long an exchange claimed in the fallback is looked for
// there: longer than any remembering auth asks for.
const localKeep = 10 * time.Minute

// CodeExchanges returns the deployment's shared record of code exchanges.
func (c *Client) CodeExchanges() *CodeExchanges {
	return &CodeExchanges{c: c, inLocal: make(map[auth.ExchangeKey]time.Time)}
}

func (x *CodeExchanges) keys(k auth.ExchangeKey) []string {
	h := hex.EncodeToString(k.CodeHash[:])
	return []string{x.c.key("code", k.AppID, h), x.c.key("code", k.AppID, h, "answer")}
}

// claimScript: KEYS record, answer; ARGV claim id, client (hex), at (µs),
// lease (µs), lease (ms, Redis' own bound of an in-flight record). It
// returns {1} when claimed, else {0, claim, client, done, at[, openid,
// unionid, sealed key, open_userid]}, the answer only inside the window
// (an empty open_userid when the answer has none, as one an older wxlogin
// wrote).
var claimScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'c', 'cl', 'd', 'at', 'ls', 'w', 'u')
local now = tonumber(ARGV[3])
if r[1] then
  local rat = tonumber(r[4])
  local over
  if r[3] == '1' then over = now >= tonumber(r[7]) else over = now - rat >= tonumber(r[5]) end
  if not over then
    if r[3] == '1' and now - rat < tonumber(r[6]) then
      local a = redis.call('HMGET', KEYS[2], 'c', 'o', 'un', 'k', 'ou')
      if a[1] == r[1] then return {0, r[1], r[2], r[3], r[4], a[2], a[3], a[4], a[5] or ''} end
    end
    return {0, r[1], r[2], r[3], r[4]}
  end
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'c', ARGV[1], 'cl', ARGV[2], 'd', '0', 'at', ARGV[3], 'ls', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1}
`)

// finishScript: KEYS record, answer; ARGV claim id, now (µs), window (µs),
// until (µs), openid, unionid, sealed key, record TTL (ms), answer TTL (ms),
// open_userid.
var finishScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'c', 'd')
if r[1] ~= ARGV[1] or r[2] ~= '0' then return 0 end
redis.call('HSET', KEYS[1], 'd', '1', 'at', ARGV[2], 'w', ARGV[3], 'u', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[8])
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'c', ARGV[1], 'o', ARGV[5], 'un', ARGV[6], 'k', ARGV[7], 'ou', ARGV[10])
redis.call('PEXPIRE', KEYS[2], ARGV[9])
return 1
`)

// abandonScript: KEYS record, answer; ARGV claim id.
var abandonScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'c', 'd')
if r[1] ~= ARGV[1] or r[2] ~= '0' then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`)

// readScript: KEYS record, answer. It returns {} without a record, else
// {claim, client, done, at[, openid, unionid, sealed key, open_userid]}, the answer
// whatever the window.
var readScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'c', 'cl', 'd', 'at')
if not r[1] then return {} end
if r[3] == '1' then
  local a = redis.call('HMGET', KEYS[2], 'c', 'o', 'un', 'k', 'ou')
  if a[1] == r[1] then return {r[1], r[2], r[3], r[4], a[2], a[3], a[4], a[5] or ''} end
end
return {r[1], r[2], r[3], r[4]}
`)

// ms rounds d up to whole milliseconds, at least one: what PEXPIRE takes.
func ms(d time.Duration) int64 { return int64(max(1, (d+time.Millisecond-1)/time.Millisecond)) }

// Claim implements auth.CodeExchanges.
func (x *CodeExchanges) Claim(ctx context.Context, key auth.ExchangeKey, c auth.ExchangeClaim) (auth.ExchangeRecord, bool, error) {
	if x.isLocal(key) {
		return x.local.Claim(ctx, key, c)
	}
	var res []any
	err := x.c.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = claimScript.Run(ctx, x.c.rdb, x.keys(key),
			c.ID, hex.EncodeToString(c.Client[:]), c.At.UnixMicro(), c.Lease.Microseconds(), ms(c.Lease)).Slice()
		return err
	})
	if err != nil {
		x.mu.Lock()
		x.inLocal[key] = time.Now()
		x.mu.Unlock()
		return x.local.Claim(ctx, key, c)
	}
	if len(res) == 1 {
		return auth.ExchangeRecord{ClaimID: c.ID, Client: c.Client, At: c.At}, true, nil
	}
	rec, err := parseRecord(res[1:])
	return rec, false, err
}

// parseRecord reads {claim, client, done, at[, openid, unionid, sealed,
// open_userid]}.
func parseRecord(f []any) (auth.ExchangeRecord, error) {
	s := make([]string, len(f))
	for i, v := range f {
		str, ok := v.(string)
		if !ok {
			return auth.ExchangeRecord{}, fmt.Errorf("rediscoord: code exchange record field %d is %T", i, v)
		}
		s[i] = str
	}
	if len(s) != 4 && len(s) != 8 {
		return auth.ExchangeRecord{}, fmt.Errorf("rediscoord: code exchange record of %d fields", len(s))
	}
	var rec auth.ExchangeRecord
	rec.ClaimID = s[0]
	if b, err := hex.DecodeString(s[1]); err != nil || len(b) != len(rec.Client) {
		return auth.ExchangeRecord{}, errors.New("rediscoord: code exchange record with a malformed client")
	} else {
		copy(rec.Client[:], b)
	}
	rec.Done = s[2] == "1"
	at, err := strconv.ParseInt(s[3], 10, 64)
	if err != nil {
		return auth.ExchangeRecord{}, errors.New("rediscoord: code exchange record with a malformed time")
	}
	rec.At = time.UnixMicro(at).UTC()
	if len(s) == 8 {
		rec.Answer = &auth.ExchangeAnswer{OpenID: s[4], UnionID: s[5], SealedKey: []byte(s[6]), OpenUserID: s[7]}
	}
	return rec, nil
}

// Finish implements auth.CodeExchanges.
func (x *CodeExchanges) Finish(ctx context.Context, key auth.ExchangeKey, claimID string, a auth.ExchangeAnswer, now time.Time, window, remember time.Duration) error {
	if x.isLocal(key) {
		return x.local.Finish(ctx, key, claimID, a, now, window, remember)
	}
	return x.c.call(ctx, func(ctx context.Context) error {
		return finishScript.Run(ctx, x.c.rdb, x.keys(key), claimID, now.UnixMicro(), window.Microseconds(),
			now.Add(remember).UnixMicro(), a.OpenID, a.UnionID, a.SealedKey, ms(remember), ms(window+answerGrace), a.OpenUserID).Err()
	})
}

// Abandon implements auth.CodeExchanges.
func (x *CodeExchanges) Abandon(ctx context.Context, key auth.ExchangeKey, claimID string, failure error) error {
	if x.isLocal(key) {
		return x.local.Abandon(ctx, key, claimID, failure)
	}
	return x.c.call(ctx, func(ctx context.Context) error {
		return abandonScript.Run(ctx, x.c.rdb, x.keys(key), claimID).Err()
	})
}

// Wait implements auth.CodeExchanges. It follows the claim it first finds:
// when that one is gone (abandoned, or expired past its lease) or another
// claim took its place, the exchange it waited for did not finish.
func (x *CodeExchanges) Wait(ctx context.Context, key auth.ExchangeKey) (auth.ExchangeRecord, error) {
	if x.isLocal(key) {
		return x.local.Wait(ctx, key)
	}
	const minPoll, maxPoll = 5 * time.Millisecond, 50 * time.Millisecond
	poll := minPoll
	claim := ""
	for {
		if err := ctx.Err(); err != nil {
			return auth.ExchangeRecord{}, err
		}
		var res []any
		err := x.c.call(ctx, func(ctx context.Context) error {
			var err error
			res, err = readScript.Run(ctx, x.c.rdb, x.keys(key)).Slice()
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return auth.ExchangeRecord{}, ctx.Err()
			}
			return auth.ExchangeRecord{}, fmt.Errorf("%w: the record is unreachable: %v", auth.ErrExchangeAbandoned, err)
		}
		if len(res) == 0 {
			return auth.ExchangeRecord{}, auth.ErrExchangeAbandoned
		}
		rec, err := parseRecord(res)
		if err != nil {
			return auth.ExchangeRecord{}, err
		}
		if claim == "" {
			claim = rec.ClaimID
		} else if rec.ClaimID != claim {
			return auth.ExchangeRecord{}, auth.ErrExchangeAbandoned
		}
		if rec.Done {
			return rec, nil
		}
		select {
		case <-ctx.Done():
			return auth.ExchangeRecord{}, ctx.Err()
		case <-time.After(poll):
		}
		poll = min(2*poll, maxPoll)
	}
}

// isLocal reports whether key's exchange was claimed in the fallback.
func (x *CodeExchanges) isLocal(key auth.ExchangeKey) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	at, ok := x.inLocal[key]
	if ok && time.Since(at) >= localKeep {
		delete(x.inLocal, key)
		return false
	}
	return ok
}

// Sweep forgets the fallback's old exchanges; Redis expires its own.
func (x *CodeExchanges) Sweep(now time.Time) {
	x.local.Sweep(now)
	x.mu.Lock()
	for k, at := range x.inLocal {
		if time.Since(at) >= localKeep {
			delete(x.inLocal, k)
		}
	}
	x.mu.Unlock()
}
