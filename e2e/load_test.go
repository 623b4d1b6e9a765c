package e2e

import (
	"context"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/signing"
)

// eventTypes spreads the load over every type OpenAI sends and one it
// might send some day.
var eventTypes = append(hookbridge.EventTypes(), "brand.new.type")

// A thousand events under OpenAI's delivery behaviour, with duplicates,
// forgeries and first attempts answered too late: every genuine event ends
// as exactly one completed workflow and nothing forged starts.
func TestThousandEventsUnderDuplicatesForgeriesAndSlowAcks(t *testing.T) {
	const (
		events        = 1000
		forgeries     = 50 // 5% of the deliveries
		duplicateRate = 0.10
		slowRate      = 0.20
		ackTimeout    = time.Second
	)
	slow := &slowFirstAttempts{base: http.DefaultTransport.(*http.Transport).Clone(), rate: slowRate, seen: map[string]bool{}}
	s := newStack(t, stackOptions{sim: openaisim.Options{
		Seed:          42,
		DuplicateRate: duplicateRate,
		AckTimeout:    ackTimeout,
		RetryBase:     100 * time.Millisecond,
		RetryCap:      2 * time.Second,
		RetryFor:      5 * time.Minute,
		Transport:     slow,
	}})

	genuine := map[string]bool{}
	for i := range events {
		d, err := s.Sim.Emit(eventTypes[i%len(eventTypes)], "")
		if err != nil {
			t.Fatal(err)
		}
		genuine[d.WebhookID] = true
	}
	forged := forge(t, s, forgeries)

	ctx := testContext(t, 5*time.Minute)
	if err := s.Sim.WaitIdle(ctx); err != nil {
		t.Fatalf("deliveries not done: %v", err)
	}
	delivered := map[string]bool{}
	duplicates := 0
	for _, d := range s.Sim.Deliveries() {
		if d.State == openaisim.DeliveryDelivered {
			delivered[d.WebhookID] = true
		}
		if d.Duplicate {
			duplicates++
		}
	}
	s.waitAllClosed(t, 3*time.Minute, len(delivered))

	completed := map[string]int{}
	for _, id := range s.workflowIDs(t, `ExecutionStatus = "Completed"`) {
		completed[id]++
	}
	missing := 0
	for id := range delivered {
		if completed[id] != 1 {
			missing++
			t.Errorf("webhook %s: %d completed executions, want 1", id, completed[id])
		}
	}
	for id := range completed {
		if !genuine[id] {
			t.Errorf("workflow %s was not sent by OpenAI", id)
		}
	}
	for _, id := range forged {
		if s.exists(t, id) {
			t.Errorf("forged delivery %s started a workflow", id)
		}
	}
	if all := s.count(t, ""); all != len(delivered) {
		t.Errorf("%d executions in all, want %d: one per delivered event", all, len(delivered))
	}
	t.Logf("events %d, delivered %d, completed %d, missing %d; duplicate deliveries %d, first attempts answered late %d, forgeries refused %d",
		len(genuine), len(delivered), len(completed), missing, duplicates, slow.slowed(), len(forged))
	if len(delivered) != len(genuine) || missing != 0 {
		t.Errorf("delivered %d of %d events, missing %d; want all delivered and none missing", len(delivered), len(genuine), missing)
	}
	if duplicates == 0 || slow.slowed() == 0 {
		t.Errorf("the run exercised %d duplicates and %d late answers; want some of each", duplicates, slow.slowed())
	}
}

// forge sends n deliveries signed with a wrong secret and returns their ids.
func forge(t *testing.T, s *stack, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "wh_forged_" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		body := eventBody("evt_forged", "response.completed", "resp_forged")
		h, err := signing.Headers("whsec_Zm9yZ2VyLWZvcmdlci1mb3JnZXItZm9yZ2Vy", ids[i], time.Now(), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if a := s.deliverOrFail(t, h, body); a.status != http.StatusBadRequest {
			t.Errorf("forged delivery %s: status %d, want 400", ids[i], a.status)
		}
	}
	return ids
}

// workflowIDs lists the IDs of every execution matching query.
func (s *stack) workflowIDs(t *testing.T, query string) []string {
	t.Helper()
	var ids []string
	for _, ex := range s.executions(t, query) {
		ids = append(ids, ex.GetExecution().GetWorkflowId())
	}
	return ids
}

// executions lists every execution matching query.
func (s *stack) executions(t *testing.T, query string) []*workflowpb.WorkflowExecutionInfo {
	t.Helper()
	var all []*workflowpb.WorkflowExecutionInfo
	var token []byte
	for {
		resp, err := s.Client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1000, NextPageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, resp.GetExecutions()...)
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return all
		}
	}
}

// slowFirstAttempts lets a share of first delivery attempts reach the
// receiver, which acknowledges them, but holds the answer past the sender's
// ack window: the sender counts a failure and retries a delivery that
// Temporal already holds.
type slowFirstAttempts struct {
	base http.RoundTripper
	rate float64

	mu      sync.Mutex
	seen    map[string]bool
	nslowed int
}

func (s *slowFirstAttempts) RoundTrip(req *http.Request) (*http.Response, error) {
	id := req.Header.Get("webhook-id")
	s.mu.Lock()
	first := !s.seen[id]
	s.seen[id] = true
	s.mu.Unlock()
	resp, err := s.base.RoundTrip(req)
	if err != nil || !first || !chosen(id, s.rate) {
		return resp, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	s.mu.Lock()
	s.nslowed++
	s.mu.Unlock()
	<-req.Context().Done() // the sender's ack timeout
	return nil, req.Context().Err()
}

func (s *slowFirstAttempts) slowed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nslowed
}

// chosen picks a stable share of ids.
func chosen(id string, rate float64) bool {
	h := fnv.New32a()
	h.Write([]byte(id))
	return float64(h.Sum32()%1000) < rate*1000
}
