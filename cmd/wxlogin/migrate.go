package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/wxlogin/wxlogin/store/sqlitestore"
)

func init() {
	commands["migrate"] = command{Summary: "apply the store's embedded migrations", Run: runMigrate}
}

func runMigrate(ctx context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	configPath := fs.String("config", "", "YAML config file; the store URL may also come from WXLOGIN_STORE")
	if fs.Parse(args) != nil {
		return 2
	}
	if *configPath == "" {
		*configPath = e.Getenv("WXLOGIN_CONFIG")
	}
	c, err := readConfig(*configPath, e.Getenv)
	if err != nil {
		fmt.Fprintf(e.Stderr, "wxlogin migrate: %v\n", err)
		return 1
	}
	path, err := storePath(c.Store)
	if err != nil {
		fmt.Fprintf(e.Stderr, "wxlogin migrate: %v\n", err)
		return 1
	}
	db, err := sqlitestore.Open(ctx, path)
	if err != nil {
		fmt.Fprintf(e.Stderr, "wxlogin migrate: %v\n", err)
		return 1
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		fmt.Fprintf(e.Stderr, "wxlogin migrate: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.Stdout, "wxlogin migrate: %s is up to date\n", redactURL(c.Store))
	return 0
}
