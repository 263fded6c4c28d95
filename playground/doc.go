// Package playground is the browser playground of wxlogin dev mode: a static
// page on which a developer plays a mini program user, running the real SDK
// (sdk/miniprogram) and its simulated wx against the real server and emulator,
// with a live timeline of every call between client, wxlogin and WeChat.
//
// The page and its JavaScript bundle are built from sdk/miniprogram and
// playground/src by `npm run build` in sdk/miniprogram and committed under
// static/, so `go run ./cmd/wxlogin dev` works on a fresh clone without Node.
// scripts/test-sdk fails when the committed bundle is stale.
package playground
