package deploy

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hookbridge/hookbridge"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite README.md's event table from hookbridge.Kinds and readmeRows")

const (
	eventTableStart = "<!-- event table: generated from hookbridge.Kinds and readme_test.go by `go test ./deploy -update-readme` -->\n"
	eventTableEnd   = "<!-- end of event table -->\n"
)

// readmeRow is the README's prose about one row of hookbridge.Kinds: what
// its event workflow does, and what its result holds beyond what every
// result has. It lives here rather than in the table, which every binary
// compiles in.
type readmeRow struct{ does, result string }

// readmeRows are the README's prose, by row of hookbridge.Kinds.
var readmeRows = map[hookbridge.ObjectKind]readmeRow{
	hookbridge.ObjectResponse: {
		"retrieves the response (`Responses.Get`)",
		"`status`, `output_text`, `error`, `incomplete_reason`, `usage`, `metadata`; when too large to inline, `object_blob` and `truncated`",
	},
	hookbridge.ObjectBatch: {
		"retrieves the batch (`Batches.Get`); once it is over, streams its output and error files to the blob store",
		"`status`, `request_counts`, `output_blob`, `error_blob`, `metadata`",
	},
	hookbridge.ObjectFineTuningJob: {
		"retrieves the job (`FineTuning.Jobs.Get`)",
		"`status`, `fine_tuned_model`, `error`, `metadata`",
	},
	hookbridge.ObjectEvalRun: {
		"finds the `EvalRun` workflow that started the run (the event carries only the run id) and retrieves the run; records runs started elsewhere",
		"`status`, `eval_id`, `result_counts`, `metadata`",
	},
	hookbridge.ObjectAgentEnvironment: {
		"retrieves the environment (`Beta.Agents.Environments.Get`)",
		"`status`",
	},
	hookbridge.ObjectAgentSession: {
		"retrieves the session (`Beta.Agents.Sessions.Get`)",
		"`status`, `required_actions`, `error`, `metadata`; when too large to inline, `object_blob` and `truncated`",
	},
	hookbridge.ObjectSafetyAlert: {
		"retrieves the alert (`Safety.Alerts.Get`)",
		"`category` (the error type), `reason`, `model`, `response_id`",
	},
	hookbridge.ObjectSafetyCase: {
		"retrieves the case (`Safety.Cases.Get`)",
		"`category` (the notice type), `reason`, `entity`",
	},
	hookbridge.ObjectVideo: {
		"retrieves the video (`Videos.Get`)",
		"`status`, `model`, `progress`, `error`",
	},
	hookbridge.ObjectRealtimeCall: {
		"answers the call within seconds with your decision (`Realtime.Calls.Accept` / `Reject`)",
		"`call`: `decision`, `decided_by`, `sip_headers`, `answered_at`, `latency_ms`",
	},
	hookbridge.ObjectLiveSession: {
		"answers the call within seconds with your decision (`Live.Sessions.Accept` / `Reject`)",
		"`call`: `decision`, `decided_by`, `sip_headers`, `answered_at`, `latency_ms`",
	},
}

// The README's event table is hookbridge.Kinds, every type listed, with
// readmeRows' prose for every row.
func TestReadmeEventTableIsTheKindsTable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	before, rest, ok := strings.Cut(readme, eventTableStart)
	table, after, ok2 := strings.Cut(rest, eventTableEnd)
	if !ok || !ok2 {
		t.Fatalf("README.md lacks the event table markers %q and %q", eventTableStart, eventTableEnd)
	}
	want := eventTable(t)
	if table == want {
		return
	}
	if *updateReadme {
		if err := os.WriteFile("../README.md", []byte(before+eventTableStart+want+eventTableEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's event table differs from hookbridge.Kinds; run `go test ./deploy -run ReadmeEventTable -update-readme`. Want:\n%s", want)
}

// eventTable is the README's event table; it fails t for a row without
// prose, or prose without a row.
func eventTable(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("| event types | workflow | what it does | result holds |\n|---|---|---|---|\n")
	described := map[hookbridge.ObjectKind]bool{}
	for k := range hookbridge.Kinds() {
		row := readmeRows[k.Object]
		if row.does == "" || row.result == "" {
			t.Errorf("row %s of hookbridge.Kinds: readmeRows says not what its workflow does and what its result holds", k.Object)
		}
		described[k.Object] = true
		types := k.EventTypes()
		for i, typ := range types {
			types[i] = "`" + typ + "`"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", strings.Join(types, "<br>"), k.WorkflowType, row.does, row.result)
	}
	for o := range readmeRows {
		if !described[o] {
			t.Errorf("readmeRows describes %s, which is no row of hookbridge.Kinds", o)
		}
	}
	fmt.Fprintf(&b, "| anything else, known or not | `%s` | records the event | the event |\n", hookbridge.OtherEventWorkflow)
	return b.String()
}
