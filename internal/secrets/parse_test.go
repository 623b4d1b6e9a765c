package secrets

import (
	"slices"
	"strings"
	"testing"
)

func TestLines(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{name: "one", in: "whsec_a", want: []string{"whsec_a"}},
		{name: "trailing newline", in: "whsec_a\n", want: []string{"whsec_a"}},
		{name: "rotation overlap", in: "whsec_new\nwhsec_old\n", want: []string{"whsec_new", "whsec_old"}},
		{name: "spaces, CRLF, blanks and comments", in: "# rotated 2026-01-01\r\n\r\n  whsec_a  \r\n\t# old one below\n\twhsec_b\n\n", want: []string{"whsec_a", "whsec_b"}},
		{name: "empty", in: "", wantErr: true},
		{name: "blank lines only", in: "\n  \n\t\n", wantErr: true},
		{name: "comments only", in: "# whsec_commented_out\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Lines([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Lines(%q) = %q, want an error", tt.in, got)
				}
				if strings.Contains(err.Error(), "whsec") {
					t.Errorf("error %q quotes the content", err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Lines(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSingle(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{name: "bare", in: "sk-proj-a", want: "sk-proj-a"},
		{name: "trailing newline", in: "sk-proj-a\n", want: "sk-proj-a"},
		{name: "surrounding space and blank lines", in: "\n  sk-proj-a \r\n\n", want: "sk-proj-a"},
		{name: "empty", in: "", wantErr: true},
		{name: "blank", in: " \n\t\n", wantErr: true},
		{name: "two lines", in: "sk-proj-a\nsk-proj-b\n", wantErr: true},
		{name: "two lines apart", in: "sk-proj-a\n\nsk-proj-b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Single([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Single(%q) = %q, want an error", tt.in, got)
				}
				if strings.Contains(err.Error(), "sk-") {
					t.Errorf("error %q quotes the content", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Single(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}
