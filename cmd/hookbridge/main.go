// Command hookbridge is the developer and operator CLI: `dev` runs the whole
// stack locally, `send` signs and sends a test event, `setup` prepares a
// namespace. Run `hookbridge help` for the list.
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
