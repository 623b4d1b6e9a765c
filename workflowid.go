package hookbridge

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// maxIDLength is Temporal's limit on a workflow ID, in bytes (the server's
// limit.maxIDLength, 1,000 by default).
const maxIDLength = 1000

// WorkflowID is the ID of the event workflow of a delivery: its project's
// namespace of IDs, so that a delivery of one project can never claim the
// webhook-id of another's and make it a duplicate.
//
//   - the default project ("" or DefaultProject): the bare webhook-id,
//     unless it holds a "/", then "default/" + the webhook-id;
//   - any other project P: P + "/" + the webhook-id (no project may be
//     named "default", and names hold no "/").
//
// An ID longer than Temporal allows (1,000 bytes) is shortened, deterministically: its first
// bytes (the project prefix among them), then "~sha256:" and the SHA-256 of
// the whole ID in hex. It is part of hookbridge's contract: the receiver
// starts each event under this ID, and redeliveries find it.
func WorkflowID(project, webhookID string) string {
	if project == "" || project == DefaultProject {
		if !strings.Contains(webhookID, "/") {
			return shortenID(webhookID)
		}
		project = DefaultProject
	}
	return shortenID(project + "/" + webhookID)
}

// ChildWorkflowID is the ID of a child of type workflowType that the
// workflow whose ID is parentID (see WorkflowID) starts: parentID + "/" +
// workflowType, so a redelivery cannot start it twice, and shortened as
// WorkflowID shortens when longer than Temporal allows. Under the limit it
// is what it always was for the default project, whose event workflows had
// the webhook-id as ID: running workflows replay.
func ChildWorkflowID(parentID, workflowType string) string {
	return shortenID(parentID + "/" + workflowType)
}

// shortenID returns id when it fits Temporal's ID limit, else its first
// bytes, cut at a whole UTF-8 character, then "~sha256:" and the hex
// SHA-256 of the whole id: as unique as the hash, and still readable.
func shortenID(id string) string {
	if len(id) <= maxIDLength {
		return id
	}
	const marker = "~sha256:"
	sum := sha256.Sum256([]byte(id))
	keep := maxIDLength - len(marker) - hex.EncodedLen(len(sum))
	for keep > 0 && !utf8.RuneStart(id[keep]) {
		keep--
	}
	return id[:keep] + marker + hex.EncodeToString(sum[:])
}
