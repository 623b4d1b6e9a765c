package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/webhooks"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/config"
	"github.com/hookbridge/hookbridge/internal/secrets"
)

// `hookbridge endpoint` manages a project's webhook endpoints at OpenAI
// through openai-go's WebhookService, and keeps the signing secret OpenAI
// shows once (at creation and rotation) in the project's secrets file,
// which the receiver watches.

// keptSecretOverlap is how long OpenAI keeps the old secret active after a
// rotation with keep_old_secret_active_for_24_hours.
const keptSecretOverlap = 24 * time.Hour

// endpointRun runs a `hookbridge endpoint` subcommand with its positional
// arguments.
type endpointRun func(ctx context.Context, api *endpointAPI, args []string, out io.Writer) error

// endpointCommand is one `hookbridge endpoint` subcommand: its positional
// arguments, and its flags, which make the function that runs it.
type endpointCommand struct {
	name, args, summary string
	nargs               int
	flags               func(fs *flag.FlagSet) endpointRun
}

func endpointCommands() []endpointCommand {
	return []endpointCommand{
		{"create", "--url URL --events TYPES", "create an endpoint; its signing secret goes first in the secrets file", 0, flagsCreate},
		{"list", "", "list the project's endpoints", 0, noFlags((*endpointAPI).list)},
		{"get", "ID", "show an endpoint (OpenAI shows only a hint of its secret)", 1, noFlags((*endpointAPI).get)},
		{"update", "ID [--url URL] [--events TYPES] [--name N]", "change an endpoint's URL, event types or name", 1, flagsUpdate},
		{"test", "ID TYPE", "have OpenAI send a test event, then wait for the workflow it started and print its outcome", 2, flagsTest},
		{"rotate", "ID [--keep-old]", "rotate the signing secret: the new one replaces the secrets file, or goes first in it with --keep-old", 1, flagsRotate},
		{"prune", "ID [--force]", "keep only the newest secret in the secrets file, once the old one is no longer needed", 1, flagsPrune},
		{"delete", "ID", "delete an endpoint", 1, noFlags((*endpointAPI).delete)},
		{"event-types", "", "list the event types an endpoint can subscribe to", 0, noFlags((*endpointAPI).eventTypes)},
	}
}

// noFlags makes the flags function of a subcommand without flags of its own.
func noFlags(run func(*endpointAPI, context.Context, []string, io.Writer) error) func(*flag.FlagSet) endpointRun {
	return func(*flag.FlagSet) endpointRun {
		return func(ctx context.Context, api *endpointAPI, args []string, out io.Writer) error {
			return run(api, ctx, args, out)
		}
	}
}

func runEndpoint(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		endpointUsage(stderr)
		if len(args) == 0 {
			return fmt.Errorf("%w: which subcommand?", errUsage)
		}
		return flag.ErrHelp
	}
	for _, c := range endpointCommands() {
		if c.name != args[0] {
			continue
		}
		fs := newFlagSet("endpoint "+c.name, c.args, stderr)
		run := c.flags(fs)
		project := fs.String("project", "", "the OpenAI project, as named in HOOKBRIDGE_PROJECTS (default: the default project): its API key, base URL, organization, project id and secrets file")
		secretFile := fs.String("secret-file", "", "the secrets file that keeps the endpoint's signing secrets, newest first (default: the project's OPENAI_WEBHOOK_SECRET_FILE)")
		positional, err := parseInterleaved(fs, args[1:])
		if err != nil {
			return parseError(err)
		}
		if len(positional) != c.nargs {
			fs.Usage()
			return fmt.Errorf("%w: %s takes %d arguments, got %d", errUsage, c.name, c.nargs, len(positional))
		}
		p, err := projectConfig(*project)
		if err != nil {
			return err
		}
		api, err := newEndpointAPI(p, *secretFile)
		if err != nil {
			return err
		}
		return run(ctx, api, positional, stdout)
	}
	endpointUsage(stderr)
	return fmt.Errorf("%w: unknown subcommand %q", errUsage, args[0])
}

func endpointUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: hookbridge endpoint COMMAND [flags]\n\nManages the webhook endpoints of an OpenAI project, as the dashboard does, and keeps\nthe signing secret OpenAI shows once in the project's secrets file, which the receiver watches.\n\ncommands:")
	for _, c := range endpointCommands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --project P (default: the default project) and --secret-file F.\nRun `hookbridge endpoint COMMAND -h` for a command's flags.")
}

// parseInterleaved parses flags that may follow positional arguments, as
// in `hookbridge endpoint get ID --project p`, and returns the positional
// arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// projectConfig returns hookbridge's configuration of the project named
// name: "" or "default" for the default project.
func projectConfig(name string) (config.Project, error) {
	if name == hookbridge.DefaultProject {
		name = ""
	}
	projects, err := config.ParseProjects(nil)
	if err != nil {
		return config.Project{}, err
	}
	for _, p := range projects {
		if p.Name == name {
			return p, nil
		}
	}
	if name == "" {
		return config.Project{}, fmt.Errorf("the default project is not configured (none of its variables is set): set OPENAI_API_KEY, or name one of %s=%q with --project", config.ProjectsVariable, os.Getenv(config.ProjectsVariable))
	}
	return config.Project{}, fmt.Errorf("--project %s: not in %s=%q: add it there, with its %sOPENAI_API_KEY", name, config.ProjectsVariable, os.Getenv(config.ProjectsVariable), config.ProjectPrefix(name))
}

// endpointAPI is a project's webhook endpoints and its secrets file.
type endpointAPI struct {
	webhooks *webhooks.WebhookService
	// secretFile keeps the signing secrets, newest first; "" when the
	// project has none, and secrets are printed instead.
	secretFile string
	// secretVariable names the project's secret variable, for messages.
	secretVariable string
}

// newEndpointAPI returns the endpoints of project p, reached with its API
// key (from the variable or its file), base URL, organization and project
// id. secretFile, when set, overrides the project's secrets file.
func newEndpointAPI(p config.Project, secretFile string) (*endpointAPI, error) {
	key := p.APIKey.Value
	switch {
	case p.APIKey.File != "":
		b, err := os.ReadFile(p.APIKey.File)
		if err == nil {
			key, err = secrets.Single(b)
		}
		if err != nil {
			return nil, fmt.Errorf("%s_FILE: %w", p.APIKey.Variable, err)
		}
	case key == "" && p.BaseURL == "":
		return nil, fmt.Errorf("%s (or %s_FILE) is required to manage webhook endpoints", p.APIKey.Variable, p.APIKey.Variable)
	}
	// No retries (OpenAIOptions): a retried rotation would lose the secret
	// of the first.
	c := openai.NewClient(p.OpenAIOptions(key)...)
	if secretFile == "" {
		secretFile = p.WebhookSecret.File
	}
	return &endpointAPI{webhooks: &c.Webhooks, secretFile: secretFile, secretVariable: p.WebhookSecret.Variable}, nil
}

// ---- the commands ----

func flagsCreate(fs *flag.FlagSet) endpointRun {
	url := fs.String("url", "", "the receiver's webhook URL, e.g. https://hooks.example.com/webhook (required)")
	events := fs.String("events", "", `event types, comma-separated, or "all" (required; hookbridge endpoint event-types lists them)`)
	name := fs.String("name", "hookbridge", "the endpoint's name in the dashboard")
	return func(ctx context.Context, api *endpointAPI, _ []string, out io.Writer) error {
		if *url == "" || *events == "" {
			return fmt.Errorf("%w: --url and --events are required", errUsage)
		}
		_, err := api.create(ctx, *name, *url, *events, out)
		return err
	}
}

// create creates an endpoint for events (comma-separated, or "all") and
// puts its secret first in the secrets file, keeping the others there.
func (api *endpointAPI) create(ctx context.Context, name, url, events string, out io.Writer) (*webhooks.WebhookEndpointWithSecret, error) {
	types, err := api.eventTypeList(ctx, events)
	if err != nil {
		return nil, err
	}
	if err := api.checkSecretFile(); err != nil {
		return nil, err
	}
	ep, err := api.webhooks.New(ctx, webhooks.WebhookNewParams{Name: name, URL: url, EventTypes: types})
	if err != nil {
		return nil, apiFailure("create the endpoint", err)
	}
	fmt.Fprintf(out, "created webhook endpoint %s: %s, %d event types\n", ep.ID, ep.URL, len(ep.EventTypes))
	return ep, api.keepSecret(ep.SigningSecret, true, out)
}

// eventTypeList splits a comma-separated list; "all" is every type the API lists.
func (api *endpointAPI) eventTypeList(ctx context.Context, list string) ([]string, error) {
	if strings.TrimSpace(list) == "all" {
		all, err := api.webhooks.EventTypes.List(ctx)
		if err != nil {
			return nil, apiFailure("list the event types", err)
		}
		return all.Data, nil
	}
	var types []string
	for _, t := range strings.Split(list, ",") {
		if t = strings.TrimSpace(t); t != "" {
			types = append(types, t)
		}
	}
	return types, nil
}

func (api *endpointAPI) list(ctx context.Context, _ []string, out io.Writer) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tURL\tEVENT TYPES\tSECRET HINT\tNAME")
	pager := api.webhooks.ListAutoPaging(ctx, webhooks.WebhookListParams{})
	for pager.Next() {
		ep := pager.Current()
		types := strings.Join(ep.EventTypes, ",")
		if n := len(ep.EventTypes); n > 3 {
			types = fmt.Sprintf("%s +%d more", strings.Join(ep.EventTypes[:2], ","), n-2)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ep.ID, ep.URL, types, ep.SigningSecretHint, ep.Name)
	}
	if err := pager.Err(); err != nil {
		return apiFailure("list the endpoints", err)
	}
	return tw.Flush()
}

func (api *endpointAPI) get(ctx context.Context, args []string, out io.Writer) error {
	ep, err := api.webhooks.Get(ctx, args[0])
	if err != nil {
		return apiFailure("get "+args[0], err)
	}
	printEndpoint(out, ep)
	return nil
}

func printEndpoint(out io.Writer, ep *webhooks.WebhookEndpoint) {
	fmt.Fprintf(out, "id:           %s\nname:         %s\nurl:          %s\nevent types:  %s\nsecret hint:  %s\ncreated:      %s\nupdated:      %s\n",
		ep.ID, ep.Name, ep.URL, strings.Join(ep.EventTypes, ", "), ep.SigningSecretHint,
		time.Unix(ep.CreatedAt, 0).UTC().Format(time.RFC3339), time.Unix(ep.UpdatedAt, 0).UTC().Format(time.RFC3339))
}

func flagsUpdate(fs *flag.FlagSet) endpointRun {
	url := fs.String("url", "", "new webhook URL")
	events := fs.String("events", "", `the complete new set of event types, comma-separated, or "all"`)
	name := fs.String("name", "", "new name")
	return func(ctx context.Context, api *endpointAPI, args []string, out io.Writer) error {
		var p webhooks.WebhookUpdateParams
		if *url != "" {
			p.URL = openai.String(*url)
		}
		if *name != "" {
			p.Name = openai.String(*name)
		}
		if *events != "" {
			types, err := api.eventTypeList(ctx, *events)
			if err != nil {
				return err
			}
			p.EventTypes = types
		}
		if *url == "" && *name == "" && *events == "" {
			return fmt.Errorf("%w: nothing to update: give --url, --events or --name (OpenAI's endpoints have no enabled flag: to stop deliveries, delete the endpoint)", errUsage)
		}
		ep, err := api.webhooks.Update(ctx, args[0], p)
		if err != nil {
			return apiFailure("update "+args[0], err)
		}
		printEndpoint(out, ep)
		return nil
	}
}

func (api *endpointAPI) delete(ctx context.Context, args []string, out io.Writer) error {
	if _, err := api.webhooks.Delete(ctx, args[0]); err != nil {
		return apiFailure("delete "+args[0], err)
	}
	fmt.Fprintf(out, "deleted webhook endpoint %s\n", args[0])
	return nil
}

func (api *endpointAPI) eventTypes(ctx context.Context, _ []string, out io.Writer) error {
	types, err := api.webhooks.EventTypes.List(ctx)
	if err != nil {
		return apiFailure("list the event types", err)
	}
	for _, t := range types.Data {
		fmt.Fprintln(out, t)
	}
	return nil
}

func flagsRotate(fs *flag.FlagSet) endpointRun {
	keepOld := fs.Bool("keep-old", false, "keep the old secret active at OpenAI for 24 hours, and in the secrets file after the new one, so that no delivery is refused during the swap (then prune)")
	return func(ctx context.Context, api *endpointAPI, args []string, out io.Writer) error {
		if err := api.checkSecretFile(); err != nil {
			return err
		}
		ep, err := api.webhooks.RotateSecret(ctx, args[0], webhooks.WebhookRotateSecretParams{KeepOldSecretActiveFor24Hours: openai.Bool(*keepOld)})
		if err != nil {
			return apiFailure("rotate the secret of "+args[0], err)
		}
		if *keepOld {
			fmt.Fprintf(out, "rotated the signing secret of %s; OpenAI signs with the old one too until about %s\n", ep.ID, time.Now().Add(keptSecretOverlap).Format(time.RFC3339))
		} else {
			fmt.Fprintf(out, "rotated the signing secret of %s; the old one no longer signs\n", ep.ID)
		}
		return api.keepSecret(ep.SigningSecret, *keepOld, out)
	}
}

func flagsPrune(fs *flag.FlagSet) endpointRun {
	force := fs.Bool("force", false, "prune even when the newest secret in the file does not match the endpoint's")
	return func(ctx context.Context, api *endpointAPI, args []string, out io.Writer) error {
		if api.secretFile == "" {
			return fmt.Errorf("no secrets file to prune: set %s_FILE or pass --secret-file (a secret in %s is edited by hand)", api.secretVariable, api.secretVariable)
		}
		lines, err := readSecretLines(api.secretFile)
		if err != nil {
			return err
		}
		list := secretsOf(lines)
		switch len(list) {
		case 0:
			return fmt.Errorf("%s holds no secret", api.secretFile)
		case 1:
			fmt.Fprintf(out, "%s holds one secret already\n", api.secretFile)
			return nil
		}
		ep, err := api.webhooks.Get(ctx, args[0])
		if err != nil {
			return apiFailure("get "+args[0], err)
		}
		if !matchesHint(list[0], ep.SigningSecretHint) && !*force {
			return fmt.Errorf("the newest secret in %s is not the current secret of %s (hint %s): pruning would leave the receiver without it; rotate again, or --force", api.secretFile, ep.ID, ep.SigningSecretHint)
		}
		// OpenAI does not say whether a kept old secret is still active (no
		// such field in openai-go v3.98.0): updated_at is all there is.
		if changed := time.Unix(ep.UpdatedAt, 0); time.Since(changed) < keptSecretOverlap {
			fmt.Fprintf(out, "note: %s changed %s ago; after `rotate --keep-old`, OpenAI signs with both secrets until about %s, so the newest one suffices\n",
				ep.ID, time.Since(changed).Round(time.Second), changed.Add(keptSecretOverlap).Format(time.RFC3339))
		}
		if err := writeSecrets(api.secretFile, list[:1]); err != nil {
			return err
		}
		fmt.Fprintf(out, "pruned %s to its newest secret (%d removed); a receiver watching it takes it up by itself\n", api.secretFile, len(list)-1)
		return nil
	}
}

func flagsTest(fs *flag.FlagSet) endpointRun {
	conn := temporalFlags(fs)
	ui := fs.String("ui", "http://localhost:8233", "Temporal UI base URL, for the printed link")
	noWait := fs.Bool("no-wait", false, "return once OpenAI has delivered the test event, without looking for its workflow")
	wait := fs.Duration("wait", time.Minute, "how long to wait for the workflow's result")
	return func(ctx context.Context, api *endpointAPI, args []string, out io.Writer) error {
		id, eventType := args[0], args[1]
		since := time.Now().Add(-2 * time.Second) // leeway for clock skew with Temporal
		res, err := api.webhooks.Test(ctx, id, webhooks.WebhookTestParams{EventType: webhooks.WebhookTestParamsEventType(eventType)})
		if err != nil {
			return apiFailure("test "+id, err)
		}
		fmt.Fprintf(out, "OpenAI sent a test %s to %s, which answered %d\n", res.EventType, res.WebhookEndpointID, res.StatusCode)
		if res.StatusCode/100 != 2 {
			return fmt.Errorf("the endpoint refused the test event (%d): hookbridge's receiver answers 400 when no secret in its secrets file verifies it, 503 when Temporal is out of reach", res.StatusCode)
		}
		if *noWait {
			return nil
		}
		c, cfg, err := conn.dial(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(ctx, *wait)
		defer cancel()
		return followTestWorkflow(ctx, c, cfg.Namespace, *ui, eventType, since, out)
	}
}

// followTestWorkflow finds the workflow a test event started, by its event
// type and start time (a few visibility queries, which are throttled on a
// stock server), then waits for it and prints its outcome.
func followTestWorkflow(ctx context.Context, c client.Client, namespace, ui, eventType string, since time.Time, out io.Writer) error {
	query := fmt.Sprintf("%s = %q AND StartTime >= %q", hookbridge.EventTypeKey.GetName(), eventType, since.UTC().Format(time.RFC3339Nano))
	const queries = 5
	var workflowID string
	for i := 0; workflowID == "" && i < queries; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
		list, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, Query: query, PageSize: 1})
		if err != nil {
			return fmt.Errorf("find the test's workflow: %w", err)
		}
		if e := list.GetExecutions(); len(e) > 0 {
			workflowID = e[0].GetExecution().GetWorkflowId()
		}
	}
	if workflowID == "" {
		return fmt.Errorf("no %s workflow started in namespace %s after %d visibility queries: does the endpoint's URL reach a hookbridge receiver connected to this Temporal?", eventType, namespace, queries)
	}
	fmt.Fprintf(out, "workflow %s: %s\n", workflowID, workflowURL(ui, namespace, workflowID))
	var res hookbridge.EventResult
	if err := c.GetWorkflow(ctx, workflowID, "").Get(ctx, &res); err != nil {
		return fmt.Errorf("workflow %s: %w", workflowID, err)
	}
	fmt.Fprintf(out, "outcome %s", res.Outcome)
	if res.APIError != nil {
		fmt.Fprintf(out, " (%s)", res.APIError.Message)
	}
	if res.Outcome == hookbridge.OutcomeNotFound {
		fmt.Fprint(out, ": test events carry sample object ids, so this is what a working setup shows")
	}
	fmt.Fprintln(out)
	return nil
}

// apiFailure describes a failed call to OpenAI with the API's message,
// which openai-go's error leaves out.
func apiFailure(what string, err error) error {
	var e *openai.Error
	if errors.As(err, &e) && e.Message != "" {
		return fmt.Errorf("%s: %w: %s", what, err, e.Message)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ---- the secrets file ----

// checkSecretFile fails early, before OpenAI makes a secret that could not
// be kept, when the secrets file cannot be read or written.
func (api *endpointAPI) checkSecretFile() error {
	if api.secretFile == "" {
		return nil
	}
	if _, err := readSecretLines(api.secretFile); err != nil {
		return err
	}
	dir := filepath.Dir(api.secretFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secrets file: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(api.secretFile)+".check*")
	if err != nil {
		return fmt.Errorf("secrets file %s: cannot write in its folder: %w", api.secretFile, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// keepSecret keeps a secret that OpenAI showed once: first in the secrets
// file, before the others (keepOthers) or alone. Without a secrets file, or
// when writing it fails, the secret is printed instead.
func (api *endpointAPI) keepSecret(secret string, keepOthers bool, out io.Writer) error {
	if secret == "" {
		return errors.New("OpenAI returned no signing secret")
	}
	how := "set it as " + api.secretVariable
	if keepOthers {
		how = "put it first in " + api.secretVariable + ", comma-separated, before the secrets already there"
	}
	if api.secretFile == "" {
		fmt.Fprintf(out, "\nthe new signing secret, which OpenAI shows only this once:\n\n  %s\n\nno secrets file is configured (%s_FILE or --secret-file): %s, where the receiver reads it\n", secret, api.secretVariable, how)
		return nil
	}
	lines, err := readSecretLines(api.secretFile)
	if err == nil {
		if keepOthers {
			lines = withSecretFirst(lines, secret)
		} else {
			lines = []string{secret}
		}
		err = writeSecrets(api.secretFile, lines)
	}
	if err != nil {
		fmt.Fprintf(out, "\nthe new signing secret, which OpenAI shows only this once:\n\n  %s\n\n", secret)
		return fmt.Errorf("%w: keep the secret above by hand", err)
	}
	fmt.Fprintf(out, "wrote the new signing secret to %s, first of the %d there; a receiver watching it takes it up by itself\n", api.secretFile, len(secretsOf(lines)))
	return nil
}

// readSecretLines returns the non-blank lines of a secrets file (secrets
// and # comments), none when it does not exist.
func readSecretLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secrets file: %w", err)
	}
	var lines []string
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return lines, nil
}

// secretsOf returns the secrets of a file's lines, newest first.
func secretsOf(lines []string) []string {
	var list []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "#") {
			list = append(list, l)
		}
	}
	return list
}

// withSecretFirst puts secret before the first secret of lines (after any
// leading comments), dropping an earlier copy of it.
func withSecretFirst(lines []string, secret string) []string {
	out := make([]string, 0, len(lines)+1)
	placed := false
	for _, l := range lines {
		if l == secret {
			continue
		}
		if !placed && !strings.HasPrefix(l, "#") {
			out, placed = append(out, secret), true
		}
		out = append(out, l)
	}
	if !placed {
		out = append(out, secret)
	}
	return out
}

// writeSecrets replaces the secrets file with lines, atomically: a
// temporary file in the same folder, renamed over it, so that the
// receiver's watcher sees one change. The file is readable by its owner only.
func writeSecrets(path string, lines []string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("secrets file: %w", err)
	}
	defer os.Remove(f.Name()) // after a failure; the rename leaves nothing
	_, err = f.WriteString(strings.Join(lines, "\n") + "\n")
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("secrets file %s: %w", path, err)
	}
	return nil
}

// matchesHint reports whether secret fits a masked hint such as
// "whsec_****abcd": it starts and ends with the hint's visible parts (runs
// of base64 characters). An empty hint fits any secret.
func matchesHint(secret, hint string) bool {
	masked := func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+/=_", r))
	}
	i := strings.IndexFunc(hint, masked)
	if i < 0 {
		return strings.HasPrefix(secret, hint) || strings.HasSuffix(secret, hint)
	}
	j := strings.LastIndexFunc(hint, masked)
	_, n := utf8.DecodeRuneInString(hint[j:])
	return strings.HasPrefix(secret, hint[:i]) && strings.HasSuffix(secret, hint[j+n:])
}
