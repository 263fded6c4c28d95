package storetest

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin"
)

// OutboxStore is what RunOutboxStoreTests needs: the outbox lives beside the
// users and sessions whose changes write to it.
type OutboxStore interface {
	wxlogin.UserStore
	wxlogin.SessionStore
	wxlogin.OutboxStore
}

// outboxEra is the base instant of outbox tests. Claims only take the
// endpoints a test names, and every test's endpoint URL is random, so the
// tests need no era of their own to stay apart on a shared store.
var outboxEra = time.Date(2031, 5, 1, 10, 0, 0, 321_654_987, time.UTC)

// RunOutboxStoreTests runs the conformance suite of wxlogin.OutboxStore.
// Every test's deliveries go to an endpoint URL of its own, so the tests run
// in parallel on one shared store.
func RunOutboxStoreTests(t *testing.T, newStore func(t *testing.T) OutboxStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, OutboxStore)
	}{
		{"RegistrationWritesItsDeliveries", testOutboxRegistration},
		{"FailedRegistrationWritesNothing", testOutboxFailedRegistration},
		{"NewUnionIDWritesItsDeliveries", testOutboxUnionID},
		{"ConcurrentNewUnionIDWritesOnce", testOutboxConcurrentUnionID},
		{"UpdateWritesOnlyWhenItWrites", testOutboxUpdate},
		{"DeletesWriteOnlyWhenTheyDelete", testOutboxDeletes},
		{"ClaimLeaseAndFinish", testOutboxClaim},
		{"ConcurrentClaimsNeverShare", testOutboxConcurrentClaims},
		{"ListAndRedeliver", testOutboxListAndRedeliver},
		{"DeleteFinished", testOutboxDeleteFinished},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// newDeliveries returns n deliveries of one event to url, due at at.
func newDeliveries(url, event string, at time.Time, n int) []wxlogin.Delivery {
	ev := uniqueID("evt_")
	ds := make([]wxlogin.Delivery, n)
	for i := range ds {
		ds[i] = wxlogin.Delivery{
			ID: uniqueID("dlv_"), EventID: ev, Event: event, URL: url,
			Payload:   []byte(`{"id":"` + ev + `","n":` + string(rune('0'+i)) + `}`),
			CreatedAt: at, NextAttemptAt: at, GiveUpAt: at.Add(24 * time.Hour),
		}
	}
	return ds
}

func newURL() string { return "https://hooks.example/" + uniqueID("h-") }

// deliveriesTo lists every delivery to url, oldest first.
func deliveriesTo(t *testing.T, s wxlogin.OutboxStore, url string) []wxlogin.Delivery {
	t.Helper()
	ds, err := s.Deliveries(t.Context(), wxlogin.DeliveryFilter{URL: url, Limit: 1000})
	if err != nil {
		t.Fatalf("Deliveries: %v", err)
	}
	slices.Reverse(ds)
	return ds
}

// pending is d as the store holds it once appended.
func pending(d wxlogin.Delivery) wxlogin.Delivery {
	d.State = wxlogin.DeliveryPending
	d.CreatedAt, d.NextAttemptAt, d.GiveUpAt = stored(d.CreatedAt), stored(d.NextAttemptAt), stored(d.GiveUpAt)
	return d
}

func checkDeliveries(t *testing.T, s wxlogin.OutboxStore, url string, want []wxlogin.Delivery) {
	t.Helper()
	got := deliveriesTo(t, s, url)
	var wantStored []wxlogin.Delivery
	for _, d := range want {
		wantStored = append(wantStored, pending(d))
	}
	// Deliveries of one instant come in id order, which is random here.
	byID := func(a, b wxlogin.Delivery) int { return strings.Compare(a.ID, b.ID) }
	slices.SortFunc(got, byID)
	slices.SortFunc(wantStored, byID)
	if diff := cmp.Diff(wantStored, got, cmpOpts); diff != "" {
		t.Errorf("deliveries to %s (-want +got):\n%s", url, diff)
	}
	for _, d := range got {
		checkUTC(t, "delivery "+d.ID, d.CreatedAt, d.NextAttemptAt, d.GiveUpAt, d.LastAttemptAt)
	}
}

func testOutboxRegistration(t *testing.T, s OutboxStore) {
	url := newURL()
	u := newUser(uniqueID("wx"), userEra)
	u.UnionID = uniqueID("un-")
	ds := newDeliveries(url, wxlogin.EventUserRegistered, outboxEra, 2)
	var change wxlogin.UserChange
	got, created, err := s.EnsureUserWithDeliveries(t.Context(), u, func(c wxlogin.UserChange) []wxlogin.Delivery { change = c; return ds })
	if err != nil || !created || got.ID != u.ID {
		t.Fatalf("EnsureUserWithDeliveries = %s, %v, %v; want the new user, created", got.ID, created, err)
	}
	checkChange(t, change, wxlogin.UserChange{Kind: wxlogin.UserRegistered, User: storedUser(u)})
	checkDeliveries(t, s, url, ds)

	// The same user again, with the same unionid or none: nothing changes,
	// no event.
	for _, unionid := range []string{u.UnionID, ""} {
		again := u
		again.ID, again.UnionID = uniqueID("u-"), unionid
		if _, created, err := s.EnsureUserWithDeliveries(t.Context(), again, noDeliveries(t, url)); err != nil || created {
			t.Fatalf("EnsureUserWithDeliveries of a known user: created %v, %v", created, err)
		}
	}
	checkDeliveries(t, s, url, ds)
}

// noDeliveries is a deliveries callback that must not be called: it fails
// the test and returns a delivery to url, which checkDeliveries would see.
func noDeliveries(t *testing.T, url string) func(wxlogin.UserChange) []wxlogin.Delivery {
	return func(c wxlogin.UserChange) []wxlogin.Delivery {
		t.Errorf("deliveries built for a call that changed nothing (told %+v)", c)
		return newDeliveries(url, wxlogin.EventUserRegistered, outboxEra, 1)
	}
}

// checkChange compares what a deliveries callback was told with want.
func checkChange(t *testing.T, got, want wxlogin.UserChange) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("the deliveries callback was told (-want +got):\n%s", diff)
	}
}

// testOutboxUnionID: a returning user's login that brings a unionid the
// user did not have appends exactly its deliveries with the unionid, told
// so; the same unionid again appends nothing; a unionid whose deliveries
// cannot be written is not recorded either.
func testOutboxUnionID(t *testing.T, s OutboxStore) {
	url := newURL()
	u := mustEnsureUser(t, s, newUser(uniqueID("wx"), userEra))
	learned := u
	learned.ID, learned.UnionID = uniqueID("u-"), uniqueID("un-")
	ds := newDeliveries(url, wxlogin.EventAccountMerged, outboxEra, 2)
	var change wxlogin.UserChange
	got, created, err := s.EnsureUserWithDeliveries(t.Context(), learned, func(c wxlogin.UserChange) []wxlogin.Delivery { change = c; return ds })
	if err != nil || created || got.ID != u.ID || got.UnionID != learned.UnionID {
		t.Fatalf("EnsureUserWithDeliveries(new unionid) = %s %q, created %v, %v; want %s %q, not created",
			got.ID, got.UnionID, created, err, u.ID, learned.UnionID)
	}
	want := storedUser(u)
	want.UnionID = learned.UnionID
	checkChange(t, change, wxlogin.UserChange{Kind: wxlogin.UnionIDRecorded, User: want})
	checkUser(t, s, want)
	checkDeliveries(t, s, url, ds)

	// The same unionid again, or none: nothing to record.
	for _, unionid := range []string{learned.UnionID, ""} {
		again := learned
		again.ID, again.UnionID = uniqueID("u-"), unionid
		if got, _, err := s.EnsureUserWithDeliveries(t.Context(), again, noDeliveries(t, url)); err != nil || got.UnionID != learned.UnionID {
			t.Fatalf("EnsureUserWithDeliveries(unionid %q) = %q, %v; want the recorded %q", unionid, got.UnionID, err, learned.UnionID)
		}
	}
	checkDeliveries(t, s, url, ds)

	// Another unionid than the recorded one is recorded too, told what the
	// user had.
	changed := learned
	changed.ID, changed.UnionID = uniqueID("u-"), uniqueID("un-")
	more := newDeliveries(url, wxlogin.EventAccountMerged, outboxEra.Add(time.Second), 1)
	if _, _, err := s.EnsureUserWithDeliveries(t.Context(), changed, func(c wxlogin.UserChange) []wxlogin.Delivery { change = c; return more }); err != nil {
		t.Fatalf("EnsureUserWithDeliveries(another unionid): %v", err)
	}
	want.UnionID = changed.UnionID
	checkChange(t, change, wxlogin.UserChange{Kind: wxlogin.UnionIDRecorded, User: want, PreviousUnionID: learned.UnionID})
	checkDeliveries(t, s, url, append(ds, more...))

	// Deliveries that cannot be written (a duplicate id): the unionid is
	// not recorded.
	failURL := newURL()
	v := mustEnsureUser(t, s, newUser(uniqueID("wx"), userEra))
	bad := newDeliveries(failURL, wxlogin.EventAccountMerged, outboxEra, 2)
	bad[1].ID = bad[0].ID
	vu := v
	vu.ID, vu.UnionID = uniqueID("u-"), uniqueID("un-")
	if _, _, err := s.EnsureUserWithDeliveries(t.Context(), vu, func(wxlogin.UserChange) []wxlogin.Delivery { return bad }); err == nil {
		t.Fatal("EnsureUserWithDeliveries(new unionid) with a duplicate delivery id succeeded")
	}
	checkUser(t, s, storedUser(v))
	checkDeliveries(t, s, failURL, nil)
}

// testOutboxFailedRegistration makes the outbox write fail (two deliveries
// with one id) and checks that the registration failed with it: change and
// events are one transaction.
func testOutboxFailedRegistration(t *testing.T, s OutboxStore) {
	url := newURL()
	u := newUser(uniqueID("wx"), userEra)
	ds := newDeliveries(url, wxlogin.EventUserRegistered, outboxEra, 2)
	ds[1].ID = ds[0].ID
	if _, _, err := s.EnsureUserWithDeliveries(t.Context(), u, func(wxlogin.UserChange) []wxlogin.Delivery { return ds }); err == nil {
		t.Fatal("EnsureUserWithDeliveries with a duplicate delivery id succeeded")
	}
	_, err := s.User(t.Context(), u.ID)
	checkNotFound(t, "the user of a failed registration", err)
	checkDeliveries(t, s, url, nil)
}

// testOutboxConcurrentUnionID: logins of one user racing to record the same
// new unionid record it once, and append one call's deliveries.
func testOutboxConcurrentUnionID(t *testing.T, s OutboxStore) {
	url := newURL()
	u := mustEnsureUser(t, s, newUser(uniqueID("wx"), userEra))
	unionid := uniqueID("un-")
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		last = map[int][]wxlogin.Delivery{} // what each call's callback last returned
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			learned := u
			learned.ID, learned.UnionID = uniqueID("u-"), unionid
			got, _, err := s.EnsureUserWithDeliveries(t.Context(), learned, func(wxlogin.UserChange) []wxlogin.Delivery {
				ds := newDeliveries(url, wxlogin.EventAccountMerged, outboxEra, 1)
				mu.Lock()
				last[i] = ds
				mu.Unlock()
				return ds
			})
			if err != nil || got.UnionID != unionid {
				t.Errorf("EnsureUserWithDeliveries = %q, %v; want %q", got.UnionID, err, unionid)
			}
		}()
	}
	wg.Wait()
	if len(last) != 1 {
		t.Fatalf("%d racing logins with one new unionid: %d built deliveries, want 1", n, len(last))
	}
	for _, ds := range last {
		checkDeliveries(t, s, url, ds)
	}
}

func testOutboxUpdate(t *testing.T, s OutboxStore) {
	url := newURL()
	u := mustEnsureUser(t, s, newUser(uniqueID("wx"), userEra))
	refused := errors.New("refused by the callback")
	_, err := s.UpdateUserWithDeliveries(t.Context(), u.ID, func(*wxlogin.User) error { return refused },
		newDeliveries(url, wxlogin.EventPhoneBound, outboxEra, 1))
	if !errors.Is(err, refused) {
		t.Fatalf("UpdateUserWithDeliveries with a refusing callback = %v, want its error", err)
	}
	_, err = s.UpdateUserWithDeliveries(t.Context(), uniqueID("u-"), func(*wxlogin.User) error { return nil },
		newDeliveries(url, wxlogin.EventPhoneBound, outboxEra, 1))
	checkNotFound(t, "UpdateUserWithDeliveries of a missing user", err)
	checkDeliveries(t, s, url, nil)

	ds := newDeliveries(url, wxlogin.EventPhoneBound, outboxEra, 1)
	phone := &wxlogin.Phone{PhoneNumber: "+86 13800000000", PurePhoneNumber: "13800000000", CountryCode: "86"}
	if _, err := s.UpdateUserWithDeliveries(t.Context(), u.ID, func(u *wxlogin.User) error { u.Phone = phone; return nil }, ds); err != nil {
		t.Fatalf("UpdateUserWithDeliveries: %v", err)
	}
	if got, err := s.User(t.Context(), u.ID); err != nil || got.Phone == nil || *got.Phone != *phone {
		t.Errorf("the user after the update: %+v, %v; want the phone written", got.Phone, err)
	}
	checkDeliveries(t, s, url, ds)
}

func testOutboxDeletes(t *testing.T, s OutboxStore) {
	url := newURL()
	var want []wxlogin.Delivery
	none := func() []wxlogin.Delivery { return newDeliveries(url, wxlogin.EventSessionsRevoked, outboxEra, 1) }

	// Nothing to delete: nothing written.
	if err := s.DeleteSessionWithDeliveries(t.Context(), uniqueID("s-"), none()); err != nil {
		t.Fatalf("DeleteSessionWithDeliveries of a missing session: %v", err)
	}
	if n, err := s.DeleteUserSessionsWithDeliveries(t.Context(), uniqueID("u-"), none()); err != nil || n != 0 {
		t.Fatalf("DeleteUserSessionsWithDeliveries of a user without sessions = %d, %v", n, err)
	}
	if err := s.DeleteUserWithDeliveries(t.Context(), uniqueID("u-"), none()); err != nil {
		t.Fatalf("DeleteUserWithDeliveries of a missing user: %v", err)
	}
	checkDeliveries(t, s, url, nil)

	user := uniqueID("u-")
	s1, s2, s3 := newSession(user, sessionEra), newSession(user, sessionEra.Add(time.Minute)), newSession(user, sessionEra.Add(2*time.Minute))
	for _, x := range []wxlogin.Session{s1, s2, s3} {
		mustCreateSession(t, s, x)
	}
	one := newDeliveries(url, wxlogin.EventSessionsRevoked, outboxEra, 1)
	if err := s.DeleteSessionWithDeliveries(t.Context(), s1.ID, one); err != nil {
		t.Fatalf("DeleteSessionWithDeliveries: %v", err)
	}
	want = append(want, one...)
	checkSessionGone(t, s, s1)
	all := newDeliveries(url, wxlogin.EventSessionsRevoked, outboxEra.Add(time.Second), 1)
	if n, err := s.DeleteUserSessionsWithDeliveries(t.Context(), user, all); err != nil || n != 2 {
		t.Fatalf("DeleteUserSessionsWithDeliveries = %d, %v; want 2", n, err)
	}
	want = append(want, all...)
	erased := newDeliveries(url, wxlogin.EventUserErased, outboxEra.Add(2*time.Second), 1)
	if err := s.DeleteUserWithDeliveries(t.Context(), user, erased); err != nil {
		t.Fatalf("DeleteUserWithDeliveries: %v", err)
	}
	want = append(want, erased...)
	_, err := s.User(t.Context(), user)
	checkNotFound(t, "the erased user", err)
	// Again: the user is gone, so no second event.
	if err := s.DeleteUserWithDeliveries(t.Context(), user, none()); err != nil {
		t.Fatalf("DeleteUserWithDeliveries again: %v", err)
	}
	checkDeliveries(t, s, url, want)
}

func testOutboxClaim(t *testing.T, s OutboxStore) {
	url := newURL()
	now := outboxEra
	ds := newDeliveries(url, wxlogin.EventUserRegistered, now, 3)
	ds[2].NextAttemptAt = now.Add(time.Hour) // not due yet
	mustEnsureUserWith(t, s, ds)
	claim := func(at time.Time, lease time.Duration, limit int) []wxlogin.Delivery {
		t.Helper()
		got, err := s.ClaimDeliveries(t.Context(), []string{url}, at, at.Add(lease), limit)
		if err != nil {
			t.Fatalf("ClaimDeliveries: %v", err)
		}
		return got
	}
	ids := func(ds []wxlogin.Delivery) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		slices.Sort(out)
		return out
	}
	if got := claim(now, time.Minute, 1); len(got) != 1 || got[0].Attempts != 1 {
		t.Fatalf("claim with limit 1 = %v, want one delivery with attempts 1", got)
	}
	got := claim(now, time.Minute, 10)
	if len(got) != 1 || got[0].Attempts != 1 {
		t.Fatalf("second claim = %v, want the other due delivery only (the first is leased, the third not due)", ids(got))
	}
	// Every due delivery is leased now.
	if got := claim(now.Add(30*time.Second), time.Minute, 10); len(got) != 0 {
		t.Fatalf("claim during the leases = %v, want none", ids(got))
	}
	// The second claim's delivery fails and is retried in 10 minutes.
	first := got[0]
	ok, err := s.FinishDelivery(t.Context(), wxlogin.DeliveryResult{ID: first.ID, Attempt: 1, State: wxlogin.DeliveryPending,
		At: now.Add(time.Second), NextAttemptAt: now.Add(10 * time.Minute), Status: 500, Error: "HTTP 500"})
	if err != nil || !ok {
		t.Fatalf("FinishDelivery (retry) = %v, %v", ok, err)
	}
	// The leases of the others run out; the failed one is not due.
	later := claim(now.Add(2*time.Minute), time.Minute, 10)
	if len(later) != 1 || later[0].ID == first.ID || later[0].Attempts != 2 {
		t.Fatalf("claim after the lease ran out = %+v, want the un-finished delivery again with attempts 2", later)
	}
	// The instance whose lease ran out reports late: ignored.
	ok, err = s.FinishDelivery(t.Context(), wxlogin.DeliveryResult{ID: later[0].ID, Attempt: 1, State: wxlogin.DeliveryDelivered, At: now.Add(3 * time.Minute), Status: 200})
	if err != nil || ok {
		t.Fatalf("FinishDelivery of a superseded attempt = %v, %v; want false", ok, err)
	}
	ok, err = s.FinishDelivery(t.Context(), wxlogin.DeliveryResult{ID: later[0].ID, Attempt: 2, State: wxlogin.DeliveryDelivered, At: now.Add(3 * time.Minute), Status: 204})
	if err != nil || !ok {
		t.Fatalf("FinishDelivery (delivered) = %v, %v", ok, err)
	}
	// At +1h: the retry (due +10m) and the third (due +1h), oldest due first.
	due := claim(now.Add(time.Hour), time.Minute, 10)
	if len(due) != 2 || due[0].ID != first.ID || due[1].ID != ds[2].ID {
		t.Fatalf("claim at +1h = %v, want [%s %s]", ids(due), first.ID, ds[2].ID)
	}
	for _, d := range due {
		ok, err := s.FinishDelivery(t.Context(), wxlogin.DeliveryResult{ID: d.ID, Attempt: d.Attempts, State: wxlogin.DeliveryFailed,
			At: now.Add(time.Hour), Status: 0, Error: "connection refused"})
		if err != nil || !ok {
			t.Fatalf("FinishDelivery (failed) = %v, %v", ok, err)
		}
	}
	if got := claim(now.Add(48*time.Hour), time.Minute, 10); len(got) != 0 {
		t.Fatalf("claim after every delivery ended = %v, want none", ids(got))
	}
	// Only the named endpoints are claimed.
	other := newURL()
	mustEnsureUserWith(t, s, newDeliveries(other, wxlogin.EventUserRegistered, now, 1))
	if got := claim(now.Add(48*time.Hour), time.Minute, 10); len(got) != 0 {
		t.Fatalf("claim of %s took a delivery to another endpoint: %v", url, ids(got))
	}

	list := deliveriesTo(t, s, url)
	states := map[string]wxlogin.Delivery{}
	for _, d := range list {
		states[d.ID] = d
	}
	if d := states[first.ID]; d.State != wxlogin.DeliveryFailed || d.Attempts != 2 || d.LastError != "connection refused" || !d.LastAttemptAt.Equal(stored(now.Add(time.Hour))) {
		t.Errorf("the failed delivery: %+v", d)
	}
	if d := states[later[0].ID]; d.State != wxlogin.DeliveryDelivered || d.Attempts != 2 || d.LastStatus != 204 {
		t.Errorf("the delivered delivery: %+v", d)
	}
}

// mustEnsureUserWith registers a fresh user with ds.
func mustEnsureUserWith(t *testing.T, s OutboxStore, ds []wxlogin.Delivery) {
	t.Helper()
	if _, created, err := s.EnsureUserWithDeliveries(t.Context(), newUser(uniqueID("wx"), userEra), func(wxlogin.UserChange) []wxlogin.Delivery { return ds }); err != nil || !created {
		t.Fatalf("EnsureUserWithDeliveries: %v, %v", created, err)
	}
}

// testOutboxConcurrentClaims has several claimers (instances) race for one
// batch: each delivery goes to exactly one of them.
func testOutboxConcurrentClaims(t *testing.T, s OutboxStore) {
	url := newURL()
	const n, claimers = 40, 6
	for range n / 4 {
		mustEnsureUserWith(t, s, newDeliveries(url, wxlogin.EventUserRegistered, outboxEra, 4))
	}
	var (
		mu  sync.Mutex
		got = map[string]int{}
		wg  sync.WaitGroup
	)
	for range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := s.ClaimDeliveries(t.Context(), []string{url}, outboxEra, outboxEra.Add(time.Hour), 3)
				if err != nil {
					t.Errorf("ClaimDeliveries: %v", err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					got[d.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != n {
		t.Errorf("claimed %d distinct deliveries, want %d", len(got), n)
	}
	for id, k := range got {
		if k != 1 {
			t.Errorf("delivery %s claimed %d times", id, k)
		}
	}
}

func testOutboxListAndRedeliver(t *testing.T, s OutboxStore) {
	url := newURL()
	a := newDeliveries(url, wxlogin.EventUserRegistered, outboxEra, 1)
	b := newDeliveries(url, wxlogin.EventPhoneBound, outboxEra.Add(time.Minute), 1)
	u := mustEnsureUser(t, s, newUser(uniqueID("wx"), userEra))
	mustEnsureUserWith(t, s, a)
	if _, err := s.UpdateUserWithDeliveries(t.Context(), u.ID, func(*wxlogin.User) error { return nil }, b); err != nil {
		t.Fatal(err)
	}
	list, err := s.Deliveries(t.Context(), wxlogin.DeliveryFilter{URL: url})
	if err != nil || len(list) != 2 || list[0].ID != b[0].ID || list[1].ID != a[0].ID {
		t.Fatalf("Deliveries = %v, %v; want [%s %s], newest first", list, err, b[0].ID, a[0].ID)
	}
	if list, err := s.Deliveries(t.Context(), wxlogin.DeliveryFilter{URL: url, Event: wxlogin.EventPhoneBound}); err != nil || len(list) != 1 || list[0].ID != b[0].ID {
		t.Errorf("Deliveries of phone.bound = %v, %v", list, err)
	}
	if list, err := s.Deliveries(t.Context(), wxlogin.DeliveryFilter{URL: url, Limit: 1}); err != nil || len(list) != 1 {
		t.Errorf("Deliveries with limit 1 = %d, %v", len(list), err)
	}
	claimed, err := s.ClaimDeliveries(t.Context(), []string{url}, outboxEra.Add(time.Hour), outboxEra.Add(time.Hour+time.Minute), 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("ClaimDeliveries = %d, %v", len(claimed), err)
	}
	for _, d := range claimed {
		if _, err := s.FinishDelivery(t.Context(), wxlogin.DeliveryResult{ID: d.ID, Attempt: d.Attempts, State: wxlogin.DeliveryFailed, At: outboxEra.Add(time.Hour), Error: "gave up"}); err != nil {
			t.Fatal(err)
		}
	}
	if list, err := s.Deliveries(t.Context(), wxlogin.DeliveryFilter{URL: url, State: wxlogin.DeliveryFailed}); err != nil || len(list) != 2 {
		t.Errorf("Deliveries of failed = %d, %v; want 2", len(list), err)
	}
	at := outboxEra.Add(30 * time.Hour)
	d, err := s.RedeliverDelivery(t.Context(), a[0].ID, at, at.Add(24*time.Hour))
	if err != nil || d.State != wxlogin.DeliveryPending || !d.NextAttemptAt.Equal(stored(at)) || !d.GiveUpAt.Equal(stored(at.Add(24*time.Hour))) || d.Attempts != 1 {
		t.Fatalf("RedeliverDelivery = %+v, %v; want it pending, due at %v", d, err, at)
	}
	if got, err := s.Delivery(t.Context(), a[0].ID); err != nil || got.State != wxlogin.DeliveryPending {
		t.Errorf("Delivery after redelivery = %+v, %v", got, err)
	}
	again, err := s.ClaimDeliveries(t.Context(), []string{url}, at, at.Add(time.Minute), 10)
	if err != nil || len(again) != 1 || again[0].ID != a[0].ID || again[0].Attempts != 2 {
		t.Errorf("claim after redelivery = %+v, %v; want the redelivered one, attempts 2", again, err)
	}
	_, err = s.RedeliverDelivery(t.Context(), uniqueID("dlv_"), at, at)
	checkNotFound(t, "RedeliverDelivery of an unknown id", err)
	_, err = s.Delivery(t.Context(), uniqueID("dlv_"))
	checkNotFound(t, "Delivery of an unknown id", err)
}

// pruneEra is where the DeleteFinishedDeliveries test finishes its
// deliveries: before every other test's instants, so that its deletion
// never reaches their rows.
var pruneEra = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

func testOutboxDeleteFinished(t *testing.T, s OutboxStore) {
	url := newURL()
	ds := newDeliveries(url, wxlogin.EventUserRegistered, pruneEra, 4)
	mustEnsureUserWith(t, s, ds)
	claimed, err := s.ClaimDeliveries(t.Context(), []string{url}, pruneEra, pruneEra.Add(time.Minute), 10)
	if err != nil || len(claimed) != 4 {
		t.Fatalf("ClaimDeliveries = %d, %v", len(claimed), err)
	}
	for i, d := range claimed {
		r := wxlogin.DeliveryResult{ID: d.ID, Attempt: d.Attempts, At: pruneEra.Add(time.Duration(i) * time.Hour)}
		switch i {
		case 0:
			r.State = wxlogin.DeliveryDelivered
		case 1:
			r.State = wxlogin.DeliveryFailed
		case 2:
			r.State, r.NextAttemptAt = wxlogin.DeliveryPending, pruneEra.Add(time.Hour) // still pending: kept
		case 3:
			r.State = wxlogin.DeliveryDelivered // finished after the cut: kept
		}
		if ok, err := s.FinishDelivery(t.Context(), r); err != nil || !ok {
			t.Fatalf("FinishDelivery: %v, %v", ok, err)
		}
	}
	n, err := s.DeleteFinishedDeliveries(t.Context(), pruneEra.Add(150*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("DeleteFinishedDeliveries = %d, %v; want 2", n, err)
	}
	var left []string
	for _, d := range deliveriesTo(t, s, url) {
		left = append(left, d.ID)
	}
	slices.Sort(left)
	want := []string{claimed[2].ID, claimed[3].ID}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("left after the deletion: %v, want %v (the pending one and the one finished after the cut)", left, want)
	}
}
