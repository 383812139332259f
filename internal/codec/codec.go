// Package codec encrypts every payload Firebreak hands to Temporal —
// workflow and activity inputs and results, signals, updates, queries,
// memos and failure messages — with AES-256-GCM, so Temporal's database,
// its backups and its Web UI hold ciphertext. Search attributes stay
// readable (Temporal indexes them).
//
// Keys have ids, and every encrypted payload names the key that wrote it,
// so keys rotate: a new active key encrypts, the old ones stay in the
// keyring to decrypt what they wrote. Payloads written before encryption
// was turned on pass through as they are.
//
// The codec runs as gRPC client interceptors on every connection
// Firebreak opens to Temporal (DialOptions), so the SDK's workers and
// clients and Firebreak's own raw service calls all see plain payloads,
// and the codec endpoint (NewHandler) lets authorized people read
// histories in the Web UI.
package codec

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Metadata of an encrypted payload.
const (
	// Encoding marks a payload this codec encrypted.
	Encoding = "binary/encrypted"
	// KeyIDKey names the key that encrypted the payload.
	KeyIDKey = "encryption-key-id"
)

// KeySize is the length of an AES-256 key.
const KeySize = 32

// Keyring holds the payload keys; the active one encrypts, all decrypt.
type Keyring struct {
	active string
	ids    []string
	aeads  map[string]cipher.AEAD
}

// Key is one payload key.
type Key struct {
	ID    string
	Bytes []byte
}

// NewKeyring builds a keyring; active must be one of keys.
func NewKeyring(active string, keys ...Key) (*Keyring, error) {
	k := &Keyring{active: active, aeads: map[string]cipher.AEAD{}}
	for _, key := range keys {
		if key.ID == "" {
			return nil, errors.New("a payload key needs an id")
		}
		if _, dup := k.aeads[key.ID]; dup {
			return nil, fmt.Errorf("payload key %s is listed twice", key.ID)
		}
		if len(key.Bytes) != KeySize {
			return nil, fmt.Errorf("payload key %s is %d bytes; AES-256 needs %d", key.ID, len(key.Bytes), KeySize)
		}
		block, err := aes.NewCipher(key.Bytes)
		if err != nil {
			return nil, fmt.Errorf("payload key %s: %w", key.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("payload key %s: %w", key.ID, err)
		}
		k.aeads[key.ID] = aead
		k.ids = append(k.ids, key.ID)
	}
	if _, ok := k.aeads[active]; !ok {
		return nil, fmt.Errorf("the active payload key %q is not among the keys (%s)", active, strings.Join(k.ids, ", "))
	}
	return k, nil
}

// Active is the id of the key that encrypts.
func (k *Keyring) Active() string { return k.active }

// IDs lists every key's id.
func (k *Keyring) IDs() []string { return slices.Clone(k.ids) }

// KeyError says a payload cannot be decrypted with this keyring. It names
// key ids only.
type KeyError struct {
	KeyID string
	Held  []string
	// Mismatch: the keyring holds a key under that id, but not the one
	// that encrypted the payload.
	Mismatch bool
}

func (e *KeyError) Error() string {
	if e.Mismatch {
		return fmt.Sprintf("payload key %s does not decrypt this payload: the key file holds a different key under that id", e.KeyID)
	}
	return fmt.Sprintf("payload was encrypted with key %s, which the keyring does not hold (it holds %s): add that key back to read it; nothing is lost",
		e.KeyID, strings.Join(e.Held, ", "))
}

// IsKeyError reports whether err, or the status a gRPC layer made of it,
// says a payload cannot be decrypted with the keyring.
func IsKeyError(err error) bool {
	_, ok := KeyErrorText(err)
	return ok
}

// KeyErrorText returns a key error's own text, without the gRPC status
// wrapping it crossed.
func KeyErrorText(err error) (string, bool) {
	var ke *KeyError
	if errors.As(err, &ke) {
		return ke.Error(), true
	}
	if err == nil {
		return "", false
	}
	msg := err.Error()
	if s, ok := status.FromError(err); ok {
		msg = s.Message()
	}
	if strings.Contains(msg, "which the keyring does not hold") || strings.Contains(msg, "does not decrypt this payload") {
		return msg, true
	}
	return "", false
}

// Encode encrypts each payload with the active key.
func (k *Keyring) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := k.aeads[k.active]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if isEncrypted(p) {
			out[i] = p
			continue
		}
		plain, err := p.Marshal()
		if err != nil {
			return nil, err
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(Encoding),
				KeyIDKey:                   []byte(k.active),
			},
			Data: aead.Seal(nonce, nonce, plain, []byte(k.active)),
		}
	}
	return out, nil
}

// Decode decrypts each encrypted payload with the key it names; others
// pass through.
func (k *Keyring) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if !isEncrypted(p) {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[KeyIDKey])
		aead, ok := k.aeads[id]
		if !ok {
			return nil, &KeyError{KeyID: id, Held: k.IDs()}
		}
		n := aead.NonceSize()
		if len(p.GetData()) < n {
			return nil, fmt.Errorf("encrypted payload is %d bytes, too short to hold its nonce", len(p.GetData()))
		}
		plain, err := aead.Open(nil, p.Data[:n], p.Data[n:], []byte(id))
		if err != nil {
			return nil, &KeyError{KeyID: id, Mismatch: true}
		}
		var dec commonpb.Payload
		if err := dec.Unmarshal(plain); err != nil {
			return nil, fmt.Errorf("decrypted payload does not parse: %w", err)
		}
		out[i] = &dec
	}
	return out, nil
}

func isEncrypted(p *commonpb.Payload) bool {
	return string(p.GetMetadata()[converter.MetadataEncoding]) == Encoding
}

var _ converter.PayloadCodec = (*Keyring)(nil)

// DialOptions are the gRPC options that make a Temporal connection encrypt
// on the way out and decrypt on the way in: failure messages and stack
// traces move into an encoded attribute first, then every payload except
// search attributes goes through the keyring.
func DialOptions(k *Keyring) ([]grpc.DialOption, error) {
	failures, err := converter.NewFailureGRPCClientInterceptor(converter.NewFailureGRPCClientInterceptorOptions{EncodeCommonAttributes: true})
	if err != nil {
		return nil, err
	}
	payloads, err := converter.NewPayloadCodecGRPCClientInterceptor(converter.PayloadCodecGRPCClientInterceptorOptions{Codecs: []converter.PayloadCodec{k}})
	if err != nil {
		return nil, err
	}
	return []grpc.DialOption{grpc.WithChainUnaryInterceptor(keyErrors, failures, payloads)}, nil
}

// keyErrors turns a KeyError into a FailedPrecondition status, which the
// SDK does not retry: no amount of retrying finds a missing key, and the
// caller should hear why at once rather than at its deadline.
func keyErrors(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	var ke *KeyError
	if errors.As(err, &ke) {
		return status.Error(codes.FailedPrecondition, ke.Error())
	}
	return err
}

// Apply adds the codec to client options; a nil keyring (encryption
// turned off) leaves them alone.
func Apply(opts *client.Options, k *Keyring) error {
	if k == nil {
		return nil
	}
	dial, err := DialOptions(k)
	if err != nil {
		return err
	}
	opts.ConnectionOptions.DialOptions = append(opts.ConnectionOptions.DialOptions, dial...)
	return nil
}
