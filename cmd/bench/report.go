package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// section is one part of the report: a heading, what was measured, a small
// table, and notes under it.
type section struct {
	Title  string
	Text   string
	Header []string
	Rows   [][]string
	Notes  []string
}

// markdown writes the section as Markdown.
func (s section) markdown(w io.Writer) {
	fmt.Fprintf(w, "## %s\n\n", s.Title)
	if s.Text != "" {
		fmt.Fprintf(w, "%s\n\n", s.Text)
	}
	if len(s.Header) > 0 {
		fmt.Fprintf(w, "| %s |\n", strings.Join(s.Header, " | "))
		seps := make([]string, len(s.Header))
		for i := range seps {
			seps[i] = "---"
		}
		fmt.Fprintf(w, "|%s|\n", strings.Join(seps, "|"))
		for _, row := range s.Rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		}
		fmt.Fprintln(w)
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	if len(s.Notes) > 0 {
		fmt.Fprintln(w)
	}
}

// perSecond formats a rate.
func perSecond(r float64) string {
	if r >= 100 {
		return fmt.Sprintf("%.0f/s", r)
	}
	return fmt.Sprintf("%.1f/s", r)
}

// ratio formats a ratio against its target, e.g. "0.97 (≥ 0.95 ✓)".
func ratio(got, base, target float64) string {
	if base <= 0 {
		return "n/a"
	}
	r := got / base
	return fmt.Sprintf("%.2f (target ≥ %.2f %s)", r, target, check(r >= target))
}

// check is the mark of a target: ✓ when met, ✗ when not.
func check(met bool) string {
	if met {
		return "✓"
	}
	return "✗"
}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v >= 100 || v <= -100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10 || v <= -10:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.2f ms", v)
	}
}

// times formats got as a multiple of base, e.g. "1.35×".
func times(got, base time.Duration) string {
	if base <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", float64(got)/float64(base))
}
