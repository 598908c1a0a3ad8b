package collector

import (
	"context"
	"errors"
	"net/netip"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/delivery"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dkim"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dmarc"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mtasts"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mx"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtp"
	"github.com/deliverability-exporter/deliverability_exporter/probes/spf"
	"github.com/deliverability-exporter/deliverability_exporter/probes/tlsrpt"
)

// Registrations are the probes the exporter has, in the order a module's
// probes run and are reported. Each probe package declares its own
// Registration (how it is built, the facts it reads, the facts its block
// supplies); its block is a field of config.Blocks.
var Registrations = []probes.Registration{
	mx.Registration,
	spf.Registration,
	dkim.Registration,
	dmarc.Registration,
	mtasts.Registration,
	tlsrpt.Registration,
	smtp.Registration,
	dnsbl.Registration,
	delivery.NewRegistration(deliveryLent),
}

// Catalogue lists every check and every metric family a probe request can
// produce, for documentation and for the test that keeps docs/checks.md and
// docs/metrics.md true.
func Catalogue() (checks []probes.CheckSpec, metrics []*probes.MetricSpec) {
	metrics = append(metrics, FrameMetricSpecs...)
	for _, r := range Registrations {
		d := r.Describe()
		checks = append(checks, d.CheckSpecs()...)
		metrics = append(metrics, d.MetricSpecs()...)
	}
	return checks, metrics
}

// deliveryLent is what the delivery probe borrows from the other probes to
// judge a delivered message as they judge a domain: SPF's check_host(),
// the dmarc probe's policy discovery, and the mx and dnsbl probes run on the relay's address (the mx probe with
// its defaults, the dnsbl probe with the module's dnsbl block when it has
// one, else the default lists; the blocklist answers share the process
// cache).
var deliveryLent = delivery.Lent{
	CheckHost: func(ctx context.Context, r *dnsclient.Resolver, ip netip.Addr, domain, sender, helo string) (string, error) {
		res, err := spf.CheckHost(ctx, r, ip, domain, sender, helo)
		return string(res), err
	},
	DMARC: lendDMARC,
	Reverse: delivery.LentProbe{
		Build:  func(probes.Setup) probes.Probe { return mx.New(mx.DefaultConfig()) },
		Checks: []string{"ptr.present", "ptr.fcrdns"},
	},
	Blocklists: delivery.LentProbe{
		Build: func(s probes.Setup) probes.Probe {
			cfg := dnsbl.DefaultConfig()
			if s.Block != nil {
				if block, ok := s.Block(dnsbl.Name); ok {
					if c, err := probes.BlockOf[dnsbl.Config](dnsbl.Name, block); err == nil {
						cfg = c
					}
				}
			}
			return dnsbl.New(cfg, dnsbl.SharedCache(s.Kept))
		},
		Checks: []string{"dnsbl.ip"},
	},
}

// lendDMARC is the dmarc probe's policy discovery in the delivery probe's
// terms.
func lendDMARC(ctx context.Context, r *dnsclient.Resolver, domain string) (*delivery.DMARCPolicy, error) {
	a, err := dmarc.Applying(ctx, r, domain)
	var unusable *dmarc.RecordError
	switch {
	case errors.As(err, &unusable):
		return &delivery.DMARCPolicy{Unusable: unusable.Reason}, nil
	case err != nil:
		return nil, err
	case a == nil:
		return nil, nil
	}
	return &delivery.DMARCPolicy{Owner: "_dmarc." + a.Domain, Policy: a.Policy,
		StrictDKIM: a.Record.ADKIM == "s", StrictSPF: a.Record.ASPF == "s"}, nil
}
