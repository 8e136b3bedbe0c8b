package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
)

// command is one subcommand: its flags bind into a config the run function
// reads after parsing.
type command struct {
	name    string
	summary string
	usage   string  // the argument synopsis after the name
	detail  string  // paragraphs printed under the synopsis
	config  *Config // the configuration its flags bind into; validated after parsing
	flags   func(fs *flag.FlagSet)
	run     func(ctx context.Context, args []string) error
}

// errUsage marks a mistake in the command line; main prints the help.
var errUsage = errors.New("usage")

// envName maps a flag to its environment variable: --kafka-brokers ⇒ SIYU_KAFKA_BROKERS.
func envName(flagName string) string {
	return "SIYU_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse parses args, then fills each flag not given on the command line from
// its SIYU_ environment variable.
func (c *command) parse(args []string, stderr io.Writer) (*flag.FlagSet, []string, error) {
	fs := flag.NewFlagSet("siyu "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if c.flags != nil {
		c.flags(fs)
	}
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.help(stderr, fs)
			return nil, nil, flag.ErrHelp
		}
		return nil, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := os.LookupEnv(envName(f.Name)); ok && !set[f.Name] && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", envName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return nil, nil, envErr
	}
	if c.config != nil {
		if err := c.config.Validate(); err != nil {
			return nil, nil, err
		}
	}
	return fs, positional, nil
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments (`siyu keys create --tenant t`), and returns the
// positional ones. "--" ends flag parsing.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// help prints the command's complete help: synopsis, detail and every flag
// with its default and environment variable.
func (c *command) help(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "siyu %s — %s\n\nUsage:\n  siyu %s %s\n", c.name, c.summary, c.name, c.usage)
	if c.detail != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.detail))
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if len(names) == 0 {
		return
	}
	sort.Strings(names)
	fmt.Fprintf(w, "\nFlags (each also settable by its environment variable):\n")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, n := range names {
		f := fs.Lookup(n)
		def := ""
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			def = " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(tw, "  --%s\t%s\t%s%s\n", n, envName(n), f.Usage, def)
	}
	tw.Flush()
}

func printOverview(w io.Writer, cmds []*command) {
	fmt.Fprintf(w, `siyu — analytics and CRM data platform for WeCom private-domain sales.

Usage:
  siyu <command> [flags]

Commands:
`)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun `siyu <command> --help` for its flags. Every flag can also be set as SIYU_<FLAG>,\ne.g. --kafka-brokers as SIYU_KAFKA_BROKERS.\n")
}
