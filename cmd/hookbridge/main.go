// Command hookbridge is the developer and operator CLI: `dev` runs the whole
// stack locally, `send` signs and sends a test event, `endpoint` manages a
// project's OpenAI webhook endpoints, `setup` prepares a namespace,
// `upgrade` carries over what earlier releases left in flight, `submit`
// starts a ready-made workflow, `simulate` and `demo` run the OpenAI
// simulator alone and a guided tour, and `probe` is a container health
// check. The subcommands live in internal/cli; run `hookbridge help` for
// the list.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hookbridge/hookbridge/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
