// Package namespace prepares a Temporal namespace for hookbridge: the search
// attributes every event workflow carries, and a retention long enough for
// Temporal's workflow-ID uniqueness to cover OpenAI's retry window.
package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/hookbridge/hookbridge"
)

// MinRetention is OpenAI's retry window: with a shorter retention, a late
// retry of a delivery whose workflow was already deleted runs a second time.
const MinRetention = 72 * time.Hour

// DefaultRetention is what `hookbridge setup` and `make run` set.
const DefaultRetention = 7 * 24 * time.Hour

// ErrNotPermitted means the server refused to change the namespace, as
// Temporal Cloud does for API keys without admin rights.
var ErrNotPermitted = errors.New("the Temporal server does not allow this client to change the namespace")

// EnsureSearchAttributes registers the search attributes hookbridge needs
// that the namespace lacks, and returns the names it added.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) ([]string, error) {
	list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("list search attributes of namespace %q: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	var names []string
	for _, key := range hookbridge.SearchAttributeKeys {
		name := key.GetName()
		if got, ok := list.GetCustomAttributes()[name]; ok {
			if got != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
				return nil, fmt.Errorf("search attribute %s exists in namespace %q as %s, want Keyword", name, namespace, got)
			}
			continue
		}
		missing[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
		names = append(names, name)
	}
	if len(missing) == 0 {
		return nil, nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	switch {
	case errors.As(err, &exists):
		// Another replica registered them first.
	case refused(err):
		return nil, fmt.Errorf("%w: register search attributes %s in namespace %q: %v; run `hookbridge setup` with admin rights, or on Temporal Cloud: %s",
			ErrNotPermitted, strings.Join(names, ", "), namespace, err, cloudCommand(namespace, names))
	case err != nil:
		return nil, fmt.Errorf("register search attributes %s in namespace %q: %w", strings.Join(names, ", "), namespace, err)
	}
	return names, nil
}

func cloudCommand(namespace string, names []string) string {
	cmd := "tcld namespace search-attributes add --namespace " + namespace
	for _, n := range names {
		cmd += " --search-attribute " + n + "=Keyword"
	}
	return "`" + cmd + "`"
}

func refused(err error) bool {
	var denied *serviceerror.PermissionDenied
	var unimplemented *serviceerror.Unimplemented
	return errors.As(err, &denied) || errors.As(err, &unimplemented)
}

// Retention returns how long the namespace keeps closed workflows.
func Retention(ctx context.Context, c client.Client, namespace string) (time.Duration, error) {
	resp, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		return 0, fmt.Errorf("describe namespace %q: %w", namespace, err)
	}
	return resp.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(), nil
}

// SetRetention changes how long the namespace keeps closed workflows.
func SetRetention(ctx context.Context, c client.Client, namespace string, retention time.Duration) error {
	_, err := c.WorkflowService().UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace: namespace,
		Config:    &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(retention)},
	})
	if refused(err) {
		return fmt.Errorf("%w: set retention of namespace %q: %v; on Temporal Cloud: `tcld namespace retention set --namespace %s --retention-days %d`",
			ErrNotPermitted, namespace, err, namespace, int((retention+23*time.Hour)/(24*time.Hour)))
	}
	if err != nil {
		return fmt.Errorf("set retention of namespace %q: %w", namespace, err)
	}
	return nil
}

// Prepare makes the namespace ready for hookbridge at process start: it
// registers missing search attributes and warns when the retention is too
// short to deduplicate OpenAI's retries.
func Prepare(ctx context.Context, c client.Client, namespace string, logger *slog.Logger) error {
	added, err := EnsureSearchAttributes(ctx, c, namespace)
	if err != nil {
		return err
	}
	if len(added) > 0 {
		logger.Info("registered search attributes", "namespace", namespace, "search_attributes", added)
	}
	retention, err := Retention(ctx, c, namespace)
	if err != nil {
		return err
	}
	if retention < MinRetention {
		logger.Warn("namespace retention is shorter than OpenAI's 72h retry window: a late retry of an event whose workflow was already deleted would run again; run `hookbridge setup` to raise it",
			"namespace", namespace, "retention", retention.String(), "want_at_least", MinRetention.String())
	}
	return nil
}
