package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("simulate", "", stderr)
	o := simulatorOptions{}
	fs.StringVar(&o.addr, "addr", defaultSimulatorAddr, "listen address; the API is under /v1, the controls under /_sim/")
	fs.StringVar(&o.webhookURL, "webhook-url", "http://127.0.0.1:8000/webhook", "where to deliver the default project's webhooks, besides its webhook endpoints (empty: none)")
	fs.StringVar(&o.secret, "secret", "", "signing secret (default: the first of $OPENAI_WEBHOOK_SECRET, else the dev secret)")
	fs.DurationVar(&o.sim.CompleteAfter, "complete-after", 0, "how long background work takes (default 3s)")
	fs.DurationVar(&o.sim.CallLifetime, "call-lifetime", 0, "how long an incoming call can be accepted or rejected (default 5s, as OpenAI)")
	fs.DurationVar(&o.sim.AckTimeout, "ack-timeout", 0, "how long the receiver has to answer (default 5s)")
	fs.DurationVar(&o.sim.RetryBase, "retry-base", 0, "delay before the first retry, doubled each time (default 5s)")
	fs.DurationVar(&o.sim.RetryCap, "retry-cap", 0, "longest delay between retries (default 1h)")
	fs.DurationVar(&o.sim.RetryFor, "retry-for", 0, "how long to keep retrying a delivery (default 72h, as OpenAI)")
	fs.Float64Var(&o.sim.DuplicateRate, "duplicate-rate", 0, "fraction of events delivered twice")
	fs.Float64Var(&o.sim.ReorderRate, "reorder-rate", 0, "fraction of events held back so later ones overtake them")
	fs.Int64Var(&o.sim.Seed, "seed", 0, "seed for ids and random choices (0: random)")
	fs.Func("project", "a project besides the default one, as NAME=KEY: that API key sees only the project's objects and webhook endpoints, and other keys act in the default project (repeatable)", func(v string) error {
		name, key, ok := strings.Cut(v, "=")
		if !ok || name == "" || key == "" {
			return errors.New("want NAME=KEY")
		}
		if o.sim.Projects == nil {
			o.sim.Projects = make(map[string]string)
		}
		o.sim.Projects[name] = key
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	if o.secret == "" {
		o.secret = firstSecret(os.Getenv("OPENAI_WEBHOOK_SECRET"))
	}
	url, stop, err := startSimulator(o)
	if err != nil {
		return err
	}
	defer stopping(stdout, "OpenAI simulator", stop)
	fmt.Fprintf(stdout, "OpenAI simulator at %s (OPENAI_BASE_URL=%s/v1), delivering webhooks to %s. Ctrl-C stops it.\n", url, url, o.webhookURL)
	<-ctx.Done()
	return nil
}
