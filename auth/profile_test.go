package auth_test

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/store/blobdir"
)

func TestSetNickname(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	p := e.verify(ctx, e.login(ctx, app1, "alice").Token)
	tests := []struct {
		name, in string
		want     string // stored nickname; "" when refused
	}{
		{"plain", "Alice", "Alice"},
		{"trimmed", "  Alice \t\n", "Alice"},
		{"Chinese", "小明", "小明"},
		{"emoji with joiner", "👩‍💻 dev", "👩‍💻 dev"},
		{"32 characters", strings.Repeat("字", 32), strings.Repeat("字", 32)},
		{"33 characters", strings.Repeat("字", 33), ""},
		{"empty", "", ""},
		{"only spaces", "   ", ""},
		{"newline inside", "Ali\nce", ""},
		{"NUL", "Ali\x00ce", ""},
		{"escape sequence", "\x1b[31mred", ""},
		{"DEL", "Ali\x7fce", ""},
		{"bidi override", "Alice\u202Egnp.exe", ""},
		{"invalid UTF-8", "Ali\xffce", ""},
		// Names that show nothing, or not on one line.
		{"zero-width space alone", "\u200b", ""},
		{"byte order mark alone", "\ufeff", ""},
		{"line separator inside", "a\u2028b", ""},
		{"paragraph separator inside", "a\u2029b", ""},
		{"zero-width space after a name", "Bob\u200b", ""},
		{"zero-width joiner between letters", "a\u200db", ""},
		{"zero-width non-joiner", "a\u200cb", ""},
		{"soft hyphen alone", "\u00ad", ""},
		{"word joiner", "Al\u2060ice", ""},
		{"spaces and zero-width spaces", " \u200b\u3000\u200b ", ""},
		{"Hangul filler alone", "\u3164", ""},
		{"Hangul fillers and spaces", "\u3164 \u3164", ""},
		{"blank Braille pattern", "\u2800\u2800", ""},
		{"combining mark alone", "\u0301", ""},
		{"variation selector alone", "\ufe0f", ""},
		{"tag characters", "\U0001F3F4\U000E0067\U000E0062\U000E007F", ""},
		// Names that show as themselves.
		{"ideographic space inside", "小\u3000明", "小\u3000明"},
		{"combining diaeresis", "Zoe\u0308", "Zoe\u0308"},
		{"flag emoji sequence", "\U0001F3F3\uFE0F\u200D\U0001F308", "\U0001F3F3\uFE0F\u200D\U0001F308"},
		{"skin tone in a joined emoji", "\U0001F469\U0001F3FD\u200D\U0001F4BB", "\U0001F469\U0001F3FD\u200D\U0001F4BB"},
		{"filler next to a name", "\u3164小明", "\u3164小明"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := e.svc.User(ctx, p)
			u, err := e.svc.SetNickname(ctx, p, tt.in)
			if tt.want == "" {
				wantCode(t, err, wxlogin.EInvalidRequest)
				after, _ := e.svc.User(ctx, p)
				diff(t, "profile after a refused nickname", before.Profile, after.Profile)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			diff(t, "nickname", tt.want, u.Profile.Nickname)
			stored, _ := e.svc.User(ctx, p)
			diff(t, "stored nickname", tt.want, stored.Profile.Nickname)
		})
	}
}

// withBlobs gives the env an avatar store in a temp dir.
func withBlobs(dir *string) func(*env, *auth.Config) {
	return func(e *env, c *auth.Config) {
		*dir = filepath.Join(e.t.TempDir(), "blobs")
		b, err := blobdir.New(*dir)
		if err != nil {
			e.t.Fatal(err)
		}
		c.Blobs = b
	}
}

func testImage() image.Image {
	m := image.NewRGBA(image.Rect(0, 0, 32, 24))
	for y := range 24 {
		for x := range 32 {
			m.Set(x, y, color.RGBA{uint8(x * 8), uint8(y * 10), 128, 255})
		}
	}
	return m
}

func pngBytes(t testing.TB, m image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jpegWithExif is a JPEG carrying an APP1/Exif segment, as phone cameras
// write them (with the GPS position inside).
func jpegWithExif(t testing.TB) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(), nil); err != nil {
		t.Fatal(err)
	}
	payload := []byte("Exif\x00\x00GPS-LATITUDE-22.54N-SECRET")
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, b.Bytes()[:2]...) // SOI
	out = append(out, seg...)
	return append(out, b.Bytes()[2:]...)
}

// pngWithText is a PNG with a tEXt chunk (metadata) before IEND.
func pngWithText(t testing.TB) []byte {
	raw := pngBytes(t, testImage())
	iend := len(raw) - 12
	chunk := pngChunk("tEXt", []byte("Comment\x00GPS-LATITUDE-22.54N-SECRET"))
	return append(append(append([]byte{}, raw[:iend]...), chunk...), raw[iend:]...)
}

func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// pngBomb is a valid small PNG whose header claims 60000×60000 pixels: a
// decoder that trusted it would allocate about 14 GB.
func pngBomb(t testing.TB) []byte {
	raw := pngBytes(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	binary.BigEndian.PutUint32(raw[16:], 60000)
	binary.BigEndian.PutUint32(raw[20:], 60000)
	binary.BigEndian.PutUint32(raw[29:], crc32.ChecksumIEEE(raw[12:29]))
	return raw
}

// webpLossless1x1 is a 1×1 lossless WebP (the image Modernizr uses to
// detect WebP support).
const webpLossless1x1 = "UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=="

func TestSetAvatar(t *testing.T) {
	t.Parallel()
	webp, _ := base64.StdEncoding.DecodeString(webpLossless1x1)
	tests := []struct {
		name     string
		img      func(testing.TB) []byte
		want     string // error code; "" for success
		wantType string
	}{
		{"PNG", func(t testing.TB) []byte { return pngBytes(t, testImage()) }, "", "image/png"},
		{"PNG with a text chunk", pngWithText, "", "image/png"},
		{"JPEG with EXIF", jpegWithExif, "", "image/jpeg"},
		{"WebP", func(testing.TB) []byte { return webp }, "", "image/png"},
		{"text file", func(testing.TB) []byte { return []byte("hello, I am not an image\n") }, wxlogin.EUnsupportedMediaType, ""},
		{"empty", func(testing.TB) []byte { return nil }, wxlogin.EUnsupportedMediaType, ""},
		{"GIF", func(testing.TB) []byte { return []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;") }, wxlogin.EUnsupportedMediaType, ""},
		{"truncated PNG", func(t testing.TB) []byte { b := pngBytes(t, testImage()); return b[:len(b)/2] }, wxlogin.EUnsupportedMediaType, ""},
		{"decompression bomb", pngBomb, wxlogin.EUnsupportedMediaType, ""},
		{"too wide", func(t testing.TB) []byte { return pngBytes(t, image.NewGray(image.Rect(0, 0, 2049, 1))) }, wxlogin.EUnsupportedMediaType, ""},
		{"over 2 MiB", func(testing.TB) []byte { return make([]byte, auth.DefaultMaxAvatarBytes+1) }, wxlogin.ERequestTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var dir string
			e := newEnv(t, withBlobs(&dir))
			ctx := t.Context()
			p := e.verify(ctx, e.login(ctx, app1, "alice").Token)
			u, err := e.svc.SetAvatar(ctx, p, tt.img(t))
			if tt.want != "" {
				wantCode(t, err, tt.want)
				stored, _ := e.svc.User(ctx, p)
				files, _ := os.ReadDir(dir)
				if stored.Profile.AvatarID != "" || len(files) != 0 {
					t.Errorf("a refused upload left avatar %q and %d files", stored.Profile.AvatarID, len(files))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(u.Profile.AvatarID, "avt_") {
				t.Fatalf("avatar id %q", u.Profile.AvatarID)
			}
			b, err := e.svc.Avatar(ctx, u.Profile.AvatarID)
			if err != nil {
				t.Fatal(err)
			}
			diff(t, "content type", tt.wantType, b.ContentType)
			if bytes.Contains(b.Data, []byte("SECRET")) || bytes.Contains(b.Data, []byte("Exif")) {
				t.Error("metadata survived the re-encoding")
			}
			if _, _, err := image.Decode(bytes.NewReader(b.Data)); err != nil {
				t.Errorf("stored avatar does not decode: %v", err)
			}
		})
	}
}

func TestAvatarReplaceAndErase(t *testing.T) {
	t.Parallel()
	var dir string
	e := newEnv(t, withBlobs(&dir))
	ctx := t.Context()
	r := e.login(ctx, app1, "alice")
	p := e.verify(ctx, r.Token)
	u1, err := e.svc.SetAvatar(ctx, p, pngBytes(t, testImage()))
	if err != nil {
		t.Fatal(err)
	}
	u2, err := e.svc.SetAvatar(ctx, p, jpegWithExif(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Avatar(ctx, u1.Profile.AvatarID)
	wantCode(t, err, wxlogin.ENotFound) // the replaced one is gone
	if _, err := e.svc.Avatar(ctx, u2.Profile.AvatarID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Avatar(ctx, "avt_../../etc/passwd")
	wantCode(t, err, wxlogin.ENotFound)

	// Erase: the user, the sessions, the avatar; a later login is new.
	if _, err := e.svc.SetNickname(ctx, p, "Alice"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.EraseMe(ctx, p); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Verify(ctx, r.Token.Reveal())
	wantCode(t, err, wxlogin.ESessionInvalid)
	_, err = e.svc.AdminUser(ctx, r.User.ID)
	wantCode(t, err, wxlogin.ENotFound)
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("%d blob files left after erasure", len(files))
	}
	if ss, _ := e.db.UserSessions(ctx, r.User.ID); len(ss) != 0 {
		t.Errorf("%d sessions left after erasure", len(ss))
	}
	again := e.login(ctx, app1, "alice")
	if !again.Created || again.User.ID == r.User.ID || again.User.Profile.Nickname != "" {
		t.Errorf("login after erasure: created=%v id=%q profile=%+v; want a new user", again.Created, again.User.ID, again.User.Profile)
	}
}

func TestAvatarsDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	p := e.verify(ctx, e.login(ctx, app1, "alice").Token)
	_, err := e.svc.SetAvatar(ctx, p, pngBytes(t, testImage()))
	if we := wantCode(t, err, wxlogin.ENotFound); !strings.Contains(we.Message, "not enabled") {
		t.Errorf("message %q does not say avatars are off", we.Message)
	}
	_, err = e.svc.Avatar(ctx, "avt_AAAAAAAAAAAAAAAAAAAAAA")
	wantCode(t, err, wxlogin.ENotFound)
}

// Avatar uploads are limited per user (every attempt counts, refused ones
// too), with RetryAfter saying when the next one is allowed.
func TestAvatarPerUserLimit(t *testing.T) {
	t.Parallel()
	var dir string
	e := newEnv(t, withBlobs(&dir), func(_ *env, c *auth.Config) {
		c.Limits.AvatarPerUser = auth.Limit{Rate: 0.1, Burst: 2} // one every 10 s
	})
	ctx := t.Context()
	alice := e.verify(ctx, e.login(ctx, app1, "alice").Token)
	bob := e.verify(ctx, e.login(ctx, app1, "bob").Token)
	img := pngBytes(t, testImage())

	if _, err := e.svc.SetAvatar(ctx, alice, img); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.SetAvatar(ctx, alice, []byte("not an image"))
	wantCode(t, err, wxlogin.EUnsupportedMediaType)
	before, _ := e.svc.User(ctx, alice)
	_, err = e.svc.SetAvatar(ctx, alice, img)
	if we := wantCode(t, err, wxlogin.ERateLimited); we.RetryAfter != 10*time.Second {
		t.Errorf("RetryAfter = %v, want 10s", we.RetryAfter)
	}
	after, _ := e.svc.User(ctx, alice)
	diff(t, "profile after a limited upload", before.Profile, after.Profile)
	if files, _ := os.ReadDir(dir); len(files) != 1 {
		t.Errorf("%d avatar files after a limited upload, want the 1 stored before", len(files))
	}

	if _, err := e.svc.SetAvatar(ctx, bob, img); err != nil {
		t.Errorf("another user's upload: %v; the limit is per user", err)
	}
	e.clock.Advance(10 * time.Second)
	if _, err := e.svc.SetAvatar(ctx, alice, img); err != nil {
		t.Errorf("upload once the wait is over: %v", err)
	}
}

// While as many avatars as the server decodes at once are being decoded,
// another upload is refused with a short RetryAfter instead of adding its
// image to memory; once a slot is free it goes through.
func TestAvatarDecodesAreBounded(t *testing.T) {
	t.Parallel()
	var dir string
	e := newEnv(t, withBlobs(&dir))
	ctx := t.Context()
	p := e.verify(ctx, e.login(ctx, app1, "alice").Token)

	release := auth.OccupyDecodes(e.svc)
	_, err := e.svc.SetAvatar(ctx, p, pngBytes(t, testImage()))
	if we := wantCode(t, err, wxlogin.ERateLimited); we.RetryAfter != time.Second {
		t.Errorf("RetryAfter = %v, want 1s", we.RetryAfter)
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("a refused upload left %d files", len(files))
	}
	release()
	if _, err := e.svc.SetAvatar(ctx, p, pngBytes(t, testImage())); err != nil {
		t.Errorf("upload with a free slot: %v", err)
	}
}

// noisePNG is a side×side PNG of random pixels: it does not compress, so
// its size is about side²×4 bytes.
func noisePNG(t testing.TB, side int) []byte {
	m := image.NewNRGBA(image.Rect(0, 0, side, side))
	rand.NewChaCha8([32]byte{1}).Read(m.Pix)
	return pngBytes(t, m)
}

// MaxAvatarBytes is the one setting of the avatar size bound: SetAvatar
// enforces it and Service.MaxAvatarBytes reports it to the HTTP layer.
func TestMaxAvatarBytes(t *testing.T) {
	t.Parallel()
	img := noisePNG(t, 820) // about 2.6 MiB
	if n := len(img); n <= auth.DefaultMaxAvatarBytes || n > 3<<20 {
		t.Fatalf("test image of %d bytes; want between 2 and 3 MiB", n)
	}
	tests := []struct {
		name string
		max  int64
		want string
	}{
		{"default refuses it", 0, wxlogin.ERequestTooLarge},
		{"3 MiB takes it", 3 << 20, ""},
		{"2.5 MiB refuses it", 5 << 19, wxlogin.ERequestTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var dir string
			e := newEnv(t, withBlobs(&dir), func(_ *env, c *auth.Config) { c.MaxAvatarBytes = tt.max })
			if want := cmp.Or(tt.max, auth.DefaultMaxAvatarBytes); e.svc.MaxAvatarBytes() != want {
				t.Errorf("MaxAvatarBytes() = %d, want %d", e.svc.MaxAvatarBytes(), want)
			}
			ctx := t.Context()
			p := e.verify(ctx, e.login(ctx, app1, "alice").Token)
			u, err := e.svc.SetAvatar(ctx, p, img)
			if tt.want != "" {
				wantCode(t, err, tt.want)
				return
			}
			if err != nil || u.Profile.AvatarID == "" {
				t.Fatalf("SetAvatar: avatar %q, %v", u.Profile.AvatarID, err)
			}
		})
	}
}
