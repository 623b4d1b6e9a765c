// Package cli implements the hookbridge command: each subcommand is a
// function of its arguments and output streams, so tests run it in-process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/hookbridge/hookbridge/internal/release"
)

type command struct {
	name, args, summary string
	run                 func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"dev", "", "run the whole stack locally: Temporal dev server, worker, receiver (and the OpenAI simulator without OPENAI_API_KEY)", runDev},
		{"send", "TYPE", "sign and send one test event to the receiver, like the dashboard's \"send test event\"", runSend},
		{"endpoint", "CMD", "manage the OpenAI webhook endpoints of a project (create, test, rotate, ...) and keep their secrets in its secrets file", runEndpoint},
		{"setup", "", "register hookbridge's search attributes and set the namespace retention (idempotent)", runSetup},
		{"upgrade", "", "after new workers run: carry over what earlier releases left in flight that the workers cannot continue alone (idempotent)", runUpgrade},
		{"submit", "KIND", "start a ready-made workflow (response, batch, fine-tune) and print its result when done", runSubmit},
		{"probe", "URL", "GET a health endpoint such as the worker's /readyz; exit 0 on a 2xx answer (a container health check without curl)", runProbe},
		{"simulate", "", "run the OpenAI simulator alone: the API subset the worker uses, and signed webhooks with OpenAI's retries", runSimulate},
		{"demo", "", "a guided tour on the local stack: a background response in the simulator, its webhook, the completed workflow", runDemo},
	}
}

// errUsage marks an error in the command line; Run prints the usage after it.
var errUsage = errors.New("usage")

// Run runs the subcommand named by args[0] and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if release.Requested(args) {
		fmt.Fprintln(stdout, "hookbridge", release.String())
		return 0
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "hookbridge %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "hookbridge %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "hookbridge: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: hookbridge COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %-5s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\nRun `hookbridge COMMAND -h` for a command's flags, `hookbridge version` for the version. Settings come from the environment; see the README.")
}

// parseError is how a command reports a flag parsing error: -h is no
// error (the flag set printed the usage), any other is a usage error.
func parseError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%w: %v", errUsage, err)
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name, args string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hookbridge "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: hookbridge %s [flags] %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}
