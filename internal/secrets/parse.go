package secrets

import (
	"errors"
	"fmt"
	"strings"
)

// Lines parses a file that holds one secret per line, such as webhook signing
// secrets, which overlap during a rotation: the new secret is added, then the
// old one removed once senders have switched. Surrounding spaces are trimmed;
// blank lines and lines starting with # are ignored. At least one secret is
// required.
func Lines(b []byte) ([]string, error) {
	var out []string
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		return nil, errors.New("no secret: every line is blank or a comment")
	}
	return out, nil
}

// Single parses a file that holds exactly one secret, such as an API key: its
// one non-empty line, with surrounding spaces trimmed.
func Single(b []byte) (string, error) {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", errors.New("no secret: the file is blank")
	}
	// Count lines without quoting any: errors are logged.
	if n := nonEmptyLines(s); n != 1 {
		return "", fmt.Errorf("want exactly one non-empty line, found %d", n)
	}
	return s, nil
}

func nonEmptyLines(s string) int {
	n := 0
	for line := range strings.Lines(s) {
		if strings.TrimSpace(line) != "" {
			n++
		}
	}
	return n
}
