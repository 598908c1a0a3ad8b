package mailhosts_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

func env(t *testing.T, addr string) *probes.Env {
	t.Helper()
	c, err := dnsclient.New(dnsclient.Config{Servers: []string{addr}, Timeout: time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return &probes.Env{DNS: c.NewResolver(), Facts: probes.NewFacts(nil), Now: time.Now, Logger: log.NewNopLogger()}
}

func discover(t *testing.T, e *probes.Env, target string) *mailhosts.Set {
	t.Helper()
	tgt, err := probes.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	set, err := mailhosts.Discover(context.Background(), &probes.Request{Target: tgt}, e)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestDiscoverOrdersAndResolves(t *testing.T) {
	srv := testbed.StartDNS(t, `
$ORIGIN order.test.
@    IN MX 20 b
@    IN MX 10 c
@    IN MX 20 a
@    IN MX 10 C.order.test.
@    IN MX 30 192.0.2.9.
a    IN A    192.0.2.1
b    IN AAAA 2001:db8::2
c    IN A    192.0.2.3
c    IN AAAA 2001:db8::3
`)
	e := env(t, srv.Addr)
	set := discover(t, e, "order.test")
	var got []string
	for _, h := range set.Hosts {
		got = append(got, fmt.Sprintf("%d %s %v %v", h.Preference, h.Name, h.IPLiteral, h.Addrs()))
	}
	want := []string{
		"10 c.order.test false [192.0.2.3 2001:db8::3]",
		"20 a.order.test false [192.0.2.1]",
		"20 b.order.test false [2001:db8::2]",
		"30 192.0.2.9 true []",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("hosts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ips := set.AllIPs(); len(ips) != 4 { // an IP-literal MX target is not an address anyone delivers to
		t.Errorf("AllIPs = %v", ips)
	}
	for _, q := range srv.Queries() {
		if strings.HasPrefix(q.Name, "192.") {
			t.Errorf("an IP-literal MX target was looked up: %s", q)
		}
	}

	// A second probe asking for the same set gets the same one, with no
	// new question.
	n := len(srv.Queries())
	if again := discover(t, e, "order.test"); again != set {
		t.Error("the set was computed twice in one request")
	}
	if len(srv.Queries()) != n {
		t.Error("the second Discover sent queries")
	}
}

func TestDiscoverBoundsHosts(t *testing.T) {
	maxHosts := probes.DefaultLimits.MXHosts
	var zone strings.Builder
	zone.WriteString("$ORIGIN many.test.\n")
	for i := 0; i < maxHosts+5; i++ {
		fmt.Fprintf(&zone, "@ IN MX %d mx%02d\nmx%02d IN A 192.0.2.%d\n", i, i, i, i+1)
	}
	srv := testbed.StartDNS(t, zone.String())
	set := discover(t, env(t, srv.Addr), "many.test")
	if len(set.Hosts) != maxHosts || set.Omitted != 5 {
		t.Errorf("%d hosts, %d omitted; want %d and 5", len(set.Hosts), set.Omitted, maxHosts)
	}
	if set.Hosts[len(set.Hosts)-1].Name != fmt.Sprintf("mx%02d.many.test", maxHosts-1) {
		t.Errorf("kept the wrong hosts: last is %s", set.Hosts[len(set.Hosts)-1].Name)
	}
	// A and AAAA of the kept hosts, plus the MX question: nothing for the
	// omitted ones.
	if n := len(srv.Queries()); n != 1+2*maxHosts {
		t.Errorf("%d queries, want %d", n, 1+2*maxHosts)
	}
	want := fmt.Sprintf("many.test publishes %d MX hosts; only the %d most preferred were looked at (the module's limits.mx_hosts is %d)", maxHosts+5, maxHosts, maxHosts)
	if err := set.HostsLimited(); err == nil || err.Error() != want {
		t.Errorf("HostsLimited() = %v, want %q", err, want)
	}
	if err := set.AddrsLimited(); err != nil {
		t.Errorf("AddrsLimited() = %v, want nil: every host has one address", err)
	}
}

func TestDiscoverBoundsAddressesPerHost(t *testing.T) {
	var zone strings.Builder
	zone.WriteString("$ORIGIN wide.test.\n@ IN MX 10 mx\n@ IN MX 20 small\nsmall IN A 192.0.2.200\n")
	for i := range 40 {
		fmt.Fprintf(&zone, "mx IN A 192.0.2.%d\nmx IN AAAA 2001:db8::%x\n", i+1, i+1)
	}
	srv := testbed.StartDNS(t, zone.String())
	e := env(t, srv.Addr)
	e.Limits = probes.Limits{AddressesPerHost: 10}
	set := discover(t, e, "wide.test")
	mx := set.Hosts[0]
	addrs := mx.Addrs()
	if len(addrs) != 10 || !addrs[0].Is4() || mx.OmittedAddrs() != 70 {
		t.Errorf("Addrs() = %v (%d), omitted %d; want the first 10 IPv4 addresses and 70 left out", addrs, len(addrs), mx.OmittedAddrs())
	}
	if len(set.AllIPs()) != 11 {
		t.Errorf("AllIPs() has %d addresses, want the 10 let through and the other host's", len(set.AllIPs()))
	}
	want := "mx.wide.test has more addresses than the first 10 that were looked at (70 left out) (the module's limits.addresses_per_host is 10)"
	if err := set.AddrsLimited(); err == nil || err.Error() != want {
		t.Errorf("AddrsLimited() = %v, want %q", err, want)
	}
	if errs := set.Limited(); len(errs) != 1 {
		t.Errorf("Limited() = %v, want the addresses' limit alone", errs)
	}
}

func TestDiscoverNullMXHostAndIP(t *testing.T) {
	srv := testbed.StartExampleWorld(t)
	e := env(t, srv.Addr)
	null := discover(t, e, "nullmx.test")
	if !null.NullMX || len(null.Hosts) != 0 {
		t.Errorf("null MX: %+v", null)
	}
	host := discover(t, e, "mx1.example.test:25")
	if host.MX != nil || len(host.Hosts) != 1 || len(host.Hosts[0].Addrs()) != 2 {
		t.Errorf("host target: %+v", host)
	}
	ip := discover(t, e, "192.0.2.10")
	if len(ip.Hosts) != 0 || len(ip.AllIPs()) != 1 {
		t.Errorf("IP target: %+v", ip)
	}
	alias := discover(t, e, "broken.test")
	for _, h := range alias.Hosts {
		if h.Name == "alias.broken.test" && len(h.CNAMEs()) != 1 {
			t.Errorf("alias host chain = %v", h.CNAMEs())
		}
	}
}

func TestDiscoverMXError(t *testing.T) {
	srv := testbed.StartExampleWorld(t)
	srv.SetBehaviour("example.test", testbed.ServFail)
	tgt, _ := probes.ParseTarget("example.test")
	_, err := mailhosts.Discover(context.Background(), &probes.Request{Target: tgt}, env(t, srv.Addr))
	if err == nil || !strings.Contains(err.Error(), "SERVFAIL") {
		t.Errorf("err = %v", err)
	}
}

// A domain without MX records that has addresses receives mail at them
// (RFC 5321 §5.1): the set holds the domain itself, marked implicit, with
// preference 0, as its own organization's host. Without addresses there
// is no host; when the addresses cannot be resolved, the host stays with
// its error, so no probe takes "unknown" for "nothing there".
func TestDiscoverImplicitMX(t *testing.T) {
	srv := testbed.StartDNS(t, `
$ORIGIN implicit.test.
@    IN A    192.0.2.80
@    IN AAAA 2001:db8::80
$ORIGIN nothing.test.
@    IN TXT  "v=spf1 -all"
$ORIGIN failing.test.
@    IN TXT  "v=spf1 -all"
`)
	e := env(t, srv.Addr)
	set := discover(t, e, "implicit.test")
	h := set.Implicit()
	if h == nil || len(set.Hosts) != 1 {
		t.Fatalf("no implicit MX: %+v", set)
	}
	if h.Name != "implicit.test" || h.Preference != 0 || !h.OwnOrganization || h.Label() != "implicit.test (implicit MX)" {
		t.Errorf("implicit host: %+v", h)
	}
	if got := fmt.Sprint(h.Addrs()); got != "[192.0.2.80 2001:db8::80]" {
		t.Errorf("addresses %s", got)
	}
	if len(set.MXHosts()) != 0 || set.NullMX {
		t.Errorf("MXHosts %v, NullMX %v", set.MXHosts(), set.NullMX)
	}
	if note := set.ImplicitNote(); !strings.Contains(note, "implicit MX of RFC 5321 §5.1") || !strings.Contains(note, "implicit.test (implicit MX)") {
		t.Errorf("note %q", note)
	}

	none := discover(t, e, "nothing.test")
	if len(none.Hosts) != 0 || none.Implicit() != nil || none.ImplicitNote() != "" {
		t.Errorf("a domain without MX and addresses has hosts: %+v", none.Hosts)
	}
	nx := discover(t, e, "missing.test")
	if len(nx.Hosts) != 0 || !nx.MX.NXDomain() {
		t.Errorf("an NXDOMAIN domain has hosts: %+v", nx.Hosts)
	}

	// The MX answer (none) is in the request's cache; then the server
	// fails, so the addresses cannot be resolved.
	e2 := env(t, srv.Addr)
	if _, err := e2.DNS.Lookup(context.Background(), "failing.test", dns.TypeMX); err != nil {
		t.Fatal(err)
	}
	srv.SetBehaviour("failing.test", testbed.ServFail)
	failing := discover(t, e2, "failing.test")
	if failing.Implicit() == nil || failing.Implicit().Err == nil {
		t.Errorf("unresolvable implicit MX dropped or without its error: %+v", failing.Hosts)
	}
}

func TestDiscoverMarksOrganization(t *testing.T) {
	srv := testbed.StartDNS(t, `
$ORIGIN mail.example.co.uk.
@    IN MX 10 mx1.example.co.uk.
@    IN MX 20 aspmx.l.google.com.
@    IN MX 30 mx.mail.example.co.uk.
@    IN MX 40 192.0.2.9.
@    IN MX 50 example.co.uk.evil.test.
`)
	set := discover(t, env(t, srv.Addr), "mail.example.co.uk")
	if set.Organization != "example.co.uk" {
		t.Errorf("organization %q", set.Organization)
	}
	var got []string
	for _, h := range set.Hosts {
		got = append(got, fmt.Sprintf("%s %q %v", h.Name, h.Organization, h.OwnOrganization))
	}
	want := []string{
		`mx1.example.co.uk "example.co.uk" true`,
		`aspmx.l.google.com "google.com" false`,
		`mx.mail.example.co.uk "example.co.uk" true`,
		`192.0.2.9 "" false`,
		`example.co.uk.evil.test "evil.test" false`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("hosts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestOrganizationalDomain(t *testing.T) {
	for name, want := range map[string]string{
		"alt1.aspmx.l.google.com":                "google.com",
		"m365-test.mail.protection.outlook.com.": "outlook.com",
		// A private-section suffix (us-east-1.amazonaws.com) is not an
		// organization boundary: Amazon's hosts are Amazon's.
		"inbound-smtp.us-east-1.amazonaws.com": "amazonaws.com",
		"mx.example.co.uk":                     "example.co.uk",
		"MX1.Selfhosted.Test":                  "selfhosted.test",
		"example.com":                          "example.com",
		"com":                                  "",
		"co.uk":                                "",
		"":                                     "",
		"a..example.com":                       "",
	} {
		if got := mailhosts.OrganizationalDomain(name); got != want {
			t.Errorf("OrganizationalDomain(%q) = %q, want %q", name, got, want)
		}
	}
	for _, c := range []struct {
		domain, name string
		want         bool
	}{
		{"mg.mailgun.test", "mxa.mailgun.org", false},
		{"mg.mailgun.test", "mx.mailgun.test", true},
		{"example.com", "mail.example.com.", true},
		{"example.com", "example.com", true},
		{"example.com", "notexample.com", false},
		{"example.com", "example.com.evil.test", false},
		{"example.com", "mail.example.net", false},
		{"", "example.com", false},
	} {
		if got := mailhosts.SameOrganization(c.domain, c.name); got != c.want {
			t.Errorf("SameOrganization(%q, %q) = %v", c.domain, c.name, got)
		}
	}
}

// FuzzOrganizationalDomain: the organizational domain of a name is the
// name itself or a suffix of it at a label boundary, and a name always
// belongs to its own organization.
func FuzzOrganizationalDomain(f *testing.F) {
	for _, s := range []string{"alt1.aspmx.l.google.com", "mx.example.co.uk", "a.b.c.d.e", "co.uk", "x..y", ".", "", "MX1.Example.TEST."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		org := mailhosts.OrganizationalDomain(name)
		low := strings.ToLower(strings.TrimSuffix(name, "."))
		if org != "" && org != low && !strings.HasSuffix(low, "."+org) {
			t.Fatalf("OrganizationalDomain(%q) = %q, not a suffix at a label boundary", name, org)
		}
		if org != "" && !mailhosts.SameOrganization(name, name) {
			t.Fatalf("%q is not of its own organization", name)
		}
	})
}
