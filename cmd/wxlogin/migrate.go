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
	db, err := sqlitestore.OpenOptions(ctx, path, sqlitestore.Options{NoMigrate: true})
	if err != nil {
		fmt.Fprintf(e.Stderr, "wxlogin migrate: %v\n", err)
		return 1
	}
	defer db.Close()
	before, err := db.AppliedMigrations(ctx)
	if err == nil {
		err = db.Migrate(ctx)
	}
	var after []string
	if err == nil {
		after, err = db.AppliedMigrations(ctx)
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "wxlogin migrate: %v\n", err)
		return 1
	}
	for _, name := range after[len(before):] {
		fmt.Fprintf(e.Stdout, "wxlogin migrate: applied %s\n", name)
	}
	fmt.Fprintf(e.Stdout, "wxlogin migrate: %s is up to date (%d migrations)\n", redactURL(c.Store), len(after))
	return 0
}
