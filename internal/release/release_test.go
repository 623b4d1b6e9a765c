package release_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookbridge/hookbridge/internal/release"
)

// The changelog's first entry is this build's version, and every release
// below it names its date and commit: the list the upgrade test upgrades from.
func TestChangelogListsThisVersionFirst(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	releases, err := release.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if releases[0].Version != release.Version {
		t.Errorf("CHANGELOG.md starts with %s, release.Version is %s", releases[0].Version, release.Version)
	}
	seen := map[string]bool{}
	for i, r := range releases {
		if seen[r.Version] {
			t.Errorf("%s is listed twice", r.Version)
		}
		seen[r.Version] = true
		if i > 0 && !r.Released() {
			t.Errorf("%s below the first entry is not released", r.Version)
		}
	}
	if len(releases) < 2 {
		t.Errorf("CHANGELOG.md lists %d releases, want the earlier ones too", len(releases))
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, changelog string
		want            []release.Release
		wantErr         string
	}{
		{
			name:      "unreleased then released",
			changelog: "# Changelog\n\n## 0.2.0 (unreleased)\n\n### Upgrading\ntext\n## 0.1.0 (2026-11-27, commit 9086d1f)\n",
			want:      []release.Release{{Version: "0.2.0"}, {Version: "0.1.0", Date: "2026-11-27", Commit: "9086d1f"}},
		},
		{name: "no release", changelog: "# Changelog\n", wantErr: "no release headings"},
		{name: "unreleased below a release", changelog: "## 0.1.0 (2026-11-27, commit 9086d1f)\n## 0.2.0 (unreleased)\n", wantErr: "line 2"},
		{name: "no commit", changelog: "## 0.1.0 (2026-11-27)\n", wantErr: "line 1"},
		{name: "not semantic", changelog: "## v1 (2026-11-27, commit 9086d1f)\n", wantErr: "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := release.Parse([]byte(tc.changelog))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("release %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestRequested(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		if !release.Requested(args) {
			t.Errorf("Requested(%q) = false", args)
		}
	}
	for _, args := range [][]string{nil, {"send", "--version"}, {"--version", "x"}, {"-v"}} {
		if release.Requested(args) {
			t.Errorf("Requested(%q) = true", args)
		}
	}
}
