package playground

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Files returns the playground's files, rooted at the page's root.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic("playground: " + err.Error()) // the embedded tree is fixed at build time
	}
	return sub
}

// Handler serves the playground at root paths ("/", "/app.js",
// "/style.css"); mount it under a prefix with http.StripPrefix. Only GET and
// HEAD are served; the page is never cached stale (it changes with the binary).
// Only static/ is embedded, so the TypeScript sources are never served.
func Handler() http.Handler {
	files := http.FileServerFS(Files())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
