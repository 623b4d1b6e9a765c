package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/hookbridge/hookbridge"
)

// maxInlineBatch bounds the request lines `submit batch` puts in the
// workflow input, well inside Temporal's payload limits.
const maxInlineBatch = 1 << 20

// submission is one `hookbridge submit` kind: its flags and the workflow
// input they make.
type submission struct {
	workflowType string
	args         string
	flags        func(fs *flag.FlagSet) func(args []string, project string) (any, error)
}

var submissions = map[string]submission{
	"response": {hookbridge.BackgroundResponseWorkflow, "--model M --input TEXT", func(fs *flag.FlagSet) func([]string, string) (any, error) {
		model := fs.String("model", "", "model (required)")
		input := fs.String("input", "", "input text (required)")
		instructions := fs.String("instructions", "", "instructions")
		poll := fs.Int("poll", 0, "seconds before polling OpenAI when no webhook comes (default 300)")
		return func(_ []string, project string) (any, error) {
			if *model == "" || *input == "" {
				return nil, fmt.Errorf("%w: --model and --input are required", errUsage)
			}
			text, _ := json.Marshal(*input)
			return hookbridge.BackgroundResponseInput{Project: project, Model: *model, Input: text, Instructions: *instructions, PollIntervalSeconds: *poll}, nil
		}
	}},
	"batch": {hookbridge.BatchWorkflow, "FILE.jsonl | --input-file-id ID", func(fs *flag.FlagSet) func([]string, string) (any, error) {
		fileID := fs.String("input-file-id", "", "an uploaded batch input file, instead of FILE.jsonl")
		endpoint := fs.String("endpoint", "/v1/responses", "endpoint of the requests")
		window := fs.String("completion-window", "24h", "completion window")
		poll := fs.Int("poll", 0, "seconds before polling OpenAI when no webhook comes (default 300)")
		return func(args []string, project string) (any, error) {
			in := hookbridge.BatchInput{Project: project, InputFileID: *fileID, Endpoint: *endpoint, CompletionWindow: *window, PollIntervalSeconds: *poll}
			switch {
			case len(args) == 1 && *fileID == "":
				lines, err := readRequestLines(args[0])
				in.Requests = lines
				return in, err
			case len(args) == 0 && *fileID != "":
				return in, nil
			default:
				return nil, fmt.Errorf("%w: give FILE.jsonl or --input-file-id", errUsage)
			}
		}
	}},
	"fine-tune": {hookbridge.FineTuningJobWorkflow, "--model M --training-file FILE_ID", func(fs *flag.FlagSet) func([]string, string) (any, error) {
		model := fs.String("model", "", "base model (required)")
		training := fs.String("training-file", "", "uploaded training file id (required)")
		validation := fs.String("validation-file", "", "uploaded validation file id")
		suffix := fs.String("suffix", "", "suffix of the fine-tuned model's name")
		poll := fs.Int("poll", 0, "seconds before polling OpenAI when no webhook comes (default 300)")
		return func(_ []string, project string) (any, error) {
			if *model == "" || *training == "" {
				return nil, fmt.Errorf("%w: --model and --training-file are required", errUsage)
			}
			return hookbridge.FineTuningJobInput{Project: project, Model: *model, TrainingFile: *training, ValidationFile: *validation, Suffix: *suffix, PollIntervalSeconds: *poll}, nil
		}
	}},
}

func runSubmit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	kinds := "response, batch, fine-tune"
	if len(args) == 0 {
		return fmt.Errorf("%w: submit what? one of %s", errUsage, kinds)
	}
	sub, ok := submissions[args[0]]
	if !ok {
		return fmt.Errorf("%w: cannot submit %q; one of %s", errUsage, args[0], kinds)
	}
	fs := newFlagSet("submit "+args[0], sub.args, stderr)
	input := sub.flags(fs)
	conn := temporalFlags(fs)
	project := fs.String("project", "", "the OpenAI project to work in, as named in HOOKBRIDGE_PROJECTS (default: the default project)")
	id := fs.String("id", "", "workflow ID (default: submit-<kind>-<random>)")
	noWait := fs.Bool("no-wait", false, "print the workflow ID and return without waiting for the result")
	ui := fs.String("ui", "http://localhost:8233", "Temporal UI base URL, for the printed link")
	positional, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return parseError(err)
	}
	in, err := input(positional, *project)
	if err != nil {
		return err
	}
	c, cfg, err := conn.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if *id == "" {
		*id = "submit-" + args[0] + "-" + randomHex(6)
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: *id, TaskQueue: cfg.TaskQueue}, sub.workflowType, in)
	if err != nil {
		return fmt.Errorf("start %s: %w", sub.workflowType, err)
	}
	fmt.Fprintf(stdout, "started %s %s: %s/namespaces/%s/workflows/%s\n", sub.workflowType, run.GetID(),
		strings.TrimRight(*ui, "/"), url.PathEscape(cfg.Namespace), url.PathEscape(run.GetID()))
	if *noWait {
		return nil
	}
	var result json.RawMessage
	if err := run.Get(ctx, &result); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("stopped waiting; the workflow goes on (cancel it with `temporal workflow cancel -w %s`)", run.GetID())
		}
		return fmt.Errorf("%s %s: %w", sub.workflowType, run.GetID(), err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(result)
}

// readRequestLines reads a batch input file: one request per line.
func readRequestLines(path string) ([]json.RawMessage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > maxInlineBatch {
		return nil, fmt.Errorf("%s is %d bytes, too large for a workflow input: upload it with purpose \"batch\" and pass --input-file-id", path, fi.Size())
	}
	var lines []json.RawMessage
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxInlineBatch)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if !json.Valid([]byte(line)) {
			return nil, fmt.Errorf("%s:%d: not JSON", path, n)
		}
		lines = append(lines, json.RawMessage(line))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, errors.New(path + " has no requests")
	}
	return lines, nil
}
