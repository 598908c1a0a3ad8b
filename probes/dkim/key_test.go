package dkim_test

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dkim"
	"github.com/deliverability-exporter/deliverability_exporter/probes/tagvalue"
)

func TestParseKeyRealRecords(t *testing.T) {
	for _, rk := range realKeys {
		t.Run(rk.owner, func(t *testing.T) {
			k, err := dkim.ParseKey(joined(rk))
			if err != nil {
				t.Fatalf("ParseKey (%s): %v", rk.source, err)
			}
			if k.Type != rk.keyType || k.Bits != rk.bits || k.FlagsLabel() != rk.flags {
				t.Errorf("type %s, %d bits, flags %q; want %s, %d, %q", k.Type, k.Bits, k.FlagsLabel(), rk.keyType, rk.bits, rk.flags)
			}
			if k.Revoked || !k.AllowsSHA256() {
				t.Errorf("revoked %v, sha256 allowed %v", k.Revoked, k.AllowsSHA256())
			}
			switch rk.keyType {
			case dkim.KeyTypeRSA:
				if k.RSA == nil || k.Encoding != dkim.EncodingSPKI {
					t.Errorf("RSA key %v in %s", k.RSA, k.Encoding)
				}
			case dkim.KeyTypeEd25519:
				if len(k.Ed25519) != 32 || k.Encoding != dkim.EncodingRaw {
					t.Errorf("Ed25519 key of %d bytes in %s", len(k.Ed25519), k.Encoding)
				}
			}
		})
	}
}

// rfc8463RSA is the base64 of RFC 8463's RSA test key (Appendix A.2).
const rfc8463RSA = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"

// rfc8463Ed25519 is RFC 8463's Ed25519 test key, raw.
const rfc8463Ed25519 = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

// rfc8463Ed25519SPKI is the same key as a SubjectPublicKeyInfo, the form
// OpenSSL prints and people paste by mistake.
const rfc8463Ed25519SPKI = "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

// pkcs1Of re-encodes an SPKI RSA key as a bare RSAPublicKey.
func pkcs1Of(t *testing.T, spki string) string {
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(spki)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub, ok := pub.(interface{ Size() int })
	if !ok || rsaPub.Size() == 0 {
		t.Fatal("not an RSA key")
	}
	k, err := dkim.ParseKey("p=" + spki)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(k.RSA))
}

func TestParseKeyVariants(t *testing.T) {
	gmail := joined(realKeys[0])
	for _, tc := range []struct {
		name   string
		record string
		check  func(t *testing.T, k *dkim.Key)
	}{
		{"whitespace inside p=", "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC\tDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3 Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
			func(t *testing.T, k *dkim.Key) {
				if !k.WhitespaceInKey || k.Bits != 1024 {
					t.Errorf("whitespace %v, %d bits", k.WhitespaceInKey, k.Bits)
				}
			}},
		{"t=y:s", "v=DKIM1; t=y:s; p=" + rfc8463RSA,
			func(t *testing.T, k *dkim.Key) {
				if !k.Testing() || k.FlagsLabel() != "y:s" {
					t.Errorf("testing %v, flags %q", k.Testing(), k.FlagsLabel())
				}
			}},
		{"unknown flags are left out of the label", "v=DKIM1; t=s:x:Y; p=" + rfc8463RSA,
			func(t *testing.T, k *dkim.Key) {
				if k.FlagsLabel() != "y:s" {
					t.Errorf("flags %q", k.FlagsLabel())
				}
			}},
		{"h=sha1", "v=DKIM1; h=sha1; p=" + rfc8463RSA,
			func(t *testing.T, k *dkim.Key) {
				if k.AllowsSHA256() {
					t.Error("h=sha1 allows sha256")
				}
			}},
		{"h=sha1:sha256", "v=DKIM1; h=sha1 : SHA256; p=" + rfc8463RSA,
			func(t *testing.T, k *dkim.Key) {
				if !k.AllowsSHA256() {
					t.Error("h=sha1:sha256 does not allow sha256")
				}
			}},
		{"revoked", "v=DKIM1; p=", func(t *testing.T, k *dkim.Key) {
			if !k.Revoked || k.Bits != 0 {
				t.Errorf("revoked %v, bits %d", k.Revoked, k.Bits)
			}
		}},
		{"revoked with whitespace", "v=DKIM1; k=rsa; p= ", func(t *testing.T, k *dkim.Key) {
			if !k.Revoked {
				t.Error("not revoked")
			}
		}},
		{"no v= at all", "k=rsa; p=" + rfc8463RSA, func(t *testing.T, k *dkim.Key) {
			if k.Bits != 1024 {
				t.Errorf("%d bits", k.Bits)
			}
		}},
		{"k= is case-insensitive", "v=DKIM1; k=ED25519; p=" + rfc8463Ed25519, func(t *testing.T, k *dkim.Key) {
			if k.Type != dkim.KeyTypeEd25519 {
				t.Errorf("type %q", k.Type)
			}
		}},
		{"s=email", "v=DKIM1; s=email; p=" + rfc8463RSA, nil},
		{"s=*", "v=DKIM1; s=*; p=" + rfc8463RSA, nil},
		{"unpadded base64", "v=DKIM1; k=ed25519; p=" + strings.TrimRight(rfc8463Ed25519, "="), func(t *testing.T, k *dkim.Key) {
			if len(k.Ed25519) != 32 {
				t.Errorf("%d bytes", len(k.Ed25519))
			}
		}},
		{"unknown tags are ignored (RFC 4871 g=)", "v=DKIM1; g=*; n=a note; p=" + rfc8463RSA, nil},
		{"bare RSAPublicKey", "v=DKIM1; p=" + pkcs1Of(t, rfc8463RSA), func(t *testing.T, k *dkim.Key) {
			if k.Encoding != dkim.EncodingPKCS1 || k.Bits != 1024 {
				t.Errorf("%s, %d bits", k.Encoding, k.Bits)
			}
		}},
		{"gmail with trailing semicolon", gmail + ";", func(t *testing.T, k *dkim.Key) {
			if k.Bits != 2048 {
				t.Errorf("%d bits", k.Bits)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := dkim.ParseKey(tc.record)
			if err != nil {
				t.Fatalf("ParseKey(%q): %v", tc.record, err)
			}
			if tc.check != nil {
				tc.check(t, k)
			}
		})
	}
}

func TestParseKeyErrors(t *testing.T) {
	gmail := joined(realKeys[0])
	// Cut inside p= at a multiple of four characters, so the base64 is
	// still valid and the DER inside it is what ends early.
	truncated := gmail[:len("v=DKIM1; k=rsa; p=")+200]
	for _, tc := range []struct {
		name, record, reason, fix string
	}{
		{"k=ed25519 with an RSA key", "v=DKIM1; k=ed25519; p=" + rfc8463RSA,
			"declares k=ed25519 but p= is a 1024-bit RSA key", "v=DKIM1; k=rsa; p=MIGf"},
		{"k=ed25519 with a bare RSAPublicKey", "v=DKIM1; k=ed25519; p=" + pkcs1Of(t, rfc8463RSA),
			"declares k=ed25519 but p= is a 1024-bit RSA key", "k=rsa"},
		{"truncated key", truncated, "does not decode to an RSA public key, neither SubjectPublicKeyInfo nor RSAPublicKey: the data ends early", ""},
		{"truncated inside a base64 quantum", gmail[:len(gmail)-3], "not valid base64", ""},
		{"Ed25519 key as SubjectPublicKeyInfo", "v=DKIM1; k=ed25519; p=" + rfc8463Ed25519SPKI,
			"wraps the Ed25519 key in a SubjectPublicKeyInfo", "v=DKIM1; k=ed25519; p=" + rfc8463Ed25519},
		{"raw Ed25519 key under k=rsa", "v=DKIM1; p=" + rfc8463Ed25519,
			"32 bytes, a raw Ed25519 key", "v=DKIM1; k=ed25519; p=" + rfc8463Ed25519},
		{"Ed25519 SPKI without k=", "v=DKIM1; p=" + rfc8463Ed25519SPKI,
			"is an Ed25519 key but the record declares k=rsa", "v=DKIM1; k=ed25519; p=" + rfc8463Ed25519},
		{"short Ed25519 key", "v=DKIM1; k=ed25519; p=AAAA", "p= is 3 bytes; an Ed25519 key is 32", ""},
		{"v= not first", "k=rsa; v=DKIM1; p=" + rfc8463RSA, "v= is not the first tag", "v=DKIM1; k=rsa; p="},
		{"other version", "v=DKIM2; p=" + rfc8463RSA, "v=DKIM2: verifiers discard", "v=DKIM1; p="},
		{"version in lower case", "v=dkim1; p=" + rfc8463RSA, "v=dkim1", "v=DKIM1;"},
		{"unknown key type", "v=DKIM1; k=dsa; p=" + rfc8463RSA, "k=dsa is not a key type", ""},
		{"not for email", "v=DKIM1; s=tlsrpt; p=" + rfc8463RSA, "the key is not for email", "v=DKIM1; p=MIGf"},
		{"no p=", "v=DKIM1; k=rsa", "no p= tag", ""},
		{"duplicate p=", "v=DKIM1; p=" + rfc8463RSA + "; p=", `tag "p" appears twice`, ""},
		{"not base64", "v=DKIM1; p=not*base64", "not valid base64", ""},
		{"not a tag list", "this is a google-site-verification token", "not a tag=value list", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := dkim.ParseKey(tc.record)
			var ke *dkim.KeyError
			if !errors.As(err, &ke) {
				t.Fatalf("ParseKey(%q) = %v, %v; want a *KeyError", tc.record, k, err)
			}
			if !strings.Contains(ke.Reason, tc.reason) {
				t.Errorf("reason %q, want it to contain %q", ke.Reason, tc.reason)
			}
			if !strings.Contains(ke.Fix, tc.fix) {
				t.Errorf("fix %q, want it to contain %q", ke.Fix, tc.fix)
			}
			if strings.ContainsAny(ke.Reason, "\r\n") {
				t.Errorf("reason is not one line: %q", ke.Reason)
			}
		})
	}
}

// TestKeyErrorFixesParse checks that every corrected record a KeyError
// proposes is itself a valid key.
func TestKeyErrorFixesParse(t *testing.T) {
	for _, record := range []string{
		"v=DKIM1; k=ed25519; p=" + rfc8463RSA,
		"v=DKIM1; k=ed25519; p=" + rfc8463Ed25519SPKI,
		"v=DKIM1; p=" + rfc8463Ed25519,
		"v=DKIM1; p=" + rfc8463Ed25519SPKI,
		"k=rsa; v=DKIM1; p=" + rfc8463RSA,
		"v=DKIM2; p=" + rfc8463RSA,
		"v=DKIM1; s=tlsrpt; t=y; p=" + rfc8463RSA,
	} {
		_, err := dkim.ParseKey(record)
		var ke *dkim.KeyError
		if !errors.As(err, &ke) || ke.Fix == "" {
			t.Errorf("ParseKey(%q) = %v; want an error with a fix", record, err)
			continue
		}
		if _, err := dkim.ParseKey(ke.Fix); err != nil {
			t.Errorf("fix %q of %q does not parse: %v", ke.Fix, record, err)
		}
	}
}

// FuzzParseKey checks that the key parser never panics and that what it
// accepts is coherent.
func FuzzParseKey(f *testing.F) {
	for _, rk := range realKeys {
		f.Add(joined(rk))
	}
	for _, s := range []string{
		"v=DKIM1; p=",
		"v=DKIM1; k=ed25519; p=" + rfc8463Ed25519SPKI,
		"v=DKIM1; k=ed25519; p=" + rfc8463RSA,
		"v=DKIM1; h=sha1; t=y:s; s=email; p=" + rfc8463RSA,
		"k=rsa; v=DKIM1; p=AAAA",
		"v=DKIM1;;p=ABC;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, record string) {
		k, err := dkim.ParseKey(record)
		if err != nil {
			var ke *dkim.KeyError
			if !errors.As(err, &ke) || ke.Reason == "" {
				t.Fatalf("ParseKey(%q): error %v is not a *KeyError with a reason", record, err)
			}
			if ke.Fix != "" && strings.Contains(ke.Fix, "=") {
				// A fix repairs the problem reported, not every
				// problem: it must at least be a tag-list.
				if _, err := tagvalue.Parse(ke.Fix); err != nil {
					t.Fatalf("ParseKey(%q): the proposed fix %q is not a tag-list: %v", record, ke.Fix, err)
				}
			}
			if strings.ContainsAny(ke.Reason, "\r\n") {
				t.Fatalf("ParseKey(%q): reason %q is not one line", record, ke.Reason)
			}
			return
		}
		switch {
		case k.Revoked:
			if k.Bits != 0 || k.RSA != nil || k.Ed25519 != nil {
				t.Fatalf("ParseKey(%q): revoked key with key material", record)
			}
		case k.Type == dkim.KeyTypeRSA:
			if k.RSA == nil || k.Bits != k.RSA.N.BitLen() || k.Bits <= 0 {
				t.Fatalf("ParseKey(%q): RSA key without a modulus", record)
			}
		case k.Type == dkim.KeyTypeEd25519:
			if len(k.Ed25519) != 32 || k.Bits != 256 {
				t.Fatalf("ParseKey(%q): Ed25519 key of %d bytes", record, len(k.Ed25519))
			}
		default:
			t.Fatalf("ParseKey(%q): accepted key type %q", record, k.Type)
		}
		switch l := k.FlagsLabel(); l {
		case "", "y", "s", "y:s":
		default:
			t.Fatalf("ParseKey(%q): flags label %q", record, l)
		}
	})
}
