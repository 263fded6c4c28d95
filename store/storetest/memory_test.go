package storetest_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/store/storetest"
)

// memory is the smallest store that meets the contract the suites state,
// written from the interface comments and the storetest package comment
// alone. Running the suites on it as well as on SQL shows that they test
// the contract, not one backend's behaviour: a suite that only SQLite could
// pass would fail here.
type memory struct {
	mu       sync.Mutex
	users    map[string]wxlogin.User
	sessions map[string]wxlogin.Session
	blobs    map[string]wxlogin.Blob
}

func newMemory() *memory {
	return &memory{
		users:    map[string]wxlogin.User{},
		sessions: map[string]wxlogin.Session{},
		blobs:    map[string]wxlogin.Blob{},
	}
}

func micro(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

func notFound() error { return wxlogin.Errorf(wxlogin.ENotFound, "not found") }

func keepUser(u wxlogin.User) wxlogin.User {
	u.CreatedAt, u.UpdatedAt, u.Profile.UpdatedAt = micro(u.CreatedAt), micro(u.UpdatedAt), micro(u.Profile.UpdatedAt)
	u.UserInfo = bytes.Clone(u.UserInfo)
	u.Sealed = bytes.Clone(u.Sealed)
	if u.Phone != nil {
		p := *u.Phone
		u.Phone = &p
	}
	return u
}

func keepSession(s wxlogin.Session) wxlogin.Session {
	s.CreatedAt, s.LastSeenAt = micro(s.CreatedAt), micro(s.LastSeenAt)
	s.IdleExpiresAt, s.ExpiresAt = micro(s.IdleExpiresAt), micro(s.ExpiresAt)
	s.SealedSessionKey = bytes.Clone(s.SealedSessionKey)
	return s
}

func (m *memory) EnsureUser(_ context.Context, u wxlogin.User) (wxlogin.User, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, old := range m.users {
		if old.AppID == u.AppID && old.OpenID == u.OpenID {
			if u.UnionID != "" {
				old.UnionID = u.UnionID
				m.users[id] = old
			}
			return keepUser(old), false, nil
		}
	}
	m.users[u.ID] = keepUser(u)
	return keepUser(u), true, nil
}

func (m *memory) User(_ context.Context, id string) (wxlogin.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return wxlogin.User{}, notFound()
	}
	return keepUser(u), nil
}

func (m *memory) FindUsers(_ context.Context, f wxlogin.UserFilter) ([]wxlogin.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var found []wxlogin.User
	for _, u := range m.users {
		if (f.AppID == "" || f.AppID == u.AppID) && (f.OpenID == "" || f.OpenID == u.OpenID) &&
			(f.UnionID == "" || f.UnionID == u.UnionID) {
			found = append(found, keepUser(u))
		}
	}
	slices.SortFunc(found, func(a, b wxlogin.User) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	return found[:min(limit, len(found))], nil
}

func (m *memory) UpdateUser(_ context.Context, id string, update func(*wxlogin.User) error) (wxlogin.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.users[id]
	if !ok {
		return wxlogin.User{}, notFound()
	}
	u := keepUser(old)
	if err := update(&u); err != nil {
		return wxlogin.User{}, err
	}
	u.ID, u.AppID, u.OpenID, u.CreatedAt = old.ID, old.AppID, old.OpenID, old.CreatedAt
	m.users[id] = keepUser(u)
	return keepUser(u), nil
}

func (m *memory) ResealUsers(_ context.Context, reseal func(*wxlogin.User) (bool, error)) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	var firstErr error
	for id, old := range m.users {
		if old.Sealed == nil && old.UserInfo == nil && old.Phone == nil {
			continue
		}
		u := keepUser(old)
		changed, err := reseal(&u)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		if changed {
			old.UserInfo, old.Phone, old.Sealed = u.UserInfo, u.Phone, u.Sealed
			m.users[id] = keepUser(old)
			n++
		}
	}
	return n, firstErr
}

func (m *memory) DeleteUser(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.users, id)
	for sid, s := range m.sessions {
		if s.UserID == id {
			delete(m.sessions, sid)
		}
	}
	return nil
}

func (m *memory) CreateSession(_ context.Context, s wxlogin.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[s.UserID]; !ok {
		return notFound()
	}
	for _, old := range m.sessions {
		if old.ID == s.ID || old.TokenHash == s.TokenHash {
			return fmt.Errorf("duplicate session")
		}
	}
	m.sessions[s.ID] = keepSession(s)
	return nil
}

func (m *memory) SessionByToken(_ context.Context, h wxlogin.TokenHash) (wxlogin.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sessions {
		if s.TokenHash == h {
			return keepSession(s), nil
		}
	}
	return wxlogin.Session{}, notFound()
}

func (m *memory) Session(_ context.Context, id string) (wxlogin.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return wxlogin.Session{}, notFound()
	}
	return keepSession(s), nil
}

func (m *memory) UserSessions(_ context.Context, userID string) ([]wxlogin.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var found []wxlogin.Session
	for _, s := range m.sessions {
		if s.UserID == userID {
			found = append(found, keepSession(s))
		}
	}
	slices.SortFunc(found, func(a, b wxlogin.Session) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return found, nil
}

func (m *memory) modify(id string, f func(*wxlogin.Session)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return notFound()
	}
	f(&s)
	m.sessions[id] = keepSession(s)
	return nil
}

func (m *memory) TouchSession(_ context.Context, id string, lastSeen, idle time.Time) error {
	return m.modify(id, func(s *wxlogin.Session) { s.LastSeenAt, s.IdleExpiresAt = lastSeen, idle })
}

func (m *memory) SetSessionKey(_ context.Context, id string, sealed []byte) error {
	return m.modify(id, func(s *wxlogin.Session) { s.SealedSessionKey = sealed })
}

func (m *memory) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, id)
	return nil
}

func (m *memory) deleteWhere(f func(wxlogin.Session) bool) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, s := range m.sessions {
		if f(s) {
			delete(m.sessions, id)
			n++
		}
	}
	return n
}

func (m *memory) DeleteUserSessions(_ context.Context, userID string) (int, error) {
	return m.deleteWhere(func(s wxlogin.Session) bool { return s.UserID == userID }), nil
}

func (m *memory) DeleteExpiredSessions(_ context.Context, now time.Time) (int, error) {
	return m.deleteWhere(func(s wxlogin.Session) bool { return s.Expired(now) }), nil
}

func (m *memory) ResealSessionKeys(_ context.Context, reseal func([]byte) ([]byte, error)) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	var firstErr error
	for id, s := range m.sessions {
		sealed, err := reseal(bytes.Clone(s.SealedSessionKey))
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		if !bytes.Equal(sealed, s.SealedSessionKey) {
			s.SealedSessionKey = bytes.Clone(sealed)
			m.sessions[id] = s
			n++
		}
	}
	return n, firstErr
}

func (m *memory) PutBlob(_ context.Context, b wxlogin.Blob) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b.Data, b.CreatedAt = bytes.Clone(b.Data), micro(b.CreatedAt)
	m.blobs[b.ID] = b
	return nil
}

func (m *memory) Blob(_ context.Context, id string) (wxlogin.Blob, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[id]
	if !ok {
		return wxlogin.Blob{}, notFound()
	}
	b.Data = bytes.Clone(b.Data)
	return b, nil
}

func (m *memory) DeleteBlob(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.blobs, id)
	return nil
}

func TestSuitesOnMemory(t *testing.T) {
	t.Parallel()
	t.Run("users", func(t *testing.T) {
		t.Parallel()
		storetest.RunUserStoreTests(t, func(*testing.T) wxlogin.UserStore { return newMemory() })
	})
	t.Run("sessions", func(t *testing.T) {
		t.Parallel()
		storetest.RunSessionStoreTests(t, func(*testing.T) wxlogin.SessionStore { return newMemory() })
	})
	t.Run("blobs", func(t *testing.T) {
		t.Parallel()
		storetest.RunBlobStoreTests(t, func(*testing.T) wxlogin.BlobStore { return newMemory() })
	})
	// One store for every test, as on a shared server.
	shared := newMemory()
	t.Run("shared", func(t *testing.T) {
		t.Parallel()
		storetest.RunUserStoreTests(t, func(*testing.T) wxlogin.UserStore { return shared })
		storetest.RunSessionStoreTests(t, func(*testing.T) wxlogin.SessionStore { return shared })
		storetest.RunBlobStoreTests(t, func(*testing.T) wxlogin.BlobStore { return shared })
	})
}
