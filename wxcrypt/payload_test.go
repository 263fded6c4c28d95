package wxcrypt_test

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/wxlogin/wxlogin/wxcrypt"
)

// katTime is the second the known-answer payloads were stamped.
var katTime = time.Unix(1763683200, 0)

// fixedClock returns a clock stopped at t.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// seal encrypts plaintext under katKey1/katIV1.
func seal(tb testing.TB, plaintext string) string {
	tb.Helper()
	data, err := wxcrypt.Encrypt(katKey1, katIV1, []byte(plaintext))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// stamped returns a payload JSON with the given watermark.
func stamped(appid string, ts int64) string {
	return fmt.Sprintf(`{"openGId":"tG1","watermark":{"appid":%q,"timestamp":%d}}`, appid, ts)
}

func TestOpenTypedPayloads(t *testing.T) {
	t.Parallel()
	o := wxcrypt.Opener{AppID: katAppID, MaxAge: 10 * time.Minute, Now: fixedClock(katTime)}
	wm := wxcrypt.Watermark{AppID: katAppID, Timestamp: 1763683200}
	// Raw is checked separately: it is the whole plaintext.
	ignoreRaw := cmpopts.IgnoreFields(wxcrypt.Envelope{}, "Raw")
	for _, tc := range []struct {
		name, key, iv, data, plain string
		got, want                  wxcrypt.Payload
	}{
		{
			name: "user info", key: katKey1, iv: katIV1, data: katUserInfoData, plain: katUserInfoPlain,
			got: &wxcrypt.UserInfo{},
			want: &wxcrypt.UserInfo{
				OpenID: "oWxlTestAliceOpenID0000001", UnionID: "oWxlTestAliceUnionID00001",
				NickName: "小明", Language: "zh_CN",
				AvatarURL: "https://thirdwx.qlogo.cn/mmopen/vi_32/test/132",
				Envelope:  wxcrypt.Envelope{Watermark: wm},
			},
		},
		{
			name: "phone", key: katKey2, iv: katIV2, data: katPhoneData, plain: katPhonePlain,
			got: &wxcrypt.PhoneInfo{},
			want: &wxcrypt.PhoneInfo{
				PhoneNumber: "+86 138-0013-8000", PurePhoneNumber: "13800138000", CountryCode: "86",
				Envelope: wxcrypt.Envelope{Watermark: wm},
			},
		},
		{
			name: "werun", key: katKey1, iv: katIV1, data: katWeRunData, plain: katWeRunPlain,
			got: &wxcrypt.WeRun{},
			want: &wxcrypt.WeRun{
				StepInfoList: []wxcrypt.Step{{Timestamp: 1763596800, Step: 4321}, {Timestamp: 1763683200, Step: 87}},
				Envelope:     wxcrypt.Envelope{Watermark: wxcrypt.Watermark{AppID: katAppID, Timestamp: 1763683260}},
			},
		},
		{
			name: "share", key: katKey2, iv: katIV2, data: katShareData, plain: katSharePlain,
			got:  &wxcrypt.ShareInfo{},
			want: &wxcrypt.ShareInfo{OpenGID: "tGWxlTestGroup0000000000001", Envelope: wxcrypt.Envelope{Watermark: wm}},
		},
		{
			name: "any", key: katKey1, iv: katIV1, data: katUserInfoData, plain: katUserInfoPlain,
			got:  &wxcrypt.Any{},
			want: &wxcrypt.Any{Envelope: wxcrypt.Envelope{Watermark: wm}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reason, err := o.Open(tc.key, tc.data, tc.iv, tc.got)
			if err != nil {
				t.Fatalf("Open: %v (%s)", err, reason)
			}
			if reason != "" {
				t.Errorf("reason = %q on success", reason)
			}
			if diff := cmp.Diff(tc.want, tc.got, ignoreRaw); diff != "" {
				t.Errorf("payload (-want +got):\n%s", diff)
			}
			if raw := envelopeOf(t, tc.got).Raw; string(raw) != tc.plain {
				t.Errorf("Raw = %s, want the whole plaintext %s", raw, tc.plain)
			}
		})
	}
}

// TestOpenKeepsUnknownFields: a field WeChat adds tomorrow is not lost.
func TestOpenKeepsUnknownFields(t *testing.T) {
	t.Parallel()
	var u wxcrypt.UserInfo
	o := wxcrypt.Opener{AppID: katAppID}
	if reason, err := o.Open(katKey1, katUserInfoData, katIV1, &u); err != nil {
		t.Fatalf("Open: %v (%s)", err, reason)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(u.Raw, &fields); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"a":[1,2]}`, string(fields["extraField"])); diff != "" {
		t.Errorf("extraField in Raw (-want +got):\n%s", diff)
	}
}

func TestOpenFailures(t *testing.T) {
	t.Parallel()
	now := katTime
	ts := now.Unix()
	for _, tc := range []struct {
		name   string
		opener wxcrypt.Opener
		data   string // encryptedData under katKey1/katIV1
		reason string
	}{
		{"decrypt failure passes its reason", wxcrypt.Opener{AppID: katAppID}, "%%%", wxcrypt.ReasonBase64},
		{"bad padding", wxcrypt.Opener{AppID: katAppID}, katPadInconsistent, wxcrypt.ReasonPadding},
		{"plaintext not JSON", wxcrypt.Opener{AppID: katAppID}, katValidPadNotJSON, wxcrypt.ReasonJSON},
		{"empty plaintext", wxcrypt.Opener{AppID: katAppID}, seal(t, ""), wxcrypt.ReasonJSON},
		{"JSON array", wxcrypt.Opener{AppID: katAppID}, seal(t, `[1,2]`), wxcrypt.ReasonJSON},
		{"JSON string", wxcrypt.Opener{AppID: katAppID}, seal(t, `"wx5e1a0c9b3f7d2a64"`), wxcrypt.ReasonJSON},
		{"truncated JSON", wxcrypt.Opener{AppID: katAppID}, seal(t, stamped(katAppID, ts)[:30]), wxcrypt.ReasonJSON},
		{"trailing garbage", wxcrypt.Opener{AppID: katAppID}, seal(t, stamped(katAppID, ts)+"x"), wxcrypt.ReasonJSON},
		{"field of the wrong type", wxcrypt.Opener{AppID: katAppID}, seal(t, `{"openGId":7,"watermark":{"appid":"wx5e1a0c9b3f7d2a64"}}`), wxcrypt.ReasonJSON},
		{"timestamp as a string", wxcrypt.Opener{AppID: katAppID}, seal(t, `{"watermark":{"appid":"wx5e1a0c9b3f7d2a64","timestamp":"1"}}`), wxcrypt.ReasonJSON},
		{"timestamp fractional", wxcrypt.Opener{AppID: katAppID}, seal(t, `{"watermark":{"appid":"wx5e1a0c9b3f7d2a64","timestamp":1.5}}`), wxcrypt.ReasonJSON},
		{"invalid UTF-8 is still JSON, appid checked", wxcrypt.Opener{AppID: katAppID}, seal(t, "{\"openGId\":\"\xff\",\"watermark\":{\"appid\":\"wxother\"}}"), wxcrypt.ReasonAppID},
		{"JSON null", wxcrypt.Opener{AppID: katAppID}, seal(t, `null`), wxcrypt.ReasonAppID},
		{"appid of another app", wxcrypt.Opener{AppID: katAppID}, seal(t, stamped("wx0000000000000000", ts)), wxcrypt.ReasonAppID},
		{"appid differs in case", wxcrypt.Opener{AppID: katAppID}, seal(t, stamped("WX5E1A0C9B3F7D2A64", ts)), wxcrypt.ReasonAppID},
		{"no watermark", wxcrypt.Opener{AppID: katAppID}, seal(t, `{"openGId":"tG1"}`), wxcrypt.ReasonAppID},
		{"empty appid on both sides", wxcrypt.Opener{}, seal(t, `{"openGId":"tG1"}`), wxcrypt.ReasonAppID},
		{"unconfigured opener", wxcrypt.Opener{}, seal(t, stamped(katAppID, ts)), wxcrypt.ReasonAppID},
		{"stale by a second", wxcrypt.Opener{AppID: katAppID, MaxAge: 5 * time.Minute, Now: fixedClock(now)}, seal(t, stamped(katAppID, ts-301)), wxcrypt.ReasonStale},
		{"future by a second", wxcrypt.Opener{AppID: katAppID, MaxAge: 5 * time.Minute, Now: fixedClock(now)}, seal(t, stamped(katAppID, ts+301)), wxcrypt.ReasonStale},
		{"timestamp missing under MaxAge", wxcrypt.Opener{AppID: katAppID, MaxAge: 5 * time.Minute, Now: fixedClock(now)}, seal(t, `{"watermark":{"appid":"wx5e1a0c9b3f7d2a64"}}`), wxcrypt.ReasonStale},
		{"timestamp max int64", wxcrypt.Opener{AppID: katAppID, MaxAge: time.Hour, Now: fixedClock(now)}, seal(t, stamped(katAppID, math.MaxInt64)), wxcrypt.ReasonStale},
		{"timestamp min int64", wxcrypt.Opener{AppID: katAppID, MaxAge: time.Hour, Now: fixedClock(now)}, seal(t, stamped(katAppID, math.MinInt64)), wxcrypt.ReasonStale},
		{"real clock, stamp of 2025", wxcrypt.Opener{AppID: katAppID, MaxAge: time.Minute}, seal(t, stamped(katAppID, ts)), wxcrypt.ReasonStale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var p wxcrypt.ShareInfo
			reason, err := tc.opener.Open(katKey1, tc.data, katIV1, &p)
			if err != wxcrypt.ErrInvalid {
				t.Errorf("err = %v, want exactly ErrInvalid", err)
			}
			if reason != tc.reason {
				t.Errorf("reason = %q, want %q", reason, tc.reason)
			}
		})
	}
}

func TestOpenTimestampWindow(t *testing.T) {
	t.Parallel()
	now := katTime
	ts := now.Unix()
	for _, tc := range []struct {
		name   string
		maxAge time.Duration
		stamp  int64
	}{
		{"exactly MaxAge old", 5 * time.Minute, ts - 300},
		{"exactly MaxAge ahead", 5 * time.Minute, ts + 300},
		{"now", 5 * time.Minute, ts},
		{"MaxAge 0 disables: a year old", 0, ts - 365*24*3600},
		{"MaxAge 0 disables: no timestamp", 0, 0},
		{"MaxAge 0 disables: far future", 0, math.MaxInt64},
		{"negative MaxAge disables", -time.Minute, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := wxcrypt.Opener{AppID: katAppID, MaxAge: tc.maxAge, Now: fixedClock(now)}
			var p wxcrypt.ShareInfo
			if reason, err := o.Open(katKey1, seal(t, stamped(katAppID, tc.stamp)), katIV1, &p); err != nil {
				t.Fatalf("Open: %v (%s)", err, reason)
			}
			if p.Watermark.Timestamp != tc.stamp {
				t.Errorf("watermark timestamp = %d, want %d", p.Watermark.Timestamp, tc.stamp)
			}
		})
	}
}

// TestOpenNowDefaultsToTimeNow: a nil Now reads the real clock; a payload
// stamped with it opens under a generous window.
func TestOpenNowDefaultsToTimeNow(t *testing.T) {
	t.Parallel()
	o := wxcrypt.Opener{AppID: katAppID, MaxAge: time.Hour}
	var p wxcrypt.ShareInfo
	if reason, err := o.Open(katKey1, seal(t, stamped(katAppID, time.Now().Unix())), katIV1, &p); err != nil {
		t.Fatalf("Open: %v (%s)", err, reason)
	}
}

// TestOpenBadDestination: a nil payload is a caller's bug, but it must not
// panic; it fails like any undecodable payload.
func TestOpenBadDestination(t *testing.T) {
	t.Parallel()
	o := wxcrypt.Opener{AppID: katAppID}
	for _, tc := range []struct {
		name string
		p    wxcrypt.Payload
	}{
		{"nil interface", nil},
		{"nil *UserInfo", (*wxcrypt.UserInfo)(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reason, err := o.Open(katKey1, katUserInfoData, katIV1, tc.p)
			if err != wxcrypt.ErrInvalid || reason != wxcrypt.ReasonJSON {
				t.Errorf("Open = %q, %v; want %q, ErrInvalid", reason, err, wxcrypt.ReasonJSON)
			}
		})
	}
}

func TestWithoutWatermark(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
		wantErr        bool
	}{
		{"user info keeps order and bytes", katUserInfoPlain,
			`{"openId":"oWxlTestAliceOpenID0000001","nickName":"小明","gender":0,"language":"zh_CN","city":"","province":"","country":"","avatarUrl":"https://thirdwx.qlogo.cn/mmopen/vi_32/test/132","unionId":"oWxlTestAliceUnionID00001","extraField":{"a":[1,2]}}`, false},
		{"watermark first", `{"watermark":{"appid":"wx1"},"a":1,"b":2}`, `{"a":1,"b":2}`, false},
		{"watermark in the middle", `{"a":1,"watermark":{},"b":2}`, `{"a":1,"b":2}`, false},
		{"only a watermark", `{"watermark":{"appid":"wx1","timestamp":1}}`, `{}`, false},
		{"no watermark", `{"a":"x"}`, `{"a":"x"}`, false},
		{"empty object", `{}`, `{}`, false},
		{"repeated watermark key", `{"watermark":1,"a":true,"watermark":2}`, `{"a":true}`, false},
		{"escaped key spelling watermark", `{"water\u006dark":1,"a":null}`, `{"a":null}`, false},
		{"nested watermark stays", `{"a":{"watermark":1}}`, `{"a":{"watermark":1}}`, false},
		{"no HTML re-escaping", `{"avatarUrl":"https://x/?a=1&b=<2>"}`, `{"avatarUrl":"https://x/?a=1&b=<2>"}`, false},
		{"whitespace between members", "{ \"a\" : 1 ,\n\t\"watermark\" : {} , \"b\":[ 1, 2 ] }", `{"a":1,"b":[ 1, 2 ]}`, false},
		{"escaped key kept as sent", `{"\u00e9":1}`, `{"\u00e9":1}`, false},
		{"not JSON", `{"a":`, "", true},
		{"array", `[{"watermark":1}]`, "", true},
		{"null", `null`, "", true},
		{"empty", ``, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := wxcrypt.WithoutWatermark(json.RawMessage(tc.in))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("WithoutWatermark = %s, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("WithoutWatermark: %v", err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !json.Valid(got) {
				t.Errorf("result is not valid JSON: %s", got)
			}
		})
	}
}
