package dkim

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/tagvalue"
)

// The key types of RFC 6376 §3.6.1 (rsa) and RFC 8463 §4.2 (ed25519).
const (
	KeyTypeRSA     = "rsa"
	KeyTypeEd25519 = "ed25519"
)

// Encodings of p= a key can have.
const (
	// EncodingSPKI is an X.509 SubjectPublicKeyInfo, what every key
	// generator of the DKIM tools writes for RSA (the "MIIB..." form).
	EncodingSPKI = "SubjectPublicKeyInfo"
	// EncodingPKCS1 is a bare RSAPublicKey (RFC 8017 §A.1.1), which the
	// wording of RFC 6376 §3.6.1 also allows.
	EncodingPKCS1 = "RSAPublicKey"
	// EncodingRaw is the 32 bytes of an Ed25519 key (RFC 8463 §4.2).
	EncodingRaw = "raw"
)

// ed25519SPKIPrefix is the DER of a SubjectPublicKeyInfo for Ed25519 up to
// the 32 key bytes (RFC 8410 §4): a common mistake is publishing this
// instead of the raw key RFC 8463 asks for.
var ed25519SPKIPrefix = []byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00}

// Key is a parsed DKIM key record (RFC 6376 §3.6.1).
type Key struct {
	// Record is the record as published, its strings joined.
	Record string
	Tags   *tagvalue.List
	// Type is the k= value in lower case, "rsa" when k= is absent.
	Type string
	// Hashes are the h= algorithms in lower case; nil when h= is absent
	// (every algorithm allowed).
	Hashes []string
	// Services are the s= service types; nil when s= is absent ("*").
	Services []string
	// Flags are the t= flags in lower case.
	Flags []string
	// Revoked is true for an empty p= (RFC 6376 §3.6.1).
	Revoked bool
	// Bits is the key size: the RSA modulus length, 256 for Ed25519
	// (the 32-byte public key, as ssh-keygen and OpenSSL report it).
	Bits int
	// Encoding is how p= encodes the key (EncodingSPKI, ...).
	Encoding string
	// WhitespaceInKey is true when p= has whitespace inside it, which
	// RFC 6376 §3.6.1 allows (base64string takes FWS) and verifiers strip.
	WhitespaceInKey bool
	RSA             *rsa.PublicKey
	Ed25519         ed25519.PublicKey
}

// Testing reports t=y: the domain is testing DKIM, and verifiers must not
// treat signed mail differently from unsigned mail (RFC 6376 §3.6.1).
func (k *Key) Testing() bool { return k.hasFlag("y") }

func (k *Key) hasFlag(f string) bool {
	for _, x := range k.Flags {
		if x == f {
			return true
		}
	}
	return false
}

// FlagsLabel renders the known t= flags for a metric label: "", "y", "s"
// or "y:s". Unknown flags (ignored by verifiers) are left out, so the
// label has four possible values whatever the domain publishes.
func (k *Key) FlagsLabel() string {
	var out []string
	for _, f := range []string{"y", "s"} {
		if k.hasFlag(f) {
			out = append(out, f)
		}
	}
	return strings.Join(out, ":")
}

// AllowsSHA256 reports whether the key may be used with sha256, the only
// hash RFC 8301 §3.1 leaves for signing and verifying: h= absent, or
// listing sha256.
func (k *Key) AllowsSHA256() bool {
	if k.Hashes == nil {
		return true
	}
	for _, h := range k.Hashes {
		if h == "sha256" {
			return true
		}
	}
	return false
}

// KeyError says why a key record is unusable and, where it can, what to
// publish instead.
type KeyError struct {
	Reason string // one line
	// Fix is a corrected record or an instruction; may be empty.
	Fix string
}

func (e *KeyError) Error() string { return e.Reason }

// ParseKey parses a DKIM key record. A revoked key (empty p=) parses
// without error, with Revoked set. The error is a *KeyError.
func ParseKey(record string) (*Key, error) {
	tags, err := tagvalue.Parse(record)
	if err != nil {
		return nil, &KeyError{Reason: "not a tag=value list (RFC 6376 §3.2): " + err.Error()}
	}
	k := &Key{Record: record, Tags: tags, Type: KeyTypeRSA}
	if v, ok := tags.Get("v"); ok {
		if tags.Tags[0].Name != "v" {
			return nil, &KeyError{Reason: "v= is not the first tag; RFC 6376 §3.6.1 requires it first",
				Fix: rewrite(tags, nil)}
		}
		if v.Value != "DKIM1" {
			return nil, &KeyError{Reason: fmt.Sprintf("v=%s: verifiers discard key records whose version is not DKIM1 (RFC 6376 §3.6.1)", probes.OneLine(v.Value, 64)),
				Fix: rewrite(tags, map[string]string{"v": "DKIM1"})}
		}
	}
	if t, ok := tags.Get("k"); ok {
		k.Type = strings.ToLower(t.Value)
		if k.Type != KeyTypeRSA && k.Type != KeyTypeEd25519 {
			return nil, &KeyError{Reason: fmt.Sprintf("k=%s is not a key type verifiers know (rsa, ed25519)", probes.OneLine(t.Value, 64))}
		}
	}
	if t, ok := tags.Get("h"); ok {
		k.Hashes = lowerList(t.Value)
		if k.Hashes == nil {
			k.Hashes = []string{}
		}
	}
	if t, ok := tags.Get("s"); ok {
		k.Services = lowerList(t.Value)
		if !containsAny(k.Services, "*", "email") {
			return nil, &KeyError{Reason: fmt.Sprintf("s=%s: the key is not for email (RFC 6376 §3.6.1 wants \"email\" or \"*\")", probes.OneLine(t.Value, 64)),
				Fix: rewrite(tags, map[string]string{"s": ""})}
		}
	}
	if t, ok := tags.Get("t"); ok {
		k.Flags = lowerList(t.Value)
	}
	p, ok := tags.Get("p")
	if !ok {
		return nil, &KeyError{Reason: "no p= tag; RFC 6376 §3.6.1 requires one (empty to revoke the key)"}
	}
	b64 := tagvalue.StripWSP(p.Value)
	k.WhitespaceInKey = b64 != p.Value
	if b64 == "" {
		k.Revoked = true
		return k, nil
	}
	der, err := decodeBase64(b64)
	if err != nil {
		return nil, &KeyError{Reason: "p= is not valid base64: " + err.Error() + " (a key cut short when it was pasted?)"}
	}
	if k.Type == KeyTypeEd25519 {
		return k, k.decodeEd25519(der)
	}
	return k, k.decodeRSA(der)
}

func (k *Key) decodeRSA(der []byte) error {
	if len(der) == ed25519.PublicKeySize {
		return &KeyError{Reason: "p= is 32 bytes, a raw Ed25519 key, but the record declares k=rsa (or no k=, which means rsa)",
			Fix: rewrite(k.Tags, map[string]string{"k": KeyTypeEd25519})}
	}
	if pub, err := x509.ParsePKIXPublicKey(der); err == nil {
		switch pub := pub.(type) {
		case *rsa.PublicKey:
			k.RSA, k.Encoding = pub, EncodingSPKI
			k.Bits = pub.N.BitLen()
			return nil
		case ed25519.PublicKey:
			return &KeyError{Reason: "p= is an Ed25519 key but the record declares k=rsa (or no k=, which means rsa)",
				Fix: rewrite(k.Tags, map[string]string{"k": KeyTypeEd25519, "p": base64.StdEncoding.EncodeToString(pub)})}
		default:
			return &KeyError{Reason: fmt.Sprintf("p= is a %T key, which DKIM has no key type for", pub)}
		}
	}
	pub, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		return &KeyError{Reason: fmt.Sprintf("p= (%d bytes) does not decode to an RSA public key, neither SubjectPublicKeyInfo nor RSAPublicKey: %s", len(der), derProblem(err))}
	}
	k.RSA, k.Encoding = pub, EncodingPKCS1
	k.Bits = pub.N.BitLen()
	return nil
}

func (k *Key) decodeEd25519(der []byte) error {
	switch {
	case len(der) == ed25519.PublicKeySize:
		k.Ed25519, k.Encoding, k.Bits = ed25519.PublicKey(der), EncodingRaw, 256
		return nil
	case len(der) == len(ed25519SPKIPrefix)+ed25519.PublicKeySize && bytes.HasPrefix(der, ed25519SPKIPrefix):
		raw := der[len(ed25519SPKIPrefix):]
		return &KeyError{Reason: "p= wraps the Ed25519 key in a SubjectPublicKeyInfo; RFC 8463 §4.2 wants the 32 raw key bytes",
			Fix: rewrite(k.Tags, map[string]string{"p": base64.StdEncoding.EncodeToString(raw)})}
	}
	if pub, err := x509.ParsePKIXPublicKey(der); err == nil {
		if rsaPub, ok := pub.(*rsa.PublicKey); ok {
			return &KeyError{Reason: fmt.Sprintf("the record declares k=ed25519 but p= is a %d-bit RSA key", rsaPub.N.BitLen()),
				Fix: rewrite(k.Tags, map[string]string{"k": KeyTypeRSA})}
		}
	}
	if pub, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return &KeyError{Reason: fmt.Sprintf("the record declares k=ed25519 but p= is a %d-bit RSA key", pub.N.BitLen()),
			Fix: rewrite(k.Tags, map[string]string{"k": KeyTypeRSA})}
	}
	return &KeyError{Reason: fmt.Sprintf("p= is %d bytes; an Ed25519 key is 32 (RFC 8463 §4.2)", len(der))}
}

// derProblem shortens an encoding/asn1 error to what a person can act on:
// its messages carry Go struct dumps.
func derProblem(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "truncated"):
		return "the data ends early (a key cut short?)"
	case strings.Contains(msg, "trailing data"):
		return "extra bytes follow the key"
	case strings.Contains(msg, "modulus") || strings.Contains(msg, "exponent"):
		return strings.TrimPrefix(msg, "x509: ")
	}
	return "the bytes are not a DER-encoded key"
}

// decodeBase64 accepts base64 with or without padding (RFC 6376's
// base64string makes the "=" optional).
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err == nil {
		return b, nil
	}
	if raw, rerr := base64.RawStdEncoding.Strict().DecodeString(s); rerr == nil {
		return raw, nil
	}
	return nil, err
}

// lowerList splits a colon-separated value, lower-cases it and drops empty
// elements.
func lowerList(v string) []string {
	var out []string
	for _, e := range tagvalue.SplitList(v, ':') {
		if e != "" {
			out = append(out, strings.ToLower(e))
		}
	}
	return out
}

func containsAny(list []string, want ...string) bool {
	for _, e := range list {
		for _, w := range want {
			if e == w {
				return true
			}
		}
	}
	return false
}

// rewrite renders the record with v= first and the given tags replaced
// (an empty replacement removes the tag, a new name is added before p=).
func rewrite(tags *tagvalue.List, set map[string]string) string {
	var parts []string
	if v, ok := tags.Get("v"); ok {
		if nv, ok := set["v"]; ok {
			v.Value = nv
		}
		parts = append(parts, "v="+v.Value)
	}
	done := map[string]bool{"v": true}
	add := func(name, value string) {
		if value != "" {
			parts = append(parts, name+"="+value)
		}
		done[name] = true
	}
	for _, t := range tags.Tags {
		if done[t.Name] {
			continue
		}
		if t.Name == "p" {
			// New tags go before the key, where people look for them.
			for _, name := range []string{"k", "h", "s", "t"} {
				if nv, ok := set[name]; ok && !tags.Has(name) {
					add(name, nv)
				}
			}
		}
		value := t.Value
		if nv, ok := set[t.Name]; ok {
			value = nv
		}
		if t.Name == "p" {
			value = tagvalue.StripWSP(value)
			parts = append(parts, "p="+value)
			done["p"] = true
			continue
		}
		add(t.Name, value)
	}
	return strings.Join(parts, "; ")
}
