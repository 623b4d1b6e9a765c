package flow_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/flow"
)

// Summarize asks for a background response and returns its text.
func Summarize(ctx workflow.Context, text string) (string, error) {
	res, err := flow.BackgroundResponse(ctx, hookbridge.BackgroundResponseInput{
		Model: "gpt-4.1-mini",
		Input: json.RawMessage(strconv.Quote("Summarize: " + text)),
	})
	return res.OutputText, err
}

func ExampleBackgroundResponse() {
	suite := quietSuite()
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Summarize)
	// hookbridge's worker runs the real one; here a stand-in under its name
	// is mocked.
	env.RegisterWorkflowWithOptions(func(workflow.Context, hookbridge.BackgroundResponseInput) (hookbridge.BackgroundResponseResult, error) {
		return hookbridge.BackgroundResponseResult{}, nil
	}, workflow.RegisterOptions{Name: hookbridge.BackgroundResponseWorkflow})
	env.OnWorkflow(hookbridge.BackgroundResponseWorkflow, mock.Anything, mock.Anything).Return(
		hookbridge.BackgroundResponseResult{Status: "completed", OutputText: "short"}, nil)
	env.ExecuteWorkflow(Summarize, "a long text")
	var summary string
	if err := env.GetWorkflowResult(&summary); err != nil {
		fmt.Println(err)
	}
	fmt.Println(summary)
	// Output: short
}

func ExampleMetadata() {
	suite := quietSuite()
	env := suite.NewTestWorkflowEnvironment()
	env.ExecuteWorkflow(func(ctx workflow.Context) (map[string]string, error) {
		return flow.Metadata(ctx), nil
	})
	var md map[string]string
	if err := env.GetWorkflowResult(&md); err != nil {
		fmt.Println(err)
	}
	fmt.Println(md[hookbridge.MetadataWorkflowID] != "", md[hookbridge.MetadataRunID] != "")
	// Output: true true
}

// CreateResponse stands for the user's own activity that creates a
// background response with openai-go, passing the metadata it is given.
func CreateResponse(metadata map[string]string) (string, error) {
	if metadata[hookbridge.MetadataWorkflowID] == "" {
		return "", fmt.Errorf("no metadata for the webhook to find the wait")
	}
	return "resp_1", nil
}

// FollowUp creates a response itself, then waits for it for at most an hour.
func FollowUp(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var id string
	if err := workflow.ExecuteActivity(ctx, CreateResponse, flow.AwaitMetadata(ctx, "answer")).Get(ctx, &id); err != nil {
		return "", err
	}
	res, err := flow.Await(ctx, "answer", hookbridge.AwaitInput{Kind: hookbridge.ObjectResponse, ID: id, TimeoutSeconds: 3600})
	return res.Object.Status + " via " + res.CompletedVia, err
}

func ExampleAwait() {
	suite := quietSuite()
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(FollowUp)
	env.RegisterActivity(CreateResponse)
	env.RegisterWorkflowWithOptions(func(workflow.Context, hookbridge.AwaitInput) (hookbridge.AwaitResult, error) {
		return hookbridge.AwaitResult{}, nil
	}, workflow.RegisterOptions{Name: hookbridge.AwaitWorkflow})
	env.OnWorkflow(hookbridge.AwaitWorkflow, mock.Anything, hookbridge.AwaitInput{Kind: hookbridge.ObjectResponse, ID: "resp_1", TimeoutSeconds: 3600}).Return(
		hookbridge.AwaitResult{Object: hookbridge.Object{ID: "resp_1", Status: "completed"}, CompletedVia: "webhook"}, nil)
	env.ExecuteWorkflow(FollowUp)
	var out string
	if err := env.GetWorkflowResult(&out); err != nil {
		fmt.Println(err)
	}
	fmt.Println(out)
	// Output: completed via webhook
}

// quietSuite keeps the SDK's log lines out of the examples' output.
func quietSuite() *testsuite.WorkflowTestSuite {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	return &suite
}
