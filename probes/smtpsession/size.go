package smtpsession

import "crypto/x509"

// What the memory's byte bound counts (SessionMemory). The counts are of
// what a conversation keeps alive on the heap, a little generously: the
// bound has to hold against a server that sends as much as the reply
// reader and crypto/tls let it, not only against well-run ones.
const (
	// heldOverhead is a kept conversation beyond its contents: the
	// heldSession, the Session and TLSInfo structs, its map slot.
	heldOverhead = 1536
	// stringOverhead is a string's or a slice's header, and the small
	// structs around them (a Reply, an Extension, a RcptResult).
	stringOverhead = 32
	// certOverhead is a parsed certificate beyond twice its DER: its
	// public key, names and the structs around them (the system roots
	// take some 3.1 times their DER once parsed, 1 KB each on average).
	certOverhead = 1536
)

// sessionSize counts what a session holds: every reply, extension and
// transcript line, its errors, and its certificate chain, each certificate
// as twice its DER (the DER itself and what parsing copies out of it) and
// a share per extension and name.
func sessionSize(s *Session) int64 {
	n := len(s.MX) + len(s.GreetingName) + len(s.HELOName) + len(s.EHLOName)
	n += replySize(s.Greeting) + replySize(s.EHLO) + replySize(s.STARTTLSReply) + replySize(s.MailFrom)
	n += extensionsSize(s.Extensions) + extensionsSize(s.ExtensionsTLS)
	for _, l := range s.Transcript {
		n += stringOverhead + len(l)
	}
	for _, r := range s.Rcpts {
		n += stringOverhead + len(r.Check) + len(r.Address) + replySize(r.Reply) + errSize(r.Err)
	}
	n += errSize(s.Err) + errSize(s.NotProbed)
	if t := s.TLS; t != nil {
		n += len(t.ServerName) + errSize(t.Err) + errSize(t.TrustErr) + errSize(t.NameErr) + errSize(t.ValidErr)
		for _, c := range t.Chain {
			n += certSize(c)
		}
	}
	return int64(n)
}

func replySize(r *Reply) int {
	if r == nil {
		return 0
	}
	n := stringOverhead
	for _, l := range r.Lines {
		n += stringOverhead + len(l)
	}
	return n
}

func extensionsSize(exts []Extension) int {
	n := 0
	for _, e := range exts {
		n += stringOverhead + len(e.Keyword)
		for _, p := range e.Params {
			n += stringOverhead + len(p)
		}
	}
	return n
}

func errSize(err error) int {
	if err == nil {
		return 0
	}
	return stringOverhead + len(err.Error())
}

func certSize(c *x509.Certificate) int {
	names := len(c.DNSNames) + len(c.EmailAddresses) + len(c.IPAddresses) + len(c.URIs)
	return 2*len(c.Raw) + certOverhead + 2*stringOverhead*(len(c.Extensions)+names)
}
