package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/hookbridge/hookbridge"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseDevFlags("demo", args, stderr)
	if err != nil {
		return err
	}
	// The tour drives the simulator; it never spends OpenAI credit.
	o.simulate = true
	return dev(ctx, o, stdout, func(ctx context.Context, s devStack) error { return tour(ctx, s, stdout) })
}

// tour shows one event going through hookbridge: a background response
// created in the simulator, its webhook, the event workflow and its result.
func tour(ctx context.Context, s devStack, out io.Writer) error {
	ai := openai.NewClient(option.WithBaseURL(s.simulatorURL+"/v1"), option.WithAPIKey("sk-demo"), option.WithMaxRetries(0))
	fmt.Fprintln(out, "demo 1/4: creating a background response in the OpenAI simulator...")
	resp, err := ai.Responses.New(ctx, responses.ResponseNewParams{
		Model:      "gpt-4.1-mini",
		Input:      responses.ResponseNewParamsInputUnion{OfString: openai.String("Say hello to Temporal.")},
		Background: openai.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("demo: create response: %w", err)
	}
	fmt.Fprintf(out, "demo 2/4: response %s is %s; when it finishes, the simulator sends response.completed to %s\n", resp.ID, resp.Status, s.receiverURL)

	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	workflowID, err := waitForEventWorkflow(ctx, s, resp.ID)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(out, "demo 3/4: the receiver started workflow %s (its ID is the webhook-id); the worker retrieves the response...\n", workflowID)
	var res hookbridge.EventResult
	if err := s.temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, &res); err != nil {
		return fmt.Errorf("demo: workflow %s: %w", workflowID, err)
	}
	fmt.Fprintf(out, "demo 4/4: completed: outcome %s, status %s, output_text %q\n\n  see it in the Temporal UI: %s/namespaces/default/workflows/%s\n\n",
		res.Outcome, res.Status, res.OutputText, s.uiURL, workflowID)
	return nil
}

// waitForEventWorkflow finds the event workflow about objectID through its
// OpenAIObjectID search attribute.
func waitForEventWorkflow(ctx context.Context, s devStack, objectID string) (string, error) {
	query := fmt.Sprintf("%s = %q", hookbridge.ObjectIDKey.GetName(), objectID)
	for {
		list, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1})
		if err == nil && len(list.GetExecutions()) > 0 {
			return list.GetExecutions()[0].GetExecution().GetWorkflowId(), nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no workflow about %s yet: %w", objectID, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
