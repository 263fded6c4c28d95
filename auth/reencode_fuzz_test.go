package auth

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// FuzzReencode feeds arbitrary bytes to the avatar re-encoder, which runs
// the image decoders on whatever a client uploads. It must never panic, and
// whatever it accepts must come out as a JPEG or PNG within the size bound.
func FuzzReencode(f *testing.F) {
	m := image.NewRGBA(image.Rect(0, 0, 3, 2))
	m.Set(1, 1, color.RGBA{R: 200, A: 255})
	var p, j bytes.Buffer
	if err := png.Encode(&p, m); err != nil {
		f.Fatal(err)
	}
	if err := jpeg.Encode(&j, m, nil); err != nil {
		f.Fatal(err)
	}
	// A 1×1 lossless WebP, the bytes of profile_test.go's webpLossless1x1.
	webp, err := base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{p.Bytes(), j.Bytes(), webp, p.Bytes()[:20], []byte("GIF89a"), nil} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, contentType, err := reencode(in)
		if err != nil {
			return
		}
		if contentType != "image/png" && contentType != "image/jpeg" {
			t.Fatalf("content type %q", contentType)
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("the re-encoded image does not decode: %v", err)
		}
		if "image/"+format != contentType {
			t.Errorf("format %s labelled %s", format, contentType)
		}
		if cfg.Width > maxAvatarSide || cfg.Height > maxAvatarSide {
			t.Errorf("accepted %d×%d, over the %d-pixel bound", cfg.Width, cfg.Height, maxAvatarSide)
		}
	})
}
