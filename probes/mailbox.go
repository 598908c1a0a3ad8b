package probes

import (
	"net/netip"
	"time"
)

// Mailbox is the exporter's built-in receiver as a probe sees it: the
// delivery probe tells it which message to expect (a token it made up, for
// one recipient, until a deadline) and later asks whether that message
// arrived and what the receiver saw of it. The receiver accepts nothing
// else, so a probe that has not announced a token cannot be sent mail.
// Implementations are safe for concurrent use.
type Mailbox interface {
	// Expect makes the receiver accept one message carrying token for
	// rcpt until the deadline. rcpt is compared case-insensitively.
	Expect(token, rcpt string, until time.Time) error
	// Arrived returns what arrived for the token, if anything did.
	Arrived(token string) (*ReceivedMessage, bool)
	// Notify returns a channel that is closed when a message for the token
	// arrives (at once when it already has), or nil for a token not
	// expected.
	Notify(token string) <-chan struct{}
	// Forget drops the token and what arrived for it.
	Forget(token string)
}

// ReceivedMessage is what a receiving MTA saw of one message: the
// connection it came over, the envelope and the message as it arrived.
type ReceivedMessage struct {
	// At is when the final "." of DATA was read.
	At time.Time
	// Remote is the connecting address (the sending relay's).
	Remote netip.AddrPort
	// HELO is the name the relay gave in EHLO or HELO.
	HELO string
	// TLSVersion and TLSCipher are the crypto/tls constants of the session
	// (0 when the relay delivered in plain text).
	TLSVersion uint16
	TLSCipher  uint16
	// MailFrom is the reverse path without brackets ("" for <>).
	MailFrom string
	// Rcpt is the recipient the message was accepted for.
	Rcpt string
	// Data is the message as received (header and body, CRLF line ends),
	// bounded by the receiver's size limit.
	Data []byte
}

// TokenHeader is the header field that carries a probe message's token;
// the built-in receiver accepts a message only when it carries a token it
// was told to expect.
const TokenHeader = "X-Deliverability-Probe"

// mailboxKey is where the process-wide Kept holds the built-in receiver.
const mailboxKey = "probes.mailbox"

// SetMailbox makes m the receiver every module compiled with k reads from
// (nil: none). The command sets it once, before the configuration is
// compiled.
func SetMailbox(k *Kept, m Mailbox) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if m == nil {
		delete(k.values, mailboxKey)
		return
	}
	k.values[mailboxKey] = m
}

// MailboxOf returns the built-in receiver kept in k, if the exporter runs
// one.
func MailboxOf(k *Kept) (Mailbox, bool) { return Lookup[Mailbox](k, mailboxKey) }
