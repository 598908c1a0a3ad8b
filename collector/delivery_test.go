package collector

import (
	"context"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/delivery"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// TestDeliveryLentChecks: the delivery probe decides two of its checks by
// the ids of the mx and dnsbl probes' checks; they must exist.
func TestDeliveryLentChecks(t *testing.T) {
	checks, _ := Catalogue()
	ids := map[string]bool{}
	for _, c := range checks {
		ids[c.ID] = true
	}
	for _, l := range [][]string{deliveryLent.Reverse.Checks, deliveryLent.Blocklists.Checks} {
		for _, id := range l {
			if !ids[id] {
				t.Errorf("the delivery probe reads check %s, which no probe declares", id)
			}
		}
	}
}

// observer is a probe that has seen the target send from an address.
type observer struct{ ip netip.Addr }

func (observer) Name() string { return "observer" }
func (observer) Run(context.Context, *probes.Request, *probes.Env) *probes.Result {
	return probes.NewResult("observer")
}
func (o observer) ObservedOutboundIPs(probes.Target) []netip.Addr { return []netip.Addr{o.ip} }

// TestObservedOutboundIPs: the addresses a probe saw the domain send from
// join the module's and the request's outbound IPs, once.
func TestObservedOutboundIPs(t *testing.T) {
	m := compileYAML(t, "modules:\n  m:\n    outbound_ips: [192.0.2.1]\n    spf: {}\n").byName["m"]
	m.probes = append(m.probes,
		compiledProbe{Probe: observer{netip.MustParseAddr("198.51.100.7")}},
		compiledProbe{Probe: observer{netip.MustParseAddr("192.0.2.1")}})
	target, err := probes.ParseTarget("example.com")
	if err != nil {
		t.Fatal(err)
	}
	req, err := m.NewRequest(target, url.Values{"outbound_ip": {"203.0.113.9"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("198.51.100.7")}
	if !slices.Equal(req.OutboundIPs, want) {
		t.Errorf("outbound IPs %v, want %v", req.OutboundIPs, want)
	}
}

// TestLendDMARC: the dmarc probe's policy discovery in the delivery
// probe's terms: the policy that applies, its alignment modes, a record
// receivers cannot apply as unusable rather than an error, and none.
func TestLendDMARC(t *testing.T) {
	srv := testbed.StartDNS(t, `
$ORIGIN test.
_dmarc.strict  IN TXT "v=DMARC1; p=reject; sp=none; adkim=s; aspf=s"
_dmarc.two     IN TXT "v=DMARC1; p=none"
_dmarc.two     IN TXT "v=DMARC1; p=reject"
`)
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for domain, want := range map[string]*delivery.DMARCPolicy{
		"strict.test":      {Owner: "_dmarc.strict.test", Policy: "reject", StrictDKIM: true, StrictSPF: true},
		"news.strict.test": {Owner: "_dmarc.strict.test", Policy: "none", StrictDKIM: true, StrictSPF: true},
		"two.test":         {Unusable: "_dmarc.two.test has 2 DMARC records: receivers apply no DMARC at all (RFC 7489 §6.6.3)"},
		"none.test":        nil,
	} {
		got, err := deliveryLent.DMARC(ctx, client.NewResolver(), domain)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, %v; want %+v", domain, got, err, want)
		}
	}
}
