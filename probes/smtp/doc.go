// Package smtp is the probe that talks to a domain's mail servers: every
// address (IPv4 and IPv6) of every MX host, or the one host or address a
// target names. It checks that each answers with a 220 greeting, names
// itself with a host name that resolves back to the address (greeting and
// EHLO), offers STARTTLS (RFC 3207) and completes the handshake, and then
// judges what TLS showed: the version, the chain against the trusted roots,
// the MX host name, the dates of every certificate and the server key. It
// looks for AUTH on port 25, optionally asks RCPT TO for postmaster@,
// abuse@ and a foreign address (an open relay), checks DANE (RFC 7672:
// DNSSEC-validated TLSA at _25._tcp.<mx>, matched against the served
// chain) and, optionally, implicit TLS on port 465 (RFC 8314).
//
// # The conversation
//
// The conversations are package smtpsession's: the smtp probe's block
// supplies them to its module as the fact smtpsession.FactName, and the
// probe judges what they found.
//
// TLS is handshaken permissively (TLS 1.0 to 1.3, every cipher suite Go
// implements, no verification during the handshake) and judged afterwards,
// so a server that only speaks TLS 1.0 shows up as tls.version failing, not
// as a failed handshake, and every certificate fact (dates, names, key) is
// kept whatever the verdict. What Go cannot speak at all (SSLv3, finite-field
// DHE key exchange, export suites) ends in a failed handshake and
// smtp.starttls fails with the handshake's error.
//
// # Shared conversations
//
// Other probes read what the conversations found without connecting again,
// by declaring the fact smtpsession.FactName in their Registration:
// smtpsession.Sessions (and ImplicitTLSSessions for port 465) returns one
// Session per address, computed once per probe request, keyed by host,
// address, port and what the probe says (EHLO name and RCPT checks).
//
//   - The MTA-STS probe reads Session.TLS.Valid (trusted, covering the MX
//     host name, within its dates: RFC 8461 §4.2) for enforce-mode policies,
//     and TLS.Chain, TLS.Version for its report.
//   - The SPF probe's spf.helo reads the names servers gave for themselves
//     in EHLO (smtpsession.HELONames): the names they are likely to use in
//     HELO when they send.
//
// Sessions are shared: treat them as read-only.
package smtp
