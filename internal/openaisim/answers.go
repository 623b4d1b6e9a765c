package openaisim

import (
	"fmt"
	"strconv"
	"strings"
)

// MetadataAnswerBytes is a metadata key of the simulator's own, which OpenAI
// does not know: it makes answers as large as tests of payload limits need.
// A response created with it ("3145728") has an output_text of that many
// bytes, and every successful line of a batch created with it answers with a
// text of that many bytes. At most MaxAnswerBytes; any other value is
// refused with 400.
const MetadataAnswerBytes = "openaisim_answer_bytes"

// MaxAnswerBytes bounds MetadataAnswerBytes, so that a typo cannot make the
// simulator exhaust memory.
const MaxAnswerBytes = 64 << 20

// answerBytes returns the answer size the metadata asks for, 0 for none.
// checkAnswerBytes has validated it.
func answerBytes(md map[string]string) int {
	n, _ := strconv.Atoi(md[MetadataAnswerBytes])
	return n
}

// checkAnswerBytes refuses a MetadataAnswerBytes that is not a size.
func checkAnswerBytes(md map[string]string) *apiError {
	v, ok := md[MetadataAnswerBytes]
	if !ok {
		return nil
	}
	if n, err := strconv.Atoi(v); err != nil || n < 0 || n > MaxAnswerBytes {
		return badRequest(fmt.Sprintf("Invalid 'metadata.%s': expected a number of bytes from 0 to %d, got '%s'.", MetadataAnswerBytes, MaxAnswerBytes, v), "metadata."+MetadataAnswerBytes, "invalid_value")
	}
	return nil
}

// padAnswer lengthens text to n bytes (plain ASCII filler); a text of n
// bytes or more is returned as it is.
func padAnswer(text string, n int) string {
	if len(text) >= n {
		return text
	}
	const filler = " and so on"
	var b strings.Builder
	b.Grow(n + len(filler))
	b.WriteString(text)
	for b.Len() < n {
		b.WriteString(filler)
	}
	return b.String()[:n]
}
