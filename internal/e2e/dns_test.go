package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// signedChildren are the zones Knot signs; bogus.e2e.test among them, but
// the parent publishes a DS for another key.
var signedChildren = []string{goodDomain, brokenDomain, bogusDomain}

// startDNS starts Knot (authoritative, signing the zones itself) and
// Unbound (validating, with the parent zone's key as its only trust
// anchor), and returns the resolver's address.
func (w *world) startDNS(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(w.dir, "knot")
	for _, sub := range []string{"zones", "db", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	zones := w.zones()
	zones[parentZone] = w.parentZoneText(1, nil)
	var names []string
	for origin, text := range zones {
		writeFile(t, filepath.Join(dir, "zones", origin+".zone"), []byte(text), 0o644)
		names = append(names, origin)
	}
	sort.Strings(names)

	// Knot signs with one ECDSA P-256 key per zone (a CSK) and NSEC, and
	// keeps its state in the test's directory; the zone files are never
	// written back.
	var conf strings.Builder
	fmt.Fprintf(&conf, `server:
    rundir: %q
    listen: %s@53
log:
  - target: stderr
    any: info
database:
    storage: %q
policy:
  - id: e2e
    algorithm: ecdsap256sha256
    single-type-signing: on
template:
  - id: default
    storage: %q
    file: "%%s.zone"
    zonefile-sync: -1
    journal-content: none
zone:
`, filepath.Join(dir, "run"), w.ip(hostKnot), filepath.Join(dir, "db"), filepath.Join(dir, "zones"))
	for _, z := range names {
		fmt.Fprintf(&conf, "  - domain: %s\n", z)
		if z == parentZone || contains(signedChildren, z) {
			conf.WriteString("    dnssec-signing: on\n    dnssec-policy: e2e\n")
		}
	}
	knotConf := filepath.Join(dir, "knot.conf")
	writeFile(t, knotConf, []byte(conf.String()), 0o644)
	run(t, dir, nil, "knotc", "-c", knotConf, "conf-check")
	knot := startDaemon(t, dir, "knotd", "knotd", "-c", knotConf)

	knotAddr := w.addr(hostKnot, 53)
	keys := map[string]*dns.DNSKEY{}
	for _, z := range append([]string{parentZone}, signedChildren...) {
		waitFor(t, 30*time.Second, "Knot to sign "+z, func() error {
			k, err := signingKey(knotAddr, z)
			keys[z] = k
			return err
		}, knot)
	}
	for _, z := range names {
		waitFor(t, 10*time.Second, "Knot to serve "+z, func() error {
			_, err := exchange(knotAddr, z, dns.TypeSOA, false)
			return err
		}, knot)
	}

	// The registrar's part: DS records of the children's keys in the
	// parent, and for the bogus child the DS of a key it does not use.
	ds := map[string][]string{}
	for _, z := range signedChildren {
		key := keys[z]
		if z == bogusDomain {
			key = &dns.DNSKEY{Hdr: dns.RR_Header{Name: dns.Fqdn(z), Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 300},
				Flags: 257, Protocol: 3, Algorithm: dns.ECDSAP256SHA256}
			if _, err := key.Generate(256); err != nil {
				t.Fatal(err)
			}
		}
		d := key.ToDS(dns.SHA256)
		ds[z] = []string{fmt.Sprintf("DS %d %d %d %s", d.KeyTag, d.Algorithm, d.DigestType, d.Digest)}
	}
	writeFile(t, filepath.Join(dir, "zones", parentZone+".zone"), []byte(w.parentZoneText(2, ds)), 0o644)
	run(t, dir, nil, "knotc", "-c", knotConf, "-b", "zone-reload", parentZone)
	waitFor(t, 30*time.Second, "Knot to publish the DS records", func() error {
		for _, z := range signedChildren {
			r, err := exchange(knotAddr, z, dns.TypeDS, true)
			if err != nil {
				return err
			}
			if !hasType(r.Answer, dns.TypeDS) || !hasType(r.Answer, dns.TypeRRSIG) {
				return fmt.Errorf("no signed DS for %s yet", z)
			}
		}
		return nil
	}, knot)

	return w.startUnbound(t, keys[parentZone], names, knot)
}

// startUnbound runs a validating resolver whose only trust anchor is the
// parent zone's key, with stub zones to Knot for the world's zones and
// nothing else: names outside the world are refused, so nothing leaves
// loopback.
func (w *world) startUnbound(t *testing.T, anchor *dns.DNSKEY, zones []string, knot *daemon) string {
	t.Helper()
	dir := filepath.Join(w.dir, "unbound")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, `server:
    interface: %s
    port: 53
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    username: ""
    chroot: ""
    directory: %q
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 1
    val-log-level: 2
    # Extended DNS Errors (RFC 8914) on SERVFAIL: why validation failed.
    ede: yes
    do-daemonize: no
    num-threads: 1
    # The world's servers are on loopback.
    do-not-query-localhost: no
    module-config: "validator iterator"
    trust-anchor: %q
    # Everything outside the world is refused.
    local-zone: "." refuse
`, w.ip(hostResolver), dir, fmt.Sprintf("%s DNSKEY %d %d %d %s", anchor.Hdr.Name, anchor.Flags, anchor.Protocol, anchor.Algorithm, anchor.PublicKey))
	for _, z := range []string{parentZone, blZone, w.reverseZone()} {
		fmt.Fprintf(&conf, "    local-zone: %q transparent\n", z+".")
	}
	conf.WriteString("remote-control:\n    control-enable: no\n")
	for _, z := range []string{parentZone, blZone, w.reverseZone()} {
		fmt.Fprintf(&conf, "stub-zone:\n    name: %q\n    stub-addr: %s@53\n", z+".", w.ip(hostKnot))
	}
	unboundConf := filepath.Join(dir, "unbound.conf")
	writeFile(t, unboundConf, []byte(conf.String()), 0o644)
	run(t, dir, nil, "unbound-checkconf", unboundConf)
	unbound := startDaemon(t, dir, "unbound", "unbound", "-d", "-c", unboundConf)

	resolver := w.addr(hostResolver, 53)
	waitFor(t, 20*time.Second, "Unbound to validate "+goodDomain, func() error {
		r, err := exchange(resolver, goodDomain, dns.TypeMX, true)
		if err != nil {
			return err
		}
		if !r.AuthenticatedData {
			return fmt.Errorf("%s MX: no AD bit", goodDomain)
		}
		return nil
	}, unbound, knot)
	return resolver
}

// signingKey returns the zone's key-signing key once Knot serves the zone
// signed.
func signingKey(server, zone string) (*dns.DNSKEY, error) {
	r, err := exchange(server, zone, dns.TypeDNSKEY, true)
	if err != nil {
		return nil, err
	}
	if !hasType(r.Answer, dns.TypeRRSIG) {
		return nil, fmt.Errorf("%s DNSKEY: not signed yet", zone)
	}
	for _, rr := range r.Answer {
		if k, ok := rr.(*dns.DNSKEY); ok && k.Flags&dns.SEP != 0 {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%s: no key with the SEP flag", zone)
}

// exchange asks one question; an rcode other than NOERROR is an error.
func exchange(server, name string, qtype uint16, dnssec bool) (*dns.Msg, error) {
	r, err := query(server, name, qtype, dnssec)
	if err != nil {
		return nil, err
	}
	if r.Rcode != dns.RcodeSuccess {
		return r, fmt.Errorf("%s %s: %s", name, dns.TypeToString[qtype], dns.RcodeToString[r.Rcode])
	}
	return r, nil
}

func query(server, name string, qtype uint16, dnssec bool) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(4096, dnssec)
	m.AuthenticatedData = dnssec
	c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, server)
	return r, err
}

func hasType(rrs []dns.RR, t uint16) bool {
	for _, rr := range rrs {
		if rr.Header().Rrtype == t {
			return true
		}
	}
	return false
}
