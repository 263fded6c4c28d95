package auth

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	_ "golang.org/x/image/webp" // registers WebP with image.Decode

	"github.com/wxlogin/wxlogin"
)

// Nickname and avatar bounds.
const (
	maxNicknameRunes = 32
	// maxAvatarSide bounds each side of an avatar in pixels. It is checked
	// on the header alone, before decoding, so that a small file claiming
	// 60000×60000 pixels (a decompression bomb) costs nothing.
	maxAvatarSide = 2048
)

// SetNickname validates and stores the user's nickname.
func (s *Service) SetNickname(ctx context.Context, p wxlogin.Principal, nickname string) (wxlogin.User, error) {
	nickname = strings.TrimSpace(nickname)
	if err := checkNickname(nickname); err != nil {
		return wxlogin.User{}, err
	}
	u, err := s.updateUser(ctx, p.UserID, func(u *wxlogin.User) error {
		now := s.now()
		u.Profile.Nickname = nickname
		u.Profile.UpdatedAt = now
		u.UpdatedAt = now
		return nil
	})
	if err != nil {
		return wxlogin.User{}, s.userErr(err)
	}
	return u, nil
}

// checkNickname validates a trimmed nickname: valid UTF-8, 1 to 32
// characters, at least one of them visible, and none of them a control
// character, a line or paragraph separator, or an invisible format
// character (Unicode Cf: zero-width spaces and joiners, byte order marks,
// soft hyphens, and the bidi controls that make a name display as
// something else). A name must show on one line as what it is; one made
// of nothing visible is no name. The one format character kept is the
// zero-width joiner inside an emoji sequence (👩‍💻, 🏳️‍🌈), where it is part
// of the picture.
func checkNickname(n string) error {
	invalid := func(why string) error {
		return wxlogin.Errorf(wxlogin.EInvalidRequest, "nickname %s", why)
	}
	switch c := utf8.RuneCountInString(n); {
	case !utf8.ValidString(n):
		return invalid("is not valid UTF-8")
	case c == 0:
		return invalid("is required")
	case c > maxNicknameRunes:
		return invalid("must be at most 32 characters")
	}
	runes := []rune(n)
	visible := false
	for i, r := range runes {
		switch {
		case unicode.IsControl(r) || r == utf8.RuneError:
			return invalid("must not contain control characters")
		case unicode.In(r, unicode.Zl, unicode.Zp):
			return invalid("must be one line")
		case r == zeroWidthJoiner && i > 0 && i+1 < len(runes) &&
			isEmojiPart(runes[i-1]) && unicode.Is(unicode.So, runes[i+1]):
			// joins two emoji into one
		case unicode.Is(unicode.Cf, r):
			return invalid("must not contain invisible formatting characters")
		}
		visible = visible || isVisible(r)
	}
	if !visible {
		return invalid("must contain a visible character")
	}
	return nil
}

const zeroWidthJoiner = '\u200D'

// isEmojiPart reports whether r can end the emoji before a joiner: a
// symbol, a skin-tone modifier (Sk) or the emoji presentation selector.
func isEmojiPart(r rune) bool {
	return unicode.In(r, unicode.So, unicode.Sk) || r == '\uFE0F'
}

// isVisible reports whether r shows as something: a letter, digit,
// punctuation or symbol, except the ones drawn as blank space (the Hangul
// fillers and the blank Braille pattern, favourites for "invisible" names).
func isVisible(r rune) bool {
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800':
		return false
	}
	return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S)
}

// SetAvatar checks an uploaded image by content (JPEG, PNG, WebP), re-encodes
// it without metadata, stores it and points the user's profile at it.
// Errors: ERequestTooLarge, EUnsupportedMediaType, ERateLimited (RetryAfter
// set) when the user uploaded too often (Limits.AvatarPerUser) or the
// server is already decoding as many images as it has cores.
func (s *Service) SetAvatar(ctx context.Context, p wxlogin.Principal, img []byte) (wxlogin.User, error) {
	if s.blobs == nil {
		return wxlogin.User{}, wxlogin.Errorf(wxlogin.ENotFound, "avatar upload is not enabled on this server")
	}
	// Every attempt counts, refused ones too: a broken file can cost as
	// much to decode as a good one.
	if ok, wait := s.live().avatarPerUser.allow(ctx, p.UserID, s.now()); !ok {
		return wxlogin.User{}, rateLimited("too many avatar uploads; retry later", wait)
	}
	if int64(len(img)) > s.maxAvatar {
		return wxlogin.User{}, wxlogin.Errorf(wxlogin.ERequestTooLarge, "the avatar is larger than %d bytes", s.maxAvatar)
	}
	select {
	case s.decodes <- struct{}{}:
	default:
		return wxlogin.User{}, rateLimited("the server is processing other images; retry in a second", time.Second)
	}
	data, contentType, err := func() ([]byte, string, error) {
		defer func() { <-s.decodes }()
		return reencode(img)
	}()
	if err != nil {
		s.log.InfoContext(ctx, "auth: avatar refused", "user_id", p.UserID, "reason", err)
		return wxlogin.User{}, wxlogin.Errorf(wxlogin.EUnsupportedMediaType,
			"the avatar must be a JPEG, PNG or WebP image of at most %d×%d pixels", maxAvatarSide, maxAvatarSide)
	}
	blob := wxlogin.Blob{ID: newID("avt_"), ContentType: contentType, Data: data, CreatedAt: s.now()}
	if err := s.blobs.PutBlob(ctx, blob); err != nil {
		return wxlogin.User{}, s.storeFailed(err)
	}
	var old string
	u, err := s.updateUser(ctx, p.UserID, func(u *wxlogin.User) error {
		now := s.now()
		old = u.Profile.AvatarID
		u.Profile.AvatarID = blob.ID
		u.Profile.UpdatedAt = now
		u.UpdatedAt = now
		return nil
	})
	if err != nil {
		// Nothing stored on failure: the new blob points nowhere.
		if derr := s.blobs.DeleteBlob(context.WithoutCancel(ctx), blob.ID); derr != nil {
			s.log.WarnContext(ctx, "auth: deleting an orphaned avatar failed", "avatar_id", blob.ID, "err", derr)
		}
		return wxlogin.User{}, s.userErr(err)
	}
	if old != "" && old != blob.ID {
		if err := s.blobs.DeleteBlob(ctx, old); err != nil {
			// The user has the new avatar; the old blob is garbage to be
			// collected, not a failure of this request.
			s.log.WarnContext(ctx, "auth: deleting the replaced avatar failed", "avatar_id", old, "err", err)
		}
	}
	return u, nil
}

// MaxAvatarBytes returns the largest avatar image SetAvatar accepts
// (Config.MaxAvatarBytes), so that the HTTP layer bounds request bodies by
// the same number.
func (s *Service) MaxAvatarBytes() int64 { return s.maxAvatar }

// reencode identifies an image by its content, bounds its dimensions from
// the header, decodes it and encodes it anew: the output carries pixels
// only, so EXIF (GPS position, camera serial), XMP, ICC and comments are
// gone, as is anything appended or smuggled in the original file. JPEG
// stays JPEG; PNG and WebP (which may be transparent) become PNG.
func reencode(img []byte) ([]byte, string, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		return nil, "", err
	}
	switch format {
	case "jpeg", "png", "webp":
	default:
		return nil, "", errors.New("format " + format + " is not accepted")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxAvatarSide || cfg.Height > maxAvatarSide {
		return nil, "", errors.New("dimensions out of bounds")
	}
	m, _, err := image.Decode(bytes.NewReader(img))
	if err != nil {
		return nil, "", err
	}
	var out bytes.Buffer
	if format == "jpeg" {
		if err := jpeg.Encode(&out, m, &jpeg.Options{Quality: 90}); err != nil {
			return nil, "", err
		}
		return out.Bytes(), "image/jpeg", nil
	}
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&out, m); err != nil {
		return nil, "", err
	}
	return out.Bytes(), "image/png", nil
}

// Avatar returns a stored avatar.
func (s *Service) Avatar(ctx context.Context, id string) (wxlogin.Blob, error) {
	notFound := wxlogin.Errorf(wxlogin.ENotFound, "no such avatar")
	if s.blobs == nil {
		return wxlogin.Blob{}, wxlogin.Errorf(wxlogin.ENotFound, "avatars are not enabled on this server")
	}
	if !validID("avt_", id) {
		return wxlogin.Blob{}, notFound
	}
	b, err := s.blobs.Blob(ctx, id)
	if errors.Is(err, wxlogin.ErrNotFound) {
		return wxlogin.Blob{}, notFound
	}
	if err != nil {
		return wxlogin.Blob{}, s.storeFailed(err)
	}
	return b, nil
}

// EraseMe erases the principal's user: sessions, data, avatar.
func (s *Service) EraseMe(ctx context.Context, p wxlogin.Principal) error {
	return s.erase(ctx, p.UserID, byUser)
}

// erase deletes a user and everything of theirs: the avatar, then the user,
// then the user's sessions, then the cached sessions. It relies on no
// store-side cascade, since users and sessions may live in different
// stores. The order closes the race with a login of the same user: a login
// stores its session and then checks that its user still exists (see
// login). Either that check comes after DeleteUser, and the login deletes
// its own session and fails, or it came before, and so did the session,
// which DeleteUserSessions below then takes. Only then are the cache
// entries forgotten, which also fences off a Verify that read one of the
// sessions before the deletion (see verifyCache). Until the sessions are
// deleted nothing is revoked, so a failed erasure can be retried with the
// same token (a missing user is not an error here). A later login of the
// same openid registers a new user.
//
// The user.erased event is written with the deletion of the user, so a
// retried erasure (the user already gone) writes no second one.
func (s *Service) erase(ctx context.Context, userID, by string) error {
	u, err := s.users.User(ctx, userID)
	if err != nil && !errors.Is(err, wxlogin.ErrNotFound) {
		return s.storeFailed(err)
	}
	if u.Profile.AvatarID != "" && s.blobs != nil {
		if err := s.blobs.DeleteBlob(ctx, u.Profile.AvatarID); err != nil {
			return s.storeFailed(err)
		}
	}
	var erased []wxlogin.Delivery
	if err == nil {
		erased = s.deliveries(wxlogin.Event{Type: wxlogin.EventUserErased, AppID: u.AppID, UserID: u.ID,
			OpenID: u.OpenID, UnionID: u.UnionID, By: by})
	}
	if err := s.deleteUser(ctx, userID, erased); err != nil {
		return s.storeFailed(err)
	}
	if _, err := s.sessions.DeleteUserSessions(ctx, userID); err != nil {
		return storeErr(err)
	}
	s.announce(ctx, Revocation{UserID: userID})
	s.log.InfoContext(ctx, "auth: user erased", "user_id", userID)
	return nil
}
