// Command wxlogin is the login and session server for WeChat mini programs.
// Each subcommand lives in its own file and registers itself in commands;
// this file only dispatches. Wiring only: no business logic here.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// env is what a subcommand may touch of the outside world, so tests can run
// subcommands in-process.
type env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// command is one subcommand of the wxlogin binary.
type command struct {
	Summary string
	Run     func(ctx context.Context, args []string, e env) int
}

// commands is filled by the init functions of the subcommand files.
var commands = map[string]command{}

func main() { os.Exit(runProcess(os.Args[1:])) }

// runProcess runs args as the process: with its standard streams and
// environment, SIGINT and SIGTERM stopping it. Tests that need a real
// process (to send it signals) run their own binary through it.
func runProcess(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
}

// run dispatches args to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.Stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.Stderr, "wxlogin: unknown command %q (see 'wxlogin help')\n", args[0])
		return 2
	}
	return c.Run(ctx, args[1:], e)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "wxlogin: login and session server for WeChat mini programs\n\nUsage: wxlogin <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].Summary)
	}
	fmt.Fprintln(w, "\nRun 'wxlogin <command> -h' for a command's flags.")
}
