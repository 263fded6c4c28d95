// Package webhooksig signs and verifies the webhooks wxlogin sends. A
// receiver imports it alone: it depends on nothing but the standard library
// and on no other package of wxlogin.
//
// wxlogin signs each delivery with the endpoint's secret:
//
//	X-Wxlogin-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>
//
// The timestamp is inside the signed message, so a captured request cannot
// be replayed later than the receiver's tolerance with a fresh t. Each
// delivery also carries X-Wxlogin-Event-Id: delivery is at least once, and a
// receiver drops an event id it has already processed.
package webhooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery.
const (
	SignatureHeader = "X-Wxlogin-Signature"
	EventIDHeader   = "X-Wxlogin-Event-Id"
	EventHeader     = "X-Wxlogin-Event"
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock. wxlogin signs each attempt when it sends it, so only
// clock skew and transit count against it.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify. Every failure matches ErrInvalid; a stale or future
// timestamp also matches ErrTimestamp.
var (
	ErrInvalid   = errors.New("webhooksig: invalid signature")
	ErrTimestamp = errors.New("webhooksig: timestamp outside the tolerance")
)

// Sign returns the X-Wxlogin-Signature value of body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	io.WriteString(h, ts)
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks header, an X-Wxlogin-Signature value, against body and
// secret: one of its v1 signatures must match (compared in constant time)
// and its timestamp must lie within tolerance of now (0 means
// DefaultTolerance). Several v1 values are accepted so that a secret can be
// rotated without a gap.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var (
		ts   string
		sigs [][]byte
	)
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrInvalid
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil && len(b) == sha256.Size {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrInvalid
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.Join(ErrInvalid, ErrTimestamp)
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrInvalid
}

// maxBody bounds the body VerifyRequest reads: wxlogin's payloads are well
// under a kilobyte.
const maxBody = 1 << 20

// VerifyRequest reads r's body (at most 1 MiB) and verifies its signature
// against the wall clock with DefaultTolerance. It returns the body, which
// a receiver should only parse once this returned nil.
func VerifyRequest(r *http.Request, secret []byte) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxBody {
		return nil, ErrInvalid
	}
	if err := Verify(secret, r.Header.Get(SignatureHeader), body, time.Now(), 0); err != nil {
		return nil, err
	}
	return body, nil
}
