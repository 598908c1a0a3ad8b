package mx

import (
	"context"
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mailhosts"
)

// servicePorts are the registered ports of the RFC 6186 / RFC 8314
// services, for the records a remediation suggests.
var servicePorts = map[string]int{
	"submission": 587, "submissions": 465,
	"imap": 143, "imaps": 993,
	"pop3": 110, "pop3s": 995,
}

// srvLookup is the SRV answer for one service.
type srvLookup struct {
	service string
	name    string // _<service>._tcp.<domain>
	answer  *dnsclient.Answer
	err     error
}

// lookupSRV asks the SRV record of every service at once.
func lookupSRV(ctx context.Context, r *dnsclient.Resolver, domain string, services []string) []srvLookup {
	out := make([]srvLookup, len(services))
	var tasks flight.Tasks
	for i, svc := range services {
		out[i] = srvLookup{service: svc, name: "_" + svc + "._tcp." + domain}
		tasks.Go(func() {
			ans, err := r.Lookup(ctx, out[i].name, dns.TypeSRV)
			if err != nil {
				err = fmt.Errorf("SRV of %s: %w", out[i].name, err)
			}
			out[i].answer, out[i].err = ans, err
		})
	}
	tasks.Wait()
	return out
}

// srvRecords returns the SRV records of an answer.
func srvRecords(ans *dnsclient.Answer) []*dns.SRV {
	var out []*dns.SRV
	for _, rr := range ans.Records {
		if srv, ok := rr.(*dns.SRV); ok {
			out = append(out, srv)
		}
	}
	return out
}

// notOffered reports whether the records say "decidedly not available":
// one record with the root as target (RFC 2782, RFC 6186 §3.4).
func notOffered(records []*dns.SRV) bool {
	return len(records) == 1 && records[0].Target == "."
}

// recordSRV records srv.client: every configured service has SRV records,
// real ones or the "not offered" one, so mail clients configure themselves
// (RFC 6186 §3) instead of guessing host names. set names the mail host a
// suggested record points at; it may be nil.
func (r *run) recordSRV(lookups []srvLookup, set *mailhosts.Set) {
	if len(lookups) == 0 {
		r.res.Skip(checkSRV, "no services configured (srv_services is empty)")
		return
	}
	var v probes.Verdict
	var offered, declined, missing []string
	for _, l := range lookups {
		if l.err != nil {
			v.Unknown(l.err)
			continue
		}
		records := srvRecords(l.answer)
		r.res.Measure(metricSRV, float64(len(records)), l.service)
		switch {
		case notOffered(records):
			declined = append(declined, l.service)
			v.See(srvLine(l.answer, records[0]) + " (not offered)")
		case len(records) > 0:
			offered = append(offered, l.service)
			for _, rec := range records {
				v.See(srvLine(l.answer, rec) + " (offered)")
			}
		default:
			missing = append(missing, l.service)
			v.See(probes.FQDN(l.name) + " no SRV record (missing)")
			v.Fail(l.service, srvRecordFor(l, r.clientHost(set)))
		}
	}
	if len(missing) > 0 {
		v.FailReason = fmt.Sprintf("no SRV record for %s, so mail clients cannot find the servers (RFC 6186 §3)",
			probes.JoinNames(missing))
		example := lookupOf(lookups, missing[0])
		v.Fixes = []string{"publish " + strings.Join(v.Fixes, ", ") +
			"; for a service you do not offer, publish the \"not offered\" record instead, e.g. " +
			probes.ZoneLine(example.name, "SRV", "0 0 0 .") + " (RFC 6186 §3.4)"}
	}
	v.Record(r.res, checkSRV, srvSummary(offered, declined))
}

func srvSummary(offered, declined []string) string {
	var parts []string
	if len(offered) > 0 {
		parts = append(parts, "offered: "+strings.Join(offered, ", "))
	}
	if len(declined) > 0 {
		parts = append(parts, "not offered: "+strings.Join(declined, ", "))
	}
	return "every service has SRV records (" + strings.Join(parts, "; ") + ")"
}

func srvLine(ans *dnsclient.Answer, rec *dns.SRV) string {
	return fmt.Sprintf("%s SRV %d %d %d %s", ans.Owner(), rec.Priority, rec.Weight, rec.Port, rec.Target)
}

// srvRecordFor suggests the record of a service that is offered, pointing
// at host, or at a placeholder for the host that serves it.
func srvRecordFor(l srvLookup, host string) string {
	port := "<port>"
	if p, ok := servicePorts[l.service]; ok {
		port = fmt.Sprint(p)
	}
	target := "<the host that serves it>."
	if host != "" {
		target = probes.FQDN(host)
	}
	return probes.ZoneLine(l.name, "SRV", "0 1 "+port+" "+target)
}

func lookupOf(lookups []srvLookup, service string) srvLookup {
	for _, l := range lookups {
		if l.service == service {
			return l
		}
	}
	return srvLookup{}
}

// clientHost is the host a suggested SRV record points at: the most
// preferred mail host when the domain runs it (its own MX host, or the
// implicit MX), else "" (a provider's inbound MX host rarely serves
// submission or IMAP, and a made-up name may not exist).
func (r *run) clientHost(set *mailhosts.Set) string {
	if set != nil && len(set.Hosts) > 0 && !set.Hosts[0].IPLiteral && set.Hosts[0].OwnOrganization {
		return set.Hosts[0].Name
	}
	return ""
}
