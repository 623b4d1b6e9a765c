package openaisim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Batch input is parsed once, during validation, into a compact list of
// custom ids; the output and error files are generated from it on every read
// instead of being stored, so a batch of 100,000 lines costs a few MB.

// FailCustomIDPrefix marks batch input lines that fail: a line whose
// custom_id starts with it goes to the error file instead of the output file.
const FailCustomIDPrefix = "fail"

// maxBatchErrors caps the validation errors reported on a failed batch.
const maxBatchErrors = 100

type batchLine struct {
	customID string
	fail     bool
}

// parseBatchInput validates a batch input file: one JSON object per line,
// each with a unique custom_id. It returns the lines and the model of the
// first line, or the validation errors that fail the batch.
func parseBatchInput(data []byte) (lines []batchLine, model string, errs []batchError) {
	seen := make(map[string]struct{})
	lineNo := int64(0)
	fail := func(code, msg string) {
		if len(errs) < maxBatchErrors {
			errs = append(errs, batchError{Code: code, Message: msg, Line: ptr(lineNo)})
		}
	}
	for len(data) > 0 {
		var raw []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			raw, data = data[:i], data[i+1:]
		} else {
			raw, data = data, nil
		}
		lineNo++
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		customID, hasID, ok := scanLine(raw)
		if !ok {
			fail("invalid_json_line", "This line is not parseable as valid JSON.")
			continue
		}
		if !hasID {
			fail("missing_required_parameter", "Missing required parameter: 'custom_id'.")
			continue
		}
		if _, dup := seen[customID]; dup {
			fail("duplicate_custom_id", fmt.Sprintf("The custom_id '%s' is used more than once.", customID))
			continue
		}
		if model == "" {
			var l struct {
				Body struct {
					Model string `json:"model"`
				} `json:"body"`
			}
			if json.Unmarshal(raw, &l) == nil {
				model = l.Body.Model
			}
		}
		seen[customID] = struct{}{}
		lines = append(lines, batchLine{customID: customID, fail: strings.HasPrefix(customID, FailCustomIDPrefix)})
	}
	if len(lines) == 0 && len(errs) == 0 {
		errs = append(errs, batchError{Code: "empty_file", Message: "The input file is empty."})
	}
	return lines, model, errs
}

// scanLine checks that a line is one JSON object and returns its top-level
// custom_id, a string. It checks structure (objects, arrays, strings,
// separators) without validating numbers and literals: encoding/json is
// ten times slower, which matters for 100,000 lines under the race detector.
func scanLine(raw []byte) (customID string, hasID, ok bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return "", false, false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return "", false, skipSpace(raw, i+1) == len(raw)
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return "", false, false
		}
		keyEnd := skipString(raw, i)
		if keyEnd < 0 {
			return "", false, false
		}
		key := raw[i+1 : keyEnd-1]
		i = skipSpace(raw, keyEnd)
		if i >= len(raw) || raw[i] != ':' {
			return "", false, false
		}
		i = skipSpace(raw, i+1)
		end := skipValue(raw, i)
		if end < 0 {
			return "", false, false
		}
		if string(key) == "custom_id" && raw[i] == '"' {
			token := raw[i:end]
			if bytes.IndexByte(token, '\\') < 0 {
				customID, hasID = string(token[1:len(token)-1]), true
			} else if json.Unmarshal(token, &customID) == nil {
				hasID = true
			}
		}
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return "", false, false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			if skipSpace(raw, i+1) != len(raw) {
				return "", false, false
			}
			return customID, hasID, true
		default:
			return "", false, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i], -1 if unterminated.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i], -1 if malformed.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				if j = skipString(b, j); j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	case ',', '}', ']', ':':
		return -1
	}
	j := i
	for j < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[j])) {
		j++
	}
	return j
}

// batchOutput describes the generated output and error files of a batch.
type batchOutput struct {
	batchID  string
	endpoint string
	model    string
	created  int64
	lines    []batchLine
	// answerBytes is the size of each answer's text (MetadataAnswerBytes),
	// 0 for the short default.
	answerBytes int
}

// answer is the text that answers the request with the custom id.
func (o batchOutput) answer(customID string) string {
	return padAnswer("simulated answer for "+customID, o.answerBytes)
}

// write writes the output file (errorsFile false: the lines that succeeded)
// or the error file (the lines that failed), one JSON object per line.
func (o batchOutput) write(w io.Writer, errorsFile bool) error {
	h := fnv.New64a()
	h.Write([]byte(o.batchID))
	seed := h.Sum64()
	buf := make([]byte, 0, 1024)
	for i, l := range o.lines {
		if l.fail != errorsFile {
			continue
		}
		r1, r2 := splitmix(seed+uint64(2*i)), splitmix(seed+uint64(2*i+1))
		buf = buf[:0]
		buf = append(buf, `{"id":"batch_req_`...)
		buf = appendHex(buf, r1, r2)
		buf = append(buf, `","custom_id":`...)
		buf = appendJSONString(buf, l.customID)
		buf = append(buf, `,"response":{"status_code":`...)
		if l.fail {
			buf = append(buf, `400,"request_id":"`...)
			buf = appendHex(buf, r2, r1)
			buf = append(buf, `","body":{"error":{"message":`...)
			buf = appendJSONString(buf, "Simulated failure of request "+l.customID+".")
			buf = append(buf, `,"type":"invalid_request_error","param":null,"code":"simulated_failure"}}},"error":null}`...)
		} else {
			buf = append(buf, `200,"request_id":"`...)
			buf = appendHex(buf, r2, r1)
			buf = append(buf, `","body":`...)
			buf = o.appendBody(buf, l.customID, r1, r2)
			buf = append(buf, `},"error":null}`...)
		}
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// appendBody appends the answer of one request, shaped after the endpoint.
func (o batchOutput) appendBody(buf []byte, customID string, r1, r2 uint64) []byte {
	text := o.answer(customID)
	out := int64(len(strings.Fields(text)))
	const in = 10
	created := strconv.FormatInt(o.created, 10)
	switch o.endpoint {
	case "/v1/responses":
		buf = append(buf, `{"id":"resp_`...)
		buf = appendHex(buf, r1, r2)
		buf = append(buf, `","object":"response","created_at":`+created+`,"status":"completed","background":false,"error":null,"incomplete_details":null,"instructions":null,"model":`...)
		buf = appendJSONString(buf, o.model)
		buf = append(buf, `,"output":[{"type":"message","id":"msg_`...)
		buf = appendHex(buf, r2, r1)
		buf = append(buf, `","status":"completed","role":"assistant","content":[{"type":"output_text","text":`...)
		buf = appendJSONString(buf, text)
		buf = append(buf, `,"annotations":[],"logprobs":[]}]}],"parallel_tool_calls":true,"temperature":1.0,"tool_choice":"auto","tools":[],"top_p":1.0,"usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":0},"output_tokens":`...)
		buf = strconv.AppendInt(buf, out, 10)
		buf = append(buf, `,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":`...)
		buf = strconv.AppendInt(buf, in+out, 10)
		return append(buf, `},"metadata":{}}`...)
	case "/v1/embeddings":
		buf = append(buf, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2,0.3]}],"model":`...)
		buf = appendJSONString(buf, o.model)
		return append(buf, `,"usage":{"prompt_tokens":10,"total_tokens":10}}`...)
	case "/v1/completions":
		buf = append(buf, `{"id":"cmpl-`...)
		buf = appendHex(buf, r1, r2)
		buf = append(buf, `","object":"text_completion","created":`+created+`,"model":`...)
		buf = appendJSONString(buf, o.model)
		buf = append(buf, `,"choices":[{"text":`...)
		buf = appendJSONString(buf, text)
		buf = append(buf, `,"index":0,"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":`...)
	default: // chat completions, and any other endpoint
		buf = append(buf, `{"id":"chatcmpl-`...)
		buf = appendHex(buf, r1, r2)
		buf = append(buf, `","object":"chat.completion","created":`+created+`,"model":`...)
		buf = appendJSONString(buf, o.model)
		buf = append(buf, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
		buf = appendJSONString(buf, text)
		buf = append(buf, `,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"service_tier":"default","system_fingerprint":null,"usage":{"prompt_tokens":10,"completion_tokens":`...)
	}
	buf = strconv.AppendInt(buf, out, 10)
	buf = append(buf, `,"total_tokens":`...)
	buf = strconv.AppendInt(buf, in+out, 10)
	return append(buf, `}}`...)
}

// batchTotals summarises a completed batch.
type batchTotals struct {
	outputBytes, errorBytes   int64
	completed, failed         int64
	inputTokens, outputTokens int64
}

// totals measures the generated files by writing them to a counter.
func (o batchOutput) totals() batchTotals {
	var ow, ew countingWriter
	_ = o.write(&ow, false)
	_ = o.write(&ew, true)
	t := batchTotals{outputBytes: ow.n, errorBytes: ew.n}
	for _, l := range o.lines {
		if l.fail {
			t.failed++
			continue
		}
		t.completed++
		t.inputTokens += 10
		t.outputTokens += int64(len(strings.Fields(o.answer(l.customID))))
	}
	return t
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// splitmix is the SplitMix64 finalizer: a cheap, well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// appendHex appends the 32 hex digits of a and b.
func appendHex(buf []byte, a, b uint64) []byte {
	for _, v := range []uint64{a, b} {
		for shift := 60; shift >= 0; shift -= 4 {
			buf = append(buf, hexDigits[(v>>uint(shift))&0xf])
		}
	}
	return buf
}

// appendJSONString appends s as a JSON string.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(buf, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			buf = append(buf, `\u202`...)
			buf = append(buf, hexDigits[r&0xf])
		default:
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}
