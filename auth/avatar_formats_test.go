package auth_test

import (
	"bytes"
	"image"
	"image/gif" // registers GIF with image.Decode for this test binary
	"os"
	"testing"

	"golang.org/x/image/bmp"  // registers BMP
	"golang.org/x/image/tiff" // registers TIFF

	"github.com/wxlogin/wxlogin"
)

// The avatar allow-list is what refuses other formats, not the absence of
// their decoders: this test binary links GIF, BMP and TIFF decoders (any
// package of the server could import one), and each such upload must still
// be refused with nothing stored.
func TestSetAvatarRefusesDecodableFormats(t *testing.T) {
	t.Parallel()
	encoders := []struct {
		format string
		encode func(*bytes.Buffer, image.Image) error
	}{
		{"gif", func(b *bytes.Buffer, m image.Image) error { return gif.Encode(b, m, nil) }},
		{"bmp", func(b *bytes.Buffer, m image.Image) error { return bmp.Encode(b, m) }},
		{"tiff", func(b *bytes.Buffer, m image.Image) error { return tiff.Encode(b, m, nil) }},
	}
	for _, enc := range encoders {
		t.Run(enc.format, func(t *testing.T) {
			t.Parallel()
			var img bytes.Buffer
			if err := enc.encode(&img, testImage()); err != nil {
				t.Fatal(err)
			}
			// The premise: the image is valid and its decoder is linked.
			if _, format, err := image.DecodeConfig(bytes.NewReader(img.Bytes())); err != nil || format != enc.format {
				t.Fatalf("DecodeConfig = %q, %v; want a decodable %s", format, err, enc.format)
			}
			var dir string
			e := newEnv(t, withBlobs(&dir))
			ctx := t.Context()
			p := e.verify(ctx, e.login(ctx, app1, "alice").Token)
			_, err := e.svc.SetAvatar(ctx, p, img.Bytes())
			wantCode(t, err, wxlogin.EUnsupportedMediaType)
			stored, _ := e.svc.User(ctx, p)
			files, _ := os.ReadDir(dir)
			if stored.Profile.AvatarID != "" || len(files) != 0 {
				t.Errorf("a refused %s left avatar %q and %d files", enc.format, stored.Profile.AvatarID, len(files))
			}
		})
	}
}
