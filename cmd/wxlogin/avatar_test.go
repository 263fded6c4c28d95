package main

import (
	"bytes"
	"image"
	"image/png"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/keyring"
)

// TestServeAvatarSizeIsOneSetting sets max_avatar_bytes above the default
// and uploads over HTTP: the HTTP layer follows the service's bound, so an
// image between the default and the setting is taken, and one above the
// setting refused before it reaches the service.
func TestServeAvatarSizeIsOneSetting(t *testing.T) {
	t.Parallel()
	em := emulator.New(emulator.DevApps()...)
	wechat := httptest.NewServer(em)
	defer wechat.Close()
	app := emulator.DevApps()[0]
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wxlogin.yaml")
	if err := os.WriteFile(cfg, []byte("max_avatar_bytes: 3145728\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	api, stop, stderr := startServe(t, map[string]string{
		"WXLOGIN_CONFIG":          cfg,
		"WXLOGIN_ADDR":            "127.0.0.1:0",
		"WXLOGIN_STORE":           "sqlite://" + filepath.Join(dir, "wx.db"),
		"WXLOGIN_WECHAT_BASE_URL": wechat.URL,
		"WXLOGIN_APPS":            app.AppID,
		appSecretVar(app.AppID):   app.Secret,
		"WXLOGIN_MASTER_KEY":      keyring.Format(keyring.Generate("k1")),
	})
	code, err := em.Login(app.AppID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	status, body := postJSON(t, api+"/v1/login", "", `{"code":"`+code+`"}`)
	token, _ := body["token"].(string)
	if status != 200 || token == "" {
		t.Fatalf("login: %d %v", status, body)
	}

	img := noisePNG(t, 820) // about 2.6 MiB: over the 2 MiB default, under the setting
	if n := len(img); n <= 2<<20 || n > 3<<20 {
		t.Fatalf("test image of %d bytes; want between 2 and 3 MiB", n)
	}
	upload := func(b []byte) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, api+"/v1/me/avatar", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "image/png")
		return do(t, req)
	}
	if status, body := upload(img); status != 200 {
		t.Errorf("upload of %d bytes under max_avatar_bytes: %d %v, want 200", len(img), status, body)
	}
	over := append(img, make([]byte, 3<<20+1-len(img))...)
	if status, body := upload(over); status != 413 || errCode(body) != "request_too_large" {
		t.Errorf("upload of %d bytes over max_avatar_bytes: %d %v, want 413 request_too_large", len(over), status, body)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d; stderr:\n%s", code, stderr.String())
	}
}

// noisePNG is a side×side PNG of random pixels: it does not compress, so
// its size is about side²×4 bytes.
func noisePNG(t *testing.T, side int) []byte {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, side, side))
	rand.NewChaCha8([32]byte{1}).Read(m.Pix)
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
