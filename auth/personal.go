package auth

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/keyring"
)

// Personal data at rest. A user's decrypted user info and phone number are
// sealed together under the master keys, as session keys are, so a copied
// database gives none of them away; the store keeps the sealed bytes in
// User.Sealed and never sees them in clear. openid and unionid stay clear:
// they are the keys users are looked up by. The profile the user filled in
// (nickname, avatar id) is not sealed either: the admin search shows it and
// it is what the user chose to show.

// sealedPersonal is the plaintext of User.Sealed. It names the user, so a
// sealed value copied into another user's row does not open there.
type sealedPersonal struct {
	UserID   string          `json:"user_id"`
	UserInfo json.RawMessage `json:"user_info,omitempty"`
	Phone    *wxlogin.Phone  `json:"phone,omitempty"`
	// OpenUserID is a WeCom suite member's open_userid (User.OpenUserID).
	OpenUserID string `json:"open_userid,omitempty"`
}

// sealUser moves u's UserInfo, Phone and OpenUserID into u.Sealed, under
// the primary key. A user without any has no Sealed.
func (s *Service) sealUser(u *wxlogin.User) error {
	if len(u.UserInfo) == 0 && u.Phone == nil && u.OpenUserID == "" {
		u.UserInfo, u.Phone, u.Sealed = nil, nil, nil
		return nil
	}
	plain, err := json.Marshal(sealedPersonal{UserID: u.ID, UserInfo: u.UserInfo, Phone: u.Phone, OpenUserID: u.OpenUserID})
	if err != nil {
		return wxlogin.Wrap(err, wxlogin.EInternal, "the user's data could not be sealed")
	}
	u.Sealed = s.live().keys.Seal(plain)
	u.UserInfo, u.Phone, u.OpenUserID = nil, nil, ""
	return nil
}

// openUser fills u's UserInfo, Phone and OpenUserID from u.Sealed and clears Sealed:
// callers of the service never see sealed bytes. A user written before
// sealing (clear fields, no Sealed) is returned as it is.
func (s *Service) openUser(u *wxlogin.User) error {
	if len(u.Sealed) == 0 {
		u.Sealed = nil
		return nil
	}
	plain, err := s.live().keys.Open(u.Sealed)
	if err != nil {
		// A master key missing from the keyring, or a corrupt row: ours
		// to fix, not the client's.
		return wxlogin.Wrap(err, wxlogin.EInternal, "the user's sealed data could not be opened")
	}
	var p sealedPersonal
	if err := json.Unmarshal(plain, &p); err != nil {
		return wxlogin.Wrap(err, wxlogin.EInternal, "the user's sealed data is corrupt")
	}
	if p.UserID != u.ID {
		return wxlogin.Errorf(wxlogin.EInternal, "the user's sealed data belongs to another user")
	}
	u.UserInfo, u.Phone, u.OpenUserID, u.Sealed = p.UserInfo, p.Phone, p.OpenUserID, nil
	return nil
}

// User returns the user a principal stands for.
func (s *Service) User(ctx context.Context, p wxlogin.Principal) (wxlogin.User, error) {
	u, err := s.user(ctx, p.UserID)
	if err != nil {
		return wxlogin.User{}, s.userErr(err)
	}
	return u, nil
}

// user reads a user and opens its personal data.
func (s *Service) user(ctx context.Context, id string) (wxlogin.User, error) {
	u, err := s.users.User(ctx, id)
	if err != nil {
		return wxlogin.User{}, err
	}
	if err := s.openUser(&u); err != nil {
		s.log.ErrorContext(ctx, "auth: cannot open a user's sealed data", "user_id", id, "err", err)
		return wxlogin.User{}, err
	}
	return u, nil
}

// updateUser is UserStore.UpdateUser with update seeing, and the caller
// getting, the user's personal data in clear, sealed again before it is
// written. A row still in clear is sealed by any update.
func (s *Service) updateUser(ctx context.Context, id string, update func(*wxlogin.User) error) (wxlogin.User, error) {
	return s.updateUserWith(ctx, id, update, nil)
}

// updateUserWith is updateUser writing ds to the outbox with the update.
func (s *Service) updateUserWith(ctx context.Context, id string, update func(*wxlogin.User) error, ds []wxlogin.Delivery) (wxlogin.User, error) {
	sealed := func(u *wxlogin.User) error {
		if err := s.openUser(u); err != nil {
			return err
		}
		if err := update(u); err != nil {
			return err
		}
		return s.sealUser(u)
	}
	var (
		u   wxlogin.User
		err error
	)
	if len(ds) == 0 {
		u, err = s.users.UpdateUser(ctx, id, sealed)
	} else if u, err = s.outbox.UpdateUserWithDeliveries(ctx, id, sealed, ds); err == nil {
		s.delivered(ds)
	}
	if err != nil {
		return wxlogin.User{}, err
	}
	if err := s.openUser(&u); err != nil {
		return wxlogin.User{}, err
	}
	return u, nil
}

// resealUser is the ResealUsers callback: it seals a row still in clear
// and reseals one sealed under a key other than the primary.
func (s *Service) resealUser(u *wxlogin.User) (bool, error) {
	if len(u.Sealed) == 0 {
		if len(u.UserInfo) == 0 && u.Phone == nil {
			return false, nil
		}
		return true, s.sealUser(u)
	}
	if id, err := keyring.SealedWith(u.Sealed); err == nil && id == s.live().keys.PrimaryID() &&
		len(u.UserInfo) == 0 && u.Phone == nil {
		return false, nil
	}
	// Opened and sealed afresh rather than resealed byte for byte, so that
	// a row holding both a sealed value and leftover clear fields ends with
	// the sealed value only.
	if err := s.openUser(u); err != nil {
		return false, err
	}
	return true, s.sealUser(u)
}

// sealTimeout bounds the start-up pass that seals rows written in clear:
// the service starts anyway, reads those rows as they are, and the next
// start or key rotation carries on where this one stopped.
const sealTimeout = 30 * time.Second

// sealClearUsers seals the personal data of users written before sealing,
// and reseals any under a retired key. Each user is its own write, so the
// pass can be cut short and run again.
func (s *Service) sealClearUsers() {
	ctx, cancel := context.WithTimeout(context.Background(), sealTimeout)
	defer cancel()
	n, err := s.users.ResealUsers(ctx, s.resealUser)
	switch {
	case err != nil && errors.Is(err, context.DeadlineExceeded):
		s.log.Warn("auth: sealing users' personal data did not finish; it goes on at the next start or key rotation", "sealed", n)
	case err != nil:
		s.log.Error("auth: sealing users' personal data failed", "sealed", n, "err", err)
	case n > 0:
		s.log.Info("auth: sealed users' personal data", "users", n)
	}
}
