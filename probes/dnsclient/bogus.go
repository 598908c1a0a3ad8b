package dnsclient

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/miekg/dns"
)

// A validating resolver answers SERVFAIL both when it could not reach the
// zone's servers and when the zone's signatures do not validate ("bogus",
// RFC 4035 §5.5). The two mean opposite things for a mail domain: the
// first is "the exporter cannot tell", the second stops every sender
// that validates (RFC 7672 §2.1.1). Two things tell them apart: the
// Extended DNS Errors the resolver attaches to the SERVFAIL (RFC 8914:
// 6 "DNSSEC Bogus", 7 "Signature Expired", 9 "DNSKEY Missing", ...), and
// the same question asked again with the CD (checking disabled) bit
// (RFC 4035 §3.2.2): a resolver whose upstream is down fails again, one
// that rejected the signatures answers with the data it rejected.

// Bounds on what a resolver's Extended DNS Errors may put in a report.
const (
	maxExtendedErrors    = 4
	maxExtendedErrorText = 200
)

// ExtendedError is one Extended DNS Error option (RFC 8914 §2) of an
// answer: an INFO-CODE and the resolver's EXTRA-TEXT, made safe to print.
type ExtendedError struct {
	Code uint16
	// Text is the EXTRA-TEXT as the resolver sent it, with control and
	// invalid bytes replaced and cut at 200 bytes; often empty.
	Text string
}

// Purpose is the code's name in the IANA registry ("DNSSEC Bogus"), or
// "unassigned".
func (e ExtendedError) Purpose() string {
	if s, ok := dns.ExtendedErrorCodeToString[e.Code]; ok {
		return s
	}
	return "unassigned"
}

// DNSSEC reports whether the code says DNSSEC validation failed (RFC 8914
// §4.2 to §4.13, §4.26, and RFC 9276's code 27).
func (e ExtendedError) DNSSEC() bool {
	switch e.Code {
	case dns.ExtendedErrorCodeUnsupportedDNSKEYAlgorithm,
		dns.ExtendedErrorCodeUnsupportedDSDigestType,
		dns.ExtendedErrorCodeDNSSECIndeterminate,
		dns.ExtendedErrorCodeDNSBogus,
		dns.ExtendedErrorCodeSignatureExpired,
		dns.ExtendedErrorCodeSignatureNotYetValid,
		dns.ExtendedErrorCodeDNSKEYMissing,
		dns.ExtendedErrorCodeRRSIGsMissing,
		dns.ExtendedErrorCodeNoZoneKeyBitSet,
		dns.ExtendedErrorCodeNSECMissing,
		dns.ExtendedErrorCodeSignatureExpiredBeforeValid,
		dns.ExtendedErrorCodeUnsupportedNSEC3IterValue:
		return true
	}
	return false
}

// String is "EDE 6 (DNSSEC Bogus): <text>".
func (e ExtendedError) String() string {
	s := fmt.Sprintf("EDE %d (%s)", e.Code, e.Purpose())
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// ExtendedErrors returns the Extended DNS Errors of a message, at most four,
// their text made printable and bounded.
func ExtendedErrors(msg *dns.Msg) []ExtendedError {
	opt := msg.IsEdns0()
	if opt == nil {
		return nil
	}
	var out []ExtendedError
	for _, o := range opt.Option {
		ede, ok := o.(*dns.EDNS0_EDE)
		if !ok {
			continue
		}
		if len(out) == maxExtendedErrors {
			break
		}
		out = append(out, ExtendedError{Code: ede.InfoCode, Text: printable(ede.ExtraText, maxExtendedErrorText)})
	}
	return out
}

// printable makes remote text safe for a one-line report: invalid UTF-8
// and control characters become U+FFFD, runs of spaces one space, and the
// result is cut (on a rune boundary) at max bytes with "…".
func printable(s string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			r = '\uFFFD'
		case unicode.IsSpace(r):
			if space || b.Len() == 0 {
				continue
			}
			space = true
			r = ' '
		case !unicode.IsPrint(r):
			r = '\uFFFD'
		}
		if r != ' ' {
			space = false
		}
		if b.Len()+utf8.RuneLen(r) > max {
			return strings.TrimRight(b.String(), " ") + "…"
		}
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), " ")
}

// anyDNSSEC reports whether one of the errors is a DNSSEC failure.
func anyDNSSEC(errs []ExtendedError) bool {
	for _, e := range errs {
		if e.DNSSEC() {
			return true
		}
	}
	return false
}

// describeExtended joins the errors for a message: "EDE 22 (No Reachable
// Authority): ..., EDE 23 (Network Error)".
func describeExtended(errs []ExtendedError) string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.String()
	}
	return strings.Join(parts, "; ")
}

// Bogus says that a validating resolver refused an answer because its
// DNSSEC signatures do not validate, and that the answer's records are
// the ones it gave with checking disabled: what the zone publishes, but
// what no validating sender or receiver will ever use.
type Bogus struct {
	// Name and Type are the question the resolver refused (in a CNAME
	// chain, the link that failed; Name fully qualified).
	Name string
	Type uint16
	// Server is the resolver that refused it.
	Server string
	// Errors are the Extended DNS Errors of its SERVFAIL; empty when the
	// resolver sends none (then only the CD answer tells).
	Errors []ExtendedError
}

// Reason is one line saying what the resolver did: "SERVFAIL from
// 127.0.0.1:53 with EDE 6 (DNSSEC Bogus): ...".
func (b *Bogus) Reason() string {
	if len(b.Errors) == 0 {
		return fmt.Sprintf("SERVFAIL from %s without an Extended DNS Error, but an answer with checking disabled (CD)", b.Server)
	}
	return fmt.Sprintf("SERVFAIL from %s with %s", b.Server, describeExtended(b.Errors))
}

// String is "MX example.com: SERVFAIL from ... with EDE 6 (DNSSEC Bogus): ...".
func (b *Bogus) String() string {
	return TypeName(b.Type) + " " + strings.TrimSuffix(b.Name, ".") + ": " + b.Reason()
}

// Code returns the first DNSSEC code among the errors, or 0 (Other) when
// there is none.
func (b *Bogus) Code() uint16 {
	for _, e := range b.Errors {
		if e.DNSSEC() {
			return e.Code
		}
	}
	return dns.ExtendedErrorCodeOther
}
