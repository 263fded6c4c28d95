package httpapi

import (
	"bytes"
	"html/template"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/wxlogin/wxlogin"
)

// A web login that fails before the page to return to is known (the
// callback without its state, a page not on the app's list) cannot send
// the browser back with ?wxlogin_error=: that would be an open redirect.
// The request is a browser's navigation, though, and a JSON body is no
// answer a person can read. A browser that asks for HTML gets a small page
// instead, with the same status and the stable code; anyone asking for
// JSON, or not saying, gets the JSON error as on every other route.

// writeWebError is writeError for the routes a browser navigates to.
func (s *Server) writeWebError(w http.ResponseWriter, r *http.Request, err error) {
	if !wantsHTML(r) {
		s.writeError(w, r, err)
		return
	}
	status, code, message := s.prepareError(w, r, err)
	page := errorPage{Code: code, Message: message, RequestID: requestID(w)}
	page.Zh, page.En = errorPageText(code)
	var body bytes.Buffer
	if err := errorPageTemplate.Execute(&body, page); err != nil {
		// Our own template over strings: a failure is a bug here.
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// Nothing on the page runs or loads: its one style is inline.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	w.Write(body.Bytes())
}

// wantsHTML reports whether the request's Accept prefers text/html to
// JSON, as a browser's navigation does (it lists text/html first).
func wantsHTML(r *http.Request) bool {
	html, json := -1.0, -1.0
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		switch mt {
		case "text/html", "application/xhtml+xml":
			html = max(html, q)
		case "application/json":
			json = max(json, q)
		}
	}
	return html > 0 && html > json
}

// errorPageText is what the page tells a person, in Chinese and English,
// about the codes these routes answer.
func errorPageText(code string) (zh, en string) {
	switch code {
	case wxlogin.EInvalidState:
		return "登录已过期，或没有在发起登录的浏览器中打开。请返回页面重新登录。",
			"This login expired, or was opened in another browser than the one that started it. Go back and sign in again."
	case wxlogin.ERedirectNotAllowed, wxlogin.EInvalidRequest, wxlogin.EUnknownApp:
		return "登录链接有误，请联系网站管理员。",
			"The sign-in link is wrong. Please tell the site's operator."
	case wxlogin.ERateLimited, wxlogin.EUpstreamUnavailable, wxlogin.EStoreUnavailable:
		return "服务暂时不可用，请稍后再试。",
			"The service is busy or unavailable. Please try again in a moment."
	}
	return "登录失败。", "The sign-in failed."
}

type errorPage struct {
	Zh, En, Code, Message, RequestID string
}

var errorPageTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="zh-CN">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录失败 · Sign-in failed</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32em;margin:3em auto;padding:0 1em;color:#222}small{color:#777}</style>
<h1>登录失败 · Sign-in failed</h1>
<p>{{.Zh}}</p>
<p lang="en">{{.En}}</p>
<p><small><code>{{.Code}}</code>: {{.Message}}<br>request {{.RequestID}}</small></p>
</html>
`))
