package rediscoord

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxlogin/wxlogin/auth"
)

// Revocations is auth.Revocations over one Redis pub/sub channel.
//
// A subscription reads its connection with a deadline of one heartbeat;
// when nothing came in that long it pings, and when the pong does not come
// within another heartbeat (or the ping cannot even be sent, as on a
// connection still being made) the connection is taken for lost, even if
// the kernel still thinks it open (a paused server, a dropped route). Lost, it
// reports live(false), closes the connection and subscribes again on a new
// one, reporting live(true) once Redis confirms the subscription: what was
// published in between is gone, and auth verifies against the store until
// then.
type Revocations struct {
	c       *Client
	channel string
}

var _ auth.Revocations = (*Revocations)(nil)

// Revocations returns the deployment's revocation bus.
func (c *Client) Revocations() *Revocations {
	return &Revocations{c: c, channel: c.key("revocations")}
}

// Publish implements auth.Revocations.
func (r *Revocations) Publish(ctx context.Context, rev auth.Revocation) error {
	msg, err := json.Marshal(rev)
	if err != nil {
		return err
	}
	return r.c.call(ctx, func(ctx context.Context) error { return r.c.rdb.Publish(ctx, r.channel, msg).Err() })
}

// Subscribe implements auth.Revocations. Delivery and live reports happen
// on one goroutine per subscription, in the order Redis sent them.
func (r *Revocations) Subscribe(revoked func(auth.Revocation), live func(bool)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &subscription{r: r, revoked: revoked, live: live, done: make(chan struct{})}
	go s.run(ctx)
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			s.closeConn() // unblocks a read under way
			<-s.done
		})
	}
}

type subscription struct {
	r       *Revocations
	revoked func(auth.Revocation)
	live    func(bool)
	done    chan struct{}

	mu sync.Mutex
	ps *redis.PubSub // the current connection
}

func (s *subscription) closeConn() {
	s.mu.Lock()
	if s.ps != nil {
		s.ps.Close()
	}
	s.mu.Unlock()
}

// run subscribes, listens until the connection is lost, and subscribes
// again, with a growing pause between attempts, until ctx ends.
func (s *subscription) run(ctx context.Context) {
	defer close(s.done)
	const minPause, maxPause = 50 * time.Millisecond, 2 * time.Second
	pause := minPause
	live := false
	for {
		ps := s.r.c.rdb.Subscribe(ctx, s.r.channel)
		s.mu.Lock()
		s.ps = ps
		s.mu.Unlock()
		if ctx.Err() != nil { // stopped while subscribing: stop may have closed the one before
			ps.Close()
			return
		}
		err := s.listen(ctx, ps, &live, func() { pause = minPause })
		ps.Close()
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errSilent) {
			// A Redis that accepts connections and answers nothing (a
			// paused server, a dead route) would cost every other call a
			// full timeout: the subscription has just found out, so the
			// others fall back at once, for as long as a failed call
			// would make them.
			s.r.c.rest(err)
		}
		if live {
			live = false
			s.live(false)
			s.r.c.log.Warn("rediscoord: revocation subscription lost; subscribing again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPause)
	}
}

var errSilent = errors.New("rediscoord: the subscription's connection did not answer a ping")

// listen reads ps until its connection fails or falls silent.
func (s *subscription) listen(ctx context.Context, ps *redis.PubSub, live *bool, subscribed func()) error {
	hb := s.r.c.heartbeat
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, hb)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return err
			}
			if pinged {
				return errSilent
			}
			pctx, cancel := context.WithTimeout(ctx, hb)
			err := ps.Ping(pctx)
			cancel()
			if errors.As(err, &ne) && ne.Timeout() {
				// Even the ping could not be sent: a connection being
				// made to a server that accepts and answers nothing, as
				// when Redis falls silent while this subscribes again.
				return errSilent
			}
			if err != nil {
				return err
			}
			pinged = true
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == s.r.channel && !*live {
				*live = true
				subscribed()
				s.live(true)
			}
		case *redis.Message:
			var rev auth.Revocation
			if err := json.Unmarshal([]byte(m.Payload), &rev); err != nil || rev == (auth.Revocation{}) {
				s.r.c.log.Warn("rediscoord: ignoring a malformed message on the revocation channel", "bytes", len(m.Payload))
				continue
			}
			s.revoked(rev)
		}
	}
}
