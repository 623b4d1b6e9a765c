package openaisim

import "testing"

func TestScanLine(t *testing.T) {
	tests := []struct {
		line      string
		id        string
		hasID, ok bool
	}{
		{`{"custom_id":"a","body":{"x":[1,{"y":"}"}]}}`, "a", true, true},
		{` { "method" : "POST" , "custom_id" : "b\"q" } `, `b"q`, true, true},
		{`{"custom_id":"c\u00e9"}`, "cé", true, true},
		{`{"body":{"custom_id":"nested"}}`, "", false, true},
		{`{"custom_id":7}`, "", false, true},
		{`{}`, "", false, true},
		{`not json`, "", false, false},
		{`{"custom_id":"a"`, "", false, false},
		{`{"custom_id":"a"} trailing`, "", false, false},
		{`{"custom_id" "a"}`, "", false, false},
		{`{"a":"unterminated}`, "", false, false},
		{`{"a":[1,2}`, "", false, false},
		{`["custom_id"]`, "", false, false},
	}
	for _, tt := range tests {
		id, hasID, ok := scanLine([]byte(tt.line))
		if id != tt.id || hasID != tt.hasID || ok != tt.ok {
			t.Errorf("scanLine(%s) = %q, %v, %v; want %q, %v, %v", tt.line, id, hasID, ok, tt.id, tt.hasID, tt.ok)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"plain", `q"b\s`, "tab\tnl\n\x01", "é ☃ \u2028", "bad\xffutf8"} {
		got := string(appendJSONString(nil, s))
		want := string(mustJSON(s))
		if s == "bad\xffutf8" {
			want = `"bad\ufffdutf8"`
		}
		if got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}
