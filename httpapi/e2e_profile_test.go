package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/httpapi"
	"github.com/wxlogin/wxlogin/store/blobdir"
)

// withBlobs gives the world an avatar store, as serve does: on SQLite a
// folder in a temp dir (returned in dir, to count what was written), on
// PostgreSQL the store itself (dir is left empty; count with blobCount).
func withBlobs(dir *string) option {
	return func(w *world, a *auth.Config, _ *httpapi.Config) {
		if w.kind == onPostgres {
			a.Blobs = w.pg
			return
		}
		*dir = filepath.Join(w.t.TempDir(), "avatars")
		b, err := blobdir.New(*dir)
		if err != nil {
			w.t.Fatal(err)
		}
		w.blobDir = *dir
		a.Blobs = b
	}
}

func testImage(t *testing.T, format string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for x := range 16 {
		for y := range 16 {
			img.Set(x, y, color.RGBA{uint8(x * 16), uint8(y * 16), 128, 255})
		}
	}
	var buf bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sizedPNG is a blank PNG of w×h pixels (small: it compresses well).
func sizedPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// multipartBody is what wx.uploadFile sends: the file under its `name`
// option, plus formData fields.
func multipartBody(t *testing.T, field string, data []byte) (body []byte, contentType string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("purpose", "avatar")
	fw, err := mw.CreateFormFile(field, "tmp_avatar.png")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// multipartWithField is a wx.uploadFile body whose formData field comes
// before the file and holds value.
func multipartWithField(t *testing.T, value string, data []byte) (body []byte, contentType string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("note", value)
	fw, err := mw.CreateFormFile("file", "tmp_avatar.png")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// webp2x2 is a 2×2 lossless WebP, top-left pixel red, made with libwebp
// 1.2.4 from a PNG written by image/png:
//
//	cwebp -quiet -lossless -metadata none q.png -o q.webp && base64 -w0 q.webp
const webp2x2 = "UklGRjQAAABXRUJQVlA4TCgAAAAvAUAAEB8gICH4v1luCAiK/o9GQELwf7MICIquWy7wk6MKN2CI6H8I"

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestE2EProfileAndAvatar(t *testing.T) { eachStore(t, testE2EProfileAndAvatar) }

func testE2EProfileAndAvatar(t *testing.T, kind storeKind) {
	var dir string
	w := newWorldOn(t, kind, withBlobs(&dir), func(_ *world, a *auth.Config, _ *httpapi.Config) {
		a.MaxAvatarBytes = 64 << 10
	})
	lb := w.login(app1, "pic")
	tok := lb.Token

	var me meBody
	// 32 characters is the most a nickname may have (33 is refused in
	// TestE2EMalformedRequests); surrounding white space is trimmed.
	long := strings.Repeat("长", 32)
	w.request("PUT", "/v1/me/profile", tok, map[string]string{"nickname": " " + long + "\n"}).ok(t, 200, &me)
	if me.Profile.Nickname != long {
		t.Errorf("nickname = %q, want the 32 characters trimmed", me.Profile.Nickname)
	}
	w.request("PUT", "/v1/me/profile", tok, map[string]string{"nickname": "小明"}).ok(t, 200, &me)
	if me.Profile.Nickname != "小明" || me.Profile.AvatarURL != nil {
		t.Errorf("after nickname: profile = %+v", me.Profile)
	}

	// multipart, as wx.uploadFile sends it
	body, ct := multipartBody(t, "file", testImage(t, "png"))
	w.request("POST", "/v1/me/avatar", tok, body, "Content-Type", ct).ok(t, 200, &me)
	if me.Profile.AvatarURL == nil || !strings.HasPrefix(*me.Profile.AvatarURL, "/v1/avatars/") || me.Profile.Nickname != "小明" {
		t.Fatalf("after upload: profile = %+v", me.Profile)
	}
	first := *me.Profile.AvatarURL
	r := w.request("GET", first, "", nil)
	r.ok(t, 200, nil)
	if _, _, err := image.Decode(bytes.NewReader(r.body)); err != nil {
		t.Errorf("served avatar is not an image: %v", err)
	}
	for k, want := range map[string]string{
		"Cache-Control":          "public, max-age=31536000, immutable",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "image/") {
		t.Errorf("Content-Type = %q", ct)
	}
	etag := r.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	w.request("GET", first, "", nil, "If-None-Match", etag).ok(t, 304, nil)

	// a raw JPEG body replaces it; the old one is gone
	w.request("POST", "/v1/me/avatar", tok, testImage(t, "jpeg"), "Content-Type", "image/jpeg").ok(t, 200, &me)
	if me.Profile.AvatarURL == nil || *me.Profile.AvatarURL == first {
		t.Fatalf("raw upload: profile = %+v", me.Profile)
	}
	w.request("GET", first, "", nil).fails(t, 404, "not_found")
	w.request("GET", *me.Profile.AvatarURL, "", nil).ok(t, 200, nil)
	w.request("GET", "/v1/avatars/avt_nope", "", nil).fails(t, 404, "not_found")

	// 2048×2048 is the largest accepted.
	w.request("POST", "/v1/me/avatar", tok, sizedPNG(t, 2048, 2048), "Content-Type", "image/png").ok(t, 200, &me)

	// WebP is accepted and stored as PNG, pixels intact.
	webp, err := base64.StdEncoding.DecodeString(webp2x2)
	if err != nil {
		t.Fatal(err)
	}
	w.request("POST", "/v1/me/avatar", tok, webp, "Content-Type", "image/webp").ok(t, 200, &me)
	r = w.request("GET", *me.Profile.AvatarURL, "", nil)
	r.ok(t, 200, nil)
	m, format, err := image.Decode(bytes.NewReader(r.body))
	if err != nil || format != "png" || r.header.Get("Content-Type") != "image/png" {
		t.Fatalf("WebP upload served as %q (%s, %v), want a PNG", r.header.Get("Content-Type"), format, err)
	}
	if got := color.RGBAModel.Convert(m.At(0, 0)).(color.RGBA); m.Bounds().Dx() != 2 || got != (color.RGBA{255, 0, 0, 255}) {
		t.Errorf("WebP as PNG: %v, top-left %v; want 2×2 with a red top-left pixel", m.Bounds(), got)
	}

	// refusals: nothing stored
	before, files := w.snapshot(), w.blobCount()
	html := []byte("<html><script>alert(1)</script></html>")
	tests := []struct {
		name, ctype string
		body        []byte
		status      int
		code        string
	}{
		{"html as raw body", "image/png", html, 415, "unsupported_media_type"},
		{"html in multipart", "", html, 415, "unsupported_media_type"},
		{"too large raw", "image/png", bytes.Repeat([]byte{0x89}, 65<<10), 413, "request_too_large"},
		{"too large multipart", "", bytes.Repeat([]byte{0x89}, 65<<10), 413, "request_too_large"},
		{"truncated png", "image/png", testImage(t, "png")[:40], 415, "unsupported_media_type"},
		{"2049 pixels wide", "image/png", sizedPNG(t, 2049, 1), 415, "unsupported_media_type"},
		{"2049 pixels high", "image/png", sizedPNG(t, 1, 2049), 415, "unsupported_media_type"},
		{"empty raw body", "image/png", nil, 400, "invalid_request"},
		{"multipart without file", "wrong-field", testImage(t, "png"), 400, "invalid_request"},
		// A valid small image after a form field larger than the whole
		// body may be: the cap on the body, not the one on the file part,
		// refuses it.
		{"multipart with a huge form field", "big-field", testImage(t, "png"), 413, "request_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ctype := tt.body, tt.ctype
			switch tt.ctype {
			case "":
				b, ctype = multipartBody(t, "file", tt.body)
			case "wrong-field":
				b, ctype = multipartBody(t, "avatar", tt.body)
			case "big-field":
				b, ctype = multipartWithField(t, strings.Repeat("a", 200<<10), tt.body)
			}
			w.request("POST", "/v1/me/avatar", tok, b, "Content-Type", ctype).fails(t, tt.status, tt.code)
		})
	}
	if d := cmp.Diff(before, w.snapshot()); d != "" {
		t.Errorf("refused uploads changed the store:\n%s", d)
	}
	if n := w.blobCount(); n != files {
		t.Errorf("refused uploads left files: %d, want %d", n, files)
	}

	// An anonymised getUserProfile does not overwrite the filled-in profile.
	w.request("POST", "/v1/userinfo", tok, w.userInfoRequest(app1, "pic", "微信用户")).ok(t, 200, nil)
	w.request("GET", "/v1/me", tok, nil).ok(t, 200, &me)
	if me.Profile.Nickname != "小明" || me.Profile.AvatarURL == nil {
		t.Errorf("after anonymous user info: profile = %+v", me.Profile)
	}

	// Erasing the user removes the avatar file too.
	avatar := *me.Profile.AvatarURL
	w.request("DELETE", "/v1/me", tok, nil).ok(t, 204, nil)
	w.request("GET", avatar, "", nil).fails(t, 404, "not_found")
}

func TestE2EAvatarsOff(t *testing.T) { eachStore(t, testE2EAvatarsOff) }

func testE2EAvatarsOff(t *testing.T, kind storeKind) {
	w := newWorldOn(t, kind)
	tok := w.login(app1, "noblob").Token
	w.request("POST", "/v1/me/avatar", tok, testImage(t, "png"), "Content-Type", "image/png").fails(t, 404, "not_found")
}
