package deploy

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"

	"github.com/hookbridge/hookbridge/internal/cli"
	"github.com/hookbridge/hookbridge/internal/cluster"
)

// composeEnv is the environment a user must supply to docker compose.
func composeEnv() map[string]string {
	return map[string]string{
		"OPENAI_API_KEY":        "sk-test",
		"OPENAI_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	}
}

// loadCompose parses docker-compose.yml as docker compose would, with env as
// the only environment (never the test process's own) and profiles active.
// It only parses: no Docker engine or network is involved.
func loadCompose(t *testing.T, env map[string]string, profiles ...string) (*types.Project, error) {
	t.Helper()
	wd, err := filepath.Abs("..") // the repository's root, where docker compose runs
	if err != nil {
		t.Fatal(err)
	}
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  wd,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(wd, "docker-compose.yml")}},
		Environment: env,
	}, loader.WithProfiles(profiles))
}

func TestComposeServices(t *testing.T) {
	p, err := loadCompose(t, composeEnv())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}

	for _, name := range []string{"postgresql", "temporal-admin-tools", "temporal", "temporal-create-namespace", "temporal-ui", "setup", "worker", "receiver"} {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("service %q missing; have %v", name, p.ServiceNames())
		}
	}

	for name, s := range p.Services {
		for dep := range s.DependsOn {
			if _, ok := p.Services[dep]; !ok {
				t.Errorf("service %q depends on %q, which does not exist", name, dep)
			}
		}
	}
}

func TestComposePorts(t *testing.T) {
	p, err := loadCompose(t, composeEnv())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}

	tests := []struct {
		service   string
		published string
		target    uint32
	}{
		{"receiver", "8000", 8000},
		{"temporal-ui", "8233", 8080},
		{"temporal", "7233", 7233},
	}
	for _, tt := range tests {
		s, ok := p.Services[tt.service]
		if !ok {
			t.Errorf("service %q missing", tt.service)
			continue
		}
		found := slices.ContainsFunc(s.Ports, func(pc types.ServicePortConfig) bool {
			return pc.Published == tt.published && pc.Target == tt.target
		})
		if !found {
			t.Errorf("%s ports = %+v, want %s:%d published", tt.service, s.Ports, tt.published, tt.target)
		}
	}
}

func TestComposeOurImage(t *testing.T) {
	p, err := loadCompose(t, composeEnv())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	wd, err := filepath.Abs("..") // the repository's root, where docker compose runs
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		service    string
		entrypoint string
	}{
		{"receiver", "/usr/local/bin/receiver"},
		{"worker", "/usr/local/bin/worker"},
		{"setup", "/usr/local/bin/hookbridge"},
	}
	for _, tt := range tests {
		s, ok := p.Services[tt.service]
		if !ok {
			t.Errorf("service %q missing", tt.service)
			continue
		}
		if s.Build == nil {
			t.Errorf("%s: no build section", tt.service)
			continue
		}
		if got := filepath.Clean(s.Build.Context); got != wd {
			t.Errorf("%s build context = %q, want the repo root %q", tt.service, got, wd)
		}
		if got := s.Build.Dockerfile; got != "Dockerfile" {
			t.Errorf("%s dockerfile = %q, want %q", tt.service, got, "Dockerfile")
		}
		if got, want := s.Image, "hookbridge:local"; got != want {
			t.Errorf("%s image = %q, want %q", tt.service, got, want)
		}
		if got := []string(s.Entrypoint); len(got) == 0 || got[0] != tt.entrypoint {
			t.Errorf("%s entrypoint = %q, want %q", tt.service, got, tt.entrypoint)
		}
	}

	setup := p.Services["setup"]
	if got, want := strings.Join(setup.Command, " "), "setup --retention 168h"; got != want {
		t.Errorf("setup command = %q, want %q", got, want)
	}
	for _, name := range []string{"worker", "receiver"} {
		dep, ok := p.Services[name].DependsOn["setup"]
		if got, want := dep.Condition, types.ServiceConditionCompletedSuccessfully; !ok || got != want {
			t.Errorf("%s depends_on setup condition = %q, want %q", name, got, want)
		}
	}
}

func TestComposeEnvironment(t *testing.T) {
	env := composeEnv()
	p, err := loadCompose(t, env)
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}

	tests := []struct {
		service string
		name    string
		want    string
	}{
		{"receiver", "OPENAI_WEBHOOK_SECRET", env["OPENAI_WEBHOOK_SECRET"]},
		{"receiver", "RECEIVER_ADDR", ":8000"},
		{"receiver", "TEMPORAL_ADDRESS", "temporal:7233"},
		{"receiver", "TEMPORAL_NAMESPACE", "default"},
		{"receiver", "TEMPORAL_TASK_QUEUE", "openai-webhooks"},
		{"worker", "OPENAI_API_KEY", env["OPENAI_API_KEY"]},
		{"worker", "OPENAI_BASE_URL", ""},
		{"worker", "TEMPORAL_ADDRESS", "temporal:7233"},
		{"worker", "TEMPORAL_NAMESPACE", "default"},
		{"worker", "TEMPORAL_TASK_QUEUE", "openai-webhooks"},
		{"setup", "TEMPORAL_ADDRESS", "temporal:7233"},
		{"temporal-ui", "TEMPORAL_ADDRESS", "temporal:7233"},
	}
	for _, tt := range tests {
		v, ok := p.Services[tt.service].Environment[tt.name]
		if !ok || v == nil {
			t.Errorf("%s: %s not set", tt.service, tt.name)
			continue
		}
		if got := *v; got != tt.want {
			t.Errorf("%s: %s = %q, want %q", tt.service, tt.name, got, tt.want)
		}
	}
}

// TestComposeRequiresSecrets checks the ${VAR:?} guards: compose refuses to
// start without the variables rather than running with empty secrets.
func TestComposeRequiresSecrets(t *testing.T) {
	for _, missing := range []string{"OPENAI_WEBHOOK_SECRET", "OPENAI_API_KEY"} {
		t.Run(missing, func(t *testing.T) {
			env := composeEnv()
			delete(env, missing)
			_, err := loadCompose(t, env)
			if err == nil {
				t.Fatalf("load without %s: no error", missing)
			}
			var req *template.MissingRequiredError
			if !errors.As(err, &req) {
				t.Fatalf("load without %s: error %v, want a missing-required-variable error", missing, err)
			}
			if !strings.Contains(err.Error(), missing) {
				t.Errorf("error %q does not name %s", err, missing)
			}
		})
	}
}

// TestDockerfileBuildsAllBinaries catches drift between the Dockerfile and
// the binaries docker-compose.yml runs.
func TestDockerfileBuildsAllBinaries(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var build string
	for line := range strings.Lines(string(b)) {
		if strings.Contains(line, "go build") {
			build = line
			break
		}
	}
	if build == "" {
		t.Fatal("Dockerfile has no go build line")
	}
	fields := strings.Fields(build)
	for _, pkg := range []string{"./cmd/receiver", "./cmd/worker", "./cmd/hookbridge"} {
		if !slices.Contains(fields, pkg) {
			t.Errorf("go build line %q does not build %s", strings.TrimSpace(build), pkg)
		}
	}
	for _, want := range []string{"EXPOSE 8000 9090", "FROM gcr.io/distroless/static-debian12:nonroot"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// The stack for Docker users runs what the cluster suite tests, set up the
// way Temporal's own compose files do: the server and admin-tools images of
// the current release (cluster.ServerVersion, from
// internal/cluster/versions.mk), PostgreSQL 16, the schemas made by
// admin-tools before the server starts, the namespace once it answers, and
// no dynamic-config override.
func TestComposeRunsTheTestedTemporal(t *testing.T) {
	p, err := loadCompose(t, composeEnv())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	release := strings.TrimPrefix(cluster.ServerVersion(), "v")
	for name, want := range map[string]string{
		"temporal":                  "temporalio/server:" + release,
		"temporal-admin-tools":      "temporalio/admin-tools:" + release,
		"temporal-create-namespace": "temporalio/admin-tools:" + release,
		"postgresql":                "postgres:16",
	} {
		if got := p.Services[name].Image; got != want {
			t.Errorf("%s image = %q, want %q", name, got, want)
		}
	}
	temporal := p.Services["temporal"]
	for name, want := range map[string]string{"DB": "postgres12", "POSTGRES_SEEDS": "postgresql", "BIND_ON_IP": "0.0.0.0"} {
		if got := temporal.Environment[name]; got == nil || *got != want {
			t.Errorf("temporal %s = %v, want %s", name, got, want)
		}
	}

	// The server needs a dynamic config file; this one sets nothing.
	path := temporal.Environment["DYNAMIC_CONFIG_FILE_PATH"]
	if path == nil {
		t.Fatal("temporal: DYNAMIC_CONFIG_FILE_PATH not set")
	}
	i := slices.IndexFunc(temporal.Configs, func(c types.ServiceConfigObjConfig) bool { return c.Target == *path })
	if i < 0 {
		t.Fatalf("temporal: no config mounted at DYNAMIC_CONFIG_FILE_PATH %s; configs %+v", *path, temporal.Configs)
	}
	var overrides map[string]any
	if err := yaml.Unmarshal([]byte(p.Configs[temporal.Configs[i].Source].Content), &overrides); err != nil || len(overrides) != 0 {
		t.Errorf("dynamic config %s = %v (%v), want no override", temporal.Configs[i].Source, overrides, err)
	}

	// Both databases get the release's schema, and each step waits for
	// the one before it.
	schema := strings.Join(p.Services["temporal-admin-tools"].Command, " ")
	for _, want := range []string{"temporal-sql-tool --plugin postgres12", "create", "setup-schema -v 0.0",
		"update-schema -d /etc/temporal/schema/postgresql/v12/$db/versioned", "for db in temporal visibility"} {
		if !strings.Contains(schema, want) {
			t.Errorf("temporal-admin-tools command %q lacks %q", schema, want)
		}
	}
	for _, dep := range []struct{ service, on, condition string }{
		{"temporal-admin-tools", "postgresql", types.ServiceConditionHealthy},
		{"temporal", "temporal-admin-tools", types.ServiceConditionCompletedSuccessfully},
		{"temporal-create-namespace", "temporal", types.ServiceConditionHealthy},
		{"setup", "temporal-create-namespace", types.ServiceConditionCompletedSuccessfully},
	} {
		if got := p.Services[dep.service].DependsOn[dep.on].Condition; got != dep.condition {
			t.Errorf("%s depends on %s with condition %q, want %q", dep.service, dep.on, got, dep.condition)
		}
	}
	if ns := strings.Join(p.Services["temporal-create-namespace"].Command, " "); !strings.Contains(ns, "temporal operator namespace create --namespace default") {
		t.Errorf("temporal-create-namespace command %q does not create the default namespace", ns)
	}
}

// The tracing profile: a collector and Jaeger that `docker compose up`
// leaves out, and the endpoint the README gives sends both processes'
// spans to the collector, which exports them to Jaeger.
func TestComposeTracingProfile(t *testing.T) {
	tracingServices := []string{"otel-collector", "jaeger"}
	p, err := loadCompose(t, composeEnv())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	for _, name := range tracingServices {
		if _, ok := p.Services[name]; ok {
			t.Errorf("docker compose up starts %s", name)
		}
		if s, ok := p.DisabledServices[name]; !ok || !slices.Equal(s.Profiles, []string{"tracing"}) {
			t.Errorf("%s: profiles %v, want only tracing", name, s.Profiles)
		}
	}
	for _, name := range []string{"receiver", "worker"} {
		if v := p.Services[name].Environment["OTEL_EXPORTER_OTLP_ENDPOINT"]; v == nil || *v != "" {
			t.Errorf("%s traces by default: OTEL_EXPORTER_OTLP_ENDPOINT = %v", name, v)
		}
	}

	// The endpoint docker-compose.yml (and the README) tell users to set.
	const endpoint = "http://otel-collector:4318"
	if b, err := os.ReadFile("../docker-compose.yml"); err != nil || !strings.Contains(string(b), "OTEL_EXPORTER_OTLP_ENDPOINT="+endpoint+" docker compose --profile tracing up") {
		t.Errorf("docker-compose.yml does not say to run with OTEL_EXPORTER_OTLP_ENDPOINT=%s (%v)", endpoint, err)
	}
	env := composeEnv()
	env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
	p, err = loadCompose(t, env, "tracing")
	if err != nil {
		t.Fatalf("load docker-compose.yml with the tracing profile: %v", err)
	}
	for _, name := range tracingServices {
		if _, ok := p.Services[name]; !ok {
			t.Fatalf("the tracing profile lacks %s; has %v", name, p.ServiceNames())
		}
	}
	for _, name := range []string{"receiver", "worker"} {
		if v := p.Services[name].Environment["OTEL_EXPORTER_OTLP_ENDPOINT"]; v == nil || *v != env["OTEL_EXPORTER_OTLP_ENDPOINT"] {
			t.Errorf("%s: OTEL_EXPORTER_OTLP_ENDPOINT = %v, want %s", name, v, env["OTEL_EXPORTER_OTLP_ENDPOINT"])
		}
	}

	// The collector's configuration: OTLP/HTTP where the endpoint points,
	// exported to Jaeger's OTLP/gRPC receiver.
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	collector, ok := p.Services[u.Hostname()]
	if !ok {
		t.Fatalf("the endpoint's host %s is no service", u.Hostname())
	}
	if len(collector.Configs) != 1 || !slices.Contains(collector.Command, "--config="+collector.Configs[0].Target) {
		t.Fatalf("collector command %v does not read its config %v", collector.Command, collector.Configs)
	}
	var config struct {
		Receivers struct {
			OTLP struct {
				Protocols map[string]struct{ Endpoint string }
			}
		}
		Exporters map[string]struct{ Endpoint string }
		Service   struct {
			Pipelines map[string]struct{ Receivers, Exporters []string }
		}
	}
	if err := yaml.Unmarshal([]byte(p.Configs[collector.Configs[0].Source].Content), &config); err != nil {
		t.Fatalf("collector config: %v", err)
	}
	if got, want := config.Receivers.OTLP.Protocols["http"].Endpoint, "0.0.0.0:"+u.Port(); got != want {
		t.Errorf("collector OTLP/HTTP receiver on %q, want %s (the endpoint's port)", got, want)
	}
	traces := config.Service.Pipelines["traces"]
	if !slices.Equal(traces.Receivers, []string{"otlp"}) || len(traces.Exporters) != 1 {
		t.Fatalf("traces pipeline = %+v", traces)
	}
	if got := config.Exporters[traces.Exporters[0]].Endpoint; got != "jaeger:4317" {
		t.Errorf("collector exports to %q, want jaeger:4317", got)
	}
	jaeger := p.Services["jaeger"]
	if !slices.Contains(jaeger.Command, "--set=receivers.otlp.protocols.grpc.endpoint=0.0.0.0:4317") {
		t.Errorf("jaeger command %v: its OTLP/gRPC receiver does not listen on 0.0.0.0:4317", jaeger.Command)
	}
	if !slices.ContainsFunc(jaeger.Ports, func(pc types.ServicePortConfig) bool { return pc.Published == "16686" && pc.Target == 16686 }) {
		t.Errorf("jaeger ports = %+v, want the UI on 16686", jaeger.Ports)
	}
}

// The receiver and the worker have health checks that probe their own
// /readyz, with the hookbridge CLI (the image has no shell or curl), on the
// port each listens on.
func TestComposeHealthChecks(t *testing.T) {
	p, err := loadCompose(t, composeEnv())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	for _, tt := range []struct{ service, addrVariable string }{
		{"worker", "WORKER_METRICS_ADDR"},
		{"receiver", "RECEIVER_ADDR"},
	} {
		s := p.Services[tt.service]
		if s.HealthCheck == nil || s.HealthCheck.Disable {
			t.Errorf("%s: no health check", tt.service)
			continue
		}
		addr := s.Environment[tt.addrVariable]
		if addr == nil || !strings.HasPrefix(*addr, ":") {
			t.Errorf("%s: %s = %v, want a :port", tt.service, tt.addrVariable, addr)
			continue
		}
		want := []string{"CMD", "/usr/local/bin/hookbridge", "probe", "http://127.0.0.1" + *addr + "/readyz"}
		if got := []string(s.HealthCheck.Test); !slices.Equal(got, want) {
			t.Errorf("%s health check = %q, want %q", tt.service, got, want)
		}
		if s.HealthCheck.Timeout == nil || s.HealthCheck.Interval == nil || *s.HealthCheck.Timeout >= *s.HealthCheck.Interval {
			t.Errorf("%s health check timeout %v, interval %v: want a timeout shorter than the interval", tt.service, s.HealthCheck.Timeout, s.HealthCheck.Interval)
		}
	}
	// The command the checks run exists.
	var stdout, stderr strings.Builder
	if code := cli.Run(context.Background(), []string{"probe", "-h"}, &stdout, &stderr); code != 0 {
		t.Errorf("hookbridge probe -h: exit %d: %s", code, stderr.String())
	}
}
