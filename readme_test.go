package hookbridge_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hookbridge/hookbridge"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite README.md's event table from hookbridge.Kinds")

const (
	eventTableStart = "<!-- event table: generated from hookbridge.Kinds by `go test . -update-readme` -->\n"
	eventTableEnd   = "<!-- end of event table -->\n"
)

// The README's event table is hookbridge.Kinds, every type listed.
func TestReadmeEventTableIsTheKindsTable(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	before, rest, ok := strings.Cut(readme, eventTableStart)
	table, after, ok2 := strings.Cut(rest, eventTableEnd)
	if !ok || !ok2 {
		t.Fatalf("README.md lacks the event table markers %q and %q", eventTableStart, eventTableEnd)
	}
	want := eventTable()
	if table == want {
		return
	}
	if *updateReadme {
		if err := os.WriteFile("README.md", []byte(before+eventTableStart+want+eventTableEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's event table differs from hookbridge.Kinds; run `go test . -run ReadmeEventTable -update-readme`. Want:\n%s", want)
}

func eventTable() string {
	var b strings.Builder
	b.WriteString("| event types | workflow | what it does | result holds |\n|---|---|---|---|\n")
	for _, k := range hookbridge.Kinds {
		types := make([]string, len(k.EventTypes))
		for i, t := range k.EventTypes {
			types[i] = "`" + t + "`"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", strings.Join(types, "<br>"), k.WorkflowType, k.Does, k.Result)
	}
	fmt.Fprintf(&b, "| anything else, known or not | `%s` | records the event | the event |\n", hookbridge.OtherEventWorkflow)
	return b.String()
}
