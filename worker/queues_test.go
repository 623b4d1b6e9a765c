package worker

import (
	"context"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/activities"
)

func TestPolledTaskQueuesAreTheChosenOnes(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want []string
	}{
		{"default: both", Options{}, []string{hookbridge.DefaultTaskQueue, hookbridge.DefaultCallTaskQueue}},
		{"all", Options{Queues: hookbridge.AllQueues, TaskQueue: "ev", CallTaskQueue: "ca"}, []string{"ev", "ca"}},
		{"events", Options{Queues: hookbridge.EventQueue, TaskQueue: "ev", CallTaskQueue: "ca"}, []string{"ev"}},
		{"calls", Options{Queues: hookbridge.CallQueue, TaskQueue: "ev", CallTaskQueue: "ca"}, []string{"ca"}},
		{"calls, default queue", Options{Queues: hookbridge.CallQueue}, []string{hookbridge.DefaultCallTaskQueue}},
		{"all, one queue for both", Options{TaskQueue: "one", CallTaskQueue: "one"}, []string{"one"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.opts.PolledTaskQueues()
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("PolledTaskQueues() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestNewMakesAWorkerPerPolledQueue(t *testing.T) {
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	for queues, want := range map[hookbridge.WorkerQueues]int{"": 2, hookbridge.AllQueues: 2, hookbridge.EventQueue: 1, hookbridge.CallQueue: 1} {
		if ws := New(c, &activities.Activities{}, Options{Queues: queues}); len(ws) != want {
			t.Errorf("Queues %q: New returned %d workers, want %d", queues, len(ws), want)
		}
	}
}

func TestUnknownQueuesStopRunBeforeItPolls(t *testing.T) {
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	status := &Status{}
	err = Run(context.Background(), c, &activities.Activities{}, Options{Queues: "both", Status: status})
	if err == nil || !strings.Contains(err.Error(), `"both"`) || !strings.Contains(err.Error(), `"calls"`) {
		t.Errorf("Run with Queues %q: error %v, want one naming the value and the valid ones", "both", err)
	}
	if status.Running() {
		t.Error("status running after a refused start")
	}
}
