package smtp

import "github.com/deliverability-exporter/deliverability_exporter/probes"

// The checks of the probe, as docs/checks.md defines them.
var (
	checkReachable = probes.CheckSpec{ID: "smtp.reachable", Level: probes.LevelMust,
		Passing: "port 25 answers with 220 within the timeout"}
	checkBanner = probes.CheckSpec{ID: "smtp.banner", Level: probes.LevelShould,
		Passing: "the greeting names a host that resolves to the IP connected to"}
	checkHELO = probes.CheckSpec{ID: "smtp.helo", Level: probes.LevelMust,
		Passing: "the EHLO reply names a host that resolves to that IP"}
	checkSTARTTLS = probes.CheckSpec{ID: "smtp.starttls", Level: probes.LevelMust,
		Passing: "STARTTLS is offered and the handshake succeeds"}
	checkTLSVersion = probes.CheckSpec{ID: "tls.version", Level: probes.LevelShould,
		Passing: "TLS 1.2 or newer"}
	checkCertTrusted = probes.CheckSpec{ID: "tls.cert_trusted", Level: probes.LevelMust,
		Passing: "the chain verifies against the system roots (or the module's CA file)"}
	checkCertName = probes.CheckSpec{ID: "tls.cert_name", Level: probes.LevelMust,
		Passing: "the certificate covers the MX host name"}
	checkCertExpiry = probes.CheckSpec{ID: "tls.cert_expiry", Level: probes.LevelMust,
		Passing: "no certificate in the chain expired (or is not yet valid)"}
	checkKeyStrength = probes.CheckSpec{ID: "tls.key_strength", Level: probes.LevelShould,
		Passing: "the server key is RSA >= 2048 bits, ECDSA >= 256 bits or Ed25519"}
	checkNoPlainAuth = probes.CheckSpec{ID: "smtp.no_plain_auth", Level: probes.LevelMust,
		Passing: "AUTH is not advertised before STARTTLS"}
	checkNoAuthPort25 = probes.CheckSpec{ID: "smtp.no_auth_port25", Level: probes.LevelShould,
		Passing: "AUTH is not advertised on port 25 at all"}
	checkPostmaster = probes.CheckSpec{ID: "smtp.postmaster", Level: probes.LevelMust,
		Passing: "RCPT TO:<postmaster@domain> is accepted (opt-in)"}
	checkAbuse = probes.CheckSpec{ID: "smtp.abuse", Level: probes.LevelShould,
		Passing: "RCPT TO:<abuse@domain> is accepted (opt-in)"}
	checkNoOpenRelay = probes.CheckSpec{ID: "smtp.no_open_relay", Level: probes.LevelMust,
		Passing: "RCPT TO: a foreign domain is refused (opt-in)"}
	checkDANETLSA = probes.CheckSpec{ID: "dane.tlsa", Level: probes.LevelMay,
		Passing: "_25._tcp.<mx> has DNSSEC-validated TLSA records"}
	checkDANEMatch = probes.CheckSpec{ID: "dane.match", Level: probes.LevelMust,
		Passing: "the served chain matches at least one usable TLSA record (if TLSA)"}
	checkDANERollover = probes.CheckSpec{ID: "dane.rollover", Level: probes.LevelMay,
		Passing: "a second TLSA record is published for key rollover"}
	checkImplicitTLS = probes.CheckSpec{ID: "smtps.implicit_tls", Level: probes.LevelMay,
		Passing: "port 465 speaks implicit TLS with a valid certificate (opt-in)"}
)

var allChecks = []probes.CheckSpec{
	checkReachable, checkBanner, checkHELO, checkSTARTTLS,
	checkTLSVersion, checkCertTrusted, checkCertName, checkCertExpiry, checkKeyStrength,
	checkNoPlainAuth, checkNoAuthPort25, checkPostmaster, checkAbuse, checkNoOpenRelay,
	checkDANETLSA, checkDANEMatch, checkDANERollover, checkImplicitTLS,
}

// The measurements of the probe, one series per MX host and address (the
// label "mx" is empty for an IP target). Label values are bounded by what
// the request's limits (limits.mx_hosts hosts, limits.addresses_per_host
// addresses each) and by fixed sets: TLS version and cipher suite names come from
// crypto/tls, rcpt is one of postmaster, abuse, open_relay, key_type one of
// rsa, ecdsa, ed25519, other.
var (
	metricUp = &probes.MetricSpec{Name: "mail_smtp_up",
		Help: "Whether the SMTP server greeted with 220.", Labels: []string{"mx", "ip"}}
	metricSTARTTLS = &probes.MetricSpec{Name: "mail_smtp_starttls",
		Help: "Whether the SMTP server offered STARTTLS in its EHLO reply.", Labels: []string{"mx", "ip"}}
	metricHandshake = &probes.MetricSpec{Name: "mail_tls_handshake_success",
		Help: "Whether the STARTTLS handshake completed.", Labels: []string{"mx", "ip"}}
	metricTrusted = &probes.MetricSpec{Name: "mail_tls_cert_trusted",
		Help: "Whether the served chain verifies against the trusted roots, dates aside.", Labels: []string{"mx", "ip"}}
	metricNameMatch = &probes.MetricSpec{Name: "mail_tls_cert_name_match",
		Help: "Whether the server certificate covers the MX host name.", Labels: []string{"mx", "ip"}}
	metricVersion = &probes.MetricSpec{Name: "probe_tls_version_info",
		Help: "The TLS version negotiated (blackbox_exporter's name).", Labels: []string{"mx", "ip", "version"}}
	metricCipher = &probes.MetricSpec{Name: "mail_tls_cipher_info",
		Help: "The TLS cipher suite negotiated.", Labels: []string{"mx", "ip", "cipher"}}
	metricExpiry = &probes.MetricSpec{Name: "probe_ssl_earliest_cert_expiry",
		Help: "The earliest notAfter in the served chain, in Unix seconds (blackbox_exporter's name).", Labels: []string{"mx", "ip"}}
	metricNotBefore = &probes.MetricSpec{Name: "mail_tls_cert_not_before_timestamp_seconds",
		Help: "The latest notBefore in the served chain, in Unix seconds.", Labels: []string{"mx", "ip"}}
	metricCertInfo = &probes.MetricSpec{Name: "mail_tls_cert_info",
		Help: "The server certificate's subject CN, issuer CN and serial number.", Labels: []string{"mx", "ip", "subject", "issuer", "serial"}}
	metricKeyBits = &probes.MetricSpec{Name: "mail_tls_key_bits",
		Help: "Size of the server certificate's public key in bits.", Labels: []string{"mx", "ip", "key_type"}}
	metricDANEMatch = &probes.MetricSpec{Name: "mail_dane_tlsa_match",
		Help: "Whether the served chain matches a usable DNSSEC-validated TLSA record.", Labels: []string{"mx", "ip"}}
	metricTLSARecords = &probes.MetricSpec{Name: "mail_dane_tlsa_records",
		Help: "Number of usable DNSSEC-validated TLSA records at _25._tcp of the MX host.", Labels: []string{"mx"}}
	metricRcptCode = &probes.MetricSpec{Name: "mail_smtp_rcpt_code",
		Help: "The reply code to a RCPT TO check.", Labels: []string{"mx", "ip", "rcpt"}}
	metricSMTPSUp = &probes.MetricSpec{Name: "mail_smtps_up",
		Help: "Whether the implicit-TLS port completed a handshake and greeted with 220.", Labels: []string{"mx", "ip"}}
)

var allMetrics = []*probes.MetricSpec{
	metricUp, metricSTARTTLS, metricHandshake, metricTrusted, metricNameMatch,
	metricVersion, metricCipher, metricExpiry, metricNotBefore, metricCertInfo, metricKeyBits,
	metricDANEMatch, metricTLSARecords, metricRcptCode, metricSMTPSUp,
}

// CheckSpecs lists every check the probe records.
func (p *Probe) CheckSpecs() []probes.CheckSpec {
	return append([]probes.CheckSpec(nil), allChecks...)
}

// MetricSpecs lists every measurement family the probe records.
func (p *Probe) MetricSpecs() []*probes.MetricSpec {
	return append([]*probes.MetricSpec(nil), allMetrics...)
}
