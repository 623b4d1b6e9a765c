package receiver_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/openaispec"
)

// Every event type as OpenAI sends it (internal/openaispec: openai-go's own
// type of the event, marshalled with an example id) starts an event workflow
// of its object, not OtherEvent, with the object id from the data field
// OpenAI puts it in, as the input and the OpenAIObjectID search attribute;
// incoming calls on the call task queue.
func TestOpenAIsEventsStartTheirWorkflowWithTheObjectID(t *testing.T) {
	spec := openaispec.MustLoad(t)
	for _, ev := range spec.Events {
		t.Run(ev.Type, func(t *testing.T) {
			wantQueue := hookbridge.DefaultTaskQueue
			if ev.Object.Accept.Path != "" {
				wantQueue = hookbridge.DefaultCallTaskQueue
			}
			var opts client.StartWorkflowOptions
			var workflowType string
			var got hookbridge.Event
			c := &mocks.Client{}
			c.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
				Run(func(args mock.Arguments) {
					opts, workflowType, got = args.Get(1).(client.StartWorkflowOptions), args.Get(2).(string), args.Get(3).(hookbridge.Event)
				}).
				Return(startedRun("wh_1", "run_1"), nil).Once()
			if w := serve(newHandler(t, c), signedRequest(t, "wh_1", string(ev.Payload))); w.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200", w.Code)
			}
			c.AssertExpectations(t)
			want := ev.Object.ExampleID
			if got.ObjectID != want || got.Type != ev.Type {
				t.Errorf("workflow input: type %q, object id %q; want %q, %q from data.%s (%s)", got.Type, got.ObjectID, ev.Type, want, ev.IDField, ev.IDFieldSource)
			}
			if id, _ := opts.TypedSearchAttributes.GetKeyword(hookbridge.ObjectIDKey); id != want {
				t.Errorf("OpenAIObjectID = %q, want %q", id, want)
			}
			if workflowType == hookbridge.OtherEventWorkflow || opts.TaskQueue != wantQueue {
				t.Errorf("started %s on %s; want the workflow of its object on %s", workflowType, opts.TaskQueue, wantQueue)
			}
		})
	}
}
