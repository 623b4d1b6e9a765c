// Package release names the hookbridge release this build is, and reads
// the releases before it from CHANGELOG.md, which lists every release with
// its commit: the one list that the upgrade test upgrades from.
package release

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"runtime/debug"
)

// Version is the semantic version of this build's release. CHANGELOG.md's
// first entry is this version.
const Version = "0.4.0"

// String is the version as the binaries print it: "0.4.0", followed by the
// commit the binary was built from when the build recorded one, e.g.
// "0.4.0 (commit 1a2b3c4d5e6f, modified)".
func String() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return Version
	}
	return describe(Version, info.Settings)
}

// describe is String for the build settings a binary recorded. Builds
// record the commit with -buildvcs (the Makefile's build does).
func describe(version string, settings []debug.BuildSetting) string {
	var revision, modified string
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if revision == "" {
		return version
	}
	return fmt.Sprintf("%s (commit %.12s%s)", version, revision, modified)
}

// Requested reports whether a command's arguments (without the program
// name) ask for its version only.
func Requested(args []string) bool {
	return len(args) == 1 && (args[0] == "--version" || args[0] == "-version" || args[0] == "version")
}

// Release is one entry of CHANGELOG.md.
type Release struct {
	// Version is the semantic version, e.g. "0.3.0".
	Version string
	// Date is the release day, "YYYY-MM-DD"; empty while unreleased.
	Date string
	// Commit is the commit the release was made from; empty while
	// unreleased.
	Commit string
}

// Released reports whether the release has been made.
func (r Release) Released() bool { return r.Commit != "" }

var (
	releasedHeading   = regexp.MustCompile(`^## (\d+\.\d+\.\d+) \((\d{4}-\d{2}-\d{2}), commit ([0-9a-f]{7,40})\)$`)
	unreleasedHeading = regexp.MustCompile(`^## (\d+\.\d+\.\d+) \(unreleased\)$`)
	anyHeading        = regexp.MustCompile(`^## `)
)

// Parse reads the releases of a changelog, newest first: each is a line
// "## 0.3.0 (2026-11-29, commit 9140d1f)", or "## 0.4.0 (unreleased)" for
// the one in the making, which may only come first.
func Parse(changelog []byte) ([]Release, error) {
	var releases []Release
	sc := bufio.NewScanner(bytes.NewReader(changelog))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := releasedHeading.FindStringSubmatch(line); m != nil {
			releases = append(releases, Release{Version: m[1], Date: m[2], Commit: m[3]})
			continue
		}
		if m := unreleasedHeading.FindStringSubmatch(line); m != nil && len(releases) == 0 {
			releases = append(releases, Release{Version: m[1]})
			continue
		}
		if anyHeading.MatchString(line) {
			return nil, fmt.Errorf("line %d: %q: want \"## X.Y.Z (YYYY-MM-DD, commit abc1234)\", or \"## X.Y.Z (unreleased)\" first", n, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(releases) == 0 {
		return nil, fmt.Errorf("no release headings")
	}
	return releases, nil
}
