package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func init() {
	commands["serve"] = command{Summary: "run the server in production (YAML config + WXLOGIN_* environment)", Run: runServe}
}

func runServe(ctx context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	configPath := fs.String("config", "", "YAML config file (settings there are overridden by WXLOGIN_* variables)")
	noMigrate := fs.Bool("no-migrate", false, "refuse to start on a store with pending migrations instead of applying them (for deployments that run `wxlogin migrate` as a step)")
	if fs.Parse(args) != nil {
		return 2
	}
	if *configPath == "" {
		*configPath = e.Getenv("WXLOGIN_CONFIG")
	}
	c, err := loadConfig(*configPath, e.Getenv)
	if err != nil {
		fmt.Fprintf(e.Stderr, "wxlogin serve: %v\n", err)
		return 1
	}
	m := &Main{Config: c, Logger: newLogger(e.Stderr, c.LogLevel, c.LogFormat), NoMigrate: *noMigrate}
	if err := m.Start(ctx); err != nil {
		fmt.Fprintf(e.Stderr, "wxlogin serve: %v\n", err)
		return 1
	}
	// SIGHUP re-reads the configuration and secret files (see Main.Reload).
	hangup := make(chan os.Signal, 1)
	signal.Notify(hangup, syscall.SIGHUP)
	defer signal.Stop(hangup)
	m.Logger.Info("wxlogin serving", "addr", m.APIURL, "apps", len(c.apps), "store", redactURL(c.Store))
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-hangup:
			m.reloadFrom(ctx, *configPath, e.Getenv)
		}
	}
	shutdown := time.Duration(m.Config.Shutdown)
	m.Logger.Info("shutting down", "deadline", shutdown.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdown)
	defer cancel()
	if err := m.Close(shutdownCtx); err != nil {
		fmt.Fprintf(e.Stderr, "wxlogin serve: shutdown: %v\n", err)
		return 1
	}
	return 0
}
