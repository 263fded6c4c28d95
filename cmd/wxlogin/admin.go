package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

func init() {
	commands["admin"] = command{Summary: "administer a running server over its admin API (users, sessions, webhooks, keys)", Run: runAdmin}
}

const adminUsage = `Usage: wxlogin admin [--url URL] <verb> [args]

The admin token comes from WXLOGIN_ADMIN_TOKEN or WXLOGIN_ADMIN_TOKEN_FILE.
Verbs go through the server's HTTP API, so its caches stay right:
  users [--openid X] [--unionid X] [--appid X] [--limit N]
                                                 find users
  users --corpid X --userid Y [--appid X]        find a WeCom corp's member
  users --account-id acc_…                       list every identity of one person
  user USER_ID                                   show a user
  sessions USER_ID                               list a user's sessions
  revoke-sessions USER_ID                        end every session of a user
  revoke-session SESSION_ID                      end one session
  erase USER_ID                                  erase a user and all their data
  erase-account USER_ID                          erase every identity of the user's person
  webhooks [--state S] [--event E] [--url U] [--limit N]
                                                 list webhook deliveries, newest first
  redeliver DELIVERY_ID                          send a webhook delivery again
  access-token APPID                             the app's cached WeChat access token
  rotate-key                                     re-seal stored session keys under the primary master key
`

// idRoutes are the admin verbs that take one id.
var idRoutes = map[string]struct{ method, path string }{
	"user":            {http.MethodGet, "/v1/admin/users/%s"},
	"sessions":        {http.MethodGet, "/v1/admin/users/%s/sessions"},
	"revoke-sessions": {http.MethodDelete, "/v1/admin/users/%s/sessions"},
	"erase":           {http.MethodDelete, "/v1/admin/users/%s"},
	"erase-account":   {http.MethodDelete, "/v1/admin/users/%s?scope=account"},
	"redeliver":       {http.MethodPost, "/v1/admin/webhooks/%s/redeliver"},
	"revoke-session":  {http.MethodDelete, "/v1/admin/sessions/%s"},
	"access-token":    {http.MethodGet, "/v1/admin/apps/%s/access_token"},
}

func runAdmin(ctx context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() { fmt.Fprint(e.Stderr, adminUsage) }
	base := fs.String("url", "", "server URL (default WXLOGIN_URL or http://127.0.0.1:8080)")
	if fs.Parse(args) != nil {
		return 2
	}
	if *base == "" {
		*base = e.Getenv("WXLOGIN_URL")
	}
	if *base == "" {
		*base = "http://127.0.0.1:8080"
	}
	token, err := secretFromEnvOrFile(e.Getenv, "WXLOGIN_ADMIN_TOKEN", "", "")
	if err != nil || token == "" {
		fmt.Fprintln(e.Stderr, "wxlogin admin: set WXLOGIN_ADMIN_TOKEN or WXLOGIN_ADMIN_TOKEN_FILE")
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return 2
	}
	verb, rest := rest[0], rest[1:]
	one := func() (string, bool) {
		if len(rest) != 1 || rest[0] == "" {
			fmt.Fprintf(e.Stderr, "wxlogin admin %s: takes exactly one argument\n", verb)
			return "", false
		}
		return url.PathEscape(rest[0]), true
	}
	var method, path string
	switch verb {
	case "users":
		q, ok := adminQuery(e, "users", rest, "openid", "unionid", "appid", "corpid", "userid", "account-id", "limit")
		if !ok {
			return 2
		}
		method, path = http.MethodGet, "/v1/admin/users?"+q.Encode()
	case "webhooks":
		q, ok := adminQuery(e, "webhooks", rest, "state", "event", "url", "limit")
		if !ok {
			return 2
		}
		method, path = http.MethodGet, "/v1/admin/webhooks?"+q.Encode()
	case "user", "sessions", "revoke-sessions", "erase", "erase-account", "revoke-session", "redeliver", "access-token":
		id, ok := one()
		if !ok {
			return 2
		}
		route := idRoutes[verb]
		method, path = route.method, fmt.Sprintf(route.path, id)
	case "rotate-key":
		method, path = http.MethodPost, "/v1/admin/rotate-key"
	default:
		fmt.Fprintf(e.Stderr, "wxlogin admin: unknown verb %q\n\n%s", verb, adminUsage)
		return 2
	}
	return adminCall(ctx, e, *base, method, path, token)
}

// adminQuery reads a listing verb's flags, each a query parameter of the
// same name with dashes as underscores (--account-id is account_id); the
// server checks the values, so its error codes reach the user unchanged.
func adminQuery(e env, verb string, args []string, names ...string) (url.Values, bool) {
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	values := make([]*string, len(names))
	for i, n := range names {
		values[i] = fs.String(n, "", "")
	}
	if fs.Parse(args) != nil {
		return nil, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "wxlogin admin %s: takes flags only, not %q\n", verb, fs.Arg(0))
		return nil, false
	}
	q := url.Values{}
	for i, n := range names {
		if *values[i] != "" {
			q.Set(strings.ReplaceAll(n, "-", "_"), *values[i])
		}
	}
	return q, true
}

// adminCall sends one admin request and prints the answer: indented JSON on
// success, the server's error code and message on failure.
func adminCall(ctx context.Context, e env, base, method, path, token string) int {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
	if err != nil {
		fmt.Fprintf(e.Stderr, "wxlogin admin: %v\n", err)
		return 1
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(e.Stderr, "wxlogin admin: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		fmt.Fprintf(e.Stderr, "wxlogin admin: reading the answer: %v\n", err)
		return 1
	}
	if resp.StatusCode >= 300 {
		var env struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(body, &env) == nil && env.Error.Code != "" {
			fmt.Fprintf(e.Stderr, "wxlogin admin: %s: %s (HTTP %d)\n", env.Error.Code, env.Error.Message, resp.StatusCode)
		} else {
			fmt.Fprintf(e.Stderr, "wxlogin admin: HTTP %d\n", resp.StatusCode)
		}
		return 1
	}
	if len(bytes.TrimSpace(body)) == 0 {
		fmt.Fprintln(e.Stdout, "ok")
		return 0
	}
	var out bytes.Buffer
	if json.Indent(&out, body, "", "  ") != nil {
		out.Reset()
		out.Write(body)
	}
	fmt.Fprintln(e.Stdout, out.String())
	return 0
}
