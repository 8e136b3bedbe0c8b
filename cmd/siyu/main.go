// Command siyu is the one Siyu binary. `siyu run` starts everything on
// embedded defaults; `siyu serve` and `siyu ingest` run the API and the
// pipeline on their own for production, so each scales separately.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func commands(stdout, stderr io.Writer) []*command {
	return []*command{
		runCommand(stdout, stderr),
		serveCommand(stderr),
		ingestCommand(stderr),
		migrateCommand(stdout, stderr),
		keysCommand(stdout, stderr),
		usersCommand(os.Stdin, stdout, stderr),
		loadgenCommand(stdout, stderr),
		billingCommand(stdout, stderr),
		dashboardsCommand(stdout, stderr),
		followupsCommand(stdout, stderr),
		metricsCommand(stdout, stderr),
		{name: "version", summary: "print the version", run: func(context.Context, []string) error {
			fmt.Fprintln(stdout, "siyu", version)
			return nil
		}},
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	cmds := commands(stdout, stderr)
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			args = []string{args[1], "--help"}
		} else {
			printOverview(stdout, cmds)
			return 0
		}
	}
	var cmd *command
	for _, c := range cmds {
		if c.name == args[0] {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "siyu: unknown command %q\n\n", args[0])
		printOverview(stderr, cmds)
		return 2
	}
	_, positional, err := cmd.parse(args[1:], stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "siyu %s: %v\nRun `siyu %s --help` for usage.\n", cmd.name, err, cmd.name)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, positional); err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "siyu %s: %v\nRun `siyu %s --help` for usage.\n", cmd.name, err, cmd.name)
			return 2
		}
		fmt.Fprintf(stderr, "siyu %s: %v\n", cmd.name, err)
		return 1
	}
	return 0
}
