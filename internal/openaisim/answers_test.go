package openaisim_test

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"github.com/hookbridge/hookbridge/internal/openaisim"
)

// MetadataAnswerBytes makes a response's output text, and each answer of a
// batch, as large as asked: the objects tests of payload limits need.
func TestMetadataAnswerBytesMakesLargeAnswers(t *testing.T) {
	_, _, client := start(t, openaisim.Options{CompleteAfter: 30 * time.Millisecond})
	ctx := testContext(t)
	const size = 3 << 20
	resp, err := client.Responses.New(ctx, responses.ResponseNewParams{
		Model:      "gpt-4o-mini",
		Input:      responses.ResponseNewParamsInputUnion{OfString: openai.String("write a lot")},
		Background: openai.Bool(true),
		Metadata:   shared.Metadata{openaisim.MetadataAnswerBytes: strconv.Itoa(size)},
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "response completed", func() bool {
		got, err := client.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{})
		if err != nil {
			t.Fatal(err)
		}
		resp = got
		return got.Status == responses.ResponseStatusCompleted
	})
	if text := resp.OutputText(); len(text) != size || text[:33] != "simulated answer to: write a lot " {
		t.Errorf("output text of %d bytes starting %.40q, want %d bytes starting with the answer", len(text), text, size)
	}

	const lineAnswer = 600 << 10
	input := upload(t, client, "in.jsonl", openai.FilePurposeBatch, batchInput(3, map[int]bool{2: true}))
	b, err := client.Batches.New(ctx, openai.BatchNewParams{
		InputFileID:      input.ID,
		Endpoint:         openai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h,
		Metadata:         shared.Metadata{openaisim.MetadataAnswerBytes: strconv.Itoa(lineAnswer)},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = waitBatch(t, client, b.ID, 5*time.Second)
	out := readContent(t, client, b.OutputFileID)
	lines := bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
	if len(lines) != 2 || b.RequestCounts.Completed != 2 {
		t.Fatalf("%d output lines, counts %+v; want 2 completed", len(lines), b.RequestCounts)
	}
	for i, l := range lines {
		var line struct {
			Response struct {
				Body openai.ChatCompletion `json:"body"`
			} `json:"response"`
		}
		if err := json.Unmarshal(l, &line); err != nil {
			t.Fatal(err)
		}
		if got := len(line.Response.Body.Choices[0].Message.Content); got != lineAnswer {
			t.Errorf("line %d answers with %d bytes, want %d", i, got, lineAnswer)
		}
	}
	if f, err := client.Files.Get(ctx, b.OutputFileID); err != nil || f.Bytes != int64(len(out)) {
		t.Errorf("output file = %+v, %v; want %d bytes as served", f, err, len(out))
	}
}

func TestMetadataAnswerBytesMustBeASize(t *testing.T) {
	_, _, client := start(t, openaisim.Options{})
	for _, v := range []string{"lots", "-1", strconv.Itoa(openaisim.MaxAnswerBytes + 1)} {
		_, err := client.Responses.New(testContext(t), responses.ResponseNewParams{
			Model:    "gpt-4o-mini",
			Input:    responses.ResponseNewParamsInputUnion{OfString: openai.String("x")},
			Metadata: shared.Metadata{openaisim.MetadataAnswerBytes: v},
		})
		apiError(t, err, 400)
	}
}
