// Package payload is the data converter of hookbridge's Temporal clients:
// the SDK's default one, but for JSON written without HTML escaping.
//
// The SDK's JSON payload converter (encoding/json's Marshal) writes '<',
// '>' and '&' as six-byte escapes, in strings and in raw JSON such as an
// event's payload: a verified delivery full of them grows past Temporal's
// payload limit. The JSON written here is the same JSON unescaped, so the
// default converter of any worker or client reads it unchanged, and this
// one reads everything the default one wrote.
package payload

import (
	"bytes"
	"encoding/json"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// Converter returns the data converter: the SDK's default payload
// converters, in its order, with JSON written without HTML escaping.
func Converter() converter.DataConverter {
	return converter.NewCompositeDataConverter(
		converter.NewNilPayloadConverter(),
		converter.NewByteSlicePayloadConverter(),
		converter.NewProtoJSONPayloadConverter(),
		converter.NewProtoPayloadConverter(),
		jsonConverter{converter.NewJSONPayloadConverter()},
	)
}

// jsonConverter is the SDK's JSON payload converter (encoding "json/plain")
// writing JSON without HTML escaping. It reads as the SDK's does.
type jsonConverter struct {
	*converter.JSONPayloadConverter
}

// ToPayload encodes value as JSON, '<', '>' and '&' as they are.
func (c jsonConverter) ToPayload(value any) (*commonpb.Payload, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(value); err != nil {
		return nil, fmt.Errorf("%w: %v", converter.ErrUnableToEncode, err)
	}
	return &commonpb.Payload{
		Metadata: map[string][]byte{converter.MetadataEncoding: []byte(c.Encoding())},
		// Encode ends the value with a newline, which Marshal does not.
		Data: bytes.TrimSuffix(buf.Bytes(), []byte("\n")),
	}, nil
}
