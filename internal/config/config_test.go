package config_test

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/config"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	sdkworker "go.temporal.io/sdk/worker"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestReceiverDefaults(t *testing.T) {
	cfg, err := config.ParseReceiver(map[string]string{"OPENAI_WEBHOOK_SECRET": secret})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":8000" || cfg.Path != "/webhook" || cfg.Tolerance != 5*time.Minute || cfg.MaxBodyBytes != 1<<20 ||
		cfg.StartTimeout > 3*time.Second || cfg.Address != "localhost:7233" || cfg.Namespace != "default" || cfg.TaskQueue != "openai-webhooks" ||
		cfg.MaxConnections != 4096 || cfg.MaxBodyMemory != 64<<20 {
		t.Errorf("defaults = %+v", cfg)
	}
}

func TestReceiverSecretsAreCommaSeparated(t *testing.T) {
	other := "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXkgMTIzNA=="
	cfg, err := config.ParseReceiver(map[string]string{"OPENAI_WEBHOOK_SECRET": secret + ", " + other})
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.WebhookSecrets(cfg.Projects[0].WebhookSecret.Value, ",")
	if err != nil || len(got) != 2 || got[0] != secret || got[1] != other {
		t.Errorf("WebhookSecrets = %q, %v", got, err)
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name    string
		parse   func(map[string]string) error
		environ map[string]string
		want    string
	}{
		{"receiver without secret", receiver, map[string]string{}, "OPENAI_WEBHOOK_SECRET"},
		{"short whsec secret", receiver, map[string]string{"OPENAI_WEBHOOK_SECRET": "whsec_c2hvcnQ="}, "OPENAI_WEBHOOK_SECRET"},
		{"whsec secret not base64", receiver, map[string]string{"OPENAI_WEBHOOK_SECRET": "whsec_***"}, "OPENAI_WEBHOOK_SECRET"},
		{"second secret malformed", receiver, map[string]string{"OPENAI_WEBHOOK_SECRET": secret + ",whsec_x"}, "OPENAI_WEBHOOK_SECRET: secret 2"},
		{"tolerance not a duration", receiver, map[string]string{"OPENAI_WEBHOOK_SECRET": secret, "RECEIVER_TOLERANCE": "five"}, "RECEIVER_TOLERANCE"},
		{"path without slash", receiver, map[string]string{"OPENAI_WEBHOOK_SECRET": secret, "RECEIVER_PATH": "hook"}, "RECEIVER_PATH"},
		{"no connections", receiver, map[string]string{"OPENAI_WEBHOOK_SECRET": secret, "RECEIVER_MAX_CONNECTIONS": "0"}, "RECEIVER_MAX_CONNECTIONS"},
		{"connections not a number", receiver, map[string]string{"OPENAI_WEBHOOK_SECRET": secret, "RECEIVER_MAX_CONNECTIONS": "many"}, "RECEIVER_MAX_CONNECTIONS"},
		{"body memory under the body limit", receiver, map[string]string{"OPENAI_WEBHOOK_SECRET": secret, "RECEIVER_MAX_BODY_MEMORY": "1000"}, "RECEIVER_MAX_BODY_MEMORY"},
		{"worker without API key", worker, map[string]string{}, "OPENAI_API_KEY"},
		{"malformed route", worker, map[string]string{"OPENAI_API_KEY": "sk", "HOOKBRIDGE_ROUTES": "response.completed"}, "HOOKBRIDGE_ROUTES"},
		{"worker with relative base URL", worker, map[string]string{"OPENAI_API_KEY": "sk", "OPENAI_BASE_URL": "localhost/v1"}, "OPENAI_BASE_URL"},
		{"TLS file missing", worker, map[string]string{"OPENAI_API_KEY": "sk", "TEMPORAL_TLS_CLIENT_CERT_PATH": "/nonexistent.pem", "TEMPORAL_TLS_CLIENT_KEY_PATH": "/nonexistent.key"}, "TEMPORAL_TLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse(tt.environ)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one naming %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "MfKQ9r8G") {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

func receiver(environ map[string]string) error {
	_, err := config.ParseReceiver(environ)
	return err
}

func worker(environ map[string]string) error {
	_, err := config.ParseWorker(environ)
	return err
}

func TestTemporalCloudSettingsEnableTLS(t *testing.T) {
	cfg, err := config.ParseWorker(map[string]string{
		"OPENAI_API_KEY":     "sk",
		"TEMPORAL_ADDRESS":   "my-ns.a1b2c.tmprl.cloud:7233",
		"TEMPORAL_NAMESPACE": "my-ns.a1b2c",
		"TEMPORAL_API_KEY":   "key",
	})
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cfg.ClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != "my-ns.a1b2c.tmprl.cloud:7233" || opts.Namespace != "my-ns.a1b2c" || opts.Credentials == nil || opts.ConnectionOptions.TLS == nil {
		t.Errorf("client options = %+v", opts)
	}
}

// An API key never goes in plain text unless that is said explicitly:
// TEMPORAL_TLS=false with a key stops the process at start, naming both
// variables and the one that allows it.
func TestAPIKeyWithoutTLSIsRefused(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "temporal-key")
	if err := os.WriteFile(keyFile, []byte("key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, key := range []map[string]string{{"TEMPORAL_API_KEY": "key"}, {"TEMPORAL_API_KEY_FILE": keyFile}} {
		environ := map[string]string{"OPENAI_API_KEY": "sk", "OPENAI_WEBHOOK_SECRET": secret, "TEMPORAL_TLS": "false"}
		maps.Copy(environ, key)
		for name, parse := range map[string]func(map[string]string) error{"receiver": receiver, "worker": worker, "setup": temporal} {
			err := parse(environ)
			if err == nil || !strings.Contains(err.Error(), "TEMPORAL_TLS=false") || !strings.Contains(err.Error(), "HOOKBRIDGE_ALLOW_API_KEY_WITHOUT_TLS") {
				t.Errorf("%s with %v and TEMPORAL_TLS=false: error %v, want one naming TEMPORAL_TLS and HOOKBRIDGE_ALLOW_API_KEY_WITHOUT_TLS", name, key, err)
			}
		}

		environ["HOOKBRIDGE_ALLOW_API_KEY_WITHOUT_TLS"] = "true"
		cfg, err := config.ParseWorker(environ)
		if err != nil {
			t.Fatalf("with HOOKBRIDGE_ALLOW_API_KEY_WITHOUT_TLS=true: %v", err)
		}
		opts, err := cfg.ClientOptions()
		if err != nil || !opts.ConnectionOptions.TLSDisabled || opts.Credentials == nil {
			t.Errorf("allowed: TLSDisabled = %v, credentials %v, %v; want the key sent without TLS", opts.ConnectionOptions.TLSDisabled, opts.Credentials, err)
		}
	}
	// Without a key, TLS may be off: nothing secret goes in the clear.
	if _, err := config.ParseWorker(map[string]string{"OPENAI_API_KEY": "sk", "TEMPORAL_TLS": "false"}); err != nil {
		t.Errorf("TEMPORAL_TLS=false without an API key: %v", err)
	}
}

func temporal(environ map[string]string) error {
	_, err := config.ParseTemporal(environ)
	return err
}

func TestWorkerRoutes(t *testing.T) {
	cfg, err := config.ParseWorker(map[string]string{"OPENAI_API_KEY": "sk", "HOOKBRIDGE_ROUTES": "response.completed=HandleResponse@billing, batch.*=HandleBatch"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Routes) != 2 || cfg.Routes[0].TaskQueue != "billing" || cfg.Routes[1].Match != "batch.*" {
		t.Errorf("routes = %+v", cfg.Routes)
	}
}

func TestProjects(t *testing.T) {
	cfg, err := config.ParseReceiver(map[string]string{
		"OPENAI_WEBHOOK_SECRET":                                secret,
		"HOOKBRIDGE_PROJECTS":                                  "staging, team-a",
		"HOOKBRIDGE_PROJECT_STAGING_OPENAI_WEBHOOK_SECRET":     secret,
		"HOOKBRIDGE_PROJECT_TEAM_A_OPENAI_WEBHOOK_SECRET_FILE": "/run/secrets/team-a",
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range cfg.Projects {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != ",staging,team-a" {
		t.Fatalf("projects %q, want the default, staging and team-a", names)
	}
	if s := cfg.Projects[2].WebhookSecret; s.File != "/run/secrets/team-a" || s.Value != "" || s.Variable != "HOOKBRIDGE_PROJECT_TEAM_A_OPENAI_WEBHOOK_SECRET" {
		t.Errorf("team-a secret = %+v", s)
	}

	// Only named projects: no default one.
	worker, err := config.ParseWorker(map[string]string{
		"HOOKBRIDGE_PROJECTS":                       "staging",
		"HOOKBRIDGE_PROJECT_STAGING_OPENAI_API_KEY": "sk-staging",
		"HOOKBRIDGE_PROJECT_STAGING_OPENAI_PROJECT": "proj_123",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(worker.Projects) != 1 || worker.Projects[0].Name != "staging" || worker.Projects[0].APIKey.Value != "sk-staging" || worker.Projects[0].ID != "proj_123" {
		t.Errorf("projects = %+v", worker.Projects)
	}
}

func TestProjectErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name    string
		parse   func(map[string]string) error
		environ map[string]string
		want    string
	}{
		{"bad project name", receiver, map[string]string{"OPENAI_WEBHOOK_SECRET": secret, "HOOKBRIDGE_PROJECTS": "Staging"}, "HOOKBRIDGE_PROJECTS"},
		{"project called default", receiver, map[string]string{"OPENAI_WEBHOOK_SECRET": secret, "HOOKBRIDGE_PROJECTS": "default"}, "HOOKBRIDGE_PROJECTS"},
		{"project without secret", receiver, map[string]string{"OPENAI_WEBHOOK_SECRET": secret, "HOOKBRIDGE_PROJECTS": "staging"}, "HOOKBRIDGE_PROJECT_STAGING_OPENAI_WEBHOOK_SECRET"},
		{"value and file", receiver, map[string]string{"OPENAI_WEBHOOK_SECRET": secret, "OPENAI_WEBHOOK_SECRET_FILE": "/x"}, "OPENAI_WEBHOOK_SECRET_FILE"},
		{"project without API access", worker, map[string]string{"OPENAI_API_KEY": "sk", "HOOKBRIDGE_PROJECTS": "team-a"}, "HOOKBRIDGE_PROJECT_TEAM_A_OPENAI_API_KEY"},
		{"Temporal key file missing", worker, map[string]string{"OPENAI_API_KEY": "sk", "TEMPORAL_API_KEY_FILE": "/nonexistent/key"}, "TEMPORAL_API_KEY_FILE"},
		{"Temporal key twice", worker, map[string]string{"OPENAI_API_KEY": "sk", "TEMPORAL_API_KEY": "k", "TEMPORAL_API_KEY_FILE": "/nonexistent/key"}, "TEMPORAL_API_KEY_FILE are both set"},
		{"project base URL relative", worker, map[string]string{"HOOKBRIDGE_PROJECTS": "a", "HOOKBRIDGE_PROJECT_A_OPENAI_BASE_URL": "sim/v1"}, "HOOKBRIDGE_PROJECT_A_OPENAI_BASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.parse(tt.environ); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

// A project's client carries its own settings only: openai-go would take
// OPENAI_BASE_URL, OPENAI_ORG_ID and OPENAI_PROJECT_ID from the
// environment for every project.
func TestProjectClientsDoNotInheritTheEnvironment(t *testing.T) {
	var mu sync.Mutex
	var headers []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		headers = append(headers, r.Header.Clone())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"resp_1","object":"response"}`))
	}))
	t.Cleanup(srv.Close)
	t.Setenv("OPENAI_BASE_URL", srv.URL+"/v1")
	t.Setenv("OPENAI_ORG_ID", "org_leaked")
	t.Setenv("OPENAI_PROJECT_ID", "proj_leaked")

	mine := config.Project{Name: "team-a", BaseURL: srv.URL + "/v1", Organization: "org_team_a"}
	c := openai.NewClient(mine.OpenAIOptions("sk-team-a")...)
	if _, err := c.Responses.Get(context.Background(), "resp_1", responses.ResponseGetParams{}); err != nil {
		t.Fatal(err)
	}
	// No base URL of its own: OpenAI's, not the environment's.
	other := openai.NewClient(config.Project{Name: "team-b"}.OpenAIOptions("sk-team-b")...)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, _ = other.Responses.Get(ctx, "resp_1", responses.ResponseGetParams{})

	mu.Lock()
	defer mu.Unlock()
	if len(headers) != 1 {
		t.Fatalf("the test server got %d requests, want team-a's alone", len(headers))
	}
	h := headers[0]
	if h.Get("OpenAI-Organization") != "org_team_a" || h.Get("OpenAI-Project") != "" || h.Get("Authorization") != "Bearer sk-team-a" {
		t.Errorf("headers: organization %q, project %q, authorization %q", h.Get("OpenAI-Organization"), h.Get("OpenAI-Project"), h.Get("Authorization"))
	}
}

func TestWorkerDeploymentBothOrNeither(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    sdkworker.WorkerDeploymentVersion
		wantErr bool
	}{
		{name: "neither: unversioned", env: map[string]string{}},
		{name: "both", env: map[string]string{"TEMPORAL_DEPLOYMENT_NAME": "hookbridge", "TEMPORAL_WORKER_BUILD_ID": "v0.4.0"},
			want: sdkworker.WorkerDeploymentVersion{DeploymentName: "hookbridge", BuildID: "v0.4.0"}},
		{name: "name only", env: map[string]string{"TEMPORAL_DEPLOYMENT_NAME": "hookbridge"}, wantErr: true},
		{name: "build id only", env: map[string]string{"TEMPORAL_WORKER_BUILD_ID": "v0.4.0"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["OPENAI_API_KEY"] = "sk"
			cfg, err := config.ParseWorker(tc.env)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "TEMPORAL_DEPLOYMENT_NAME and TEMPORAL_WORKER_BUILD_ID") {
					t.Errorf("err = %v, want one naming both variables", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Deployment(); got != tc.want {
				t.Errorf("Deployment() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestWorkerQueues(t *testing.T) {
	for _, tc := range []struct {
		value   string
		want    hookbridge.WorkerQueues
		wantErr bool
	}{
		{value: "", want: "all"}, // unset or empty: the default
		{value: "all", want: "all"},
		{value: "events", want: "events"},
		{value: "calls", want: "calls"},
		{value: "both", wantErr: true},
		{value: "Calls", wantErr: true},
		{value: "events,calls", wantErr: true},
	} {
		t.Run(tc.value, func(t *testing.T) {
			cfg, err := config.ParseWorker(map[string]string{"OPENAI_API_KEY": "sk", "HOOKBRIDGE_WORKER_QUEUES": tc.value})
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "HOOKBRIDGE_WORKER_QUEUES") || !strings.Contains(err.Error(), "[all events calls]") {
					t.Errorf("err = %v, want one naming the variable and its values", err)
				}
				return
			}
			if err != nil || cfg.Queues != tc.want {
				t.Errorf("Queues = %q, %v; want %q", cfg.Queues, err, tc.want)
			}
		})
	}
}
