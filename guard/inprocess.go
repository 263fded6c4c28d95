package guard

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/wxlogin/wxlogin"
)

// Verifier checks a login token in process. *auth.Service satisfies it:
// a program embedding wxlogin passes its service, and verification costs
// no HTTP. Errors are *wxlogin.Error values: ESessionInvalid for a token
// that is unknown, expired or revoked, EStoreUnavailable when the store
// cannot answer.
type Verifier interface {
	Verify(ctx context.Context, token string) (wxlogin.Principal, error)
}

// InProcessConfig configures InProcess.
type InProcessConfig struct {
	// Verifier checks the tokens; required.
	Verifier Verifier
	// AppID, when set, passes only that app's tokens: another app's is
	// answered 401, as forward-auth's ?appid= does.
	AppID string
	// Logger receives the cause of a verification that failed for a
	// reason other than the token; nil means slog.Default().
	Logger *slog.Logger
}

// InProcess returns a Guard that verifies each request's Bearer token
// with cfg.Verifier. Revocations take effect at once: the service's own
// cache is the only one, and it forgets a revoked token when revoking it.
func InProcess(cfg InProcessConfig) (*Guard, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("guard: InProcessConfig.Verifier is nil")
	}
	if err := checkAppID(cfg.AppID); err != nil {
		return nil, err
	}
	ip := &inProcess{v: cfg.Verifier, appID: cfg.AppID, log: cfg.Logger}
	if ip.log == nil {
		ip.log = slog.Default()
	}
	return &Guard{identify: ip.identify}, nil
}

type inProcess struct {
	v     Verifier
	appID string
	log   *slog.Logger
}

func (ip *inProcess) identify(r *http.Request) (wxlogin.Principal, bool, error) {
	tok := bearerToken(r)
	if tok == "" {
		return wxlogin.Principal{}, false, nil
	}
	p, err := ip.v.Verify(r.Context(), tok)
	if err != nil {
		switch wxlogin.ErrorCode(err) {
		case wxlogin.ESessionInvalid:
			return wxlogin.Principal{}, false, errRefused
		case wxlogin.EStoreUnavailable, wxlogin.EUpstreamUnavailable:
			e := *errUnavailable
			var we *wxlogin.Error
			if errors.As(err, &we) {
				e.RetryAfter = we.RetryAfter
			}
			return wxlogin.Principal{}, false, &e
		}
		// wxlogin's errors print their secrets as [redacted].
		ip.log.Error("guard: verification failed", "err", err)
		return wxlogin.Principal{}, false, errInternal
	}
	if ip.appID != "" && p.AppID != ip.appID {
		return wxlogin.Principal{}, false, errRefused
	}
	return p, true, nil
}
