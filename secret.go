package wxlogin

import "log/slog"

// Secret holds a value that must never reach a log line, an error text or a
// response: an app secret, a session_key, a token. Its String, LogValue and
// MarshalText all print a placeholder; Reveal returns the value.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret value, for the few places that must use it.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string { return redacted }

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return redacted }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText keeps encoders from writing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
