package cluster

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// requestsMetric is the counter of requests the server's telemetry
// interceptor records for every gRPC call (metrics.ServiceRequests in
// common/metrics/metric_defs.go, recorded in
// common/rpc/interceptor/telemetry.go), labeled with the "operation" (the
// method name, such as "ListWorkflowExecutions") and the "namespace". In the
// frontend that interceptor runs before the rate limiters
// (service/frontend/fx.go), so throttled requests count too.
const requestsMetric = "service_requests"

// throttledMetric counts the requests that failed with ResourceExhausted,
// recorded by the same interceptor (ServiceErrResourceExhaustedCounter)
// with a "resource_exhausted_cause" label besides.
const throttledMetric = "service_errors_resource_exhausted"

// metricLabelValue returns s as the server's tally Prometheus reporter
// writes it in a label value: every character but ASCII letters, digits and
// '_' replaced by '_' (defaultTallySanitizeOptions in
// common/metrics/config.go), so namespace "temporal-system" is labeled
// "temporal_system".
func metricLabelValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// markerOperation is the request that FrontendRequests and
// FrontendThrottled send to learn when the frontend has published its
// counters: one hookbridge never makes, on a task queue of its own. Their
// counts leave it out.
const (
	markerOperation = "ListTaskQueuePartitions"
	markerTaskQueue = "hookbridge-cluster-metrics-marker"
)

// FrontendRequests returns the number of requests the frontend has served
// for the cluster's namespace since it last started, by gRPC operation (such
// as "StartWorkflowExecution"), scraped from its Prometheus endpoint.
// Requests rejected by the rate limiters count too; requests the authorizer
// refused do not. The counts hold every request the frontend got before the
// call: the server publishes its counters once a second, all together, so
// FrontendRequests sends a marker request of its own and waits, until ctx
// ends, for the published counters to count it. The counts start from zero
// when the frontend restarts. Namespaces whose names differ only in
// characters other than ASCII letters, digits and '_' share their counts.
func (c *Cluster) FrontendRequests(ctx context.Context) (map[string]float64, error) {
	counts, err := c.settledCounts(ctx, requestsMetric)
	if err != nil {
		return nil, fmt.Errorf("frontend requests: %w", err)
	}
	return counts, nil
}

// FrontendThrottled returns how many of FrontendRequests the frontend
// rejected with ResourceExhausted, by gRPC operation: mostly rate limits,
// such as the visibility limit, but also limits on concurrent polls and
// busy workflows. The SDK retries such requests, so each retry counts again.
// Like FrontendRequests, it holds every request before the call.
func (c *Cluster) FrontendThrottled(ctx context.Context) (map[string]float64, error) {
	counts, err := c.settledCounts(ctx, throttledMetric)
	if err != nil {
		return nil, fmt.Errorf("frontend throttled requests: %w", err)
	}
	return counts, nil
}

// settledCounts sends a marker request and returns metric, without the
// marker's operation, from the first scrape of the frontend whose request
// counter counts it.
func (c *Cluster) settledCounts(ctx context.Context, metric string) (map[string]float64, error) {
	c.markerMu.Lock()
	defer c.markerMu.Unlock()
	c.mu.Lock()
	cl := c.client
	c.mu.Unlock()
	if cl == nil {
		return nil, ErrStopped
	}
	before, err := c.scrapeFrontend(ctx, requestsMetric)
	if err != nil {
		return nil, err
	}
	err = retry(ctx, func(ctx context.Context) error {
		_, err := cl.WorkflowService().ListTaskQueuePartitions(ctx, &workflowservice.ListTaskQueuePartitionsRequest{
			Namespace: c.namespace,
			TaskQueue: &taskqueuepb.TaskQueue{Name: markerTaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("marker request: %w", err)
	}
	for {
		requests, err := c.scrapeFrontend(ctx, requestsMetric)
		if err != nil {
			return nil, err
		}
		if requests[markerOperation] > before[markerOperation] {
			counts := requests
			if metric != requestsMetric {
				// Published with the requests, so it counts as many.
				if counts, err = c.scrapeFrontend(ctx, metric); err != nil {
					return nil, err
				}
			}
			delete(counts, markerOperation)
			return counts, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the frontend's metrics never counted the marker request: %w", ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// scrapeFrontend returns the counter metric of the frontend for the
// cluster's namespace, summed by operation over its other labels.
func (c *Cluster) scrapeFrontend(ctx context.Context, metric string) (map[string]float64, error) {
	url := "http://" + net.JoinHostPort(loopback, strconv.Itoa(c.ports[Frontend].Metrics)) + "/metrics"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", url, err)
	}
	namespace := metricLabelValue(c.namespace)
	counts := make(map[string]float64)
	// A counter appears once first incremented.
	for _, m := range families[metric].GetMetric() {
		var op, ns string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "operation":
				op = l.GetValue()
			case "namespace":
				ns = l.GetValue()
			}
		}
		if ns != namespace || op == "" {
			continue
		}
		// Counters from tally; untyped if a scrape format ever loses the
		// type.
		counts[op] += m.GetCounter().GetValue() + m.GetUntyped().GetValue()
	}
	return counts, nil
}

// VisibilityRequests returns how many of counts, FrontendRequests by
// operation, count against the namespace's visibility rate limit,
// frontend.namespaceRPS.visibility (10 per second by default).
func VisibilityRequests(counts map[string]float64) float64 {
	var n float64
	for op, v := range counts {
		if IsVisibilityOperation(op) {
			n += v
		}
	}
	return n
}

// IsVisibilityOperation reports whether the frontend's gRPC operation
// (method name) is rate limited by frontend.namespaceRPS.visibility: the
// methods of VisibilityAPIToPriority in the server's
// service/frontend/configs/quotas.go, which NewRequestToRateLimiter routes
// to the visibility rate limiter. That map also holds
// "DescribeTaskQueueWithReachability", not a real method but the name the
// rate limiter gives a DescribeTaskQueue call asking for reachability; the
// metrics cannot tell it from other DescribeTaskQueue calls, so it is left
// out.
func IsVisibilityOperation(operation string) bool {
	switch operation {
	case "CountWorkflowExecutions",
		"ScanWorkflowExecutions",
		"ListOpenWorkflowExecutions",
		"ListClosedWorkflowExecutions",
		"ListWorkflowExecutions",
		"ListArchivedWorkflowExecutions",
		"ListWorkers",
		"DescribeWorker",
		"GetWorkerTaskReachability",
		"ListSchedules",
		"ListBatchOperations",
		"ListDeployments",
		"GetDeploymentReachability":
		return true
	}
	return false
}
