package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/config"
	"github.com/hookbridge/hookbridge/internal/devserver"
	"github.com/hookbridge/hookbridge/internal/namespace"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/proc"
)

// devOptions are the flags of `hookbridge dev`.
type devOptions struct {
	dataDir       string
	temporalPort  int
	uiPort        int
	receiverAddr  string
	simulatorAddr string
	// simulate runs the OpenAI simulator even when OPENAI_API_KEY is set.
	simulate bool
}

// devStack is what a running `hookbridge dev` offers to code that runs in
// it, such as the demo tour.
type devStack struct {
	temporal     client.Client
	uiURL        string
	receiverURL  string
	simulatorURL string // empty when the worker talks to OpenAI
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseDevFlags("dev", args, stderr)
	if err != nil {
		return err
	}
	return dev(ctx, o, stdout, nil)
}

func parseDevFlags(name string, args []string, stderr io.Writer) (devOptions, error) {
	fs := newFlagSet(name, "", stderr)
	var o devOptions
	fs.StringVar(&o.dataDir, "data", ".hookbridge", "folder for the dev server's SQLite file and the batch blobs (kept across runs)")
	fs.IntVar(&o.temporalPort, "temporal-port", 7233, "Temporal frontend port")
	fs.IntVar(&o.uiPort, "ui-port", 8233, "Temporal UI port")
	fs.StringVar(&o.receiverAddr, "receiver-addr", envOr("RECEIVER_ADDR", "127.0.0.1:8000"), "receiver listen address")
	fs.StringVar(&o.simulatorAddr, "simulator-addr", defaultSimulatorAddr, "OpenAI simulator listen address (used when OPENAI_API_KEY is unset)")
	if err := fs.Parse(args); err != nil {
		return o, parseError(err)
	}
	return o, nil
}

// defaultSimulatorAddr is where `hookbridge dev` serves the simulator, and
// where `hookbridge send` looks for it.
const defaultSimulatorAddr = "127.0.0.1:8100"

// dev runs the local stack until ctx is done; once it is ready, then (when
// not nil) runs in it.
func dev(ctx context.Context, o devOptions, out io.Writer, then func(context.Context, devStack) error) error {
	binDir, err := executableDir()
	if err != nil {
		return err
	}
	for _, name := range []string{"receiver", "worker"} {
		if _, err := os.Stat(filepath.Join(binDir, name)); err != nil {
			return fmt.Errorf("%s not found next to hookbridge in %s: build all three with `make build`", name, binDir)
		}
	}

	temporalCLI, err := devserver.Find()
	if errors.Is(err, devserver.ErrNotFound) {
		temporalCLI, err = devserver.Install(ctx, binDir, out)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "starting the Temporal dev server (state in %s)...\n", filepath.Join(o.dataDir, "temporal.db"))
	temporal, err := devserver.Start(ctx, devserver.Options{
		Binary:    temporalCLI,
		DBFile:    filepath.Join(o.dataDir, "temporal.db"),
		Port:      o.temporalPort,
		UIPort:    o.uiPort,
		Log:       out,
		LogPrefix: "[temporal] ",
		// Its warnings are noise here (dial errors while it stops).
		LogLevel: "error",
	})
	if err != nil {
		return err
	}
	defer stopping(out, "Temporal dev server", temporal.Stop)

	c, err := client.DialContext(ctx, client.Options{HostPort: temporal.Address(), Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := setup(ctx, c, "default", namespace.DefaultRetention, out); err != nil {
		return err
	}

	receiverURL := "http://" + loopback(o.receiverAddr) + "/webhook"
	env := append(os.Environ(),
		"TEMPORAL_ADDRESS="+temporal.Address(),
		"TEMPORAL_NAMESPACE=default",
		"RECEIVER_ADDR="+o.receiverAddr,
		"BLOB_URL=file://"+absolute(filepath.Join(o.dataDir, "blobs"))+"?create_dir=true",
	)
	stack := devStack{temporal: c, uiURL: temporal.UIURL(), receiverURL: receiverURL}
	if o.simulate || os.Getenv("OPENAI_API_KEY") == "" {
		secretsFile := filepath.Join(absolute(o.dataDir), devSecretsName)
		simURL, stop, err := startSimulator(simulatorOptions{addr: o.simulatorAddr, secretsFile: secretsFile})
		if err != nil {
			return err
		}
		defer stopping(out, "OpenAI simulator", stop)
		if err := devEndpoint(ctx, simURL, receiverURL, secretsFile, out); err != nil {
			return fmt.Errorf("webhook endpoint in the simulator: %w", err)
		}
		if os.Getenv("OPENAI_WEBHOOK_SECRET") != "" {
			fmt.Fprintf(out, "OPENAI_WEBHOOK_SECRET is set but unused with the simulator, whose endpoint signs with the secret in %s: unset it where you run hookbridge send\n", secretsFile)
		}
		env = append(env, "OPENAI_BASE_URL="+simURL+"/v1", "OPENAI_WEBHOOK_SECRET=", "OPENAI_WEBHOOK_SECRET_FILE="+secretsFile)
		stack.simulatorURL = simURL
		fmt.Fprintf(out, "the worker talks to the OpenAI simulator at %s, which delivers its webhooks to %s\n", simURL, receiverURL)
	} else if os.Getenv("OPENAI_WEBHOOK_SECRET") == "" && os.Getenv("OPENAI_WEBHOOK_SECRET_FILE") == "" {
		env = append(env, "OPENAI_WEBHOOK_SECRET="+DevWebhookSecret)
		fmt.Fprintln(out, "OPENAI_WEBHOOK_SECRET is unset: using the local dev secret (hookbridge send uses it too)")
	}

	worker, err := proc.Start(proc.Options{Path: filepath.Join(binDir, "worker"), Env: env, Log: out, Prefix: "[worker] "})
	if err != nil {
		return err
	}
	defer stopping(out, "worker", func() error { return worker.Stop(35 * time.Second) })
	receiver, err := proc.Start(proc.Options{Path: filepath.Join(binDir, "receiver"), Env: env, Log: out, Prefix: "[receiver] "})
	if err != nil {
		return err
	}
	defer stopping(out, "receiver", func() error { return receiver.Stop(15 * time.Second) })

	if err := waitReady(ctx, c, receiverURL, worker, receiver); err != nil {
		return err
	}
	fmt.Fprintf(out, `
hookbridge is running.
  Temporal UI:   %s/namespaces/default/workflows
  receiver:      %s
  metrics:       http://%s/metrics (receiver), http://%s/metrics (worker)
  try:           bin/hookbridge send response.completed
Press Ctrl-C to stop.

`, temporal.UIURL(), receiverURL, loopback(envOr("RECEIVER_METRICS_ADDR", ":9090")), loopback(envOr("WORKER_METRICS_ADDR", ":9091")))
	if then != nil {
		if err := then(ctx, stack); err != nil && ctx.Err() == nil {
			return err
		}
	}

	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "stopping...")
		return nil
	case <-worker.Exited():
		return fmt.Errorf("the worker exited: %v", worker.ExitErr())
	case <-receiver.Exited():
		return fmt.Errorf("the receiver exited: %v", receiver.ExitErr())
	case <-temporal.Exited():
		return errors.New("the Temporal dev server exited")
	}
}

// waitReady waits until the receiver answers /readyz and the worker polls
// the task queue, or one of them exits.
func waitReady(ctx context.Context, c client.Client, receiverURL string, worker, receiver *proc.Process) error {
	readyz := receiverURL[:len(receiverURL)-len("/webhook")] + "/readyz"
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		resp, err := http.Get(readyz)
		receiverReady := err == nil && resp.StatusCode == http.StatusOK
		if err == nil {
			resp.Body.Close()
		}
		tq, err := c.DescribeTaskQueue(ctx, envOr("TEMPORAL_TASK_QUEUE", hookbridge.DefaultTaskQueue), enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if receiverReady && err == nil && len(tq.GetPollers()) > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("receiver and worker not ready after a minute: %w", ctx.Err())
		case <-worker.Exited():
			return fmt.Errorf("the worker exited: %v", worker.ExitErr())
		case <-receiver.Exited():
			return fmt.Errorf("the receiver exited: %v", receiver.ExitErr())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// simulatorOptions are the settings of a simulator served by the CLI.
type simulatorOptions struct {
	addr, webhookURL, secret string
	// secretsFile, when set, is told to `hookbridge send` at devSecretsPath.
	secretsFile string
	// sim overrides the simulator's defaults; WebhookURL and WebhookSecret
	// come from the fields above.
	sim openaisim.Options
}

// startSimulator serves the OpenAI simulator on o.addr, delivering its
// webhooks to o.webhookURL, and returns its base URL and how to stop it.
func startSimulator(o simulatorOptions) (string, func() error, error) {
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return "", nil, fmt.Errorf("OpenAI simulator: %w", err)
	}
	opts := o.sim
	opts.WebhookURL, opts.WebhookSecret = o.webhookURL, o.secret
	if opts.CompleteAfter == 0 {
		// Long enough to see objects in progress, short enough not to wait.
		opts.CompleteAfter = 3 * time.Second
	}
	sim := openaisim.New(opts)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.secretsFile != "" && r.Method == http.MethodGet && r.URL.Path == devSecretsPath {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(devSecrets{Path: o.secretsFile})
			return
		}
		sim.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() error {
		sim.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// devSecretsName is the secrets file of the dev stack's webhook endpoint
// in the simulator, in the data folder.
const devSecretsName = "webhook-secrets"

// devSecretsPath is where the simulator of `hookbridge dev` tells the
// secrets file of its endpoint, so that `hookbridge send` signs as it does.
const devSecretsPath = "/_dev/webhook-secrets-file"

// devSecrets is the answer at devSecretsPath.
type devSecrets struct {
	Path string `json:"path"`
}

// devEndpoint creates the dev stack's webhook endpoint in the simulator at
// simURL, for every event type, as `hookbridge endpoint create` does, with
// its secret in a new secrets file: those of an earlier run's simulator
// are void.
func devEndpoint(ctx context.Context, simURL, receiverURL, secretsFile string, out io.Writer) error {
	if err := os.Remove(secretsFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	api, err := newEndpointAPI(config.Project{
		APIKey:        config.Secret{Variable: "OPENAI_API_KEY"},
		WebhookSecret: config.Secret{Variable: "OPENAI_WEBHOOK_SECRET", File: secretsFile},
		BaseURL:       simURL + "/v1",
	}, "")
	if err != nil {
		return err
	}
	_, err = api.create(ctx, "hookbridge dev", receiverURL, "all", out)
	return err
}

// devSecretsFile asks the `hookbridge dev` serving the simulator at
// simulatorURL for its endpoint's secrets file; "" when none answers.
func devSecretsFile(ctx context.Context, simulatorURL string) string {
	var answer devSecrets
	if simulatorURL == "" || !simulatorCall(ctx, http.MethodGet, simulatorURL+devSecretsPath, nil, &answer) {
		return ""
	}
	return answer.Path
}

func stopping(out io.Writer, what string, stop func() error) {
	if err := stop(); err != nil {
		fmt.Fprintf(out, "stopping the %s: %v\n", what, err)
	}
}

func executableDir() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	exe, err = filepath.EvalSymlinks(exe)
	if err != nil {
		return "", err
	}
	return filepath.Dir(exe), nil
}

// loopback turns a listen address such as ":8000" into one to connect to.
func loopback(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func absolute(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	return abs
}
