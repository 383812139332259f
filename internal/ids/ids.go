// Package ids draws the random parts of workflow IDs for the services that
// start workflows. Workflows never import it: their IDs come from their
// input or from the ID helpers in internal/names, which hold no randomness.
package ids

import "crypto/rand"

// alphabet is lower-case base32: readable, typeable, safe in IDs and URLs.
const alphabet = "abcdefghijklmnopqrstuvwxyz234567"

// Lengths of the random parts.
const (
	suffixLen  = 10
	runNameLen = 8
)

// NewSuffix returns 10 random lower-case base32 characters (50 bits), for
// the IDs the API and CLI start runs, experiments and game days under.
func NewSuffix() string { return random(suffixLen) }

// NewRunName returns 8 random lower-case base32 characters (40 bits), the
// suffix of a run's short name (names.RunName): short enough to type, and
// a collision is unlikely before about a million runs.
func NewRunName() string { return random(runNameLen) }

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead on broken systems)
	for i, c := range b {
		b[i] = alphabet[int(c)%len(alphabet)]
	}
	return string(b)
}
