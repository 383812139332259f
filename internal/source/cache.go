package source

import (
	"crypto/sha256"
	"encoding/json"
	"sync"
)

// Cache keeps what was compiled from a definition, keyed by the hash of the
// definition's JSON form: workflows compile the definition in their input
// on every replay, and get the same result back once per process. The zero
// value is ready to use.
type Cache[T any] struct {
	m sync.Map
}

// Key returns the cache key of a definition.
func (c *Cache[T]) Key(def any) (string, error) {
	b, err := json.Marshal(def)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return string(sum[:]), nil
}

// Get returns what was stored under key.
func (c *Cache[T]) Get(key string) (T, bool) {
	v, ok := c.m.Load(key)
	if !ok {
		var zero T
		return zero, false
	}
	return v.(T), true
}

// Put stores v under key.
func (c *Cache[T]) Put(key string, v T) { c.m.Store(key, v) }

// Remember stores v under the key of def, ignoring a definition that does
// not marshal.
func (c *Cache[T]) Remember(def any, v T) {
	if key, err := c.Key(def); err == nil {
		c.Put(key, v)
	}
}
