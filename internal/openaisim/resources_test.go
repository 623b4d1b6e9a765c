package openaisim_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/openaisim"
)

// seededWant is what the object seeded for each type shows through
// openai-go: its status, or the category of a safety object.
var seededWant = map[string]string{
	"response.completed": "completed", "response.failed": "failed", "response.cancelled": "cancelled", "response.incomplete": "incomplete",
	"batch.completed": "completed", "batch.failed": "failed", "batch.expired": "expired", "batch.cancelled": "cancelled",
	"fine_tuning.job.succeeded": "succeeded", "fine_tuning.job.failed": "failed", "fine_tuning.job.cancelled": "cancelled",
	"eval.run.succeeded": "completed", "eval.run.failed": "failed", "eval.run.canceled": "canceled",
	"agent.environment.ready": "ready", "agent.environment.failed": "failed", "agent.environment.suspended": "suspended", "agent.environment.expired": "expired",
	"agent.session.created": "in_progress", "agent.session.action_required": "requires_action", "agent.session.in_progress": "in_progress",
	"agent.session.idle": "idle", "agent.session.failed": "failed",
	"safety.alert.created":       "potentially_unintended_destructive_activity",
	"safety.org_alert.created":   "potentially_unintended_data_transfer",
	"safety.warning_issued":      "warning",
	"safety.deactivation_issued": "deactivation",
	"video.completed":            "completed", "video.failed": "failed",
}

func TestSeedThenGetEveryRetrievableType(t *testing.T) {
	sim, _, client := start(t, openaisim.Options{})
	ctx := testContext(t)
	for row := range hookbridge.Kinds() {
		if row.Retrieve == "" {
			continue
		}
		for _, eventType := range row.EventTypes() {
			t.Run(eventType, func(t *testing.T) {
				obj, err := sim.Seed(eventType, "")
				if err != nil {
					t.Fatal(err)
				}
				var o struct {
					ID     string `json:"id"`
					EvalID string `json:"eval_id"`
				}
				if err := json.Unmarshal(obj.(json.RawMessage), &o); err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(o.ID, row.IDPrefix) {
					t.Errorf("id %q, want the prefix %q", o.ID, row.IDPrefix)
				}
				want, ok := seededWant[eventType]
				if !ok {
					t.Fatalf("no expectation for %s", eventType)
				}
				if got := retrieveState(t, ctx, client, row.Object, o.ID, o.EvalID); got != want {
					t.Errorf("retrieved %q, want %q", got, want)
				}
			})
		}
	}
}

// retrieveState gets an object with openai-go, checks the fields a user
// would look at, and returns its status, or a safety object's category.
func retrieveState(t *testing.T, ctx context.Context, client openai.Client, kind hookbridge.ObjectKind, id, evalID string) string {
	t.Helper()
	check := func(err error, ok bool, obj any) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Errorf("%s: fields missing: %+v", kind, obj)
		}
	}
	switch kind {
	case hookbridge.ObjectResponse:
		r, err := client.Responses.Get(ctx, id, responses.ResponseGetParams{})
		check(err, r.Model != "", r)
		return string(r.Status)
	case hookbridge.ObjectBatch:
		b, err := client.Batches.Get(ctx, id)
		check(err, b.InputFileID != "", b)
		return string(b.Status)
	case hookbridge.ObjectFineTuningJob:
		j, err := client.FineTuning.Jobs.Get(ctx, id)
		check(err, j.Model != "", j)
		return string(j.Status)
	case hookbridge.ObjectEvalRun:
		var run evalRun
		err := client.Get(ctx, "evals/"+evalID+"/runs/"+id, nil, &run)
		check(err, run.EvalID == evalID, run)
		return run.Status
	case hookbridge.ObjectAgentEnvironment:
		e, err := client.Beta.Agents.Environments.Get(ctx, id)
		check(err, e.ID == id && e.Type == openai.EnvironmentInfoTypeOpenAIHosted && len(e.Files) == 1 && e.Files[0].Path != "", e)
		return string(e.Status)
	case hookbridge.ObjectAgentSession:
		s, err := client.Beta.Agents.Sessions.Get(ctx, id)
		ok := s.Agent.Model != "" && strings.HasPrefix(s.Environment.ID, "env_") && s.Metadata != nil
		switch s.Status {
		case openai.AgentSessionStatusRequiresAction:
			call, isCall := s.RequiredActions[0].AsAny().(openai.AgentSessionRequiredActionFunctionCall)
			ok = ok && len(s.RequiredActions) == 1 && isCall && call.Name != "" && call.CallID != ""
		case openai.AgentSessionStatusFailed:
			ok = ok && s.Error != ""
		case openai.AgentSessionStatusIdle:
			ok = ok && s.Usage.TotalTokens > 0
		}
		check(err, ok, s)
		if _, err := client.Beta.Agents.Environments.Get(ctx, s.Environment.ID); err != nil {
			t.Errorf("the session's environment: %v", err)
		}
		return string(s.Status)
	case hookbridge.ObjectSafetyAlert:
		a, err := client.Safety.Alerts.Get(ctx, id)
		check(err, a.Reason != "" && a.Model != "" && strings.HasPrefix(a.ResponseID, "resp_") && a.RequestID != "" && a.CreatedAt > 0, a)
		return string(a.ErrorType)
	case hookbridge.ObjectSafetyCase:
		c, err := client.Safety.Cases.Get(ctx, id)
		check(err, c.Reason != "" && c.EntityIdentifier != "" && c.CreatedAt > 0, c)
		return c.Notice.Type
	case hookbridge.ObjectVideo:
		//lint:ignore SA1019 OpenAI still sends video.* events until the Sora API shuts down.
		v, err := client.Videos.Get(ctx, id)
		ok := v.Model != "" && v.Prompt != ""
		switch v.Status {
		case openai.VideoStatusCompleted:
			ok = ok && v.Progress == 100 && v.CompletedAt > 0 && v.ExpiresAt > v.CompletedAt
		case openai.VideoStatusFailed:
			ok = ok && v.Error.Code != "" && v.Error.Message != ""
		}
		check(err, ok, v)
		return string(v.Status)
	}
	t.Fatalf("no retrieval for %s", kind)
	return ""
}

func TestNewResourcesAnswer404ForUnknownIDs(t *testing.T) {
	_, _, client := start(t, openaisim.Options{})
	ctx := testContext(t)
	for name, get := range map[string]func(id string) error{
		"environment": func(id string) error { _, err := client.Beta.Agents.Environments.Get(ctx, id); return err },
		"session":     func(id string) error { _, err := client.Beta.Agents.Sessions.Get(ctx, id); return err },
		"alert":       func(id string) error { _, err := client.Safety.Alerts.Get(ctx, id); return err },
		"case":        func(id string) error { _, err := client.Safety.Cases.Get(ctx, id); return err },
		//lint:ignore SA1019 OpenAI still sends video.* events until the Sora API shuts down.
		"video": func(id string) error { _, err := client.Videos.Get(ctx, id); return err },
	} {
		e := apiError(t, get("x_unknown"), http.StatusNotFound)
		if e.Type != "invalid_request_error" || !strings.Contains(e.Message, "x_unknown") {
			t.Errorf("%s: %s", name, e.RawJSON())
		}
	}
}

// FailNext, FailFor, latency and stalls apply to the new objects as to the
// others.
func TestFaultsApplyToNewResources(t *testing.T) {
	sim, _, client := start(t, openaisim.Options{})
	ctx := testContext(t)
	gets := map[string]func(id string) error{
		"agent.environment.ready": func(id string) error { _, err := client.Beta.Agents.Environments.Get(ctx, id); return err },
		"agent.session.idle":      func(id string) error { _, err := client.Beta.Agents.Sessions.Get(ctx, id); return err },
		"safety.alert.created":    func(id string) error { _, err := client.Safety.Alerts.Get(ctx, id); return err },
		"safety.warning_issued":   func(id string) error { _, err := client.Safety.Cases.Get(ctx, id); return err },
		//lint:ignore SA1019 OpenAI still sends video.* events until the Sora API shuts down.
		"video.completed":          func(id string) error { _, err := client.Videos.Get(ctx, id); return err },
		"safety.org_alert.created": func(id string) error { _, err := client.Safety.Alerts.Get(ctx, id); return err },
	}
	for eventType, get := range gets {
		obj, err := sim.Seed(eventType, "")
		if err != nil {
			t.Fatal(err)
		}
		var o struct{ ID string }
		_ = json.Unmarshal(obj.(json.RawMessage), &o)

		sim.FailNext(o.ID, 1, http.StatusTooManyRequests, time.Second)
		apiError(t, get(o.ID), http.StatusTooManyRequests)
		if err := get(o.ID); err != nil {
			t.Errorf("%s after FailNext: %v", eventType, err)
		}

		sim.FailFor(o.ID, time.Hour, http.StatusUnauthorized)
		apiError(t, get(o.ID), http.StatusUnauthorized)
		sim.ClearFaults()

		sim.SetLatency(20 * time.Millisecond)
		sim.Stall(1, 20*time.Millisecond)
		begin := time.Now()
		if err := get(o.ID); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(begin); d < 40*time.Millisecond {
			t.Errorf("%s: latency and stall not applied: %s", eventType, d)
		}
		sim.ClearFaults()
	}
}

// A session created with metadata keeps it through its lifecycle and
// through Seed, so that hookbridge can find the workflow waiting for it.
func TestAgentSessionCreateKeepsMetadata(t *testing.T) {
	rc := newReceiver(t, answerStatuses())
	opts := fastRetries(rc.url)
	opts.CompleteAfter = 30 * time.Millisecond
	sim, _, client := start(t, opts)
	ctx := testContext(t)
	if err := sim.SetOutcome("case=fail", "failed"); err != nil {
		t.Fatal(err)
	}
	create := func(md shared.Metadata) *openai.AgentSession {
		t.Helper()
		s, err := client.Beta.Agents.Sessions.New(ctx, openai.BetaAgentSessionNewParams{
			Agent:       openai.BetaAgentSessionNewParamsAgent{Model: openai.String("gpt-5"), Instructions: openai.String("Answer briefly.")},
			Environment: openai.EnvironmentParamUnion{OfParamNone: &openai.EnvironmentParamNone{}},
			Input:       openai.BetaAgentSessionNewParamsInputUnion{OfString: openai.String("Summarise the ticket.")},
			Metadata:    md,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ok := create(shared.Metadata{hookbridge.MetadataWorkflowID: "wf-agent"})
	bad := create(shared.Metadata{"case": "fail"})
	if ok.Status != openai.AgentSessionStatusInProgress || ok.Environment.Type != "none" || ok.Agent.Model != "gpt-5" {
		t.Errorf("created = %s", ok.RawJSON())
	}
	waitIdle(t, sim) // deliveries are pending from the first emit on
	eventually(t, 5*time.Second, "4 events", func() bool { return len(rc.requests()) == 4 })
	got := map[string][]string{}
	for _, r := range rc.requests() {
		if r.err != nil {
			t.Fatal(r.err)
		}
		got[r.event.Data.ID] = append(got[r.event.Data.ID], r.event.Type)
	}
	for id, want := range map[string]string{ok.ID: "agent.session.idle", bad.ID: "agent.session.failed"} {
		if events := got[id]; len(events) != 2 || !strings.Contains(strings.Join(events, " "), "agent.session.created") || !strings.Contains(strings.Join(events, " "), want) {
			t.Errorf("%s: events %v, want created and %s", id, events, want)
		}
	}

	if _, err := sim.Seed("agent.session.action_required", ok.ID); err != nil {
		t.Fatal(err)
	}
	s, err := client.Beta.Agents.Sessions.Get(ctx, ok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != openai.AgentSessionStatusRequiresAction || s.Metadata[hookbridge.MetadataWorkflowID] != "wf-agent" {
		t.Errorf("reseeded session = %s", s.RawJSON())
	}

	_, err = client.Beta.Agents.Sessions.New(ctx, openai.BetaAgentSessionNewParams{
		Environment: openai.EnvironmentParamUnion{OfParamNone: &openai.EnvironmentParamNone{}},
	})
	if e := apiError(t, err, http.StatusBadRequest); e.Param != "agent.model" {
		t.Errorf("without a model: %s", e.RawJSON())
	}
}
