package hookbridge_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The root package holds the types users decode; importing it must not pull
// in the OpenAI SDK, the blob store or hookbridge's own heavy packages.
func TestRootPackageHasNoHeavyDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, heavy := range []string{"github.com/openai/openai-go", "gocloud.dev", "github.com/hookbridge/hookbridge/"} {
			if strings.HasPrefix(dep, heavy) {
				t.Errorf("the root package depends on %s", dep)
			}
		}
	}
}
