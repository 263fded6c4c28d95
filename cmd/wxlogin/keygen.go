package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/wxlogin/wxlogin/keyring"
)

func init() {
	commands["keygen"] = command{
		Summary: "print a new master key (id:base64 of 32 random bytes)",
		Run:     runKeygen,
	}
}

// runKeygen prints one new key in the form WXLOGIN_MASTER_KEY and
// master_key_file read. The id names the key in every value it seals, so
// a rotation needs a new one (k2 after k1): the old key stays in the list
// until `wxlogin admin rotate-key` has re-sealed everything.
func runKeygen(_ context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	id := fs.String("id", "k1", "the key's id; use a new one (k2, k3, …) for each rotation")
	fs.Usage = func() {
		fmt.Fprintln(e.Stderr, "Usage: wxlogin keygen [-id k1] > master-key\n\nPrints a new master key, id:base64 of 32 random bytes, for WXLOGIN_MASTER_KEY or master_key_file.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	key := keyring.Format(keyring.Generate(*id))
	// Parse is the judge of the id, so that keygen never prints a key the
	// server would refuse.
	if _, err := keyring.Parse(key); err != nil {
		fmt.Fprintln(e.Stderr, "wxlogin keygen: bad -id:", err)
		return 2
	}
	fmt.Fprintln(e.Stdout, key)
	return 0
}
