package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/webhooks"

	"github.com/hookbridge/hookbridge/internal/openaisim"
)

// simulated serves a simulator and points the default project's variables
// at it, its secrets file in a new folder; it returns the simulator and the
// secrets file.
func simulated(t *testing.T, opts openaisim.Options) (*openaisim.Server, string) {
	t.Helper()
	sim := openaisim.New(opts)
	ts := httptest.NewServer(sim)
	t.Cleanup(func() {
		sim.Close()
		ts.Close()
	})
	file := filepath.Join(t.TempDir(), "webhook-secrets")
	for k, v := range map[string]string{
		"OPENAI_BASE_URL": ts.URL + "/v1", "OPENAI_API_KEY": "sk-test", "OPENAI_WEBHOOK_SECRET_FILE": file,
		"OPENAI_WEBHOOK_SECRET": "", "HOOKBRIDGE_PROJECTS": "",
	} {
		t.Setenv(k, v)
	}
	return sim, file
}

// run runs the command and returns its output; it fails the test
// when the exit code is not want.
func run(t *testing.T, want int, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if code := Run(ctx, args, &stdout, &stderr); code != want {
		t.Fatalf("hookbridge %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, stdout.String(), stderr.String())
	}
	return stdout.String() + stderr.String()
}

// endpointID returns the id that `endpoint create` printed.
func endpointID(t *testing.T, out string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "created webhook endpoint ")
	id, _, _ := strings.Cut(rest, ":")
	if !ok || !strings.HasPrefix(id, "whe_") {
		t.Fatalf("no endpoint id in %q", out)
	}
	return id
}

func readLines(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// signatureReceiver records the webhook-signature and body of each delivery.
type signatureReceiver struct {
	url string
	mu  sync.Mutex
	got []http.Header
	bod [][]byte
}

func newSignatureReceiver(t *testing.T) *signatureReceiver {
	rc := &signatureReceiver{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got, rc.bod = append(rc.got, r.Header.Clone()), append(rc.bod, b)
		rc.mu.Unlock()
	}))
	t.Cleanup(ts.Close)
	rc.url = ts.URL + "/webhook"
	return rc
}

// verifiedBy emits an event and reports which of secrets verify its delivery.
func (rc *signatureReceiver) verifiedBy(t *testing.T, sim *openaisim.Server, secrets ...string) []bool {
	t.Helper()
	if _, err := sim.Emit("response.completed", "resp_1"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sim.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	h, body := rc.got[len(rc.got)-1], rc.bod[len(rc.bod)-1]
	rc.mu.Unlock()
	ok := make([]bool, len(secrets))
	for i, s := range secrets {
		v := webhooks.NewWebhookService(option.WithWebhookSecret(s))
		ok[i] = v.VerifySignature(body, h) == nil
	}
	return ok
}

// The secrets file through create, rotate --keep-old, prune and rotate:
// what the receiver trusts always includes what the simulator signs with.
func TestEndpointKeepsTheSecretsFile(t *testing.T) {
	sim, file := simulated(t, openaisim.Options{})
	rc := newSignatureReceiver(t)
	if err := os.WriteFile(file, []byte("# hookbridge's endpoint\n\nwhsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c=\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	id := endpointID(t, run(t, 0, "endpoint", "create", "--url", rc.url, "--events", "response.completed,batch.completed"))
	lines := readLines(t, file)
	if len(lines) != 3 || lines[0] != "# hookbridge's endpoint" || lines[2] != "whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c=" {
		t.Fatalf("after create: %q, want the comment, the new secret, the secret already there", lines)
	}
	first := lines[1]
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets file mode %v, want 0600", fi.Mode())
	}
	if got := rc.verifiedBy(t, sim, first); !got[0] {
		t.Error("the created endpoint's deliveries do not verify with the secret written")
	}

	run(t, 0, "endpoint", "rotate", id, "--keep-old")
	lines = readLines(t, file)
	second := lines[1]
	if len(lines) != 4 || second == first || lines[2] != first {
		t.Fatalf("after rotate --keep-old: %q, want the new secret first, the old one kept", lines)
	}
	if got := rc.verifiedBy(t, sim, second, first); !got[0] || !got[1] {
		t.Errorf("during the overlap, verified by (new, old) = %v, want both", got)
	}

	out := run(t, 0, "endpoint", "prune", id)
	if lines = readLines(t, file); !slices.Equal(lines, []string{second}) || !strings.Contains(out, "both secrets") {
		t.Errorf("after prune: %q (%s), want the newest secret alone, and a note on the overlap", lines, out)
	}
	run(t, 0, "endpoint", "prune", id)

	run(t, 0, "endpoint", "rotate", id)
	lines = readLines(t, file)
	if len(lines) != 1 || lines[0] == second {
		t.Fatalf("after rotate: %q, want the new secret alone", lines)
	}
	if got := rc.verifiedBy(t, sim, lines[0], second); !got[0] || got[1] {
		t.Errorf("after a rotation without --keep-old, verified by (new, old) = %v", got)
	}

	// A file whose newest secret is not the endpoint's: prune refuses.
	if err := os.WriteFile(file, []byte("whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c=\n"+lines[0]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := run(t, 1, "endpoint", "prune", id); !strings.Contains(out, "not the current secret") {
		t.Errorf("prune of a stale file: %s", out)
	}
	run(t, 0, "endpoint", "prune", id, "--force")
	if entries, _ := os.ReadDir(filepath.Dir(file)); len(entries) != 1 {
		t.Errorf("the secrets folder holds %d files, want the secrets file only", len(entries))
	}
}

func TestEndpointWithoutASecretsFilePrintsTheSecret(t *testing.T) {
	simulated(t, openaisim.Options{})
	t.Setenv("OPENAI_WEBHOOK_SECRET_FILE", "")
	out := run(t, 0, "endpoint", "create", "--url", "https://example.com/webhook", "--events", "all")
	if !strings.Contains(out, "\n  whsec_") || !strings.Contains(out, "OPENAI_WEBHOOK_SECRET_FILE or --secret-file") {
		t.Errorf("create without a secrets file printed:\n%s", out)
	}
	if out := run(t, 1, "endpoint", "prune", endpointID(t, out)); !strings.Contains(out, "no secrets file") {
		t.Errorf("prune without a secrets file: %s", out)
	}
}

func TestEndpointCommands(t *testing.T) {
	rc := newSignatureReceiver(t)
	sim, _ := simulated(t, openaisim.Options{})
	id := endpointID(t, run(t, 0, "endpoint", "create", "--url", rc.url, "--events", "all", "--name", "main"))

	if out := run(t, 0, "endpoint", "list"); !strings.Contains(out, id) || !strings.Contains(out, rc.url) {
		t.Errorf("list:\n%s", out)
	}
	if out := run(t, 0, "endpoint", "get", id); !strings.Contains(out, "secret hint:  whsec_****") || !strings.Contains(out, "name:         main") {
		t.Errorf("get:\n%s", out)
	}
	if out := run(t, 0, "endpoint", "update", id, "--events", "batch.failed", "--url", "https://example.com/other"); !strings.Contains(out, "event types:  batch.failed\n") || !strings.Contains(out, "https://example.com/other") {
		t.Errorf("update:\n%s", out)
	}
	run(t, 0, "endpoint", "update", id, "--url", rc.url)
	if out := run(t, 0, "endpoint", "test", id, "video.completed", "--no-wait"); !strings.Contains(out, "OpenAI sent a test video.completed to "+id+", which answered 200") {
		t.Errorf("test:\n%s", out)
	}
	if d := sim.Deliveries(); len(d) != 1 || !d[0].Test || d[0].Type != "video.completed" {
		t.Errorf("deliveries after test: %+v", d)
	}
	if out := run(t, 0, "endpoint", "event-types"); !strings.Contains(out, "response.completed\n") || !strings.Contains(out, "realtime.call.incoming\n") {
		t.Errorf("event-types:\n%s", out)
	}
	run(t, 0, "endpoint", "delete", id)
	if out := run(t, 1, "endpoint", "get", id); !strings.Contains(out, "404") {
		t.Errorf("get after delete: %s", out)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"endpoint"}, 2, "usage: hookbridge endpoint COMMAND"},
		{[]string{"endpoint", "-h"}, 0, "rotate"},
		{[]string{"endpoint", "frob"}, 2, `unknown subcommand "frob"`},
		{[]string{"endpoint", "get"}, 2, "get takes 1 arguments, got 0"},
		{[]string{"endpoint", "create", "--url", "https://example.com/"}, 2, "--url and --events are required"},
		{[]string{"endpoint", "update", id}, 2, "nothing to update"},
		{[]string{"endpoint", "create", "--url", "https://example.com/", "--events", "response.done"}, 1, "not a webhook event type"},
		{[]string{"endpoint", "list", "--project", "staging"}, 1, "--project staging: not in HOOKBRIDGE_PROJECTS"},
	} {
		if out := run(t, c.code, c.args...); !strings.Contains(out, c.want) {
			t.Errorf("hookbridge %s: %s, want %q", strings.Join(c.args, " "), out, c.want)
		}
	}
}

// --project selects the project's key (here from its file) and secrets file;
// the simulator keeps the projects' endpoints apart.
func TestEndpointProjects(t *testing.T) {
	_, defaultFile := simulated(t, openaisim.Options{Projects: map[string]string{"team-a": "sk-team-a"}})
	dir := t.TempDir()
	keyFile, secretsA := filepath.Join(dir, "key"), filepath.Join(dir, "team-a-secrets")
	if err := os.WriteFile(keyFile, []byte("sk-team-a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOOKBRIDGE_PROJECTS", "team-a")
	t.Setenv("HOOKBRIDGE_PROJECT_TEAM_A_OPENAI_API_KEY_FILE", keyFile)
	t.Setenv("HOOKBRIDGE_PROJECT_TEAM_A_OPENAI_BASE_URL", os.Getenv("OPENAI_BASE_URL"))
	t.Setenv("HOOKBRIDGE_PROJECT_TEAM_A_OPENAI_WEBHOOK_SECRET_FILE", secretsA)

	id := endpointID(t, run(t, 0, "endpoint", "create", "--project", "team-a", "--url", "https://example.com/webhook/team-a", "--events", "batch.completed"))
	if lines := readLines(t, secretsA); len(lines) != 1 || !strings.HasPrefix(lines[0], "whsec_") {
		t.Errorf("team-a's secrets file: %q", lines)
	}
	if _, err := os.Stat(defaultFile); err == nil {
		t.Error("the default project's secrets file was written")
	}
	if out := run(t, 0, "endpoint", "list", "--project", "team-a"); !strings.Contains(out, id) {
		t.Errorf("team-a's list lacks its endpoint:\n%s", out)
	}
	if out := run(t, 0, "endpoint", "list"); strings.Contains(out, id) {
		t.Errorf("the default project lists team-a's endpoint:\n%s", out)
	}
	if out := run(t, 1, "endpoint", "get", id, "--project", "default"); !strings.Contains(out, "404") {
		t.Errorf("the default project reads team-a's endpoint: %s", out)
	}
}

func TestMatchesHint(t *testing.T) {
	const secret = "whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c="
	for hint, want := range map[string]bool{
		"": true, "whsec_****40c=": true, "whsec_Rdva...40c=": true, "whsec_…40c=": true, "40c=": true,
		"whsec_****40d=": false, "whsec_Rdvb****": false,
	} {
		if got := matchesHint(secret, hint); got != want {
			t.Errorf("matchesHint(%q) = %v, want %v", hint, got, want)
		}
	}
}

// send signs with --secret, else $OPENAI_WEBHOOK_SECRET, else the first
// secret of the secrets file: --secret-file, the running dev stack's, or
// $OPENAI_WEBHOOK_SECRET_FILE.
func TestSendSecret(t *testing.T) {
	dir := t.TempDir()
	devFile, envFile := filepath.Join(dir, "dev"), filepath.Join(dir, "env")
	for f, s := range map[string]string{devFile: "# dev\nwhsec_dev\nwhsec_old\n", envFile: "whsec_envfile\n"} {
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	simURL, stop, err := startSimulator(simulatorOptions{addr: "127.0.0.1:0", secretsFile: devFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	ctx := context.Background()
	for _, c := range []struct {
		secret, file, simulator, env, envFile, want string
	}{
		{secret: "whsec_flag", env: "whsec_env", want: "whsec_flag"},
		{env: "whsec_env,whsec_env2", simulator: simURL, want: "whsec_env"},
		{file: envFile, simulator: simURL, want: "whsec_envfile"},
		{simulator: simURL, envFile: envFile, want: "whsec_dev"},
		{simulator: "http://127.0.0.1:1", envFile: envFile, want: "whsec_envfile"},
		{want: DevWebhookSecret},
	} {
		t.Setenv("OPENAI_WEBHOOK_SECRET", c.env)
		t.Setenv("OPENAI_WEBHOOK_SECRET_FILE", c.envFile)
		if got, err := sendSecret(ctx, c.secret, c.file, c.simulator); err != nil || got != c.want {
			t.Errorf("sendSecret(%+v) = %q, %v; want %q", c, got, err, c.want)
		}
	}
	if _, err := sendSecret(ctx, "", filepath.Join(dir, "missing"), ""); err == nil {
		t.Error("a missing secrets file: no error")
	}
}
