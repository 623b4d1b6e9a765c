package openaisim_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/webhooks"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/signing"
)

// hook is one request that reached an endpoint.
type hook struct {
	header http.Header
	body   []byte
}

// endpointReceiver records every request and answers status.
type endpointReceiver struct {
	url    string
	status atomic.Int32
	mu     sync.Mutex
	got    []hook
}

func newEndpointReceiver(t *testing.T, status int) *endpointReceiver {
	t.Helper()
	rc := &endpointReceiver{}
	rc.status.Store(int32(status))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, hook{r.Header.Clone(), body})
		rc.mu.Unlock()
		w.WriteHeader(int(rc.status.Load()))
	}))
	t.Cleanup(ts.Close)
	rc.url = ts.URL + "/webhook"
	return rc
}

func (rc *endpointReceiver) hooks() []hook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// nth waits for the nth request (from 1) and returns it.
func (rc *endpointReceiver) nth(t *testing.T, n int) hook {
	t.Helper()
	eventually(t, 5*time.Second, "a delivery", func() bool { return len(rc.hooks()) >= n })
	return rc.hooks()[n-1]
}

// verifies reports whether openai-go accepts the request with secret.
func (h hook) verifies(secret string) bool {
	v := webhooks.NewWebhookService(option.WithWebhookSecret(secret))
	return v.VerifySignatureWithTolerance(h.body, h.header, time.Hour) == nil
}

func (h hook) signatures() int { return len(strings.Fields(h.header.Get("webhook-signature"))) }

func TestWebhookEndpointsThroughOpenAIGo(t *testing.T) {
	_, _, client := start(t, openaisim.Options{Now: steppingClock()})
	ctx := testContext(t)

	types, err := client.Webhooks.EventTypes.List(ctx)
	if err != nil || !slices.Equal(types.Data, hookbridge.EventTypes()) {
		t.Fatalf("EventTypes.List = %v, %v; want hookbridge.EventTypes()", types, err)
	}

	created, err := client.Webhooks.New(ctx, webhooks.WebhookNewParams{Name: "main", URL: "https://example.com/webhook", EventTypes: []string{"response.completed", "batch.completed"}})
	if err != nil {
		t.Fatal(err)
	}
	if !webhookSecretValid(created.SigningSecret) ||
		!strings.HasSuffix(created.SigningSecret, strings.TrimPrefix(created.SigningSecretHint, "whsec_****")) ||
		created.Name != "main" || created.URL != "https://example.com/webhook" || created.CreatedAt == 0 || created.UpdatedAt != created.CreatedAt {
		t.Errorf("New = %s", created.RawJSON())
	}

	got, err := client.Webhooks.Get(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got.RawJSON(), "signing_secret\"") || got.SigningSecretHint != created.SigningSecretHint || !slices.Equal(got.EventTypes, created.EventTypes) {
		t.Errorf("Get shows %s, want the hint and no secret", got.RawJSON())
	}

	same, err := client.Webhooks.Update(ctx, created.ID, webhooks.WebhookUpdateParams{Name: openai.String("main")})
	if err != nil || same.UpdatedAt != created.UpdatedAt {
		t.Errorf("unchanged Update: updated_at %d, want %d (%v)", same.UpdatedAt, created.UpdatedAt, err)
	}
	moved, err := client.Webhooks.Update(ctx, created.ID, webhooks.WebhookUpdateParams{URL: openai.String("https://example.com/other"), EventTypes: []string{"batch.failed"}})
	if err != nil || moved.URL != "https://example.com/other" || !slices.Equal(moved.EventTypes, []string{"batch.failed"}) || moved.UpdatedAt <= created.UpdatedAt || moved.Name != "main" {
		t.Errorf("Update = %v, %v", moved, err)
	}

	second, err := client.Webhooks.New(ctx, webhooks.WebhookNewParams{Name: "second", URL: "http://127.0.0.1:1/", EventTypes: []string{"video.completed"}})
	if err != nil {
		t.Fatal(err)
	}
	pager := client.Webhooks.ListAutoPaging(ctx, webhooks.WebhookListParams{Limit: openai.Int(1)})
	var ids []string
	for pager.Next() {
		ids = append(ids, pager.Current().ID)
	}
	if err := pager.Err(); err != nil || !slices.Equal(ids, []string{second.ID, created.ID}) {
		t.Errorf("ListAutoPaging(limit 1) = %v, %v; want newest first", ids, err)
	}

	rotated, err := client.Webhooks.RotateSecret(ctx, created.ID, webhooks.WebhookRotateSecretParams{})
	if err != nil || rotated.SigningSecret == created.SigningSecret || !webhookSecretValid(rotated.SigningSecret) || rotated.SigningSecretHint == created.SigningSecretHint {
		t.Errorf("RotateSecret = %v, %v", rotated, err)
	}

	deleted, err := client.Webhooks.Delete(ctx, created.ID)
	if err != nil || !deleted.Deleted || deleted.ID != created.ID || deleted.Object != "webhook_endpoint.deleted" {
		t.Errorf("Delete = %v, %v", deleted, err)
	}
	_, err = client.Webhooks.Get(ctx, created.ID)
	apiError(t, err, http.StatusNotFound)

	for name, params := range map[string]webhooks.WebhookNewParams{
		"no url":        {Name: "x", EventTypes: []string{"response.completed"}},
		"relative url":  {Name: "x", URL: "/webhook", EventTypes: []string{"response.completed"}},
		"no types":      {Name: "x", URL: "https://example.com/"},
		"unknown type":  {Name: "x", URL: "https://example.com/", EventTypes: []string{"response.done"}},
		"no name":       {URL: "https://example.com/", EventTypes: []string{"response.completed"}},
		"ftp url":       {Name: "x", URL: "ftp://example.com/", EventTypes: []string{"response.completed"}},
		"empty strings": {Name: "x", URL: "https://example.com/", EventTypes: []string{""}},
	} {
		_, err := client.Webhooks.New(ctx, params)
		if e := apiError(t, err, http.StatusBadRequest); e.Param == "" {
			t.Errorf("%s: %s, want the param named", name, e.RawJSON())
		}
	}
}

// webhookSecretValid reports whether secret is a valid whsec_ secret.
func webhookSecretValid(secret string) bool {
	_, err := signing.DecodeSecret(secret)
	return strings.HasPrefix(secret, signing.SecretPrefix) && err == nil
}

func TestProjectsAreIsolated(t *testing.T) {
	rcA, rcB, rcDefault := newEndpointReceiver(t, 200), newEndpointReceiver(t, 200), newEndpointReceiver(t, 200)
	sim, ts, _ := start(t, openaisim.Options{
		Projects:      map[string]string{"a": "sk-a", "b": "sk-b"},
		WebhookURL:    rcDefault.url,
		WebhookSecret: testSecret,
		CompleteAfter: 20 * time.Millisecond,
	})
	a, b, other := newClient(ts.URL, "sk-a"), newClient(ts.URL, "sk-b"), newClient(ts.URL, "sk-anything")
	ctx := testContext(t)

	epA, err := a.Webhooks.New(ctx, webhooks.WebhookNewParams{Name: "a", URL: rcA.url, EventTypes: []string{"response.completed"}})
	if err != nil {
		t.Fatal(err)
	}
	epB, err := b.Webhooks.New(ctx, webhooks.WebhookNewParams{Name: "b", URL: rcB.url, EventTypes: hookbridge.EventTypes()})
	if err != nil {
		t.Fatal(err)
	}

	resp, err := a.Responses.New(ctx, responses.ResponseNewParams{Model: "gpt-4o-mini", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")}, Background: openai.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	h := rcA.nth(t, 1)
	if !h.verifies(epA.SigningSecret) || !strings.Contains(string(h.body), resp.ID) {
		t.Errorf("project a's endpoint got %s, unverified with its secret", h.body)
	}
	if _, err := a.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{}); err != nil {
		t.Errorf("a reads its response: %v", err)
	}
	for name, c := range map[string]openai.Client{"b": b, "the default project": other} {
		_, err := c.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{})
		if e := apiError(t, err, http.StatusNotFound); !strings.Contains(e.Message, resp.ID) {
			t.Errorf("%s reading a's response: %s", name, e.RawJSON())
		}
		_, err = c.Webhooks.Get(ctx, epA.ID)
		apiError(t, err, http.StatusNotFound)
		page, err := c.Webhooks.List(ctx, webhooks.WebhookListParams{})
		if err != nil || slices.ContainsFunc(page.Data, func(e webhooks.WebhookEndpoint) bool { return e.ID == epA.ID }) {
			t.Errorf("%s lists a's endpoint: %v", name, err)
		}
	}
	_, err = b.Webhooks.Test(ctx, epA.ID, webhooks.WebhookTestParams{EventType: "response.completed"})
	apiError(t, err, http.StatusNotFound)

	// Seeded and emitted events of a project go to its endpoints only.
	if _, err := sim.SeedIn("b", "batch.completed", "batch_b"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Batches.Get(ctx, "batch_b"); err == nil {
		t.Error("a reads b's seeded batch")
	}
	batch, err := b.Batches.Get(ctx, "batch_b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Files.Content(ctx, batch.OutputFileID); err != nil {
		t.Errorf("b reads its batch's output file: %v", err)
	}
	if _, err := a.Files.Content(ctx, batch.OutputFileID); err == nil {
		t.Error("a reads b's batch output file")
	}
	d, err := sim.EmitIn("b", "batch.completed", "batch_b")
	if err != nil || d.Project != "b" || d.Endpoint != epB.ID {
		t.Fatalf("EmitIn(b) = %+v, %v", d, err)
	}
	if h := rcB.nth(t, 1); !h.verifies(epB.SigningSecret) || !strings.Contains(string(h.body), "batch_b") {
		t.Errorf("project b's endpoint got %s", h.body)
	}
	if _, err := sim.EmitIn("a", "batch.completed", ""); err == nil {
		t.Error("EmitIn(a) of a type no endpoint of a takes: no error")
	}
	if _, err := sim.SeedIn("a", "batch.completed", "batch_b"); err == nil {
		t.Error("SeedIn(a) took b's batch")
	}
	if _, err := sim.EmitIn("c", "batch.completed", ""); err == nil {
		t.Error("EmitIn of an unknown project: no error")
	}

	// The default project: Options.WebhookURL, as before.
	if _, err := sim.Emit("response.completed", "resp_default"); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	if n := len(rcDefault.hooks()); n != 1 {
		t.Errorf("Options.WebhookURL got %d deliveries, want the default project's one", n)
	}
	if n, m := len(rcA.hooks()), len(rcB.hooks()); n != 1 || m != 1 {
		t.Errorf("endpoints got %d (a) and %d (b) deliveries, want one each", n, m)
	}
}

func TestControlAPIActsInAProject(t *testing.T) {
	rc := newEndpointReceiver(t, 200)
	_, ts, _ := start(t, openaisim.Options{Projects: map[string]string{"a": "sk-a"}})
	a := newClient(ts.URL, "sk-a")
	ctx := testContext(t)
	ep, err := a.Webhooks.New(ctx, webhooks.WebhookNewParams{Name: "a", URL: rc.url, EventTypes: []string{"video.completed"}})
	if err != nil {
		t.Fatal(err)
	}
	status, body := post(t, ts.URL+"/_sim/seed", openaisim.EventRequest{Type: "video.completed", ObjectID: "video_a", Project: "a"})
	if status != http.StatusOK {
		t.Fatalf("seed in a: %d %s", status, body)
	}
	//lint:ignore SA1019 OpenAI still sends video.* events until the Sora API shuts down.
	if _, err := a.Videos.Get(ctx, "video_a"); err != nil {
		t.Errorf("a reads the video seeded in a: %v", err)
	}
	if status, body := post(t, ts.URL+"/_sim/emit", openaisim.EventRequest{Type: "video.completed", ObjectID: "video_a", Project: "a"}); status != http.StatusOK {
		t.Fatalf("emit in a: %d %s", status, body)
	}
	if h := rc.nth(t, 1); !h.verifies(ep.SigningSecret) {
		t.Error("the emitted event is not signed with a's endpoint secret")
	}
	if status, _ := post(t, ts.URL+"/_sim/emit", openaisim.EventRequest{Type: "video.completed", Project: "nope"}); status != http.StatusBadRequest {
		t.Errorf("emit in an unknown project: %d, want 400", status)
	}
	if status, _ := post(t, ts.URL+"/_sim/webhook_endpoints/whe_nope/expire_old_secret", nil); status != http.StatusNotFound {
		t.Errorf("expire_old_secret of an unknown endpoint: %d, want 404", status)
	}
}

func TestEndpointSecretRotation(t *testing.T) {
	rc := newEndpointReceiver(t, 200)
	sim, ts, client := start(t, openaisim.Options{Now: steppingClock()})
	ctx := testContext(t)
	ep, err := client.Webhooks.New(ctx, webhooks.WebhookNewParams{Name: "main", URL: rc.url, EventTypes: []string{"response.completed"}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	deliver := func() hook {
		t.Helper()
		if _, err := sim.Emit("response.completed", "resp_1"); err != nil {
			t.Fatal(err)
		}
		n++
		return rc.nth(t, n)
	}
	first := ep.SigningSecret
	if h := deliver(); h.signatures() != 1 || !h.verifies(first) {
		t.Fatalf("before any rotation: %q", h.header.Get("webhook-signature"))
	}

	kept, err := client.Webhooks.RotateSecret(ctx, ep.ID, webhooks.WebhookRotateSecretParams{KeepOldSecretActiveFor24Hours: openai.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	second := kept.SigningSecret
	if h := deliver(); h.signatures() != 2 || !h.verifies(second) || !h.verifies(first) {
		t.Errorf("during a kept rotation: %d signatures, want the new and the old one", h.signatures())
	}
	if status, body := post(t, ts.URL+"/_sim/webhook_endpoints/"+ep.ID+"/expire_old_secret", nil); status != http.StatusNoContent {
		t.Fatalf("expire_old_secret: %d %s", status, body)
	}
	if h := deliver(); h.signatures() != 1 || !h.verifies(second) || h.verifies(first) {
		t.Errorf("after the overlap: %d signatures, want the new one only", h.signatures())
	}

	again, err := client.Webhooks.RotateSecret(ctx, ep.ID, webhooks.WebhookRotateSecretParams{KeepOldSecretActiveFor24Hours: openai.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.ExpireOldSecret(ep.ID); err != nil {
		t.Fatal(err)
	}
	if h := deliver(); h.signatures() != 1 || !h.verifies(again.SigningSecret) || h.verifies(second) {
		t.Error("ExpireOldSecret did not end the overlap")
	}

	third, err := client.Webhooks.RotateSecret(ctx, ep.ID, webhooks.WebhookRotateSecretParams{})
	if err != nil {
		t.Fatal(err)
	}
	if h := deliver(); h.signatures() != 1 || !h.verifies(third.SigningSecret) || h.verifies(again.SigningSecret) {
		t.Error("a rotation without keep_old still signs with the old secret")
	}
}

// The old secret expires on its own 24 hours after a kept rotation.
func TestKeptSecretExpiresAfter24Hours(t *testing.T) {
	rc := newEndpointReceiver(t, 200)
	var mu sync.Mutex
	now := time.Now()
	sim, _, client := start(t, openaisim.Options{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	ctx := testContext(t)
	ep, err := client.Webhooks.New(ctx, webhooks.WebhookNewParams{Name: "main", URL: rc.url, EventTypes: []string{"response.completed"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Webhooks.RotateSecret(ctx, ep.ID, webhooks.WebhookRotateSecretParams{KeepOldSecretActiveFor24Hours: openai.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(24 * time.Hour)
	mu.Unlock()
	if _, err := sim.Emit("response.completed", "resp_1"); err != nil {
		t.Fatal(err)
	}
	if h := rc.nth(t, 1); h.signatures() != 1 || h.verifies(ep.SigningSecret) {
		t.Errorf("24h after a kept rotation: %d signatures, want the new secret's only", h.signatures())
	}
}

func TestEndpointTestEvent(t *testing.T) {
	rc := newEndpointReceiver(t, 200)
	sim, _, client := start(t, openaisim.Options{})
	ctx := testContext(t)
	ep, err := client.Webhooks.New(ctx, webhooks.WebhookNewParams{Name: "main", URL: rc.url, EventTypes: []string{"response.completed"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, typ := range []webhooks.WebhookTestParamsEventType{"batch.completed", "realtime.call.incoming", "agent.session.action_required"} {
		res, err := client.Webhooks.Test(ctx, ep.ID, webhooks.WebhookTestParams{EventType: typ})
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 || !res.Success || res.EventType != string(typ) || res.WebhookEndpointID != ep.ID {
			t.Errorf("Test(%s) = %s", typ, res.RawJSON())
		}
		h := rc.nth(t, i+1)
		v := webhooks.NewWebhookService(option.WithWebhookSecret(ep.SigningSecret))
		event, err := v.UnwrapWithTolerance(h.body, h.header, time.Hour)
		if err != nil || event.Type != string(typ) || event.AsAny() == nil {
			t.Errorf("test event %s: %v, %s", typ, err, h.body)
		}
	}
	// The sample ids do not exist, as those of the dashboard's test events.
	d := sim.Deliveries()[0]
	if !d.Test || d.State != openaisim.DeliveryDelivered || !strings.HasPrefix(d.ObjectID, "batch_") || d.Endpoint != ep.ID {
		t.Errorf("test delivery = %+v", d)
	}
	if _, err := client.Batches.Get(ctx, d.ObjectID); err == nil {
		t.Errorf("the test event's object %s exists", d.ObjectID)
	}

	rc.status.Store(http.StatusInternalServerError)
	if res, err := client.Webhooks.Test(ctx, ep.ID, webhooks.WebhookTestParams{EventType: "response.completed"}); err != nil || res.StatusCode != 500 || !res.Success {
		t.Errorf("Test to a failing endpoint = %v, %v; want its status", res, err)
	}
	_, err = client.Webhooks.Test(ctx, ep.ID, webhooks.WebhookTestParams{EventType: "response.done"})
	apiError(t, err, http.StatusBadRequest)
	_, err = client.Webhooks.Test(ctx, "whe_nope", webhooks.WebhookTestParams{EventType: "response.completed"})
	apiError(t, err, http.StatusNotFound)
}

// Deliveries to a deleted endpoint end; those to the others go on.
func TestDeletedEndpointGetsNoMoreDeliveries(t *testing.T) {
	failing := newEndpointReceiver(t, http.StatusServiceUnavailable)
	opts := fastRetries("")
	opts.WebhookURL = ""
	sim, _, client := start(t, opts)
	ctx := testContext(t)
	ep, err := client.Webhooks.New(ctx, webhooks.WebhookNewParams{Name: "main", URL: failing.url, EventTypes: []string{"response.completed"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Emit("response.completed", "resp_1"); err != nil {
		t.Fatal(err)
	}
	failing.nth(t, 2)
	if _, err := client.Webhooks.Delete(ctx, ep.ID); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, sim)
	if d := sim.Deliveries()[0]; d.State != openaisim.DeliveryGaveUp {
		t.Errorf("delivery to a deleted endpoint: %s", d.State)
	}
	if _, err := sim.Emit("response.completed", "resp_2"); err == nil {
		t.Error("Emit with no endpoint left: no error")
	}
}
