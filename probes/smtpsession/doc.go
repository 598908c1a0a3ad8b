// Package smtpsession holds the SMTP conversations with a target's mail
// servers: the fact (FactName) that the smtp probe's block supplies to its
// module and that the smtp, spf (spf.helo) and mtasts (enforce mode's
// certificates) probes read. One conversation per address per request,
// kept across requests under the module's smtp min_interval and shared by
// every target of the process that says the same to the same server
// (SessionMemory): the domains a mail platform hosts cost its addresses one
// conversation per interval, whatever their number.
//
// The dialogue is hand-written on net.Conn and a bounded reply reader
// (reply.go), because the libraries at hand each lose something the
// checks need: net/smtp drops the greeting and folds handshake errors into
// other errors, go-smtp's client cannot send STARTTLS after an EHLO with a
// chosen name, and net/textproto's reader buffers lines without bound.
// It says EHLO (HELO when EHLO is refused), STARTTLS, EHLO again, then,
// only for the RCPT checks a module turns on, MAIL FROM:<>, RCPT TO and
// RSET, and QUIT. It never says DATA: no message is ever sent.
//
// A connection that fails is the server's answer only while the exporter
// can reach the SMTP port of other servers: from a network that blocks
// outgoing port 25 every server looks down. Egress (egress.go) keeps the
// process's evidence (the module's egress_check, and what every
// conversation's connection did), and a conversation whose connection
// failed while the way out is down is not probed (ErrEgressDown).
//
// Every read is bounded (line length, lines and bytes per reply) and every
// conversation ends at the context's deadline: the deadline is set on the
// connection and the connection is closed when the context ends.
package smtpsession
