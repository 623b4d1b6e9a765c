package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/openaisim"
	"github.com/hookbridge/hookbridge/internal/secrets"
	"github.com/hookbridge/hookbridge/internal/signing"
)

// DevWebhookSecret signs deliveries when OPENAI_WEBHOOK_SECRET is unset, in
// `hookbridge dev` and `hookbridge send` alike, so the two agree without
// setup. Never use it for a real endpoint.
const DevWebhookSecret = "whsec_aG9va2JyaWRnZS1sb2NhbC1kZXYtc2VjcmV0LW9ubHk="

func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("send", "TYPE", stderr)
	objectID := fs.String("object-id", "", "id of the object the event is about (default: a sample id, as the dashboard's test events use)")
	target := fs.String("url", "http://localhost:8000/webhook", "receiver webhook URL")
	secret := fs.String("secret", "", "signing secret (default: the first of $OPENAI_WEBHOOK_SECRET, else the first line of the secrets file)")
	secretFile := fs.String("secret-file", "", "secrets file, one secret per line, the first signing (default: the one of the `hookbridge dev` at --simulator, else $OPENAI_WEBHOOK_SECRET_FILE; without any, the dev secret)")
	webhookID := fs.String("webhook-id", "", "webhook-id header, which becomes the workflow ID (default: a new one)")
	ui := fs.String("ui", "http://localhost:8233", "Temporal UI base URL, for the printed link")
	ns := fs.String("namespace", envOr("TEMPORAL_NAMESPACE", "default"), "Temporal namespace, for the printed link")
	simulator := fs.String("simulator", "http://"+defaultSimulatorAddr, "OpenAI simulator of `hookbridge dev`: when it runs and no --object-id is given, it creates the object first so the workflow can retrieve it, or, for an incoming call, sends the event itself to its webhook URL and reports the worker's answer (\"\" to never)")
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		return parseError(err)
	}
	if len(positional) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: want one event TYPE, e.g. response.completed", errUsage)
	}
	eventType := positional[0]
	*simulator = strings.TrimRight(*simulator, "/")
	if *secret, err = sendSecret(ctx, *secret, *secretFile, *simulator); err != nil {
		return err
	}
	row, known := hookbridge.KindOf(eventType)
	listed := known && slices.Contains(row.EventTypes(), eventType)
	if *objectID == "" && *simulator != "" && listed && row.Answer != "" {
		if d, ok := emitCall(ctx, *simulator, eventType); ok {
			fmt.Fprintf(stdout, "the simulator at %s sent %s %s to its webhook URL\n", *simulator, eventType, d.ObjectID)
			fmt.Fprintf(stdout, "workflow %s: %s\n", d.WebhookID, workflowURL(*ui, *ns, d.WebhookID))
			return followCall(ctx, *simulator, d.ObjectID, stdout)
		}
	}
	if *objectID == "" && *simulator != "" && listed && row.Retrieve != "" {
		if id, ok := seedSimulator(ctx, *simulator, eventType); ok {
			*objectID = id
			fmt.Fprintf(stdout, "the simulator at %s created %s for this event\n", *simulator, id)
		}
	}
	if *objectID == "" {
		*objectID = sampleObjectID(eventType)
	}
	idField := "id"
	if known {
		idField = row.IDField
	}
	if *webhookID == "" {
		*webhookID = "wh_" + randomHex(16)
	}
	body, err := json.Marshal(map[string]any{
		"id":         "evt_" + randomHex(16),
		"object":     "event",
		"created_at": time.Now().Unix(),
		"type":       eventType,
		"data":       map[string]string{idField: *objectID},
	})
	if err != nil {
		return err
	}
	headers, err := signing.Headers(*secret, *webhookID, time.Now(), body)
	if err != nil {
		return fmt.Errorf("--secret: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, *target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("--url: %w", err)
	}
	req.Header = headers
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hookbridge-send/1.0")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("send to %s: %w", *target, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprintf(stdout, "POST %s %s %s\n-> %s %s\n", *target, eventType, *objectID, resp.Status, strings.TrimSpace(string(answer)))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	// The receiver names the workflow: a named project's IDs are its own
	// (hookbridge.WorkflowID).
	workflowID := *webhookID
	var started struct {
		WorkflowID string `json:"workflow_id"`
	}
	if json.Unmarshal(answer, &started) == nil && started.WorkflowID != "" {
		workflowID = started.WorkflowID
	}
	fmt.Fprintf(stdout, "workflow %s: %s\n", workflowID, workflowURL(*ui, *ns, workflowID))
	return nil
}

// workflowURL is the Temporal UI's page of a workflow.
func workflowURL(ui, namespace, workflowID string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s", strings.TrimRight(ui, "/"), url.PathEscape(namespace), url.PathEscape(workflowID))
}

// sendSecret returns the secret that signs: secret when set, else the
// first of $OPENAI_WEBHOOK_SECRET, else the first of the secrets file
// (file; the file of the `hookbridge dev` serving the simulator at
// simulatorURL; $OPENAI_WEBHOOK_SECRET_FILE), else DevWebhookSecret.
func sendSecret(ctx context.Context, secret, file, simulatorURL string) (string, error) {
	if secret != "" {
		return secret, nil
	}
	if list := os.Getenv("OPENAI_WEBHOOK_SECRET"); list != "" {
		return firstSecret(list), nil
	}
	if file == "" {
		file = devSecretsFile(ctx, simulatorURL)
	}
	if file == "" {
		file = os.Getenv("OPENAI_WEBHOOK_SECRET_FILE")
	}
	if file == "" {
		return DevWebhookSecret, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("secrets file: %w", err)
	}
	list, err := secrets.Lines(b)
	if err != nil {
		return "", fmt.Errorf("secrets file %s: %w", file, err)
	}
	return list[0], nil
}

func firstSecret(list string) string {
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return DevWebhookSecret
}

// sampleObjectID returns an id shaped like those of the event's family.
func sampleObjectID(eventType string) string {
	prefix := "obj_"
	if k, ok := hookbridge.KindOf(eventType); ok {
		prefix = k.IDPrefix
	}
	return prefix + "sample" + randomHex(8)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// seedSimulator asks a running OpenAI simulator to create an object in the
// state the event type reports. It returns false when no simulator answers
// or the type has no object.
func seedSimulator(ctx context.Context, simulatorURL, eventType string) (string, bool) {
	var obj struct {
		ID string `json:"id"`
	}
	if !simulatorCall(ctx, http.MethodPost, simulatorURL+"/_sim/seed", openaisim.EventRequest{Type: eventType}, &obj) || obj.ID == "" {
		return "", false
	}
	return obj.ID, true
}

// emitCall asks a running OpenAI simulator for an incoming call: a pending
// call, whose event it delivers to its webhook URL. It returns false when
// no simulator answers.
func emitCall(ctx context.Context, simulatorURL, eventType string) (openaisim.Delivery, bool) {
	var d openaisim.Delivery
	ok := simulatorCall(ctx, http.MethodPost, simulatorURL+"/_sim/emit", openaisim.EventRequest{Type: eventType}, &d)
	return d, ok && d.ObjectID != ""
}

// followCall waits for the worker's answer to a call emitted by the
// simulator and prints it, with the time from the event's delivery to the
// answer. A call that nobody answered in time is an error.
func followCall(ctx context.Context, simulatorURL, id string, stdout io.Writer) error {
	var c openaisim.Call
	start := time.Now()
	deadline := start.Add(10 * time.Second) // until the simulator tells the call's lifetime
	for {
		if simulatorCall(ctx, http.MethodGet, simulatorURL+"/_sim/calls/"+url.PathEscape(id), nil, &c) {
			deadline = start.Add(c.ExpiresAt.Sub(c.CreatedAt) + 2*time.Second)
			if c.Outcome != openaisim.CallPending {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer to call %s from the worker, and the simulator did not report it expired", id)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if c.Outcome == openaisim.CallExpired || c.Answer == nil {
		return fmt.Errorf("nobody answered call %s within its %s: OpenAI gave up on it (%s)", id, c.ExpiresAt.Sub(c.CreatedAt), c.Outcome)
	}
	var session struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(c.Answer.Session, &session)
	decision := fmt.Sprintf("rejected it with SIP status %d", c.Answer.StatusCode)
	if c.Answer.Action == "accept" {
		decision = "accepted it with model " + session.Model
	}
	delivered := c.CreatedAt
	for _, a := range c.Attempts {
		if a.StatusCode/100 == 2 {
			delivered = a.At
			break
		}
	}
	fmt.Fprintf(stdout, "the worker %s, %s after the event's delivery\n", decision, c.Answer.At.Sub(delivered).Round(time.Millisecond))
	if c.Outcome == openaisim.CallHungUp {
		fmt.Fprintln(stdout, "the call has since been hung up")
	}
	return nil
}

// simulatorCall makes a request to a running simulator's control API and
// decodes its JSON answer into out; false when it does not answer 200.
func simulatorCall(ctx context.Context, method, url string, body, out any) bool {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return false
		}
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(out) == nil
}
