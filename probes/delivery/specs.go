package delivery

import "github.com/deliverability-exporter/deliverability_exporter/probes"

// The checks of the probe, as docs/checks.md defines them. Each is judged
// on the latest completed round trip.
var (
	checkAccepted = probes.CheckSpec{ID: "delivery.accepted", Level: probes.LevelMust,
		Passing: "the domain's submission server (or outgoing relay) accepted the probe message: connection, TLS, AUTH, MAIL, RCPT and DATA all answered 2xx/3xx"}
	checkArrived = probes.CheckSpec{ID: "delivery.arrived", Level: probes.LevelMust,
		Passing: "the accepted message arrived at the exporter's built-in receiver within max_wait"}
	checkTLS = probes.CheckSpec{ID: "delivery.tls", Level: probes.LevelMust,
		Passing: "the outgoing relay delivered the message over STARTTLS with TLS 1.2 or later (Gmail's and Yahoo's sender requirements)"}
	checkSPF = probes.CheckSpec{ID: "delivery.spf", Level: probes.LevelMust,
		Passing: "SPF check_host() of the MAIL FROM domain (the HELO name for a null sender) for the relay's address is pass (RFC 7208)"}
	checkDKIM = probes.CheckSpec{ID: "delivery.dkim", Level: probes.LevelMust,
		Passing: "the message carries a DKIM signature that verifies and whose d= is aligned with the From: domain (RFC 6376, RFC 7489 §3.1.1)"}
	checkDKIMKey = probes.CheckSpec{ID: "delivery.dkim_key_strength", Level: probes.LevelShould,
		Passing: "every verifying DKIM signature uses an Ed25519 key or an RSA key of at least min_rsa_key_bits (2048) bits (RFC 8301, M3AAWG)"}
	checkDMARC = probes.CheckSpec{ID: "delivery.dmarc", Level: probes.LevelMust,
		Passing: "the From: domain publishes DMARC and the message passes it: SPF or DKIM passes for an identifier aligned with From: (RFC 7489 §4.2)"}
	checkFCrDNS = probes.CheckSpec{ID: "delivery.outbound_fcrdns", Level: probes.LevelMust,
		Passing: "the address the relay delivered from has a PTR record whose name resolves back to it (forward-confirmed reverse DNS)"}
	checkNotListed = probes.CheckSpec{ID: "delivery.outbound_not_listed", Level: probes.LevelMust,
		Passing: "the address the relay delivered from is on none of the blocklists of the module's dnsbl block (the default lists when it has none)"}
	checkNoPrivateReceived = probes.CheckSpec{ID: "delivery.no_private_received", Level: probes.LevelShould,
		Passing: "no Received header of the delivered message names a private, loopback, link-local or shared (CGNAT) address"}
	checkInbox = probes.CheckSpec{ID: "delivery.inbox", Level: probes.LevelMust,
		Passing: "the message arrived in the inbox, not a spam folder, of every configured IMAP mailbox within max_wait (skipped without mailboxes)"}
)

var allChecks = []probes.CheckSpec{
	checkAccepted, checkArrived, checkTLS, checkSPF, checkDKIM, checkDKIMKey,
	checkDMARC, checkFCrDNS, checkNotListed, checkNoPrivateReceived, checkInbox,
}

// CheckIDs lists the ids of the probe's checks, in catalogue order.
func CheckIDs() []string {
	ids := make([]string, len(allChecks))
	for i, c := range allChecks {
		ids[i] = c.ID
	}
	return ids
}

// ReceiverBuiltin is the receiver label of the exporter's own receiver.
const ReceiverBuiltin = "builtin"

// The measurements of the probe.
var (
	metricInFlight = &probes.MetricSpec{Name: "mail_delivery_in_flight",
		Help: "Whether a probe message was sent and has neither arrived nor been given up on (1) or not (0)."}
	metricDuration = &probes.MetricSpec{Name: "mail_delivery_duration_seconds",
		Help:   "Time from the submission server's acceptance of the latest completed probe message to its arrival at the receiver (builtin, or an IMAP mailbox by its INTERNALDATE), in seconds.",
		Labels: []string{"receiver"}}
	metricAuth = &probes.MetricSpec{Name: "mail_delivery_auth_result",
		Help:   "The receiver's authentication verdict on the latest delivered probe message: 1 for the result it reached, one series per method (spf, spf_helo, dkim, dmarc); for an IMAP mailbox, its own Authentication-Results.",
		Labels: []string{"receiver", "method", "result"}}
	metricOutbound = &probes.MetricSpec{Name: "mail_delivery_outbound_info",
		Help:   "The address, HELO name and PTR name the latest probe message was delivered from (always 1).",
		Labels: []string{"receiver", "ip", "helo", "ptr"}}
	metricSentTimestamp = &probes.MetricSpec{Name: "mail_delivery_last_sent_timestamp_seconds",
		Help: "When the probe last submitted a message for this target, as a Unix timestamp."}
	metricSubmission = &probes.MetricSpec{Name: "mail_delivery_submission_duration_seconds",
		Help: "How long the submission server took to accept the latest completed probe message, from the connection to the reply to DATA, in seconds."}

	metricPlacement = &probes.MetricSpec{Name: "mail_delivery_placement_info",
		Help:   "Where the latest probe message ended up in each IMAP mailbox (placement inbox, spam or missing; always 1).",
		Labels: []string{"receiver", "placement"}}
)

var allMetrics = []*probes.MetricSpec{metricInFlight, metricDuration, metricAuth, metricOutbound, metricSentTimestamp, metricSubmission, metricPlacement}

// The authentication methods of mail_delivery_auth_result.
const (
	MethodSPF     = "spf"
	MethodSPFHELO = "spf_helo"
	MethodDKIM    = "dkim"
	MethodDMARC   = "dmarc"
)

// CheckSpecs lists every check the probe records.
func (p *Probe) CheckSpecs() []probes.CheckSpec {
	return append([]probes.CheckSpec(nil), allChecks...)
}

// MetricSpecs lists every measurement family the probe records.
func (p *Probe) MetricSpecs() []*probes.MetricSpec {
	return append([]*probes.MetricSpec(nil), allMetrics...)
}
