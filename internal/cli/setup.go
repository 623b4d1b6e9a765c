package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/hookbridge/hookbridge/internal/config"
	"github.com/hookbridge/hookbridge/internal/namespace"
	"github.com/hookbridge/hookbridge/internal/payload"
)

func runSetup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("setup", "", stderr)
	retention := fs.Duration("retention", namespace.DefaultRetention, "namespace retention to ensure (never lowered); must be at least 72h to cover OpenAI's retries")
	conn := temporalFlags(fs)
	if err := fs.Parse(args); err != nil {
		return parseError(err)
	}
	c, cfg, err := conn.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return setup(ctx, c, cfg.Namespace, *retention, stdout)
}

// temporalConn is the Temporal connection of a CLI command: the TEMPORAL_*
// environment, which flags override.
type temporalConn struct {
	address, namespace, taskQueue *string
}

func temporalFlags(fs *flag.FlagSet) temporalConn {
	return temporalConn{
		address:   fs.String("address", "", "Temporal frontend host:port (default $TEMPORAL_ADDRESS or localhost:7233)"),
		namespace: fs.String("namespace", "", "namespace (default $TEMPORAL_NAMESPACE or default)"),
		taskQueue: fs.String("task-queue", "", "task queue of hookbridge's worker (default $TEMPORAL_TASK_QUEUE or openai-webhooks)"),
	}
}

func (t temporalConn) dial(ctx context.Context) (client.Client, config.Temporal, error) {
	cfg, err := config.ParseTemporal(nil)
	if err != nil {
		return nil, cfg, err
	}
	for _, f := range []struct{ flag, setting *string }{{t.address, &cfg.Address}, {t.namespace, &cfg.Namespace}, {t.taskQueue, &cfg.TaskQueue}} {
		if *f.flag != "" {
			*f.setting = *f.flag
		}
	}
	opts, err := cfg.ClientOptions()
	if err != nil {
		return nil, cfg, err
	}
	opts.Logger = sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	// As the processes' clients: `submit` starts hookbridge's workflows.
	opts.DataConverter = payload.Converter()
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := client.DialContext(dialCtx, opts)
	if err != nil {
		return nil, cfg, fmt.Errorf("connect to Temporal at %s: %w", cfg.Address, err)
	}
	return c, cfg, nil
}

// setup is idempotent: it adds only missing search attributes and only ever
// raises the retention.
func setup(ctx context.Context, c client.Client, ns string, retention time.Duration, stdout io.Writer) error {
	if retention < namespace.MinRetention {
		return fmt.Errorf("%w: --retention %s is shorter than OpenAI's 72h retry window", errUsage, retention)
	}
	added, err := namespace.EnsureSearchAttributes(ctx, c, ns)
	if err != nil {
		return err
	}
	if len(added) > 0 {
		fmt.Fprintf(stdout, "namespace %s: registered search attributes %s\n", ns, strings.Join(added, ", "))
	} else {
		fmt.Fprintf(stdout, "namespace %s: search attributes already registered\n", ns)
	}
	current, err := namespace.Retention(ctx, c, ns)
	if err != nil {
		return err
	}
	if current >= retention {
		fmt.Fprintf(stdout, "namespace %s: retention %s already covers %s\n", ns, current, retention)
		return nil
	}
	if err := namespace.SetRetention(ctx, c, ns, retention); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "namespace %s: retention raised from %s to %s\n", ns, current, retention)
	return nil
}
