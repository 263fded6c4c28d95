package httpapi

import (
	"net/http"
	"time"

	"github.com/wxlogin/wxlogin"
)

// devRoutes mounts what wxlogin dev serves on the API port: the emulator's
// device API and the playground on the same origin (the playground's page
// calls both without CORS), and controls that move the server's clock or
// expire a session. serve never sets Config.Dev, so none of this exists in
// production.
func (s *Server) devRoutes() {
	if s.dev.Emulator != nil {
		s.handle("/emulator/v1/", s.dev.Emulator.ServeHTTP)
		// WeChat's browser pages of the web logins, on the same origin as
		// the playground (wxlogin dev's connect URL is this server).
		s.handle("GET /connect/", s.dev.Emulator.ServeHTTP)
	}
	if s.dev.Playground != nil {
		s.handle("/playground/", s.dev.Playground.ServeHTTP)
		toPlayground := func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, s.prefix+"/playground/", http.StatusFound)
		}
		s.handle("GET /{$}", toPlayground)
		// Mounted, since the mux's own trailing-slash redirect answers a
		// JSON 404 like every other redirect it would make.
		s.handle("GET /playground", toPlayground)
	}
	if s.dev.AdvanceClock != nil {
		s.handle("POST /dev/v1/clock", s.devClock)
	}
	s.handle("POST /dev/v1/session/expire", s.authed(s.devExpireSession))
}

func (s *Server) devClock(w http.ResponseWriter, r *http.Request) {
	var q clockRequest
	if err := s.decodeJSON(w, r, &q); err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.dev.AdvanceClock(q.d)
	writeJSON(w, http.StatusOK, clockResponse{Now: now.UTC().Format(time.RFC3339)})
}

func (s *Server) devExpireSession(w http.ResponseWriter, r *http.Request, p wxlogin.Principal) {
	if err := s.svc.ExpireSession(r.Context(), p.SessionID); err != nil {
		s.writeError(w, r, err)
		return
	}
	noContent(w)
}
