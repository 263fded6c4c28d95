package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin/wxcrypt"
)

func init() {
	commands["crypt"] = command{
		Summary: "decrypt encryptedData and compute signatures locally, to debug a failure",
		Run:     runCrypt,
	}
}

// maxCryptInput bounds what the crypt subcommands read from standard input:
// WeChat's payloads are a few kilobytes, so more is a mistake (a wrong file).
const maxCryptInput = 1 << 20

const cryptUsage = `Usage:
  wxlogin crypt decrypt --appid A --session-key K --iv IV [--max-age D] < encryptedData
  wxlogin crypt sign    --session-key K < rawData
  wxlogin crypt hmac    --session-key K < message

decrypt  prints the plaintext JSON of encryptedData (whitespace ignored), after
         checking its watermark appid and, with --max-age, its timestamp.
sign     prints sha1(rawData + session_key), the signature beside user info.
hmac     prints the hmac_sha256 login-state signature of checksession and
         resetusersessionkey (keyed with the session_key's base64 text).
sign and hmac drop one trailing newline of their input.

The session_key may instead come from --session-key-file F or the environment
variable WXLOGIN_SESSION_KEY, to keep it out of shell history.
`

// runCrypt dispatches the crypt subcommands. Unlike the server, which answers
// every decrypt failure alike, this local tool prints the precise reason:
// the person running it holds the session_key anyway.
func runCrypt(_ context.Context, args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.Stderr, cryptUsage)
		return 2
	}
	switch args[0] {
	case "decrypt":
		return cryptDecrypt(args[1:], e)
	case "sign":
		return cryptSign(args[1:], e, "sign", wxcrypt.Signature)
	case "hmac":
		return cryptSign(args[1:], e, "hmac", func(message, sessionKey string) string {
			return wxcrypt.LoginStateSignature(sessionKey, message)
		})
	case "help", "-h", "-help", "--help":
		fmt.Fprint(e.Stdout, cryptUsage)
		return 0
	default:
		fmt.Fprintf(e.Stderr, "wxlogin crypt: unknown subcommand %q\n\n%s", args[0], cryptUsage)
		return 2
	}
}

// cryptKeyFlags are the three ways to pass the session_key.
type cryptKeyFlags struct {
	value string
	file  string
}

func (k *cryptKeyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.value, "session-key", "", "the session_key, base64 as WeChat gives it")
	fs.StringVar(&k.file, "session-key-file", "", "read the session_key from this file")
}

// errCryptUsage marks an error in how the command was called (exit 2).
var errCryptUsage = errors.New("usage")

// resolve returns the session_key from the flag, the file or the environment,
// in that order. Its errors never contain the key.
func (k *cryptKeyFlags) resolve(e env) (string, error) {
	switch {
	case k.value != "" && k.file != "":
		return "", fmt.Errorf("%w: give --session-key or --session-key-file, not both", errCryptUsage)
	case k.value != "":
		return trimLineBreaks(k.value), nil
	case k.file != "":
		b, err := os.ReadFile(k.file)
		if err != nil {
			// The *PathError names the file and the cause, not its content.
			return "", fmt.Errorf("reading the session key file: %w", err)
		}
		key := trimLineBreaks(string(b))
		if key == "" {
			return "", fmt.Errorf("the session key file %s is empty", k.file)
		}
		return key, nil
	}
	if e.Getenv != nil {
		if key := trimLineBreaks(e.Getenv("WXLOGIN_SESSION_KEY")); key != "" {
			return key, nil
		}
	}
	return "", fmt.Errorf("%w: no session_key: give --session-key, --session-key-file or WXLOGIN_SESSION_KEY", errCryptUsage)
}

// trimLineBreaks drops the line breaks and tabs around a key, as a file or a
// paste adds them. Spaces stay: in a session_key they are mangled '+', which
// wxcrypt repairs.
func trimLineBreaks(s string) string { return strings.Trim(s, "\r\n\t") }

// newCryptFlags returns a flag set that reports to e.Stderr and does not exit.
func newCryptFlags(name string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet("wxlogin crypt "+name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.Stderr, "Usage of wxlogin crypt %s:\n", name)
		fs.PrintDefaults()
	}
	return fs
}

// parseCryptFlags parses args and returns the exit code to stop with, or -1
// to go on. -h is not an error.
func parseCryptFlags(fs *flag.FlagSet, args []string, e env) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // flag has printed the error and the usage
	}
	if fs.NArg() > 0 {
		// The argument is not repeated: it may be a session_key typed
		// without --session-key.
		fmt.Fprintf(e.Stderr, "%s: unexpected argument (the input comes from standard input; the key from --session-key)\n", fs.Name())
		fs.Usage()
		return 2
	}
	return -1
}

// cryptFail prints err as one line and returns its exit code: 2 for a usage
// error, 1 otherwise.
func cryptFail(e env, name string, err error) int {
	fmt.Fprintf(e.Stderr, "wxlogin crypt %s: %v\n", name, err)
	if errors.Is(err, errCryptUsage) {
		return 2
	}
	return 1
}

// readCryptInput reads standard input, refusing more than maxCryptInput.
func readCryptInput(r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, maxCryptInput+1))
	if err != nil {
		return nil, fmt.Errorf("reading standard input: %w", err)
	}
	if len(b) > maxCryptInput {
		return nil, fmt.Errorf("standard input is over %d bytes; WeChat's payloads are a few KB", maxCryptInput)
	}
	return b, nil
}

func cryptDecrypt(args []string, e env) int {
	fs := newCryptFlags("decrypt", e)
	var key cryptKeyFlags
	key.register(fs)
	appID := fs.String("appid", "", "the appid the watermark must carry (required)")
	iv := fs.String("iv", "", "the iv that came with encryptedData, base64 (required)")
	maxAge := fs.Duration("max-age", 0, "how far the watermark timestamp may be from now, e.g. 10m; 0 skips the check")
	if code := parseCryptFlags(fs, args, e); code >= 0 {
		return code
	}
	switch {
	case *appID == "":
		return cryptFail(e, "decrypt", fmt.Errorf("%w: --appid is required", errCryptUsage))
	case *iv == "":
		return cryptFail(e, "decrypt", fmt.Errorf("%w: --iv is required", errCryptUsage))
	case *maxAge < 0:
		return cryptFail(e, "decrypt", fmt.Errorf("%w: --max-age must not be negative", errCryptUsage))
	}
	sessionKey, err := key.resolve(e)
	if err != nil {
		return cryptFail(e, "decrypt", err)
	}
	input, err := readCryptInput(e.Stdin)
	if err != nil {
		return cryptFail(e, "decrypt", err)
	}
	data := dropPastedLineBreaks(string(input))
	if strings.TrimSpace(data) == "" {
		return cryptFail(e, "decrypt", errors.New("no encryptedData on standard input"))
	}

	opener := wxcrypt.Opener{AppID: *appID, MaxAge: *maxAge}
	var payload wxcrypt.Any
	reason, err := opener.Open(sessionKey, data, *iv, &payload)
	if err != nil && strings.Contains(data, " ") {
		// A space inside the data is either a '+' mangled by a form decoder
		// (which Open has just repaired) or a separator pasted in: try it as
		// a separator too, and report the attempt that got further.
		var second wxcrypt.Any
		reason2, err2 := opener.Open(sessionKey, strings.ReplaceAll(data, " ", ""), *iv, &second)
		if err2 == nil || decryptReasonStage(reason2) > decryptReasonStage(reason) {
			payload, reason, err = second, reason2, err2
		}
	}
	if err != nil {
		return cryptFail(e, "decrypt", errors.New(reason+decryptReasonHint(reason, opener, payload.Watermark)))
	}
	fmt.Fprintf(e.Stdout, "%s\n", payload.Raw)
	return 0
}

// dropPastedLineBreaks removes the whitespace a paste or a file adds: line
// breaks and tabs. Spaces are left for the two readings in cryptDecrypt.
func dropPastedLineBreaks(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\n', '\r', '\t', '\v', '\f':
			return -1
		}
		return r
	}, s)
	return s
}

// decryptReasonStage orders failure reasons by how far decryption got.
func decryptReasonStage(reason string) int {
	switch reason {
	case wxcrypt.ReasonBase64, wxcrypt.ReasonKeyLength, wxcrypt.ReasonIVLength:
		return 1
	case wxcrypt.ReasonBlocks:
		return 2
	case wxcrypt.ReasonPadding:
		return 3
	case wxcrypt.ReasonJSON:
		return 4
	case wxcrypt.ReasonAppID, wxcrypt.ReasonStale:
		return 5
	}
	return 0
}

// decryptReasonHint names the usual cause of a failure, for the person
// debugging. For the watermark failures the payload was decrypted, so its
// watermark (no secret) says what was wrong.
func decryptReasonHint(reason string, o wxcrypt.Opener, w wxcrypt.Watermark) string {
	switch reason {
	case wxcrypt.ReasonPadding:
		return " (usually a session_key that rotated: every wx.login replaces it, so the data was encrypted under a newer or older key)"
	case wxcrypt.ReasonBase64:
		return " (check that --session-key, --iv and the data were copied whole)"
	case wxcrypt.ReasonAppID:
		if w.AppID == "" {
			return " (the plaintext carries no watermark appid)"
		}
		return fmt.Sprintf(" (the data is for appid %q, not %q)", w.AppID, o.AppID)
	case wxcrypt.ReasonStale:
		stamped := time.Unix(w.Timestamp, 0).UTC()
		return fmt.Sprintf(" (stamped %s, %s from now; --max-age %s)", stamped.Format(time.RFC3339),
			time.Since(stamped).Round(time.Second), o.MaxAge)
	}
	return ""
}

// cryptSign implements sign and hmac: read the input, drop one trailing
// newline, print sum(input, sessionKey).
func cryptSign(args []string, e env, name string, sum func(input, sessionKey string) string) int {
	fs := newCryptFlags(name, e)
	var key cryptKeyFlags
	key.register(fs)
	if code := parseCryptFlags(fs, args, e); code >= 0 {
		return code
	}
	sessionKey, err := key.resolve(e)
	if err != nil {
		return cryptFail(e, name, err)
	}
	// The key is used as text, so any text gives a signature; but one that
	// is not a session_key's shape is most likely a copying mistake.
	if raw, err := base64.StdEncoding.DecodeString(sessionKey); err != nil || len(raw) != 16 {
		fmt.Fprintf(e.Stderr, "wxlogin crypt %s: warning: the session_key is not 16 bytes of base64; signing its text anyway\n", name)
	}
	input, err := readCryptInput(e.Stdin)
	if err != nil {
		return cryptFail(e, name, err)
	}
	// Drop the newline that echo or a text file adds; only one, so that a
	// rawData which really ends in a newline can still be signed.
	if t, ok := bytes.CutSuffix(input, []byte("\n")); ok {
		input = bytes.TrimSuffix(t, []byte("\r"))
	}
	fmt.Fprintln(e.Stdout, sum(string(input), sessionKey))
	return 0
}
