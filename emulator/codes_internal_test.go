package emulator

import (
	"testing"
	"time"
)

// TestCodeExpiryWorkIsFlat counts the codes the emulator examines to
// forget expired ones while it issues codes under a steady load, in windows
// of 1,000 codes, as the number of live codes grows past 1,024 and then
// holds at a few thousand. The work per code must stay a small constant: a
// scan of every live code per new code made a long load test of wxlogin a
// load test of the emulator.
func TestCodeExpiryWorkIsFlat(t *testing.T) {
	t.Parallel()
	corp, suite := DevCorps()[0].CorpID, DevSuites()[0].SuiteID
	for _, tt := range []struct {
		name  string
		issue func(e *Emulator, user string) (string, error)
	}{
		{"wx.login", func(e *Emulator, user string) (string, error) { return e.Login("wxdec0de0000000001", user) }},
		{"wx.qy.login", func(e *Emulator, user string) (string, error) { return e.WeComLogin(corp, user) }},
		{"wx.qy.login in a suite app", func(e *Emulator, user string) (string, error) { return e.SuiteLogin(suite, corp, user) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testCodeExpiryWorkIsFlat(t, tt.issue)
		})
	}
}

func testCodeExpiryWorkIsFlat(t *testing.T, issue func(e *Emulator, user string) (string, error)) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	e := &Emulator{Now: func() time.Time { return now }, CodeLifetime: 3 * time.Second}
	const (
		window  = 1000
		windows = 10
	)
	maxLive := 0
	for w := range windows {
		before := e.codesExamined
		for i := range window {
			// One code a millisecond: 3,000 live at the steady state.
			if _, err := issue(e, "user"+string(rune('a'+i%26))); err != nil {
				t.Fatal(err)
			}
			now = now.Add(time.Millisecond)
			maxLive = max(maxLive, len(e.codes))
		}
		perCode := float64(e.codesExamined-before) / window
		t.Logf("codes %5d–%5d: %4d live, %.2f examined per code", w*window, (w+1)*window, len(e.codes), perCode)
		if perCode > 3 {
			t.Errorf("codes %d–%d: %.1f codes examined per new code with %d live, want at most 3", w*window, (w+1)*window, perCode, len(e.codes))
		}
	}
	if maxLive < 2500 {
		t.Errorf("at most %d codes were live, want the test to pass 1,024 well", maxLive)
	}
	// Expired codes are forgotten: at most the live ones plus the 1,024 the
	// emulator keeps before it starts forgetting.
	if n := len(e.codes); n > 3000+1024 {
		t.Errorf("%d codes kept, want the expired ones dropped", n)
	}
}
