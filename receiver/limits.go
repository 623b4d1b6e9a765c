package receiver

import (
	"fmt"
	"math"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/payload"
)

// TemporalPayloadLimit is the largest workflow input Temporal accepts by
// default, in bytes after encoding (limit.blobSize.error, 2 MiB; a start
// over it fails with InvalidArgument).
const TemporalPayloadLimit = 2 << 20

// maxProjectLength bounds a project's name (see internal/config).
const maxProjectLength = 63

// EventInputBytes returns the largest encoded workflow input of an event
// whose body is at most maxBodyBytes, as Temporal measures it (the
// Payloads of the start request) with the data converter of
// internal/payload: the body as it came (JSON without HTML escaping never
// grows), plus every other field at its largest, each character of the
// strings written as the longest escape the receiver lets through.
func EventInputBytes(maxBodyBytes int64) int64 {
	// A quote becomes \" and U+2028 becomes \u2028: either doubles a
	// string; the receiver refuses control characters, which grow more.
	worst := func(n int) string { return strings.Repeat(`"`, n) }
	ev := hookbridge.Event{
		WebhookID: worst(maxWebhookIDLength),
		Project:   strings.Repeat("p", maxProjectLength),
		ID:        worst(maxFieldLength),
		Type:      worst(maxFieldLength),
		CreatedAt: math.MinInt64,
		ObjectID:  worst(maxFieldLength),
		// A JSON string of the whole body: its size is all that counts.
		Payload:    []byte(`"` + strings.Repeat("a", int(max(maxBodyBytes-2, 0))) + `"`),
		ReceivedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", -(23*3600+59*60))),
	}
	p, err := payload.Converter().ToPayloads(ev)
	if err != nil {
		panic(fmt.Sprintf("receiver: encoding the largest event: %v", err)) // an Event always encodes
	}
	return int64(proto.Size(p))
}

// CheckBodyLimit returns an error when a verified body of maxBodyBytes
// could make an event input Temporal refuses as too large: such a
// delivery would be lost, since retrying cannot change it.
func CheckBodyLimit(maxBodyBytes int64) error {
	if maxBodyBytes > TemporalPayloadLimit {
		return fmt.Errorf("%d bytes is over Temporal's payload limit of %d", maxBodyBytes, TemporalPayloadLimit)
	}
	n := EventInputBytes(maxBodyBytes)
	if n <= TemporalPayloadLimit {
		return nil
	}
	// The fields around the body take the same room whatever its size, but
	// for a byte of length prefix: step up to the exact largest limit.
	most := maxBodyBytes - (n - TemporalPayloadLimit)
	for EventInputBytes(most+1) <= TemporalPayloadLimit {
		most++
	}
	return fmt.Errorf("%d bytes makes events of up to %d bytes, over Temporal's payload limit of %d: at most %d",
		maxBodyBytes, n, TemporalPayloadLimit, most)
}
