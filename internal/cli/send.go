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
	"strings"
	"time"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/openaisim"
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
	secret := fs.String("secret", "", "signing secret (default: the first of $OPENAI_WEBHOOK_SECRET, else the dev secret of `hookbridge dev`)")
	webhookID := fs.String("webhook-id", "", "webhook-id header, which becomes the workflow ID (default: a new one)")
	ui := fs.String("ui", "http://localhost:8233", "Temporal UI base URL, for the printed link")
	ns := fs.String("namespace", envOr("TEMPORAL_NAMESPACE", "default"), "Temporal namespace, for the printed link")
	simulator := fs.String("simulator", "http://"+defaultSimulatorAddr, "OpenAI simulator of `hookbridge dev`: when it runs and no --object-id is given, it creates the object first so the workflow can retrieve it (\"\" to never)")
	if err := fs.Parse(interleaved(args)); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("%w: want one event TYPE, e.g. response.completed", errUsage)
	}
	eventType := fs.Arg(0)
	if *secret == "" {
		*secret = firstSecret(os.Getenv("OPENAI_WEBHOOK_SECRET"))
	}
	if *objectID == "" && *simulator != "" {
		if id, ok := seedSimulator(ctx, *simulator, eventType); ok {
			*objectID = id
			fmt.Fprintf(stdout, "the simulator at %s created %s for this event\n", *simulator, id)
		}
	}
	if *objectID == "" {
		*objectID = sampleObjectID(eventType)
	}
	if *webhookID == "" {
		*webhookID = "wh_" + randomHex(16)
	}
	body, err := json.Marshal(map[string]any{
		"id":         "evt_" + randomHex(16),
		"object":     "event",
		"created_at": time.Now().Unix(),
		"type":       eventType,
		"data":       map[string]string{"id": *objectID},
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
	fmt.Fprintf(stdout, "workflow %s: %s/namespaces/%s/workflows/%s\n", *webhookID, strings.TrimRight(*ui, "/"), url.PathEscape(*ns), url.PathEscape(*webhookID))
	return nil
}

// interleaved lets flags follow the positional TYPE, as in
// `hookbridge send response.completed --object-id resp_1`.
func interleaved(args []string) []string {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return append(args[1:len(args):len(args)], args[0])
	}
	return args
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
	body, _ := json.Marshal(openaisim.EventRequest{Type: eventType})
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(simulatorURL, "/")+"/_sim/seed", bytes.NewReader(body))
	if err != nil {
		return "", false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	var obj struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&obj) != nil || obj.ID == "" {
		return "", false
	}
	return obj.ID, true
}
