package ids

import (
	"regexp"
	"testing"
)

func TestNewSuffix(t *testing.T) {
	shape := regexp.MustCompile(`^[a-z2-7]{10}$`)
	seen := map[string]bool{}
	for range 1000 {
		s := NewSuffix()
		if !shape.MatchString(s) {
			t.Fatalf("suffix %q is not 10 base32 characters", s)
		}
		if seen[s] {
			t.Fatalf("suffix %q drawn twice", s)
		}
		seen[s] = true
	}
}
