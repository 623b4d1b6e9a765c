package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/durationpb"
)

const (
	// namespaceRetention is the retention of the namespace Start registers.
	namespaceRetention = 7 * 24 * time.Hour
	// probeWorkflow names the task queue, type and ID prefix of the probe
	// workflow that Start starts to see that the namespace and its search
	// attributes are usable, and deletes again. No worker polls its queue.
	probeWorkflow = "hookbridge-cluster-probe"
)

// ProbeWorkflowType is the type of Start's probe workflow. Visibility may
// list a deleted probe for a while, or keep its record when the server
// wrote it after the deletion: tests that check what a namespace holds
// leave this type out.
const ProbeWorkflowType = probeWorkflow

// newClient dials the frontend for namespace, over TLS with the cluster's
// own certificate and with its admin token where the cluster wants them,
// keeping the SDK's own logging, connection warnings while the frontend
// comes up included, out of the output.
func (c *Cluster) newClient(ctx context.Context, namespace string) (client.Client, error) {
	opts := client.Options{
		HostPort:  c.address,
		Namespace: namespace,
		Logger:    log.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	}
	opts.ConnectionOptions.TLS = c.clientTLS
	if c.auth != nil {
		opts.Credentials = client.NewAPIKeyDynamicCredentials(func(context.Context) (string, error) { return c.auth.AdminToken() })
	}
	return client.DialContext(ctx, opts)
}

// healthChecker checks the frontend with the SDK's CheckHealth, dialing on
// first use.
type healthChecker struct {
	cluster *Cluster
	c       client.Client
}

func (h *healthChecker) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if h.c == nil {
		c, err := h.cluster.newClient(ctx, defaultNamespace)
		if err != nil {
			return err
		}
		h.c = c
	}
	_, err := h.c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

func (h *healthChecker) close() {
	if h.c != nil {
		h.c.Close()
	}
}

// setUpNamespace registers the namespace and its search attributes and
// waits until a workflow carrying them can be started: a stock server
// caches namespaces, and with them the search attributes of SQL visibility,
// so for a second or two after AddSearchAttributes succeeds, starts fail
// with "Namespace default has no mapping defined for search attribute".
func (c *Cluster) setUpNamespace(ctx context.Context, cl client.Client) error {
	var run client.WorkflowRun
	// One ID for every try: a start that landed after its try timed out is
	// then the one the next try gets (the SDK returns the running workflow
	// of the ID), and deleted, instead of left running under an ID of its
	// own (seen: one probe Running among the suite's executions).
	probeID := probeWorkflow + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	steps := []struct {
		what string
		do   func(context.Context, client.Client) error
	}{
		{"register namespace " + strconv.Quote(c.namespace), c.registerNamespace},
		{"add search attributes", c.addSearchAttributes},
		{"start a probe workflow", func(ctx context.Context, cl client.Client) error {
			return c.startProbe(ctx, cl, probeID, &run)
		}},
		{"delete the probe workflow", func(ctx context.Context, cl client.Client) error {
			return c.deleteProbe(ctx, cl, run)
		}},
	}
	for _, step := range steps {
		if err := retry(ctx, func(ctx context.Context) error { return step.do(ctx, cl) }); err != nil {
			return fmt.Errorf("%s: %w; frontend output:\n%s", step.what, err, c.LogTail(Frontend))
		}
	}
	return nil
}

// permanentError marks an error that retry does not retry.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// retry calls f until it succeeds, fails with a permanentError or ctx ends,
// each call bounded by checkTimeout.
func retry(ctx context.Context, f func(context.Context) error) error {
	for {
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		err := f(cctx)
		cancel()
		if err == nil {
			return nil
		}
		var permanent permanentError
		if errors.As(err, &permanent) {
			return permanent.err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last error: %w", ctx.Err(), err)
		case <-time.After(pollInterval):
		}
	}
}

// registerNamespace registers the namespace unless it exists.
func (c *Cluster) registerNamespace(ctx context.Context, cl client.Client) error {
	_, err := cl.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        c.namespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(namespaceRetention),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if errors.As(err, &exists) {
		return nil
	}
	return err
}

// addSearchAttributes adds those of the search attributes that the
// namespace lacks. SQL visibility keeps custom search attributes per
// namespace, so the request names it.
func (c *Cluster) addSearchAttributes(ctx context.Context, cl client.Client) error {
	if len(c.searchAttributes) == 0 {
		return nil
	}
	resp, err := cl.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{
		Namespace: c.namespace,
	})
	if err != nil {
		return err
	}
	missing := make(map[string]enumspb.IndexedValueType)
	for _, name := range c.searchAttributes {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			missing[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = cl.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		SearchAttributes: missing,
		Namespace:        c.namespace,
	})
	var invalid *serviceerror.InvalidArgument
	if errors.As(err, &invalid) {
		// A bad or reserved name, or more Keyword attributes than the SQL
		// schema has columns for: retrying won't help.
		return permanentError{err}
	}
	if err != nil {
		return err
	}
	// Listed again on the next try.
	return errors.New("added, not yet listed")
}

// startProbe starts a workflow of the ID carrying every search attribute,
// on a task queue no worker polls, and sets *run to it.
func (c *Cluster) startProbe(ctx context.Context, cl client.Client, id string, run *client.WorkflowRun) error {
	updates := make([]temporal.SearchAttributeUpdate, 0, len(c.searchAttributes))
	for _, name := range c.searchAttributes {
		updates = append(updates, temporal.NewSearchAttributeKeyKeyword(name).ValueSet(probeWorkflow))
	}
	r, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             probeWorkflow,
		TypedSearchAttributes: temporal.NewSearchAttributes(updates...),
	}, probeWorkflow)
	if err != nil {
		return err
	}
	*run = r
	return nil
}

// deleteProbe deletes the probe workflow, which terminates it first, so it
// does not show up in the tests' lists once visibility has caught up.
func (c *Cluster) deleteProbe(ctx context.Context, cl client.Client, run client.WorkflowRun) error {
	_, err := cl.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace:         c.namespace,
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()},
	})
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		// An earlier try did it and timed out.
		return nil
	}
	return err
}
