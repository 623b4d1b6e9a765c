package release

import (
	"runtime/debug"
	"testing"
)

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		settings []debug.BuildSetting
		want     string
	}{
		{nil, "1.2.3"},
		{[]debug.BuildSetting{{Key: "vcs.revision", Value: "9140d1fc1dae47b835c384b31f0a9628803d7a78"}, {Key: "vcs.modified", Value: "false"}}, "1.2.3 (commit 9140d1fc1dae)"},
		{[]debug.BuildSetting{{Key: "vcs.revision", Value: "9140d1fc1dae47b835c384b31f0a9628803d7a78"}, {Key: "vcs.modified", Value: "true"}}, "1.2.3 (commit 9140d1fc1dae, modified)"},
	} {
		if got := describe("1.2.3", tc.settings); got != tc.want {
			t.Errorf("describe(%v) = %q, want %q", tc.settings, got, tc.want)
		}
	}
}
