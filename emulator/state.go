package emulator

import (
	"container/heap"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wxlogin/wxlogin/wxcrypt"
)

// User is a simulated WeChat user's data: what the device knows and hands
// out through getUserInfo, getUserProfile, the nickname input and the phone
// button. One User is shared by every app the user opens. Field names are
// WeChat's; PUT /emulator/v1/users/{user} takes the same JSON and changes
// only the fields it carries.
type User struct {
	NickName  string `json:"nickName"`
	AvatarURL string `json:"avatarUrl"`
	// Gender and region are the person's own settings. WeChat has not
	// shared them with mini programs since September 2023 (publicInfo).
	Gender   int    `json:"gender"` // 0 unknown, 1 male, 2 female
	City     string `json:"city"`
	Province string `json:"province"`
	Country  string `json:"country"`
	Language string `json:"language"`
	// PhoneNumber is the number without country code, as purePhoneNumber.
	PhoneNumber string `json:"phoneNumber"`
	CountryCode string `json:"countryCode"`
	// BaseLibrary is the version of the device's base library (SDKVersion):
	// it decides whether getUserProfile is anonymised (2.27.1+), whether
	// the phone button gives a code (2.21.2+) and whether the privacy check
	// applies (2.32.3+). Empty means DefaultBaseLibrary.
	BaseLibrary string `json:"baseLibrary"`
	// Blocked marks the user as high-risk: jscode2session answers 40226
	// ("code blocked") for their codes.
	Blocked bool `json:"blocked"`
}

// defaultUser is the data of a simulated user nobody has set: a nickname
// equal to the user name, a stable fake avatar and phone number.
func defaultUser(name string) User {
	digits := derive("", 40, "phone", name)
	var phone strings.Builder
	phone.WriteString("138")
	for i := 0; phone.Len() < 11; i++ {
		phone.WriteByte('0' + digits[i]%10)
	}
	return User{
		NickName:    name,
		AvatarURL:   "https://thirdwx.qlogo.cn/mmopen/vi_32/" + derive("", 40, "avatar", name) + "/132",
		Gender:      1,
		City:        "Shenzhen",
		Province:    "Guangdong",
		Country:     "China",
		Language:    "zh_CN",
		PhoneNumber: phone.String(),
		CountryCode: "86",
		BaseLibrary: DefaultBaseLibrary,
	}
}

// person is a simulated WeChat user across apps.
type person struct {
	name    string
	unionID string // the same in every app bound to the Open Platform account
	user    User
}

// account is a person within one app.
type account struct {
	app    *app
	person *person
	openID string

	sessionKey string // "" before the first login
	keyIssued  time.Time
	keyUsed    time.Time // the user's last activity with this key (see SessionKeyIdleTimeout)

	scopes map[string]bool // absent: never asked

	privacyAgreed  bool
	privacyRefused time.Time // last disagreement; zero if none

	logins    []time.Time // wx.login calls of the last second
	c2sWindow time.Time   // start of the current jscode2session minute
	c2sCount  int
}

type codeKind int

const (
	loginCode codeKind = iota + 1
	phoneCode
	webCode   // of a web authorization, for sns/oauth2/access_token
	weComCode // wx.qy.login's, for WeCom's jscode2session
	suiteCode // wx.qy.login's in a suite's mini program, for service/miniprogram/jscode2session
)

// code is a one-time code: a login code for jscode2session or a phone code
// for getuserphonenumber.
type code struct {
	kind       codeKind
	acct       *account // login, phone and web codes
	member     *member  // WeCom and suite codes
	suite      *suite   // suite codes: the suite whose mini program asked
	sessionKey string   // login: the key this login issued
	phone      User     // phone: the number at the time of the tap
	scope      string   // web: the scope the user granted
	snapshot   bool     // web: issued to WeChat's snapshot-mode virtual user
	issued     time.Time
	used       bool
}

// token is an access token of either endpoint.
type token struct {
	value   string
	app     *app  // nil for a WeCom token
	corp    *corp // the corp of a WeCom token; nil for WeChat's
	stable  bool
	expires time.Time
	deadAt  time.Time // when it stops working because it was replaced; zero if not replaced
}

// maxUserName bounds simulated user names, which appear in URLs and logs.
const maxUserName = 64

// validUserName reports whether name can name a simulated user: 1 to 64
// characters of valid UTF-8 without control characters or slashes.
func validUserName(name string) bool {
	if name == "" || len(name) > maxUserName || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '/' {
			return false
		}
	}
	return true
}

// personLocked returns the simulated user name, creating it on first use.
func (e *Emulator) personLocked(name string) *person {
	p := e.persons[name]
	if p == nil {
		p = &person{name: name, unionID: derive("o", 28, "unionid", name), user: defaultUser(name)}
		e.persons[name] = p
	}
	return p
}

// accountLocked returns the simulated user name in app a, creating it on
// first use. Its openid is derived from both, so it is stable.
func (e *Emulator) accountLocked(a *app, name string) *account {
	acct := a.accounts[name]
	if acct == nil {
		acct = &account{
			app:    a,
			person: e.personLocked(name),
			openID: derive("o", 28, "openid", a.AppID, name),
			scopes: map[string]bool{},
		}
		a.accounts[name] = acct
		e.openIDs[acct.openID] = acct
	}
	return acct
}

// unionID returns the unionid WeChat gives for acct: only when the app
// is bound to the Open Platform account.
func (acct *account) unionID() string {
	if !acct.app.OpenPlatform {
		return ""
	}
	return acct.person.unionID
}

// keyValidLocked reports whether the account's session_key is still valid at now.
func (e *Emulator) keyValidLocked(acct *account, now time.Time) bool {
	if acct.sessionKey == "" {
		return false
	}
	if e.SessionKeyIdleTimeout > 0 && !now.Before(acct.keyUsed.Add(e.SessionKeyIdleTimeout)) {
		return false
	}
	return e.SessionKeyLifetime <= 0 || now.Before(acct.keyIssued.Add(e.SessionKeyLifetime))
}

// useKeyLocked is the user's activity in the account's app: it reports
// whether the session_key is valid at now and, when it is, renews its idle
// expiry. A dead key stays dead: only a wx.login gives a new one.
func (e *Emulator) useKeyLocked(acct *account, now time.Time) bool {
	if !e.keyValidLocked(acct, now) {
		return false
	}
	acct.keyUsed = now
	return true
}

// rotateKey gives acct a new session_key; the previous one is dead.
func (acct *account) rotateKey(now time.Time) string {
	acct.sessionKey = wxcrypt.NewSessionKey()
	acct.keyIssued = now
	acct.keyUsed = now
	return acct.sessionKey
}

// newCodeLocked issues a one-time code and forgets expired ones, so a long
// dev session does not grow without bound. Codes are forgotten oldest
// first from a heap ordered by issue time, so the work per new code stays
// constant however many codes are live; below 1,024 codes nothing is
// forgotten, so a test that moves the clock back finds its codes again.
func (e *Emulator) newCodeLocked(c *code) string {
	if len(e.codes) >= 1024 {
		life := e.codeLifetime()
		for len(e.codeQueue) > 0 {
			e.codesExamined++
			old := e.codeQueue[0]
			if c.issued.Before(old.issued.Add(life)) {
				break
			}
			heap.Pop(&e.codeQueue)
			delete(e.codes, old.code)
		}
	}
	n := 32
	if c.kind == phoneCode {
		n = 64 // longer, as WeChat's phone codes are
	}
	for {
		s := randomString(n, alnum)
		if _, dup := e.codes[s]; !dup {
			e.codes[s] = c
			heap.Push(&e.codeQueue, issuedCode{issued: c.issued, code: s})
			return s
		}
	}
}

// issuedCode is a code in the expiry queue.
type issuedCode struct {
	issued time.Time
	code   string
}

// codeQueue is a min-heap of codes by issue time (container/heap). Every
// code shares one lifetime, so issue order is expiry order; a heap rather
// than a FIFO because the clock can be moved back, issuing a code older
// than the last.
type codeQueue []issuedCode

func (q codeQueue) Len() int           { return len(q) }
func (q codeQueue) Less(i, j int) bool { return q[i].issued.Before(q[j].issued) }
func (q codeQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *codeQueue) Push(x any)        { *q = append(*q, x.(issuedCode)) }
func (q *codeQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	old[len(old)-1] = issuedCode{}
	*q = old[:len(old)-1]
	return x
}

// compareVersion compares dotted base library versions: -1, 0 or 1. Missing or
// malformed parts count as 0.
func compareVersion(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}

// baseLibraryAtLeast reports whether u's device runs base library v or later.
func (u *User) baseLibraryAtLeast(v string) bool {
	lib := u.BaseLibrary
	if lib == "" {
		lib = DefaultBaseLibrary
	}
	return compareVersion(lib, v) >= 0
}
