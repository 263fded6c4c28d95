package main

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// freshConns keeps the connections that have not begun a request yet, so
// that a shutdown can close them at once. http.Server.Shutdown counts such
// a connection as busy until it is five seconds old, and browsers open
// them ahead of need (preconnects): without this, stopping the server a
// moment after a browser connected waits out those seconds, and a
// shutdown bounded by a few seconds fails for a connection that never
// asked for anything.
//
// Its per-connection work (Accept, the first request, the close) takes a
// lock; a request on a connection that already had one pays a type
// assertion and an atomic load.
type freshConns struct {
	mu      sync.Mutex
	conns   map[*freshConn]struct{}
	closing bool // closeAll ran: connections accepted since are closed at once
}

// freshConn is an accepted connection, fresh until its first request.
type freshConn struct {
	net.Conn
	fresh atomic.Bool
}

// listener wraps l so that its connections are tracked.
func (f *freshConns) listener(l net.Listener) net.Listener { return freshListener{l, f} }

type freshListener struct {
	net.Listener
	f *freshConns
}

func (l freshListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.f.mu.Lock()
		if l.f.closing {
			// Between closeAll and Shutdown closing the listener: the
			// server is going away, and this connection has asked for
			// nothing yet.
			l.f.mu.Unlock()
			c.Close()
			continue
		}
		fc := &freshConn{Conn: c}
		fc.fresh.Store(true)
		if l.f.conns == nil {
			l.f.conns = make(map[*freshConn]struct{})
		}
		l.f.conns[fc] = struct{}{}
		l.f.mu.Unlock()
		return fc, nil
	}
}

// connState is the server's ConnState hook: a connection stops being
// fresh at its first request, or when it closes without one.
func (f *freshConns) connState(c net.Conn, s http.ConnState) {
	if s == http.StateNew || s == http.StateIdle {
		return
	}
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	fc, ok := c.(*freshConn)
	if !ok || !fc.fresh.Load() {
		return
	}
	fc.fresh.Store(false)
	f.mu.Lock()
	delete(f.conns, fc)
	f.mu.Unlock()
}

// closeAll closes the connections that have not begun a request, and
// those accepted from now on.
func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closing = true
	for fc := range f.conns {
		fc.Close()
		delete(f.conns, fc)
	}
}
