// Package config parses the environment of each hookbridge process into one
// Config struct per process (caarlos0/env), and holds the formats of its
// variables (routes, projects, deciders). Only the commands read it (the
// cmd/ mains, the hookbridge command's internal/cli and the start-up steps
// of internal/startup); library packages take plain values.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/worker"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/secrets"
)

// Temporal is the connection to Temporal shared by both processes. Variable
// names follow Temporal's own environment configuration, so a shell set up
// for the temporal CLI works unchanged.
type Temporal struct {
	Address   string `env:"TEMPORAL_ADDRESS" envDefault:"localhost:7233"`
	Namespace string `env:"TEMPORAL_NAMESPACE" envDefault:"default"`
	TaskQueue string `env:"TEMPORAL_TASK_QUEUE" envDefault:"openai-webhooks"`
	// CallTaskQueue is the task queue of incoming calls: a queue of their
	// own, so that no backlog delays an answer.
	CallTaskQueue string `env:"TEMPORAL_CALL_TASK_QUEUE" envDefault:"openai-calls"`
	APIKey        string `env:"TEMPORAL_API_KEY"`
	// APIKeyFile holds the API key instead, watched and re-read when it
	// changes (see startup.Client).
	APIKeyFile string `env:"TEMPORAL_API_KEY_FILE"`
	// TLS forces TLS on or off; unset means on when an API key or a client
	// certificate is given.
	TLS *bool `env:"TEMPORAL_TLS"`
	// AllowAPIKeyWithoutTLS lets an API key go with TLS forced off, in
	// plain text, which is refused otherwise: for a connection that
	// something else protects (a TLS-terminating sidecar on loopback).
	AllowAPIKeyWithoutTLS      bool   `env:"HOOKBRIDGE_ALLOW_API_KEY_WITHOUT_TLS"`
	TLSClientCertPath          string `env:"TEMPORAL_TLS_CLIENT_CERT_PATH"`
	TLSClientCertData          string `env:"TEMPORAL_TLS_CLIENT_CERT_DATA"`
	TLSClientKeyPath           string `env:"TEMPORAL_TLS_CLIENT_KEY_PATH"`
	TLSClientKeyData           string `env:"TEMPORAL_TLS_CLIENT_KEY_DATA"`
	TLSServerCACertPath        string `env:"TEMPORAL_TLS_SERVER_CA_CERT_PATH"`
	TLSServerCACertData        string `env:"TEMPORAL_TLS_SERVER_CA_CERT_DATA"`
	TLSServerName              string `env:"TEMPORAL_TLS_SERVER_NAME"`
	TLSDisableHostVerification bool   `env:"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"`
}

// ClientOptions turns the settings into Temporal client options, through
// the SDK's envconfig profile so that TLS and API keys behave exactly as in
// Temporal's own tools.
func (t Temporal) ClientOptions() (client.Options, error) {
	profile := envconfig.ClientConfigProfile{
		Address:   t.Address,
		Namespace: t.Namespace,
		APIKey:    t.APIKey,
	}
	tls := envconfig.ClientConfigTLS{
		ClientCertPath:          t.TLSClientCertPath,
		ClientCertData:          []byte(t.TLSClientCertData),
		ClientKeyPath:           t.TLSClientKeyPath,
		ClientKeyData:           []byte(t.TLSClientKeyData),
		ServerCACertPath:        t.TLSServerCACertPath,
		ServerCACertData:        []byte(t.TLSServerCACertData),
		ServerName:              t.TLSServerName,
		DisableHostVerification: t.TLSDisableHostVerification,
	}
	switch {
	case t.TLS != nil && !*t.TLS:
		profile.TLS = &envconfig.ClientConfigTLS{Disabled: true}
	case t.TLS != nil || t.hasTLSSettings() || t.APIKeyFile != "":
		// An API key turns TLS on, as envconfig does for TEMPORAL_API_KEY.
		profile.TLS = &tls
	}
	opts, err := profile.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return client.Options{}, fmt.Errorf("TEMPORAL_TLS_*: %w", err)
	}
	if t.APIKeyFile != "" {
		// Read once here, for one-shot tools; the processes watch the file.
		b, err := os.ReadFile(t.APIKeyFile)
		if err != nil {
			return client.Options{}, fmt.Errorf("TEMPORAL_API_KEY_FILE: %w", err)
		}
		key, err := secrets.Single(b)
		if err != nil {
			return client.Options{}, fmt.Errorf("TEMPORAL_API_KEY_FILE %s: %w", t.APIKeyFile, err)
		}
		opts.Credentials = client.NewAPIKeyStaticCredentials(key)
	}
	return opts, nil
}

func (t Temporal) hasTLSSettings() bool {
	return t.TLSClientCertPath != "" || t.TLSClientCertData != "" || t.TLSClientKeyPath != "" ||
		t.TLSClientKeyData != "" || t.TLSServerCACertPath != "" || t.TLSServerCACertData != "" ||
		t.TLSServerName != "" || t.TLSDisableHostVerification
}

// Receiver is the configuration of the receiver process.
type Receiver struct {
	Temporal
	LogLevel string `env:"LOG_LEVEL" envDefault:"info"`
	// MetricsAddr serves Prometheus metrics; empty turns them off.
	MetricsAddr string `env:"RECEIVER_METRICS_ADDR" envDefault:":9090"`
	// Projects are the OpenAI projects served, each with its webhook
	// signing secrets (see Project).
	Projects     []Project
	Addr         string        `env:"RECEIVER_ADDR" envDefault:":8000"`
	Path         string        `env:"RECEIVER_PATH" envDefault:"/webhook"`
	Tolerance    time.Duration `env:"RECEIVER_TOLERANCE" envDefault:"5m"`
	MaxBodyBytes int64         `env:"RECEIVER_MAX_BODY_BYTES" envDefault:"1048576"`
	// StartTimeout bounds the Temporal start call; it must stay well inside
	// OpenAI's few-second acknowledgement window.
	StartTimeout time.Duration `env:"RECEIVER_START_TIMEOUT" envDefault:"2s"`
	// MaxInFlight bounds concurrent Temporal starts: past it, deliveries
	// wait for a slot until StartTimeout, then get 503.
	MaxInFlight int `env:"RECEIVER_MAX_IN_FLIGHT" envDefault:"128"`
	// MaxBodyMemory bounds the bytes of the bodies held at once; past it,
	// deliveries get 503.
	MaxBodyMemory int64 `env:"RECEIVER_MAX_BODY_MEMORY" envDefault:"67108864"`
	// MaxConnections bounds the open connections; past it, a connection
	// gets 503 and is closed.
	MaxConnections  int           `env:"RECEIVER_MAX_CONNECTIONS" envDefault:"4096"`
	ShutdownTimeout time.Duration `env:"RECEIVER_SHUTDOWN_TIMEOUT" envDefault:"10s"`
}

// Worker is the configuration of the worker process.
type Worker struct {
	Temporal
	LogLevel string `env:"LOG_LEVEL" envDefault:"info"`
	// MetricsAddr serves Prometheus metrics; empty turns them off.
	MetricsAddr string `env:"WORKER_METRICS_ADDR" envDefault:":9091"`
	// Projects are the OpenAI projects served, each with its API access
	// (see Project).
	Projects []Project
	// BlobURL is the gocloud.dev/blob bucket URL that batch files stream to.
	BlobURL string `env:"BLOB_URL" envDefault:"file://./.hookbridge/blobs?create_dir=true"`
	// ShutdownTimeout is how long a stopping worker lets running activities finish.
	ShutdownTimeout time.Duration `env:"WORKER_SHUTDOWN_TIMEOUT" envDefault:"30s"`
	// Routes start user workflows for matching events.
	Routes Routes `env:"HOOKBRIDGE_ROUTES"`
	// CallAnswer is how incoming realtime calls are answered, as JSON:
	// {"accept":{session config}} or {"reject":{"status_code":486}};
	// LiveCallAnswer the same for Live sessions, whose session
	// configuration differs. Unset: such calls are rejected (603), and the
	// worker says so at start.
	CallAnswer     CallDecision `env:"HOOKBRIDGE_CALL_ANSWER"`
	LiveCallAnswer CallDecision `env:"HOOKBRIDGE_LIVE_CALL_ANSWER"`
	// CallDecider is a workflow of yours, WorkflowType[@task-queue], that
	// decides on each call; CallAnswer is the fallback when it has not
	// decided within CallDeciderTimeout.
	CallDecider        Decider       `env:"HOOKBRIDGE_CALL_DECIDER"`
	CallDeciderTimeout time.Duration `env:"HOOKBRIDGE_CALL_DECIDER_TIMEOUT" envDefault:"1s"`
	// CallDeadline is how long after its event a call can still be
	// answered; past it, a call is not answered (outcome expired).
	CallDeadline time.Duration `env:"HOOKBRIDGE_CALL_DEADLINE" envDefault:"5s"`
	// DeploymentName and BuildID, both set, opt the worker into Worker
	// Versioning as that build of that worker deployment; both unset, it
	// runs unversioned. The names are the ones Temporal's Worker Controller
	// sets in the pods it runs.
	DeploymentName string `env:"TEMPORAL_DEPLOYMENT_NAME"`
	BuildID        string `env:"TEMPORAL_WORKER_BUILD_ID"`
	// Queues says which task queues the worker polls, one of
	// hookbridge.WorkerQueueValues: both, or one, so that incoming calls
	// can have processes of their own.
	Queues hookbridge.WorkerQueues `env:"HOOKBRIDGE_WORKER_QUEUES" envDefault:"all"`
}

// Deployment is the worker deployment version the worker runs as: zero
// when Worker Versioning is off.
func (c Worker) Deployment() worker.WorkerDeploymentVersion {
	return worker.WorkerDeploymentVersion{DeploymentName: c.DeploymentName, BuildID: c.BuildID}
}

// CallDecision is a call decision as JSON, for caarlos0/env.
type CallDecision hookbridge.CallDecision

// UnmarshalText parses and checks the JSON.
func (d *CallDecision) UnmarshalText(text []byte) error {
	var decision hookbridge.CallDecision
	if err := json.Unmarshal(text, &decision); err != nil {
		return fmt.Errorf(`want {"accept":{...session configuration...}} or {"reject":{"status_code":486}}: %w`, err)
	}
	if err := decision.Validate(); err != nil {
		return err
	}
	*d = CallDecision(decision)
	return nil
}

// Decider is a decider workflow written as WorkflowType[@task-queue].
type Decider struct {
	WorkflowType, TaskQueue string
}

// UnmarshalText parses WorkflowType[@task-queue].
func (d *Decider) UnmarshalText(text []byte) error {
	workflowType, taskQueue, hasQueue := strings.Cut(strings.TrimSpace(string(text)), "@")
	if workflowType == "" || (hasQueue && taskQueue == "") || strings.ContainsAny(workflowType, " ,=") {
		return fmt.Errorf("%q: want WorkflowType[@task-queue]", text)
	}
	*d = Decider{WorkflowType: workflowType, TaskQueue: taskQueue}
	return nil
}

// ParseTemporal reads and checks the Temporal connection settings alone, for
// tools such as `hookbridge setup`.
func ParseTemporal(environ map[string]string) (Temporal, error) {
	cfg, err := parse[Temporal](environ)
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.validate()
}

// ParseReceiver reads and checks the receiver's environment.
func ParseReceiver(environ map[string]string) (Receiver, error) {
	cfg, err := parse[Receiver](environ)
	if err != nil {
		return cfg, err
	}
	if cfg.Projects, err = ParseProjects(environ); err != nil {
		return cfg, err
	}
	return cfg, cfg.validate()
}

// ParseWorker reads and checks the worker's environment.
func ParseWorker(environ map[string]string) (Worker, error) {
	cfg, err := parse[Worker](environ)
	if err != nil {
		return cfg, err
	}
	if cfg.Projects, err = ParseProjects(environ); err != nil {
		return cfg, err
	}
	return cfg, cfg.validate()
}

// parse reads environ, or the process environment when environ is nil.
// caarlos0/env names the struct field of a malformed value; the error names
// the variable instead, which is what the user has to fix.
func parse[T any](environ map[string]string) (T, error) {
	cfg, err := env.ParseAsWithOptions[T](env.Options{Environment: environ})
	var all env.AggregateError
	if !errors.As(err, &all) {
		return cfg, err
	}
	names := map[string]string{}
	variableNames(reflect.TypeFor[T](), names)
	errs := make([]error, 0, len(all.Errors))
	for _, e := range all.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) && names[pe.Name] != "" {
			e = fmt.Errorf("%s: %w", names[pe.Name], pe.Err)
		}
		errs = append(errs, e)
	}
	return cfg, errors.Join(errs...)
}

// variableNames maps the fields of t, embedded structs included, to their
// environment variables.
func variableNames(t reflect.Type, names map[string]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			variableNames(f.Type, names)
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name != "" {
			names[f.Name] = name
		}
	}
}

func (c Temporal) validate() error {
	var errs []error
	if c.Address == "" {
		errs = append(errs, errors.New("TEMPORAL_ADDRESS must not be empty"))
	}
	if c.Namespace == "" {
		errs = append(errs, errors.New("TEMPORAL_NAMESPACE must not be empty"))
	}
	if c.TaskQueue == "" {
		errs = append(errs, errors.New("TEMPORAL_TASK_QUEUE must not be empty"))
	}
	if c.APIKey != "" && c.APIKeyFile != "" {
		errs = append(errs, errors.New("TEMPORAL_API_KEY and TEMPORAL_API_KEY_FILE are both set: give one"))
	}
	// The SDK and Temporal's envconfig send a key in plain text when TLS is
	// off; a key read by anyone on the path is a key given away.
	if (c.APIKey != "" || c.APIKeyFile != "") && c.TLS != nil && !*c.TLS && !c.AllowAPIKeyWithoutTLS {
		errs = append(errs, errors.New("TEMPORAL_TLS=false with an API key (TEMPORAL_API_KEY or TEMPORAL_API_KEY_FILE) would send the key in plain text: "+
			"turn TLS on, or set HOOKBRIDGE_ALLOW_API_KEY_WITHOUT_TLS=true when something else protects the connection"))
	}
	if c.CallTaskQueue == "" {
		errs = append(errs, errors.New("TEMPORAL_CALL_TASK_QUEUE must not be empty"))
	}
	if _, err := c.ClientOptions(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c Receiver) validate() error {
	errs := []error{c.Temporal.validate(), checkWebhookSecrets(c.Projects)}
	if !strings.HasPrefix(c.Path, "/") {
		errs = append(errs, fmt.Errorf("RECEIVER_PATH must start with /, got %q", c.Path))
	}
	if c.Tolerance <= 0 {
		errs = append(errs, errors.New("RECEIVER_TOLERANCE must be positive"))
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("RECEIVER_MAX_BODY_BYTES must be positive"))
	}
	if c.StartTimeout <= 0 {
		errs = append(errs, errors.New("RECEIVER_START_TIMEOUT must be positive"))
	}
	if c.MaxInFlight <= 0 {
		errs = append(errs, errors.New("RECEIVER_MAX_IN_FLIGHT must be positive"))
	}
	if c.MaxBodyMemory < c.MaxBodyBytes {
		errs = append(errs, fmt.Errorf("RECEIVER_MAX_BODY_MEMORY (%d) must be at least RECEIVER_MAX_BODY_BYTES (%d), or a body at the limit never fits", c.MaxBodyMemory, c.MaxBodyBytes))
	}
	if c.MaxConnections <= 0 {
		errs = append(errs, errors.New("RECEIVER_MAX_CONNECTIONS must be positive"))
	}
	return errors.Join(errs...)
}

func (c Worker) validate() error {
	errs := []error{c.Temporal.validate(), checkAPIAccess(c.Projects)}
	if c.BlobURL == "" {
		errs = append(errs, errors.New("BLOB_URL must not be empty"))
	}
	if c.CallDeciderTimeout <= 0 {
		errs = append(errs, errors.New("HOOKBRIDGE_CALL_DECIDER_TIMEOUT must be positive"))
	}
	if c.CallDeadline <= 0 {
		errs = append(errs, errors.New("HOOKBRIDGE_CALL_DEADLINE must be positive"))
	}
	// One without the other is a half-made deployment: unversioned, the
	// worker would take tasks meant for versioned builds and the reverse.
	if (c.DeploymentName == "") != (c.BuildID == "") {
		errs = append(errs, errors.New("TEMPORAL_DEPLOYMENT_NAME and TEMPORAL_WORKER_BUILD_ID turn Worker Versioning on together: set both, or neither to run unversioned"))
	}
	if queues := hookbridge.WorkerQueueValues(); !slices.Contains(queues, c.Queues) {
		errs = append(errs, fmt.Errorf("HOOKBRIDGE_WORKER_QUEUES=%q: want one of %v (both task queues, the event workflows' alone, the incoming calls' alone)",
			c.Queues, queues))
	}
	return errors.Join(errs...)
}
