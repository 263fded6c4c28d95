package wechat_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/emulator"
	"github.com/wxlogin/wxlogin/wechat"
)

// A login against the emulator: the code works once, and the second
// exchange is classified so the server can tell the client to log in again.
func ExampleClient_Code2Session() {
	emu := &emulator.Emulator{Logger: slog.New(slog.DiscardHandler)}
	srv := httptest.NewServer(emu)
	defer srv.Close()

	client := &wechat.Client{BaseURL: srv.URL, Logger: slog.New(slog.DiscardHandler)}
	app := wxlogin.App{AppID: "wxdec0de0000000001", Secret: "0123456789abcdef0123456789abcdef"}
	code, _ := emu.Login(app.AppID, "alice") // wx.login on alice's phone

	ctx := context.Background()
	s, err := client.Code2Session(ctx, app, code)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("session_key:", s.SessionKey, "unionid:", s.UnionID != "")

	_, err = client.Code2Session(ctx, app, code)
	fmt.Println(wechat.Classify(err), wechat.RetryAfter(err))
	// Output:
	// session_key: [redacted] unionid: true
	// code_invalid 0s
}
