package probes

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in         string
		kind       TargetKind
		name, ip   string
		port       int
		str        string
		errContain string
	}{
		{in: "example.com", kind: KindDomain, name: "example.com", port: 25, str: "example.com"},
		{in: " Example.COM. ", kind: KindDomain, name: "example.com", port: 25, str: "example.com"},
		{in: "mx1.example.com:25", kind: KindHost, name: "mx1.example.com", port: 25, str: "mx1.example.com:25"},
		{in: "mx1.example.com:2525", kind: KindHost, name: "mx1.example.com", port: 2525, str: "mx1.example.com:2525"},
		{in: "bücher.example", kind: KindDomain, name: "xn--bcher-kva.example", port: 25},
		{in: "192.0.2.1", kind: KindIP, ip: "192.0.2.1", port: 25, str: "192.0.2.1"},
		{in: "192.0.2.1:587", kind: KindIP, ip: "192.0.2.1", port: 587, str: "192.0.2.1:587"},
		{in: "2001:db8::1", kind: KindIP, ip: "2001:db8::1", port: 25, str: "2001:db8::1"},
		{in: "[2001:db8::1]:25", kind: KindIP, ip: "2001:db8::1", port: 25},
		{in: "::ffff:192.0.2.1", kind: KindIP, ip: "192.0.2.1", port: 25},
		{in: "", errContain: "empty"},
		{in: "   ", errContain: "empty"},
		{in: "http://x", errContain: "URLs"},
		{in: "example.com/path", errContain: "not a domain"},
		{in: "postmaster@example.com", errContain: "e-mail"},
		{in: strings.Repeat("a", 300) + ".com", errContain: "characters long"},
		{in: strings.Repeat("a", 64) + ".com", errContain: "at most 63"},
		{in: strings.Repeat("abcdefghi.", 26) + "com", errContain: "at most 253"},
		{in: "localhost", errContain: "single label"},
		{in: "a..b", errContain: "empty label"},
		{in: "-a.example", errContain: "hyphen"},
		{in: "_dmarc.example.com", errContain: "letters, digits and hyphens"},
		{in: "1.2.3", errContain: "numeric"},
		{in: "999.1.1.1", errContain: "numeric"},
		{in: "example.com:0", errContain: "invalid port"},
		{in: "example.com:70000", errContain: "invalid port"},
		{in: "example.com:smtp", errContain: "invalid port"},
		{in: "fe80::1%eth0", errContain: "zones are not supported"},
	} {
		got, err := ParseTarget(tc.in)
		if tc.errContain != "" {
			if err == nil {
				t.Errorf("ParseTarget(%q) = %+v, want an error containing %q", tc.in, got, tc.errContain)
			} else if !strings.Contains(err.Error(), tc.errContain) {
				t.Errorf("ParseTarget(%q) error %q, want it to contain %q", tc.in, err, tc.errContain)
			} else if strings.Contains(err.Error(), "\n") {
				t.Errorf("ParseTarget(%q) error spans lines: %q", tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTarget(%q): %v", tc.in, err)
			continue
		}
		if got.Kind != tc.kind || got.Name != tc.name || got.Port != tc.port || (tc.ip != "" && got.IP.String() != tc.ip) {
			t.Errorf("ParseTarget(%q) = %+v", tc.in, got)
		}
		if tc.str != "" && got.String() != tc.str {
			t.Errorf("ParseTarget(%q).String() = %q, want %q", tc.in, got.String(), tc.str)
		}
	}
}

// FuzzParseTarget: never panics; what it accepts round-trips through String
// and is a name DNS can carry.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"example.com", "mx1.example.com:25", "[2001:db8::1]:25", "192.0.2.1", "bücher.example", "a..b", "x:y:z", "[::1", "1.2.3", "xn--bcher-kva.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tgt, err := ParseTarget(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error for %q: %q", s, err)
			}
			return
		}
		if tgt.Kind != KindIP {
			if len(tgt.Name) > maxNameLength || !utf8.ValidString(tgt.Name) {
				t.Fatalf("accepted name %q", tgt.Name)
			}
			for _, l := range strings.Split(tgt.Name, ".") {
				if checkLabel(l) != nil {
					t.Fatalf("accepted label %q in %q", l, tgt.Name)
				}
			}
		}
		again, err := ParseTarget(tgt.String())
		if err != nil || again != tgt {
			t.Fatalf("%q parsed to %+v, whose String %q parses to %+v, %v", s, tgt, tgt.String(), again, err)
		}
	})
}

func TestResultKeepsWorstOutcome(t *testing.T) {
	r := NewResult("x")
	spec := CheckSpec{ID: "x.y", Level: LevelMust}
	r.Pass(spec, "first host fine", "a")
	r.Fail(spec, "second host broken", "fix it", "b")
	r.Pass(spec, "third host fine", "c")
	c, ok := r.Check("x.y")
	if !ok || c.Status != StatusFail || c.Reason != "second host broken" || len(c.Evidence) != 3 {
		t.Errorf("merged check = %+v", c)
	}
	r.Undecided(CheckSpec{ID: "x.z", Level: LevelShould}, errors.New("SERVFAIL"))
	if !r.Failed() || len(r.Errors()) != 1 {
		t.Errorf("undecided check did not record the probe error: %v", r.Errors())
	}
	r.Measure(&MetricSpec{Name: "m", Labels: []string{"a"}}, 1)
	if len(r.Measurements()) != 0 || len(r.Errors()) != 2 {
		t.Errorf("a sample with the wrong label count must be refused and reported")
	}
}

func TestAddressDialerRefusesNames(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := &AddressDialer{Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	conn, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dialing an address: %v", err)
	}
	conn.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if _, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort("localhost", port)); err == nil || !strings.Contains(err.Error(), "not an IP address") {
		t.Errorf("dialing a name: err = %v, want a refusal", err)
	}
}

func TestAddressDialerNetworks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	d := &AddressDialer{Denied: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	if _, err := d.DialContext(context.Background(), "tcp", addr); err == nil || !strings.Contains(err.Error(), "denied_networks") {
		t.Errorf("denied network dialled: %v", err)
	}
	d = &AddressDialer{Allowed: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}
	if _, err := d.DialContext(context.Background(), "tcp", addr); err == nil || !strings.Contains(err.Error(), "allowed_networks") {
		t.Errorf("network outside the allowed ones dialled: %v", err)
	}
	d = &AddressDialer{Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Denied: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	conn, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatalf("allowed network refused: %v", err)
	}
	conn.Close()
	if err := d.Permit(netip.MustParseAddr("::ffff:10.1.2.3")); err == nil {
		t.Error("an IPv4-mapped address slipped past denied_networks")
	}
}

func TestNotADomain(t *testing.T) {
	for raw, want := range map[string]string{
		"example.test":              "",
		"mx1.example.test:25":       "the target is one mail host (mx1.example.test:25); DKIM keys belong to a mail domain",
		"192.0.2.1":                 "the target is an IP address; DKIM keys belong to a mail domain",
		"[2001:db8::1]:2525":        "the target is an IP address; DKIM keys belong to a mail domain",
		"xn--bcher-kva.test":        "",
		"mx.xn--bcher-kva.test:587": "the target is one mail host (mx.xn--bcher-kva.test:587); DKIM keys belong to a mail domain",
	} {
		target, err := ParseTarget(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := target.NotADomain("DKIM keys"); got != want {
			t.Errorf("%s: %q; want %q", raw, got, want)
		}
	}
}
