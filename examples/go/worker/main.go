// Command worker runs the Go example's workflow on its own task queue.
package main

import (
	"cmp"
	"log"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	followup "github.com/hookbridge/hookbridge/examples/go"
)

func main() {
	c, err := client.Dial(client.Options{
		HostPort:  cmp.Or(os.Getenv("TEMPORAL_ADDRESS"), "localhost:7233"),
		Namespace: cmp.Or(os.Getenv("TEMPORAL_NAMESPACE"), "default"),
	})
	if err != nil {
		log.Fatalln("connecting to Temporal:", err)
	}
	defer c.Close()
	w := worker.New(c, cmp.Or(os.Getenv("EXAMPLE_TASK_QUEUE"), "go-examples"), worker.Options{})
	w.RegisterWorkflowWithOptions(followup.HandleResponseEvent(followup.Settings{
		HookbridgeTaskQueue: cmp.Or(os.Getenv("TEMPORAL_TASK_QUEUE"), "openai-webhooks"),
		Model:               cmp.Or(os.Getenv("FOLLOW_UP_MODEL"), "gpt-4.1-mini"),
	}), workflow.RegisterOptions{Name: "HandleResponseEvent"})
	if err := w.Run(worker.InterruptCh()); err != nil {
		log.Fatalln("worker:", err)
	}
}
