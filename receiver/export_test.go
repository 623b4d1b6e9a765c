package receiver

import (
	"crypto/sha256"
	"sync/atomic"
)

// CountMACs makes v count in n each MAC it computes, until its secrets
// are set again.
func (v *Verifier) CountMACs(n *atomic.Int64) {
	old := *v.secrets.Load()
	counted := make([]secret, len(old))
	for i, s := range old {
		mac := s.mac
		counted[i] = secret{service: s.service, mac: func(id, ts string, body []byte) [sha256.Size]byte {
			n.Add(1)
			return mac(id, ts, body)
		}}
	}
	v.secrets.Store(&counted)
}
