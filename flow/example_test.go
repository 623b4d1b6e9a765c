package flow_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"

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

// quietSuite keeps the SDK's log lines out of the examples' output.
func quietSuite() *testsuite.WorkflowTestSuite {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	return &suite
}
