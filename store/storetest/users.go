package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxlogin/wxlogin"
)

// RunUserStoreTests runs the UserStore conformance suite. newStore is called
// once per test, from that test's goroutine, and may return a store shared
// with other tests (the suite makes no assumption about other data); the
// factory registers its own cleanup with t.Cleanup. Tests run in parallel.
func RunUserStoreTests(t *testing.T, newStore func(t *testing.T) wxlogin.UserStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s wxlogin.UserStore)
	}{
		{"EnsureUserCreatesThenFinds", testEnsureUserCreatesThenFinds},
		{"EnsureUserOneUserPerAppAndOpenID", testEnsureUserPerApp},
		{"EnsureUserRecordsUnionID", testEnsureUserRecordsUnionID},
		{"EnsureUserConcurrent", testEnsureUserConcurrent},
		{"UserRoundTrip", testUserRoundTrip},
		{"UserNotFound", testUserNotFound},
		{"FindUsers", testFindUsers},
		{"FindUsersDefaultLimit", testFindUsersDefaultLimit},
		{"UpdateUser", testUpdateUser},
		{"UpdateUserErrorStoresNothing", testUpdateUserError},
		{"UpdateUserNotFound", testUpdateUserNotFound},
		{"UpdateUserConcurrent", testUpdateUserConcurrent},
		{"DeleteUser", testDeleteUser},
		{"ResealUsers", testResealUsers},
		{"ResealUsersError", testResealUsersError},
		{"CountSealedUsers", testCountSealedUsers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newStore(t))
		})
	}
}

// newUser returns a user of app with a fresh id and openid, registered at
// created.
func newUser(app string, created time.Time) wxlogin.User {
	return wxlogin.User{
		ID:        uniqueID("u-"),
		AppID:     app,
		OpenID:    uniqueID("o-"),
		CreatedAt: created,
		UpdatedAt: created,
	}
}

// fullUser returns a new user with every field set.
func fullUser(app string, created time.Time) wxlogin.User {
	u := newUser(app, created)
	u.UnionID = uniqueID("un-")
	u.UpdatedAt = created.Add(90 * time.Minute)
	u.UserInfo = json.RawMessage(`{"nickName":"小明 \"quoted\"","gender":1,"language":"zh_CN","city":"Guangzhou","avatarUrl":"https://thirdwx.qlogo.cn/mmopen/x/132"}`)
	u.Phone = &wxlogin.Phone{PhoneNumber: "+86 13800138000", PurePhoneNumber: "13800138000", CountryCode: "86"}
	u.Profile = wxlogin.Profile{Nickname: "小明🙂", AvatarID: uniqueID("av-"), UpdatedAt: created.Add(time.Hour)}
	u.Sealed = append([]byte{0, 1, 0xfe, 0xff}, randomBytes(40)...)
	return u
}

func mustEnsureUser(t *testing.T, s wxlogin.UserStore, u wxlogin.User) wxlogin.User {
	t.Helper()
	got, created, err := s.EnsureUser(t.Context(), u)
	if err != nil {
		t.Fatalf("EnsureUser(%s): %v", u.ID, err)
	}
	if !created {
		t.Fatalf("EnsureUser(%s): created = false for a new user", u.ID)
	}
	return got
}

// checkUser reports a test error unless the store holds want under want.ID.
func checkUser(t *testing.T, s wxlogin.UserStore, want wxlogin.User) {
	t.Helper()
	got, err := s.User(t.Context(), want.ID)
	if err != nil {
		t.Errorf("User(%s): %v", want.ID, err)
		return
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("User(%s) mismatch (-want +got):\n%s", want.ID, diff)
	}
	checkUserUTC(t, "User", got)
}

func testEnsureUserCreatesThenFinds(t *testing.T, s wxlogin.UserStore) {
	ctx := t.Context()
	u := fullUser(uniqueID("wx"), userEra)

	got, created, err := s.EnsureUser(ctx, u)
	if err != nil {
		t.Fatalf("EnsureUser: %v", err)
	}
	if !created {
		t.Errorf("first EnsureUser: created = false, want true")
	}
	if diff := cmp.Diff(storedUser(u), got, cmpOpts); diff != "" {
		t.Errorf("first EnsureUser mismatch (-want +got):\n%s", diff)
	}
	checkUserUTC(t, "first EnsureUser", got)
	checkUser(t, s, storedUser(u))

	// A second login of the same user comes with a new candidate id and
	// time and no unionid: the stored user is returned as it is.
	again := newUser(u.AppID, userEra.Add(24*time.Hour))
	again.OpenID = u.OpenID
	again.Profile.Nickname = "ignored"
	got, created, err = s.EnsureUser(ctx, again)
	if err != nil {
		t.Fatalf("second EnsureUser: %v", err)
	}
	if created {
		t.Errorf("second EnsureUser: created = true, want false")
	}
	if diff := cmp.Diff(storedUser(u), got, cmpOpts); diff != "" {
		t.Errorf("second EnsureUser mismatch (-want +got):\n%s", diff)
	}
	checkUser(t, s, storedUser(u))
	if _, err := s.User(ctx, again.ID); !errors.Is(err, wxlogin.ErrNotFound) {
		t.Errorf("User(candidate id of the second call): err = %v, want not found", err)
	}
}

func testEnsureUserPerApp(t *testing.T, s wxlogin.UserStore) {
	// The same openid in two apps is two users (openids are per app anyway;
	// the store must not assume they are globally unique).
	a := newUser(uniqueID("wx"), userEra)
	b := newUser(uniqueID("wx"), userEra.Add(time.Second))
	b.OpenID = a.OpenID
	mustEnsureUser(t, s, a)
	mustEnsureUser(t, s, b)
	checkUser(t, s, storedUser(a))
	checkUser(t, s, storedUser(b))
}

func testEnsureUserRecordsUnionID(t *testing.T, s wxlogin.UserStore) {
	ctx := t.Context()
	u := newUser(uniqueID("wx"), userEra)
	want := storedUser(mustEnsureUser(t, s, u))
	union1, union2 := uniqueID("un-"), uniqueID("un-")

	steps := []struct {
		name    string
		unionID string // passed to EnsureUser
		want    string // stored afterwards
	}{
		{"learned", union1, union1},
		{"kept when not given", "", union1},
		{"replaced", union2, union2},
	}
	for _, st := range steps {
		call := newUser(u.AppID, userEra.Add(time.Hour))
		call.OpenID = u.OpenID
		call.UnionID = st.unionID
		call.UpdatedAt = userEra.Add(2 * time.Hour)
		got, created, err := s.EnsureUser(ctx, call)
		if err != nil {
			t.Fatalf("%s: EnsureUser: %v", st.name, err)
		}
		if created {
			t.Errorf("%s: created = true for an existing user", st.name)
		}
		want.UnionID = st.want
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("%s: EnsureUser mismatch (-want +got):\n%s", st.name, diff)
		}
		checkUser(t, s, want)
	}

	found, err := s.FindUsers(ctx, wxlogin.UserFilter{UnionID: union2})
	if err != nil {
		t.Fatalf("FindUsers by the recorded unionid: %v", err)
	}
	if diff := cmp.Diff([]wxlogin.User{want}, found, cmpOpts); diff != "" {
		t.Errorf("FindUsers by the recorded unionid mismatch (-want +got):\n%s", diff)
	}
	found, err = s.FindUsers(ctx, wxlogin.UserFilter{UnionID: union1})
	if err != nil {
		t.Fatalf("FindUsers by the replaced unionid: %v", err)
	}
	if len(found) != 0 {
		t.Errorf("FindUsers by the replaced unionid = %v, want none", found)
	}
}

func testEnsureUserConcurrent(t *testing.T, s wxlogin.UserStore) {
	ctx := t.Context()
	const n = 16
	app, openID := uniqueID("wx"), uniqueID("o-")

	type result struct {
		user    wxlogin.User
		created bool
		err     error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Each caller brings its own candidate id, as concurrent logins do.
			u := newUser(app, userEra.Add(time.Duration(i)*time.Second))
			u.OpenID = openID
			<-start
			r := &results[i]
			r.user, r.created, r.err = s.EnsureUser(ctx, u)
		})
	}
	close(start)
	wg.Wait()

	var created []wxlogin.User
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("EnsureUser %d: %v", i, r.err)
		}
		if r.created {
			created = append(created, r.user)
		}
	}
	if len(created) != 1 {
		t.Fatalf("%d calls reported created = true, want exactly 1", len(created))
	}
	for i, r := range results {
		if diff := cmp.Diff(created[0], r.user, cmpOpts); diff != "" {
			t.Errorf("EnsureUser %d returned another user than the one created (-created +got):\n%s", i, diff)
		}
	}
	found, err := s.FindUsers(ctx, wxlogin.UserFilter{AppID: app, OpenID: openID})
	if err != nil {
		t.Fatalf("FindUsers: %v", err)
	}
	if diff := cmp.Diff(created, found, cmpOpts); diff != "" {
		t.Errorf("stored users mismatch (-want +got):\n%s", diff)
	}
}

func testUserRoundTrip(t *testing.T, s wxlogin.UserStore) {
	ctx := t.Context()
	app := uniqueID("wx")
	tests := []struct {
		name string
		user wxlogin.User
	}{
		{"minimal", newUser(app, userEra)},
		{"full", fullUser(app, userEra)},
		{"zero UpdatedAt", func() wxlogin.User {
			u := newUser(app, userEra)
			u.UpdatedAt = time.Time{}
			return u
		}()},
		{"non-UTC times", func() wxlogin.User {
			u := fullUser(app, userEra.In(time.FixedZone("CST", 8*3600)))
			u.Profile.UpdatedAt = u.Profile.UpdatedAt.In(time.FixedZone("X", -5*3600))
			return u
		}()},
		{"empty phone", func() wxlogin.User {
			u := newUser(app, userEra)
			u.Phone = &wxlogin.Phone{}
			return u
		}()},
		{"json array user info", func() wxlogin.User {
			u := newUser(app, userEra)
			u.UserInfo = json.RawMessage(`[1, "two", {"three": null}]`)
			return u
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := storedUser(tt.user)
			got := mustEnsureUser(t, s, tt.user)
			if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
				t.Errorf("EnsureUser mismatch (-want +got):\n%s", diff)
			}
			checkUser(t, s, want)
			found, err := s.FindUsers(ctx, wxlogin.UserFilter{OpenID: tt.user.OpenID})
			if err != nil {
				t.Fatalf("FindUsers: %v", err)
			}
			if diff := cmp.Diff([]wxlogin.User{want}, found, cmpOpts); diff != "" {
				t.Errorf("FindUsers mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func testUserNotFound(t *testing.T, s wxlogin.UserStore) {
	_, err := s.User(t.Context(), uniqueID("u-"))
	checkNotFound(t, "User(missing)", err)
}

func testFindUsers(t *testing.T, s wxlogin.UserStore) {
	ctx := t.Context()
	appA, appB := uniqueID("wx"), uniqueID("wx")
	union := uniqueID("un-")

	// a1..a4 in app A, registered in that order but stored out of order;
	// b1 in app B shares a1's unionid (the same person in two apps).
	a := make([]wxlogin.User, 4)
	for i := range a {
		a[i] = newUser(appA, userEra.Add(time.Duration(i)*time.Minute))
	}
	a[0].UnionID = union
	b1 := newUser(appB, userEra.Add(10*time.Minute))
	b1.UnionID = union
	for _, u := range []wxlogin.User{a[2], b1, a[0], a[3], a[1]} {
		mustEnsureUser(t, s, u)
	}
	for i := range a {
		a[i] = storedUser(a[i])
	}
	b1 = storedUser(b1)

	tests := []struct {
		name   string
		filter wxlogin.UserFilter
		want   []wxlogin.User
	}{
		{"app, oldest first", wxlogin.UserFilter{AppID: appA}, a},
		{"app with limit", wxlogin.UserFilter{AppID: appA, Limit: 2}, a[:2]},
		{"limit above count", wxlogin.UserFilter{AppID: appA, Limit: 10}, a},
		{"openid", wxlogin.UserFilter{OpenID: a[2].OpenID}, a[2:3]},
		{"app and openid", wxlogin.UserFilter{AppID: appA, OpenID: a[3].OpenID}, a[3:4]},
		{"openid of another app", wxlogin.UserFilter{AppID: appB, OpenID: a[3].OpenID}, nil},
		{"unionid across apps", wxlogin.UserFilter{UnionID: union}, []wxlogin.User{a[0], b1}},
		{"unionid with limit", wxlogin.UserFilter{UnionID: union, Limit: 1}, a[:1]},
		{"app and unionid", wxlogin.UserFilter{AppID: appB, UnionID: union}, []wxlogin.User{b1}},
		{"unknown app", wxlogin.UserFilter{AppID: uniqueID("wx")}, nil},
		{"unknown unionid", wxlogin.UserFilter{UnionID: uniqueID("un-")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.FindUsers(ctx, tt.filter)
			if err != nil {
				t.Fatalf("FindUsers(%+v): %v", tt.filter, err)
			}
			if len(tt.want) == 0 && len(got) == 0 {
				return
			}
			if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
				t.Errorf("FindUsers(%+v) mismatch (-want +got):\n%s", tt.filter, diff)
			}
		})
	}
}

func testFindUsersDefaultLimit(t *testing.T, s wxlogin.UserStore) {
	ctx := t.Context()
	const defaultLimit = 100 // wxlogin.UserFilter: "0 means the store's default (100)"
	app := uniqueID("wx")
	var want []wxlogin.User
	for i := range defaultLimit + 1 {
		u := newUser(app, userEra.Add(time.Duration(i)*time.Second))
		mustEnsureUser(t, s, u)
		want = append(want, storedUser(u))
	}
	got, err := s.FindUsers(ctx, wxlogin.UserFilter{AppID: app})
	if err != nil {
		t.Fatalf("FindUsers: %v", err)
	}
	if diff := cmp.Diff(want[:defaultLimit], got, cmpOpts); diff != "" {
		t.Errorf("FindUsers with Limit 0 mismatch (-want +got):\n%s", diff)
	}
}

func testUpdateUser(t *testing.T, s wxlogin.UserStore) {
	ctx := t.Context()
	app := uniqueID("wx")
	later := userEra.Add(48 * time.Hour)
	union := uniqueID("un-")
	tests := []struct {
		name   string
		user   wxlogin.User
		update func(*wxlogin.User)
		want   func(stored wxlogin.User) wxlogin.User // from the stored user before
	}{
		{
			name: "sets every mutable field",
			user: newUser(app, userEra),
			update: func(u *wxlogin.User) {
				u.UnionID = union
				u.UpdatedAt = later
				u.UserInfo = json.RawMessage(`{"nickName":"Wei","gender":2}`)
				u.Phone = &wxlogin.Phone{PhoneNumber: "13900139000", PurePhoneNumber: "13900139000", CountryCode: "86"}
				u.Profile = wxlogin.Profile{Nickname: "Wei", AvatarID: "avatar-1", UpdatedAt: later}
			},
			want: func(u wxlogin.User) wxlogin.User {
				u.UnionID = union
				u.UpdatedAt = stored(later)
				u.UserInfo = json.RawMessage(`{"gender":2,"nickName":"Wei"}`)
				u.Phone = &wxlogin.Phone{PhoneNumber: "13900139000", PurePhoneNumber: "13900139000", CountryCode: "86"}
				u.Profile = wxlogin.Profile{Nickname: "Wei", AvatarID: "avatar-1", UpdatedAt: stored(later)}
				return u
			},
		},
		{
			name: "clears fields",
			user: fullUser(app, userEra),
			update: func(u *wxlogin.User) {
				u.UnionID = ""
				u.UserInfo = nil
				u.Phone = nil
				u.Profile = wxlogin.Profile{}
			},
			want: func(u wxlogin.User) wxlogin.User {
				u.UnionID = ""
				u.UserInfo = nil
				u.Phone = nil
				u.Profile = wxlogin.Profile{}
				return u
			},
		},
		{
			name: "immutable fields keep their values",
			user: newUser(app, userEra),
			update: func(u *wxlogin.User) {
				u.ID = uniqueID("u-")
				u.AppID = uniqueID("wx")
				u.OpenID = uniqueID("o-")
				u.CreatedAt = later
				u.Profile.Nickname = "changed"
			},
			want: func(u wxlogin.User) wxlogin.User {
				u.Profile.Nickname = "changed"
				return u
			},
		},
		{
			name:   "no change",
			user:   fullUser(app, userEra),
			update: func(*wxlogin.User) {},
			want:   func(u wxlogin.User) wxlogin.User { return u },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := storedUser(mustEnsureUser(t, s, tt.user))
			var seen wxlogin.User
			got, err := s.UpdateUser(ctx, before.ID, func(u *wxlogin.User) error {
				seen = *u
				tt.update(u)
				return nil
			})
			if err != nil {
				t.Fatalf("UpdateUser: %v", err)
			}
			if diff := cmp.Diff(before, seen, cmpOpts); diff != "" {
				t.Errorf("update saw another user than the stored one (-stored +seen):\n%s", diff)
			}
			want := tt.want(before)
			if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
				t.Errorf("UpdateUser result mismatch (-want +got):\n%s", diff)
			}
			checkUserUTC(t, "UpdateUser", got)
			checkUser(t, s, want)
		})
	}
}

func testUpdateUserError(t *testing.T, s wxlogin.UserStore) {
	ctx := t.Context()
	want := storedUser(mustEnsureUser(t, s, fullUser(uniqueID("wx"), userEra)))
	errRefused := errors.New("refused by the update")
	_, err := s.UpdateUser(ctx, want.ID, func(u *wxlogin.User) error {
		u.UnionID = "must-not-be-stored"
		u.Profile.Nickname = "must not be stored"
		u.Phone = nil
		return fmt.Errorf("wrapped: %w", errRefused)
	})
	if !errors.Is(err, errRefused) {
		t.Errorf("UpdateUser: err = %v, want the update's error", err)
	}
	checkUser(t, s, want)
}

func testUpdateUserNotFound(t *testing.T, s wxlogin.UserStore) {
	called := false
	_, err := s.UpdateUser(t.Context(), uniqueID("u-"), func(*wxlogin.User) error {
		called = true
		return nil
	})
	checkNotFound(t, "UpdateUser(missing)", err)
	if called {
		t.Errorf("UpdateUser(missing) called the update function")
	}
}

func testUpdateUserConcurrent(t *testing.T, s wxlogin.UserStore) {
	ctx := t.Context()
	u := newUser(uniqueID("wx"), userEra)
	u.Profile.Nickname = "0"
	mustEnsureUser(t, s, u)

	// Each update increments a counter kept in the nickname: a lost update
	// (two read the same value) shows as a final count below n and as two
	// results with the same count.
	const n = 20
	counts := make([]int, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			got, err := s.UpdateUser(ctx, u.ID, func(u *wxlogin.User) error {
				c, err := strconv.Atoi(u.Profile.Nickname)
				if err != nil {
					return err
				}
				u.Profile.Nickname = strconv.Itoa(c + 1)
				return nil
			})
			errs[i] = err
			counts[i], _ = strconv.Atoi(got.Profile.Nickname)
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	slices.Sort(counts)
	var want []int
	for i := range n {
		want = append(want, i+1)
	}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("counts returned by the updates (-want +got):\n%s", diff)
	}
	got, err := s.User(ctx, u.ID)
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	if got.Profile.Nickname != strconv.Itoa(n) {
		t.Errorf("counter = %q after %d concurrent increments, want %d", got.Profile.Nickname, n, n)
	}
}

func testDeleteUser(t *testing.T, s wxlogin.UserStore) {
	ctx := t.Context()
	app := uniqueID("wx")
	gone := mustEnsureUser(t, s, fullUser(app, userEra))
	kept := storedUser(mustEnsureUser(t, s, fullUser(app, userEra.Add(time.Second))))

	if err := s.DeleteUser(ctx, gone.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, err := s.User(ctx, gone.ID)
	checkNotFound(t, "User after DeleteUser", err)
	_, err = s.UpdateUser(ctx, gone.ID, func(*wxlogin.User) error { return nil })
	checkNotFound(t, "UpdateUser after DeleteUser", err)
	for _, f := range []wxlogin.UserFilter{{AppID: app}, {UnionID: gone.UnionID}, {OpenID: gone.OpenID}} {
		found, err := s.FindUsers(ctx, f)
		if err != nil {
			t.Fatalf("FindUsers(%+v): %v", f, err)
		}
		for _, u := range found {
			if u.ID == gone.ID {
				t.Errorf("FindUsers(%+v) still finds the deleted user", f)
			}
		}
	}
	checkUser(t, s, kept)

	if err := s.DeleteUser(ctx, gone.ID); err != nil {
		t.Errorf("DeleteUser again: %v, want nil", err)
	}
	if err := s.DeleteUser(ctx, uniqueID("u-")); err != nil {
		t.Errorf("DeleteUser(never stored): %v, want nil", err)
	}

	// The same WeChat user logging in again is a new registration.
	again := newUser(app, userEra.Add(time.Hour))
	again.OpenID = gone.OpenID
	got := mustEnsureUser(t, s, again)
	if diff := cmp.Diff(storedUser(again), got, cmpOpts); diff != "" {
		t.Errorf("EnsureUser after DeleteUser mismatch (-want +got):\n%s", diff)
	}
}

// testResealUsers checks that ResealUsers hands reseal the users with
// personal data, sealed or still in clear, writes back those it changed
// (clear fields emptied, Sealed replaced) and leaves the others as they
// were, and that a second walk changes nothing.
func testResealUsers(t *testing.T, s wxlogin.UserStore) {
	ctx := t.Context()
	tag := uniqueID("reseal-") + ":"
	app := uniqueID("wx")
	clear := newUser(app, userEra)
	clear.UserInfo = json.RawMessage(`{"nickName":"clear"}`)
	clear.Phone = &wxlogin.Phone{PhoneNumber: "13800138000", PurePhoneNumber: "13800138000", CountryCode: "86"}
	old := newUser(app, userEra)
	old.Sealed = []byte(tag + "old")
	current := newUser(app, userEra)
	current.Sealed = []byte(tag + "new")
	bare := newUser(app, userEra)
	ours := map[string]bool{}
	for _, u := range []wxlogin.User{clear, old, current, bare} {
		mustEnsureUser(t, s, u)
		ours[u.ID] = true
	}
	var mu sync.Mutex
	reseal := func(u *wxlogin.User) (bool, error) {
		if !ours[u.ID] {
			return false, nil // another test's user
		}
		if u.ID == bare.ID {
			mu.Lock()
			t.Errorf("ResealUsers passed user %s, which has no personal data", u.ID)
			mu.Unlock()
		}
		switch {
		case u.Sealed == nil && (u.UserInfo != nil || u.Phone != nil):
			u.Sealed, u.UserInfo, u.Phone = []byte(tag+"new"), nil, nil
			return true, nil
		case string(u.Sealed) == tag+"old":
			u.Sealed = []byte(tag + "new")
			return true, nil
		}
		return false, nil
	}
	n, err := s.ResealUsers(ctx, reseal)
	if err != nil {
		t.Fatalf("ResealUsers: %v", err)
	}
	if n != 2 {
		t.Errorf("ResealUsers = %d, want 2 (the clear user and the one sealed %q)", n, "old")
	}
	wantClear := storedUser(clear)
	wantClear.Sealed, wantClear.UserInfo, wantClear.Phone = []byte(tag+"new"), nil, nil
	checkUser(t, s, wantClear)
	wantOld := storedUser(old)
	wantOld.Sealed = []byte(tag + "new")
	checkUser(t, s, wantOld)
	checkUser(t, s, storedUser(current))
	checkUser(t, s, storedUser(bare))

	n, err = s.ResealUsers(ctx, reseal)
	if err != nil || n != 0 {
		t.Errorf("ResealUsers again = %d, %v; want 0, nil", n, err)
	}
}

// testResealUsersError checks that a user whose reseal fails is left as it
// was, the others are still written, and the failure is returned.
func testResealUsersError(t *testing.T, s wxlogin.UserStore) {
	ctx := t.Context()
	tag := uniqueID("reseal-") + ":"
	app := uniqueID("wx")
	bad := newUser(app, userEra)
	bad.Sealed = []byte(tag + "corrupt")
	good := newUser(app, userEra)
	good.Sealed = []byte(tag + "old")
	mustEnsureUser(t, s, bad)
	mustEnsureUser(t, s, good)
	errCorruptUser := errors.New("corrupt sealed value")
	reseal := func(u *wxlogin.User) (bool, error) {
		switch string(u.Sealed) {
		case tag + "corrupt":
			u.Sealed = []byte(tag + "overwritten")
			return false, errCorruptUser
		case tag + "old":
			u.Sealed = []byte(tag + "new")
			return true, nil
		}
		return false, nil
	}
	if _, err := s.ResealUsers(ctx, reseal); !errors.Is(err, errCorruptUser) {
		t.Errorf("ResealUsers: err = %v, want the reseal error", err)
	}
	checkUser(t, s, storedUser(bad))
	wantGood := storedUser(good)
	wantGood.Sealed = []byte(tag + "new")
	checkUser(t, s, wantGood)
}
