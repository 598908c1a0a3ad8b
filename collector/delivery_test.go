package collector

import (
	"context"
	"net/netip"
	"net/url"
	"slices"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
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
