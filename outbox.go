package wxlogin

import (
	"context"
	"time"
)

// The events a business system can subscribe to with a webhook. Their names
// are part of the webhook contract (docs/openapi.yaml): never renamed.
const (
	EventUserRegistered  = "user.registered"  // a login registered a new user
	EventUserErased      = "user.erased"      // the user (or an operator) erased the user
	EventSessionsRevoked = "sessions.revoked" // a logout, or one or all sessions revoked
	EventPhoneBound      = "phone.bound"      // the user bound a phone number
	// EventAccountMerged: a login recorded a unionid its user did not have
	// and that users of another account hold, so the two accounts became
	// one: the older stays, the other account id no longer exists.
	EventAccountMerged = "account.merged"
)

// EventTypes lists every event, in the order the documentation gives them.
func EventTypes() []string {
	return []string{EventUserRegistered, EventUserErased, EventSessionsRevoked, EventPhoneBound, EventAccountMerged}
}

// The states of a Delivery.
const (
	DeliveryPending   = "pending"   // waiting for its next attempt (or under way)
	DeliveryDelivered = "delivered" // the endpoint answered 2xx
	DeliveryFailed    = "failed"    // every attempt failed until the delivery gave up
)

// Delivery is one event on its way to one webhook endpoint: a row of the
// outbox. An event that several endpoints subscribe to has one delivery per
// endpoint, all with the same EventID, which receivers use to drop
// duplicates (delivery is at least once).
type Delivery struct {
	ID      string // "dlv_…"
	EventID string // "evt_…": the X-Wxlogin-Event-Id header and the payload's id
	Event   string // EventUserRegistered, …
	URL     string // the endpoint
	Payload []byte // the JSON body, exactly as sent (and signed)

	State     string // DeliveryPending, DeliveryDelivered, DeliveryFailed
	Attempts  int    // attempts started so far, the one under way included
	CreatedAt time.Time
	// NextAttemptAt is when a pending delivery is due.
	NextAttemptAt time.Time
	// GiveUpAt is when a pending delivery that keeps failing is marked
	// failed: a day after it was written or last redelivered.
	GiveUpAt      time.Time
	LastAttemptAt time.Time // zero before the first attempt ended
	LastStatus    int       // the endpoint's last HTTP status; 0 when none came
	LastError     string    // why the last attempt failed; never a secret
}

// DeliveryResult is how an attempt of a claimed delivery ended.
type DeliveryResult struct {
	ID string
	// Attempt is the delivery's Attempts as its claim returned them: the
	// store records the result only while no later claim has been made, so
	// an instance whose lease ran out cannot overwrite the result of the
	// instance that claimed the delivery after it.
	Attempt int
	State   string    // DeliveryPending (retry at NextAttemptAt), DeliveryDelivered or DeliveryFailed
	At      time.Time // when the attempt ended
	// NextAttemptAt is the retry's due time (DeliveryPending only).
	NextAttemptAt time.Time
	Status        int
	Error         string
}

// DeliveryFilter selects deliveries; empty fields match anything.
type DeliveryFilter struct {
	State string
	Event string
	URL   string
	Limit int // 0 means the store's default (100)
}

// OutboxStore is implemented by stores that keep users and sessions
// together with a webhook outbox. Each ...WithDeliveries method is the
// UserStore or SessionStore method of its name that also appends the
// deliveries, pending and due at once, in the same transaction as its
// change, and only when the change happened: a change that fails or has
// nothing to change appends nothing, and a committed change leaves exactly
// its deliveries (store/storetest checks both). auth refuses webhooks on a
// store without it: an event written apart from its change would be lost by
// a crash between the two, or sent for a change that never happened.
type OutboxStore interface {
	// EnsureUserWithDeliveries is EnsureUser; deliveries is called, and
	// what it returns appended, only when this call changes the user: when
	// it registers the user, or records a unionid the existing user did
	// not have (the one change of a returning user's login, and the one
	// that can merge two accounts). The UserChange says which. It runs
	// inside the write, so it must be quick and must not call the store;
	// it may run more than once if the store retries the transaction. A
	// returning user's login that changes nothing, by far the most common,
	// builds no event and writes nothing.
	EnsureUserWithDeliveries(ctx context.Context, u User, deliveries func(UserChange) []Delivery) (User, bool, error)
	// UpdateUserWithDeliveries is UpdateUser; the deliveries are appended
	// only when update returns nil and the user is written.
	UpdateUserWithDeliveries(ctx context.Context, id string, update func(*User) error, ds []Delivery) (User, error)
	// DeleteUserWithDeliveries is DeleteUser; the deliveries are appended
	// only when a user was deleted.
	DeleteUserWithDeliveries(ctx context.Context, id string, ds []Delivery) error
	// DeleteSessionWithDeliveries is DeleteSession; the deliveries are
	// appended only when a session was deleted.
	DeleteSessionWithDeliveries(ctx context.Context, id string, ds []Delivery) error
	// DeleteUserSessionsWithDeliveries is DeleteUserSessions; the
	// deliveries are appended only when at least one session was deleted.
	DeleteUserSessionsWithDeliveries(ctx context.Context, userID string, ds []Delivery) (int, error)

	// ClaimDeliveries leases up to limit pending deliveries to the given
	// endpoints that are due at now and not leased to anyone (an earlier
	// lease ended by now), oldest due first, until leaseUntil, and
	// counts an attempt of each. Concurrent callers (several instances on
	// one database) never get the same delivery while its lease lasts.
	// Only the endpoints a caller knows are claimed: it needs their
	// secrets to sign.
	ClaimDeliveries(ctx context.Context, urls []string, now, leaseUntil time.Time, limit int) ([]Delivery, error)
	// FinishDelivery records how an attempt ended and ends its lease. A
	// result of an attempt that is no longer the delivery's latest, or of
	// a delivery no longer pending, is ignored (reported as false).
	FinishDelivery(ctx context.Context, r DeliveryResult) (bool, error)
	// Deliveries lists deliveries matching f, newest first.
	Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	// Delivery returns one delivery, or an error matching ErrNotFound.
	Delivery(ctx context.Context, id string) (Delivery, error)
	// RedeliverDelivery makes a delivery, whatever its state, pending and
	// due at now, with a fresh day before it gives up (giveUpAt), and
	// returns it; ErrNotFound for an unknown id.
	RedeliverDelivery(ctx context.Context, id string, now, giveUpAt time.Time) (Delivery, error)
	// DeleteFinishedDeliveries removes the delivered and failed deliveries
	// whose last attempt ended before before, and returns how many.
	DeleteFinishedDeliveries(ctx context.Context, before time.Time) (int, error)
}

// UserChangeKind is what an EnsureUser...WithDeliveries call changed.
type UserChangeKind int

// The kinds of UserChange.
const (
	// UserRegistered: the call registered the user.
	UserRegistered UserChangeKind = iota + 1
	// UnionIDRecorded: the call recorded, for a user that existed, a
	// unionid that user did not have.
	UnionIDRecorded
)

// UserChange is what an EnsureUser...WithDeliveries call changed, as its
// deliveries callback is told.
type UserChange struct {
	Kind UserChangeKind // UserRegistered or UnionIDRecorded
	// User is the user as the call leaves it: the new user, or the
	// existing one with its new unionid.
	User User
	// PreviousUnionID is the unionid the existing user had before
	// (UnionIDRecorded only): "" for a user WeChat gave none until now.
	PreviousUnionID string
}

// Event is a change that webhooks report, as auth describes it; package
// webhook owns its JSON form (the payload).
type Event struct {
	ID   string // "evt_…"
	Type string // EventUserRegistered, …
	At   time.Time

	AppID   string
	UserID  string
	OpenID  string
	UnionID string // "" when unknown

	// SessionIDs are the sessions a sessions.revoked event ended; empty
	// when AllSessions is set.
	SessionIDs []string
	// AllSessions reports whether every session of the user was ended.
	AllSessions bool
	// By is who made the change: "user" (the user's own token), "admin"
	// (the admin API), "session_key" (the wechat session policy found the
	// user's session_key dead) or "corp_uninstalled" (the member's WeCom
	// corp uninstalled the suite app); empty for a registration.
	By string

	// AccountID is the user's account once the change is made: for
	// user.registered and account.merged; empty otherwise.
	AccountID string
	// MergedAccountID is the account that an account.merged event's
	// change made disappear into AccountID.
	MergedAccountID string
}

// LoginOutboxStore is implemented by a LoginStore that is an OutboxStore
// too: a login with webhooks keeps its one transaction, and a registering
// login's event is written in it, so a crash can neither lose the event of
// a registered user nor leave one of a user never registered.
type LoginOutboxStore interface {
	// EnsureUserWithSessionAndDeliveries is EnsureUserWithSession;
	// deliveries is called, and what it returns appended in the same
	// transaction, only when this call registers the user or records a
	// unionid the existing user did not have (with the rules of
	// EnsureUserWithDeliveries' callback). A refused session appends
	// nothing, registers nobody and records no unionid.
	EnsureUserWithSessionAndDeliveries(ctx context.Context, u User, s Session, deliveries func(UserChange) []Delivery) (User, bool, error)
}
