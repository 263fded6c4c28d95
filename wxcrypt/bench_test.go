package wxcrypt_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/wxcrypt"
)

// benchUserInfo is a user-info-like payload of about 1 KB: the usual fields,
// a long avatar URL and a few fields wxcrypt does not know.
var benchUserInfo = `{"openId":"oWxlBenchOpenID00000000001","nickName":"小明 Xiaoming 🐼","gender":1,` +
	`"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"China",` +
	`"avatarUrl":"https://thirdwx.qlogo.cn/mmopen/vi_32/` + strings.Repeat("Q3auHgzwzM4", 30) + `/132",` +
	`"unionId":"oWxlBenchUnionID0000000001",` +
	`"extra":{"labels":["` + strings.Repeat("abcdefghij", 30) + `"],"score":12345,"verified":true},` +
	`"watermark":{"timestamp":1763683200,"appid":"wx5e1a0c9b3f7d2a64"}}`

func TestBenchPayloadShape(t *testing.T) {
	t.Parallel()
	if n := len(benchUserInfo); n < 960 || n > 1100 {
		t.Errorf("benchmark payload is %d bytes, want about 1 KB", n)
	}
	// Both benchmarked paths must open it, or the figures measure failures.
	data := seal(t, benchUserInfo)
	var ours, base wxcrypt.UserInfo
	o := wxcrypt.Opener{AppID: katAppID, MaxAge: 10 * time.Minute, Now: fixedClock(katTime)}
	if reason, err := o.Open(katKey1, data, katIV1, &ours); err != nil {
		t.Fatalf("Open: %v (%s)", err, reason)
	}
	if err := stdlibOpen(katKey1, data, katIV1, katAppID, 10*time.Minute, katTime, &base); err != nil {
		t.Fatalf("stdlibOpen: %v", err)
	}
	if ours.NickName != base.NickName || ours.Watermark != base.Watermark || string(ours.Raw) != string(base.Raw) {
		t.Errorf("the two paths disagree: %+v vs %+v", ours, base)
	}
}

// stdlibOpen is the baseline: the same steps as Opener.Open written directly
// with the standard library, as a typical SDK does them.
func stdlibOpen(sessionKey, encryptedData, iv, appID string, maxAge time.Duration, now time.Time, u *wxcrypt.UserInfo) error {
	key, err := base64.StdEncoding.DecodeString(sessionKey)
	if err != nil {
		return err
	}
	ivb, err := base64.StdEncoding.DecodeString(iv)
	if err != nil {
		return err
	}
	data, err := base64.StdEncoding.DecodeString(encryptedData)
	if err != nil {
		return err
	}
	if len(ivb) != aes.BlockSize || len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return errors.New("bad length")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	cipher.NewCBCDecrypter(block, ivb).CryptBlocks(data, data)
	n := int(data[len(data)-1])
	if n == 0 || n > aes.BlockSize {
		return errors.New("bad padding")
	}
	for _, c := range data[len(data)-n:] {
		if int(c) != n {
			return errors.New("bad padding")
		}
	}
	plain := data[:len(data)-n]
	if err := json.Unmarshal(plain, u); err != nil {
		return err
	}
	u.Raw = plain
	if u.Watermark.AppID != appID {
		return errors.New("appid")
	}
	if age := now.Sub(time.Unix(u.Watermark.Timestamp, 0)); age > maxAge || age < -maxAge {
		return errors.New("stale")
	}
	return nil
}

// BenchmarkOpenUserInfo compares decrypt + watermark + parse of a ~1 KB user
// info through Opener.Open with the stdlib baseline, in one run.
func BenchmarkOpenUserInfo(b *testing.B) {
	data := seal(b, benchUserInfo)
	b.Run("wxcrypt", func(b *testing.B) {
		o := wxcrypt.Opener{AppID: katAppID, MaxAge: 10 * time.Minute, Now: fixedClock(katTime)}
		b.SetBytes(int64(len(benchUserInfo)))
		b.ReportAllocs()
		for b.Loop() {
			var u wxcrypt.UserInfo
			if _, err := o.Open(katKey1, data, katIV1, &u); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(benchUserInfo)))
		b.ReportAllocs()
		for b.Loop() {
			var u wxcrypt.UserInfo
			if err := stdlibOpen(katKey1, data, katIV1, katAppID, 10*time.Minute, katTime, &u); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecrypt measures Decrypt alone, for the same payload.
func BenchmarkDecrypt(b *testing.B) {
	data := seal(b, benchUserInfo)
	b.SetBytes(int64(len(benchUserInfo)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := wxcrypt.Decrypt(katKey1, data, katIV1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenUserInfoPaired runs the two paths alternately in one loop and
// reports each one's time and their ratio. On a shared machine whose load
// swings from second to second, this ratio is steadier than one computed from
// two sub-benchmarks that ran at different moments.
func BenchmarkOpenUserInfoPaired(b *testing.B) {
	data := seal(b, benchUserInfo)
	o := wxcrypt.Opener{AppID: katAppID, MaxAge: 10 * time.Minute, Now: fixedClock(katTime)}
	benchPaired(b, "wxcrypt", func() {
		var u wxcrypt.UserInfo
		if _, err := o.Open(katKey1, data, katIV1, &u); err != nil {
			b.Fatal(err)
		}
	}, "stdlib", func() {
		var u wxcrypt.UserInfo
		if err := stdlibOpen(katKey1, data, katIV1, katAppID, 10*time.Minute, katTime, &u); err != nil {
			b.Fatal(err)
		}
	})
}

// benchPaired runs a and b alternately, flipping which goes first every
// iteration so that neither always finds the caches warmed by the other, and
// reports the median time of each and the ratio of the medians. Medians,
// because on a shared machine a preemption now and then adds milliseconds to
// one side of a mean.
func benchPaired(b *testing.B, nameA string, a func(), nameB string, fb func()) {
	b.Helper()
	var timesA, timesB []time.Duration
	i := 0
	for b.Loop() {
		first, second, firstTimes, secondTimes := a, fb, &timesA, &timesB
		if i%2 == 1 {
			first, second, firstTimes, secondTimes = fb, a, &timesB, &timesA
		}
		i++
		t0 := time.Now()
		first()
		t1 := time.Now()
		second()
		t2 := time.Now()
		*firstTimes = append(*firstTimes, t1.Sub(t0))
		*secondTimes = append(*secondTimes, t2.Sub(t1))
	}
	medianA, medianB := median(timesA), median(timesB)
	b.ReportMetric(float64(medianA.Nanoseconds()), nameA+"-p50-ns/op")
	b.ReportMetric(float64(medianB.Nanoseconds()), nameB+"-p50-ns/op")
	b.ReportMetric(float64(medianA)/float64(medianB), "ratio")
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// oracleProbes returns two tamperings of one user-info ciphertext, made as a
// padding-oracle attacker makes them (only the last byte of the next-to-last
// block changes, which garbles that block and steers the last one): one
// whose padding comes out wrong, one whose padding comes out right (so the
// JSON fails instead).
func oracleProbes(tb testing.TB) (badPadding, badJSON string) {
	tb.Helper()
	ct, err := base64.StdEncoding.DecodeString(seal(tb, benchUserInfo))
	if err != nil {
		tb.Fatal(err)
	}
	o := wxcrypt.Opener{AppID: katAppID}
	at := len(ct) - aes.BlockSize - 1
	for guess := range 256 {
		probe := bytes.Clone(ct)
		probe[at] = byte(guess)
		data := base64.StdEncoding.EncodeToString(probe)
		switch reason, _ := o.Open(katKey1, data, katIV1, &wxcrypt.UserInfo{}); reason {
		case wxcrypt.ReasonPadding:
			badPadding = data
		case wxcrypt.ReasonJSON:
			badJSON = data
		}
	}
	if badPadding == "" || badJSON == "" {
		tb.Fatal("no probe of each kind among 256 guesses")
	}
	return badPadding, badJSON
}

// BenchmarkOpenFailure times the two answers a padding-oracle attacker
// tries to tell apart. Their bodies are identical (ErrInvalid); this shows
// whether their times are too.
func BenchmarkOpenFailure(b *testing.B) {
	badPadding, badJSON := oracleProbes(b)
	o := wxcrypt.Opener{AppID: katAppID}
	for _, bc := range []struct{ name, data string }{{"bad padding", badPadding}, {"bad JSON", badJSON}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := o.Open(katKey1, bc.data, katIV1, &wxcrypt.UserInfo{}); err != wxcrypt.ErrInvalid {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenFailurePaired reports the time of a bad-padding answer over
// that of a bad-JSON answer, alternating the two. "Open" is what servers
// answer with: near 1 is what Open's evening-out aims for. "Decrypt" answers
// the bad padding with Decrypt alone, as Open did before the evening-out,
// to show the gap it closes.
func BenchmarkOpenFailurePaired(b *testing.B) {
	badPadding, badJSON := oracleProbes(b)
	o := wxcrypt.Opener{AppID: katAppID}
	open := func(data string) func() {
		return func() {
			if _, err := o.Open(katKey1, data, katIV1, &wxcrypt.UserInfo{}); err != wxcrypt.ErrInvalid {
				b.Fatal(err)
			}
		}
	}
	b.Run("Open", func(b *testing.B) {
		benchPaired(b, "badpadding", open(badPadding), "badjson", open(badJSON))
	})
	b.Run("Decrypt", func(b *testing.B) {
		decrypt := func() {
			if _, _, err := wxcrypt.Decrypt(katKey1, badPadding, katIV1); err != wxcrypt.ErrInvalid {
				b.Fatal(err)
			}
		}
		benchPaired(b, "badpadding", decrypt, "badjson", open(badJSON))
	})
}
