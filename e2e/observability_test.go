package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/promcheck"
	"github.com/hookbridge/hookbridge/internal/signing"
)

const (
	teamAKey    = "sk-team-a"
	teamASecret = "whsec_dGVhbS1hLXNlY3JldC1vZi1hdC1sZWFzdC0yNC1ieXRlcw=="
)

// Every metric, label and label value that a panel of the Grafana dashboard
// or a rule of the Prometheus alerts names is exported by the real binaries,
// once events of every type, a refusal, incoming calls, a second project,
// OpenAI refusing the worker's IP address, a failed workflow and a failed
// secret reload have gone through them.
func TestDashboardAndAlertsWatchExportedMetrics(t *testing.T) {
	t.Parallel()
	var queries []promcheck.Query
	dashboard, err := promcheck.DashboardQueries("../deploy/grafana/hookbridge.json")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := promcheck.RuleQueries("../deploy/prometheus/hookbridge-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(dashboard) == 0 || len(rules) == 0 {
		t.Fatalf("%d dashboard queries, %d rules: want some of each", len(dashboard), len(rules))
	}
	queries = append(dashboard, rules...)

	secretsFile := filepath.Join(t.TempDir(), "team-a-webhook-secrets")
	writeSecrets(t, secretsFile, teamASecret)
	s := newStack(t, stackOptions{
		sim: openaisim.Options{Projects: map[string]string{"team-a": teamAKey}},
		env: []string{
			"HOOKBRIDGE_CALL_ANSWER=" + callAnswer,
			"HOOKBRIDGE_LIVE_CALL_ANSWER=" + liveCallAnswer,
			"HOOKBRIDGE_PROJECTS=team-a",
			"HOOKBRIDGE_PROJECT_TEAM_A_OPENAI_WEBHOOK_SECRET_FILE=" + secretsFile,
			"HOOKBRIDGE_PROJECT_TEAM_A_OPENAI_API_KEY=" + teamAKey,
		},
		simEnv: func(simURL string) []string {
			return []string{"HOOKBRIDGE_PROJECT_TEAM_A_OPENAI_BASE_URL=" + simURL + "/v1"}
		},
	})

	// Events of every type, the calls among them answered; by workflow ID.
	var webhookIDs []string
	for _, eventType := range hookbridge.EventTypes() {
		d, err := s.Sim.Emit(eventType, "")
		if err != nil {
			t.Fatal(err)
		}
		webhookIDs = append(webhookIDs, d.WebhookID)
	}
	// OpenAI refuses once each: the worker's address, its key, and for
	// want of capacity; each retrieve is retried and succeeds.
	for _, fault := range []openaisim.Fault{
		{Status: http.StatusUnauthorized, Code: openaisim.CodeIPNotAuthorized},
		{Status: http.StatusUnauthorized},
		{Status: http.StatusServiceUnavailable},
	} {
		obj, err := s.Sim.Seed("response.completed", "")
		if err != nil {
			t.Fatal(err)
		}
		var response struct{ ID string }
		if err := json.Unmarshal(obj.(json.RawMessage), &response); err != nil {
			t.Fatal(err)
		}
		fault.ObjectID, fault.N = response.ID, 1
		s.Sim.Fail(fault)
		d, err := s.Sim.Emit("response.completed", response.ID)
		if err != nil {
			t.Fatal(err)
		}
		webhookIDs = append(webhookIDs, d.WebhookID)
	}
	// A delivery to the second project, and a forged one.
	body := eventBody("evt_team_a", "something.new", "thing_1")
	h, err := signing.Headers(teamASecret, "wh_team_a", time.Now(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if a, err := deliverAt(s.ReceiverURL+"/team-a", h, body); err != nil || a.status != http.StatusOK {
		t.Fatalf("delivery to team-a: %+v %v", a, err)
	}
	webhookIDs = append(webhookIDs, hookbridge.WorkflowID("team-a", "wh_team_a"))
	forged, err := signing.Headers(teamASecret, "wh_forged", time.Now(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if a := s.deliverOrFail(t, forged, body); a.status != http.StatusBadRequest {
		t.Fatalf("a delivery signed with team-a's secret at the default path: %d, want 400", a.status)
	}
	// A workflow that fails: a ready-made one started without its input.
	ctx := testContext(t, time.Minute)
	run, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: taskQueue}, hookbridge.BackgroundResponseWorkflow, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err == nil {
		t.Fatal("BackgroundResponse without model and input succeeded")
	}
	// A secret file that becomes malformed.
	writeSecrets(t, secretsFile, "whsec_not-base64")
	waitFor(t, 30*time.Second, "the receiver to count the failed secret reload", func() bool {
		v, _ := sum(scrape(t, s.ReceiverMetrics), "hookbridge_secret_reload_failures_total")
		return v >= 1
	})
	for _, id := range webhookIDs {
		s.result(t, id)
	}

	var exported promcheck.Exported
	for _, url := range []string{s.ReceiverMetrics, s.WorkerMetrics} {
		if err := exported.Add(strings.NewReader(scrape(t, url))); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
	}
	for _, q := range queries {
		problems, err := exported.Check(q.Expr)
		if err != nil {
			t.Errorf("%s: %v", q.Source, err)
			continue
		}
		for _, p := range problems {
			// No event workflow fails in a healthy run: the metric and its
			// labels must exist (a user's workflow failed above), not a
			// series of an event workflow type.
			if p.Kind == promcheck.NoMatch && p.Metric == "temporal_workflow_failed_total" {
				continue
			}
			t.Errorf("%s: %s\n  query: %s", q.Source, p, q.Expr)
		}
	}
	if t.Failed() {
		t.Logf("exported series: %s", strings.Join(exported.Names(), " "))
	}
}
