package wxlogin

import (
	"context"
	"errors"
	"time"
)

// UserStore keeps users: durable data (SQLite, PostgreSQL). Methods return an
// error matching ErrNotFound for a missing user.
type UserStore interface {
	// EnsureUser returns the user with u.AppID and u.OpenID, registering u
	// (with u.ID and u.CreatedAt) when there is none; created reports whether
	// this call registered it. Two concurrent calls for the same new user
	// register one user. A non-empty u.UnionID is recorded on an existing
	// user too.
	EnsureUser(ctx context.Context, u User) (user User, created bool, err error)

	// User returns the user with the given id.
	User(ctx context.Context, id string) (User, error)

	// FindUsers returns the users matching f, oldest first.
	FindUsers(ctx context.Context, f UserFilter) ([]User, error)

	// UpdateUser applies update to the user atomically: update sees the
	// current user and its changes are stored only when it returns nil, whose
	// error UpdateUser then returns. ID, AppID, OpenID and CreatedAt cannot
	// be changed.
	UpdateUser(ctx context.Context, id string, update func(*User) error) (User, error)

	// DeleteUser erases the user. Deleting a missing user is not an error.
	// A store that keeps sessions too deletes the user's sessions in the
	// same step (store/storetest checks it).
	DeleteUser(ctx context.Context, id string) error

	// ResealUsers calls reseal with every user that holds personal data
	// (Sealed, UserInfo or Phone set), one at a time, and writes back
	// UserInfo, Phone and Sealed of each user for which it reports a change,
	// atomically with respect to UpdateUser. A user whose reseal fails is
	// left as it was and the walk goes on; the error names the failures and
	// wraps the first. It returns how many users were written.
	ResealUsers(ctx context.Context, reseal func(u *User) (changed bool, err error)) (int, error)
}

// SessionStore keeps sessions: expiring data (SQLite, PostgreSQL, Redis).
// Stores do not judge expiry (callers pass their clock); methods return an
// error matching ErrNotFound for a missing session.
type SessionStore interface {
	// CreateSession stores a new session. A store that keeps users too
	// refuses a session of a missing user with an error matching
	// ErrNotFound, so a login racing an erasure cannot leave a live session
	// of an erased user.
	CreateSession(ctx context.Context, s Session) error

	// SessionByToken returns the session whose token hashes to h.
	SessionByToken(ctx context.Context, h TokenHash) (Session, error)

	// Session returns the session with the given id.
	Session(ctx context.Context, id string) (Session, error)

	// UserSessions returns the user's sessions, oldest first.
	UserSessions(ctx context.Context, userID string) ([]Session, error)

	// TouchSession records activity: LastSeenAt and IdleExpiresAt.
	TouchSession(ctx context.Context, id string, lastSeen, idleExpiresAt time.Time) error

	// SetSessionKey replaces the sealed session_key of a session.
	SetSessionKey(ctx context.Context, id string, sealed []byte) error

	// DeleteSession removes a session. Deleting a missing one is not an error.
	DeleteSession(ctx context.Context, id string) error

	// DeleteUserSessions removes all sessions of a user and returns how many.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)

	// ResealSessionKeys replaces every session's sealed session_key with
	// reseal's answer (master key rotation) and returns how many it changed.
	// A session whose reseal fails is left as it was and the error returned.
	// A value reseal returns unchanged is not written, so a walk that
	// changes nothing only reads (auth counts sealed values that way).
	ResealSessionKeys(ctx context.Context, reseal func(sealed []byte) ([]byte, error)) (int, error)

	// DeleteExpiredSessions removes the sessions past their deadline at now
	// and returns how many.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
}

// LoginStore is implemented by stores that keep users and sessions in one
// database and can store a login in one transaction: one commit (one fsync)
// instead of two for a new user, and no window in which the user exists
// without its session. Without it auth calls EnsureUser, then CreateSession.
type LoginStore interface {
	// EnsureUserWithSession is EnsureUser(u) followed, in the same
	// transaction, by CreateSession(s) for the user found or registered:
	// the store sets s.UserID, s.OpenID and s.UnionID from that user.
	// Either both are stored or neither: when the session is refused (a
	// duplicate id or token hash) no user is registered. A returning user
	// whose record has nothing to change is not written.
	EnsureUserWithSession(ctx context.Context, u User, s Session) (user User, created bool, err error)
}

// SealedSessionCounter is implemented by session stores that can count,
// without reading them out, the sessions whose sealed session_key begins
// with prefix (the header that names the master key a value is sealed
// under): auth asks before a reload drops a key. Without it auth walks
// ResealSessionKeys, changing nothing.
type SealedSessionCounter interface {
	CountSealedSessions(ctx context.Context, prefix []byte) (int, error)
}

// SealedUserCounter is SealedSessionCounter for users' sealed personal data
// (User.Sealed); without it auth walks ResealUsers, changing nothing.
type SealedUserCounter interface {
	CountSealedUsers(ctx context.Context, prefix []byte) (int, error)
}

// Pinger is implemented by stores that can tell whether their backend is
// reachable (GET /readyz).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Blob is a stored binary object, such as an avatar image.
type Blob struct {
	ID          string
	ContentType string
	Data        []byte
	CreatedAt   time.Time
}

// BlobStore keeps binary objects (avatars): a folder by default, an
// S3-compatible service later. Get returns an error matching ErrNotFound for
// a missing blob; deleting a missing blob is not an error.
type BlobStore interface {
	PutBlob(ctx context.Context, b Blob) error
	Blob(ctx context.Context, id string) (Blob, error)
	DeleteBlob(ctx context.Context, id string) error
}

// WriteChecker is implemented by stores that can tell whether they can write
// right now (GET /readyz), without changing or growing the stored data. A
// store that can be read but not written (a full disk, a write lock held
// elsewhere, a deleted database file) fails CheckWrite and passes Ping.
type WriteChecker interface {
	CheckWrite(ctx context.Context) error
}

// The classes of store errors. Every store returns, for a failure that is
// not ErrNotFound, an error matching (errors.Is) one of these when it knows
// what went wrong:
//
//   - ErrUnavailable: the backend cannot serve the call now (down,
//     unreachable, locked by someone else for longer than the call may wait,
//     out of disk, read-only, its file deleted, the caller's deadline passed).
//     Retrying later may succeed; clients see 503 store_unavailable.
//   - ErrConflict: the call lost a race with another writer (a constraint or
//     serialization failure). A store retries it itself where it can; what
//     remains is for the use case to retry or to answer on its own terms,
//     never as an outage.
//
// Anything else (including an error carrying no class) is a bug: callers
// answer it as 500 internal and log the cause.
var (
	ErrUnavailable = errors.New("store unavailable")
	ErrConflict    = errors.New("store conflict")
)

// SessionHolderLister is implemented by stores that keep users and sessions
// together and can page through the users of an app whose OpenID begins
// with a prefix and who hold at least one session: the members of one
// WeCom corp in a suite app ("corpid/" of wxlogin.WeComKey), whose sessions
// end when the corp uninstalls the app. Pages keep memory bounded however
// large the corp.
type SessionHolderLister interface {
	// SessionHoldersWithOpenIDPrefix returns up to limit users of appID
	// whose OpenID begins with prefix (non-empty, its last byte ASCII) and
	// who hold a session, in bytewise OpenID order, starting after the
	// OpenID after ("": from the first). A caller that deletes the sessions of a page may pass the
	// page's last OpenID as the next after.
	SessionHoldersWithOpenIDPrefix(ctx context.Context, appID, prefix, after string, limit int) ([]User, error)
}

// OpenIDPrefixEnd is the least string greater, bytewise, than every string
// that begins with prefix: with it, a SessionHolderLister's prefix is the
// range [prefix, end) of an (app_id, open_id) index. ok is false for a
// prefix the contract refuses: empty, or its last byte not ASCII (which
// keeps the end valid UTF-8; WeComKey's prefix ends in "/").
func OpenIDPrefixEnd(prefix string) (end string, ok bool) {
	if prefix == "" || prefix[len(prefix)-1] >= 0x7f {
		return "", false
	}
	return prefix[:len(prefix)-1] + string([]byte{prefix[len(prefix)-1] + 1}), true
}
