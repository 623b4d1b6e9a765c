package e2e

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/signing"
)

const (
	stagingKey = "sk-staging"
	// placeholderSecret fills staging's secrets file until its endpoint
	// exists: the receiver needs a valid file to start.
	placeholderSecret = "whsec_cGxhY2Vob2xkZXItc2VjcmV0LW9mLWF0LWxlYXN0LTI0LWJ5dGVz"
)

// Two OpenAI projects in one deployment, and the webhook endpoint of one
// managed from the CLI as an operator would: the default project and
// "staging", each with its endpoint path, signing secret and API key. Each
// path checks only its project's secrets; staging's objects are read with
// staging's key, which OpenAI scopes to staging; every `hookbridge
// endpoint` command works against the simulator's endpoint API, and a
// rotation with --keep-old then prune keeps every delivery flowing.
func TestTwoProjectsAndTheirEndpoint(t *testing.T) {
	t.Parallel()
	secretsFile := filepath.Join(t.TempDir(), "staging-webhook-secrets")
	writeSecrets(t, secretsFile, placeholderSecret)
	s := newStack(t, stackOptions{
		sim: openaisim.Options{Projects: map[string]string{"staging": stagingKey}},
		env: []string{
			"HOOKBRIDGE_PROJECTS=staging",
			"HOOKBRIDGE_PROJECT_STAGING_OPENAI_WEBHOOK_SECRET_FILE=" + secretsFile,
		},
		// The worker and the CLI need the simulator's URL: set once it runs.
		simEnv: func(simURL string) []string {
			return []string{
				"HOOKBRIDGE_PROJECT_STAGING_OPENAI_API_KEY=" + stagingKey,
				"HOOKBRIDGE_PROJECT_STAGING_OPENAI_BASE_URL=" + simURL + "/v1",
			}
		},
	})
	stagingURL := s.ReceiverURL + "/staging"
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(binDir, "hookbridge"), append([]string{"endpoint"}, args...)...)
		cmd.Env = s.Env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("hookbridge endpoint %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// create: OpenAI shows the secret once; it lands in staging's file,
	// which the receiver watches.
	out := cli("create", "--project", "staging", "--url", stagingURL, "--events", "all")
	m := regexp.MustCompile(`created webhook endpoint (\S+):`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create printed no endpoint id:\n%s", out)
	}
	id := m[1]
	if out := cli("list", "--project", "staging"); !strings.Contains(out, id) || !strings.Contains(out, stagingURL) {
		t.Errorf("list does not show the endpoint:\n%s", out)
	}
	if out := cli("get", id, "--project", "staging"); !strings.Contains(out, "whsec_****") {
		t.Errorf("get shows no secret hint:\n%s", out)
	}
	if out := cli("list"); strings.Contains(out, id) {
		t.Errorf("the default project lists staging's endpoint:\n%s", out)
	}
	if out := cli("event-types"); len(strings.Fields(out)) != len(hookbridge.EventTypes()) {
		t.Errorf("event-types lists %d types, want %d", len(strings.Fields(out)), len(hookbridge.EventTypes()))
	}

	// Staging's events reach staging's path, signed with its secret, and
	// its objects are read with its key.
	emit := func(what string) hookbridge.EventResult {
		t.Helper()
		d, err := s.Sim.EmitIn("staging", "response.completed", "")
		if err != nil {
			t.Fatal(err)
		}
		// A named project's workflow IDs are its own: staging/<webhook-id>.
		res := s.result(t, hookbridge.WorkflowID("staging", d.WebhookID))
		if res.Outcome != hookbridge.OutcomeRetrieved || res.Project != "staging" {
			t.Errorf("%s: staging's event ended %s (project %q), want retrieved with staging's key", what, res.Outcome, res.Project)
		}
		return res
	}
	res := emit("after create")

	// Isolation: another project's key cannot read staging's response, and
	// each path accepts only its project's secret.
	other := openai.NewClient(option.WithBaseURL(s.SimURL+"/v1"), option.WithAPIKey("sk-e2e"), option.WithMaxRetries(0))
	_, err := other.Responses.Get(context.Background(), res.ID, responses.ResponseGetParams{})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("the default project's key reading staging's response: %v, want 404", err)
	}
	stagingSecret := firstLine(t, secretsFile)
	body := eventBody("evt_cross", "response.completed", res.ID)
	for _, tt := range []struct {
		url, secret string
	}{{stagingURL, secret}, {s.ReceiverURL, stagingSecret}} {
		h, err := signing.Headers(tt.secret, "wh_cross_"+filepath.Base(tt.url), time.Now(), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if a := s.deliverTo(t, tt.url, h, body); a.status != http.StatusBadRequest {
			t.Errorf("POST %s signed with the other project's secret: %d, want 400", tt.url, a.status)
		}
	}
	if a := s.deliverTo(t, s.ReceiverURL+"/prod", http.Header{}, body); a.status != http.StatusNotFound {
		t.Errorf("a project not served: %d, want 404", a.status)
	}

	// OpenAI's test event: sample ids, so not_found.
	if out := cli("test", id, "response.completed", "--project", "staging"); !strings.Contains(out, "outcome not_found") {
		t.Errorf("test did not show the workflow's outcome:\n%s", out)
	}

	// Rotation: --keep-old puts the new secret beside the old (OpenAI signs
	// with both); once OpenAI drops the old one, prune leaves the new.
	cli("rotate", id, "--keep-old", "--project", "staging")
	rotated := readLines(t, secretsFile)
	if len(rotated) != 3 || rotated[1] != stagingSecret {
		t.Fatalf("after rotate --keep-old the file holds %d secrets, want the new, the old and the placeholder", len(rotated))
	}
	emit("during the overlap")
	s.Sim.ExpireOldSecret(id)
	cli("prune", id, "--project", "staging")
	if got := readLines(t, secretsFile); len(got) != 1 || got[0] != rotated[0] {
		t.Fatalf("after prune the file holds %d secrets, want the new one alone", len(got))
	}
	emit("after prune")

	cli("update", id, "--events", "response.completed", "--project", "staging")
	if out := cli("get", id, "--project", "staging"); !strings.Contains(out, "response.completed") || strings.Contains(out, "batch.completed") {
		t.Errorf("update did not change the event types:\n%s", out)
	}
	cli("delete", id, "--project", "staging")
	if out := cli("list", "--project", "staging"); strings.Contains(out, id) {
		t.Errorf("the endpoint is still listed after delete:\n%s", out)
	}
	for _, d := range s.Sim.Deliveries() {
		if !d.Test && d.State != openaisim.DeliveryDelivered {
			t.Errorf("delivery %s (%s, project %q) is %s", d.WebhookID, d.Type, d.Project, d.State)
		}
	}
}

// deliverTo posts a delivery to url.
func (s *stack) deliverTo(t *testing.T, url string, h http.Header, body string) answer {
	t.Helper()
	a, err := deliverAt(url, h, body)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func readLines(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	return lines
}

func firstLine(t *testing.T, file string) string {
	t.Helper()
	return readLines(t, file)[0]
}
