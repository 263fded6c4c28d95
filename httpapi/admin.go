package httpapi

import (
	"net/http"
	"strconv"

	"github.com/wxlogin/wxlogin"
)

// maxAdminLimit bounds one page of GET /v1/admin/users.
const maxAdminLimit = 1000

func (s *Server) adminFindUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := wxlogin.UserFilter{AppID: q.Get("appid"), OpenID: q.Get("openid"), UnionID: q.Get("unionid")}
	if corpid, userid := q.Get("corpid"), q.Get("userid"); corpid != "" || userid != "" {
		// A WeCom user is stored under its WeComKey in the place of the openid.
		if corpid == "" || userid == "" || f.OpenID != "" {
			s.writeError(w, r, wxlogin.Errorf(wxlogin.EInvalidRequest, "parameters \"corpid\" and \"userid\" go together, without \"openid\""))
			return
		}
		f.OpenID = wxlogin.WeComKey(corpid, userid)
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxAdminLimit {
			s.writeError(w, r, wxlogin.Errorf(wxlogin.EInvalidRequest, "parameter \"limit\" must be a whole number from 1 to %d", maxAdminLimit))
			return
		}
		f.Limit = n
	}
	var users []wxlogin.User
	var err error
	if acct := q.Get("account_id"); acct != "" {
		// An account's users: every identity of one person.
		users, err = s.svc.AccountUsers(r.Context(), acct)
		if wxlogin.ErrorCode(err) == wxlogin.ENotFound {
			users, err = nil, nil
		}
	} else {
		users, err = s.svc.AdminFindUsers(r.Context(), f)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := usersResponse{Users: make([]meJSON, 0, len(users))}
	// Users who share a unionid in one app share their account, so a
	// page of them asks the store once per unionid and app, not per user.
	accounts := map[[2]string]string{}
	for _, u := range users {
		me := toMe(u, s.prefix, s.svc.IsWeComApp(u.AppID))
		key := [2]string{u.AppID, u.UnionID}
		acct, ok := accounts[key]
		if !ok || u.UnionID == "" {
			if acct, err = s.svc.AccountID(r.Context(), u); err != nil {
				s.writeError(w, r, err)
				return
			}
			accounts[key] = acct
		}
		me.AccountID = acct
		out.Users = append(out.Users, me)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) adminUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.svc.AdminUser(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	me := toMe(u, s.prefix, s.svc.IsWeComApp(u.AppID))
	if me.AccountID, err = s.svc.AccountID(r.Context(), u); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, me)
}

func (s *Server) adminUserSessions(w http.ResponseWriter, r *http.Request) {
	list, err := s.svc.AdminUserSessions(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toSessions(list))
}

func (s *Server) adminRevokeUserSessions(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.AdminRevokeUserSessions(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	noContent(w)
}

func (s *Server) adminRevokeSession(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.AdminRevokeSession(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	noContent(w)
}

func (s *Server) adminEraseUser(w http.ResponseWriter, r *http.Request) {
	erase := s.svc.AdminEraseUser
	switch r.URL.Query().Get("scope") {
	case "", "identity":
	case "account":
		erase = s.svc.AdminEraseAccount
	default:
		s.writeError(w, r, errEraseScope)
		return
	}
	if err := erase(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	noContent(w)
}

// adminAccessToken hands the app's cached WeChat access token to the app's
// other backends, so they stop fetching their own and invalidating each
// other's (the multi-instance 40001 storm).
func (s *Server) adminAccessToken(w http.ResponseWriter, r *http.Request) {
	tok, err := s.svc.AccessToken(r.Context(), r.PathValue("appid"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, accessTokenResponse{AccessToken: tok.Value.Reveal(), ExpiresAt: tok.ExpiresAt.UTC()})
}

func (s *Server) adminRotateKey(w http.ResponseWriter, r *http.Request) {
	n, err := s.svc.RotateKeys(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rotateKeyResponse{Resealed: n})
}
