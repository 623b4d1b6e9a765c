package hookbridge_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The root package holds the types users decode, and package flow the API
// users call from their workflows; importing them must not pull in the
// OpenAI SDK, the blob store or hookbridge's other packages.
func TestRootPackageHasNoHeavyDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".", "./flow").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, heavy := range []string{"github.com/openai/openai-go", "gocloud.dev", "github.com/hookbridge/hookbridge/"} {
			if strings.HasPrefix(dep, heavy) && dep != "github.com/hookbridge/hookbridge/flow" {
				t.Errorf("the root package or flow depends on %s", dep)
			}
		}
	}
}
