package mailhosts_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

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
	var zone strings.Builder
	zone.WriteString("$ORIGIN many.test.\n")
	for i := 0; i < mailhosts.MaxHosts+5; i++ {
		fmt.Fprintf(&zone, "@ IN MX %d mx%02d\nmx%02d IN A 192.0.2.%d\n", i, i, i, i+1)
	}
	srv := testbed.StartDNS(t, zone.String())
	set := discover(t, env(t, srv.Addr), "many.test")
	if len(set.Hosts) != mailhosts.MaxHosts || set.Omitted != 5 {
		t.Errorf("%d hosts, %d omitted; want %d and 5", len(set.Hosts), set.Omitted, mailhosts.MaxHosts)
	}
	if set.Hosts[len(set.Hosts)-1].Name != fmt.Sprintf("mx%02d.many.test", mailhosts.MaxHosts-1) {
		t.Errorf("kept the wrong hosts: last is %s", set.Hosts[len(set.Hosts)-1].Name)
	}
	// A and AAAA of the kept hosts, plus the MX question: nothing for the
	// omitted ones.
	if n := len(srv.Queries()); n != 1+2*mailhosts.MaxHosts {
		t.Errorf("%d queries, want %d", n, 1+2*mailhosts.MaxHosts)
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
