// Package hostile is a world of domains published by someone who wants
// the exporter to fall over, on loopback: an in-process DNS server that
// makes its answers up as it is asked (no zone holds a hundred thousand
// records) and the exporter modules that probe it. Nothing in it leaves
// 127.0.0.1: the modules deny every network to SMTP and HTTPS connections,
// and the hostile addresses (198.18.0.0/15, 2001:db8::/32) are never
// dialled.
//
// The domains reproduce what issue 17 found:
//
//   - wide.test: 16 MX hosts with 4,000 A and 2,300 AAAA records each (64 KB
//     answers over TCP): one request once asked 96,266 questions, ran
//     69,417 goroutines and took 0.67 GB.
//   - d<N>.big.test: every name under it answers TXT, A, AAAA and MX with
//     about 60 KB of records: 600 of them once took a DNS cache bounded by
//     entries from 33 MB to 2.5 GB, never freed.
package hostile

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// The shape of the hostile domains.
const (
	// WideDomain is the domain with WideHosts MX hosts of thousands of
	// addresses each.
	WideDomain = "wide.test"
	WideHosts  = 16
	// WideA and WideAAAA are the address records of each wide MX host:
	// as many as a 64 KB TCP answer holds.
	WideA    = 4000
	WideAAAA = 2300
	// BigZone holds the domains d0.big.test, d1.big.test, ... whose every
	// name answers with about BigAnswerBytes of records.
	BigZone        = "big.test"
	BigAnswerBytes = 60 << 10
	// ListZone is a blocklist that lists its test point and nothing else.
	ListZone = "zen.bl.test"
)

// BigDomain returns the i-th domain with large answers.
func BigDomain(i int) string { return fmt.Sprintf("d%d.%s", i, BigZone) }

// Server is the hostile DNS server on 127.0.0.1, UDP and TCP on one port.
// It answers as a recursive resolver would, truncating UDP answers to the
// client's buffer so large ones come back over TCP.
type Server struct {
	// Addr is "127.0.0.1:port".
	Addr string

	stop func()

	mu        sync.Mutex
	questions map[question]int // distinct questions, asked how often (UDP and TCP count once each)
	messages  atomic.Int64
}

type question struct {
	name  string
	qtype uint16
}

// Start starts a server; Close stops it.
func Start() (*Server, error) {
	s := &Server{questions: map[question]int{}}
	addr, stop, err := testbed.ServeDNS(dns.HandlerFunc(s.serve))
	if err != nil {
		return nil, fmt.Errorf("start the hostile DNS server: %w", err)
	}
	s.Addr, s.stop = addr, stop
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.stop() }

// Questions returns how many distinct questions (name, type) the server
// was asked, and how many of them were PTR questions.
func (s *Server) Questions() (distinct, ptr int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for q := range s.questions {
		if q.qtype == dns.TypePTR {
			ptr++
		}
	}
	return len(s.questions), ptr
}

// Messages returns how many messages the server answered (a truncated UDP
// answer and its TCP retry are two).
func (s *Server) Messages() int64 { return s.messages.Load() }

// Reset forgets the questions asked.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.questions = map[question]int{}
	s.messages.Store(0)
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	s.messages.Add(1)
	resp := new(dns.Msg)
	if len(req.Question) != 1 {
		resp.SetRcode(req, dns.RcodeFormatError)
		_ = w.WriteMsg(resp)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	s.mu.Lock()
	s.questions[question{name, q.Qtype}]++
	s.mu.Unlock()

	resp.SetReply(req)
	resp.RecursionAvailable = true
	resp.Compress = true // the names repeat in every record: 64 KB holds thousands
	answer(resp, name, q.Qtype)
	opt := req.IsEdns0()
	if opt != nil {
		resp.SetEdns0(opt.UDPSize(), opt.Do())
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if opt != nil && int(opt.UDPSize()) > size {
			size = int(opt.UDPSize())
		}
		resp.Truncate(size)
	}
	_ = w.WriteMsg(resp)
}

// answer fills resp for the question, making the records up.
func answer(resp *dns.Msg, name string, qtype uint16) {
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: 3600}
	}
	switch {
	case name == WideDomain+"." && qtype == dns.TypeMX:
		for i := range WideHosts {
			resp.Answer = append(resp.Answer, &dns.MX{Hdr: hdr(dns.TypeMX), Preference: 10, Mx: WideHost(i) + "."})
		}
	case name == WideDomain+"." && qtype == dns.TypeTXT:
		resp.Answer = append(resp.Answer, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: []string{"v=spf1 mx -all"}})
	case strings.HasSuffix(name, "."+WideDomain+".") && strings.HasPrefix(name, "mx"):
		var host int
		if _, err := fmt.Sscanf(name, "mx%d.", &host); err != nil || host < 0 || host >= WideHosts {
			negative(resp, WideDomain, true)
			return
		}
		switch qtype {
		case dns.TypeA:
			for i := range WideA {
				resp.Answer = append(resp.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: WideAddr(host, i).AsSlice()})
			}
		case dns.TypeAAAA:
			for i := range WideAAAA {
				resp.Answer = append(resp.Answer, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: WideAddr6(host, i).AsSlice()})
			}
		default:
			negative(resp, WideDomain, false)
		}
	case dns.IsSubDomain(BigZone+".", name) && name != BigZone+".":
		bigAnswer(resp, name, qtype, hdr)
	case name == "2.0.0.127."+ListZone+"." && qtype == dns.TypeA:
		resp.Answer = append(resp.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: net.IPv4(127, 0, 0, 2).To4()})
	case dns.IsSubDomain(ListZone+".", name):
		negative(resp, ListZone, true)
	case dns.IsSubDomain(WideDomain+".", name):
		negative(resp, WideDomain, true)
	case strings.HasSuffix(name, ".arpa."):
		// The hostile addresses have PTRs naming their host, which
		// resolves back to them: without limits every reverse DNS check
		// would pass, and one of 100,800 addresses at a time.
		host, ok := wideHostOf(name)
		if !ok || qtype != dns.TypePTR {
			negative(resp, "arpa", !ok)
			return
		}
		resp.Answer = append(resp.Answer, &dns.PTR{Hdr: hdr(dns.TypePTR), Ptr: WideHost(host) + "."})
	default:
		negative(resp, "test", true)
	}
}

// bigAnswer answers any name under BigZone with about BigAnswerBytes of
// records of the type asked, where the type allows.
func bigAnswer(resp *dns.Msg, name string, qtype uint16, hdr func(uint16) dns.RR_Header) {
	switch qtype {
	case dns.TypeTXT:
		// 240 strings of 250 bytes: 63 KB on the wire.
		for i := range BigAnswerBytes / 256 {
			resp.Answer = append(resp.Answer, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: []string{fmt.Sprintf("%04d%s", i, strings.Repeat("x", 246))}})
		}
	case dns.TypeA:
		for i := range BigAnswerBytes / 16 {
			resp.Answer = append(resp.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: WideAddr(i%WideHosts, i/WideHosts).AsSlice()})
		}
	case dns.TypeAAAA:
		for i := range BigAnswerBytes / 28 {
			resp.Answer = append(resp.Answer, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: WideAddr6(i%WideHosts, i/WideHosts).AsSlice()})
		}
	case dns.TypeMX:
		// Every MX host is the name itself, under a long preference list.
		for i := range BigAnswerBytes / 16 {
			resp.Answer = append(resp.Answer, &dns.MX{Hdr: hdr(dns.TypeMX), Preference: uint16(i), Mx: name})
		}
	default:
		negative(resp, BigZone, false)
	}
}

// negative answers NXDOMAIN (or NODATA) with the zone's SOA, so the answer
// may be cached for its negative TTL.
func negative(resp *dns.Msg, zone string, nxdomain bool) {
	if nxdomain {
		resp.Rcode = dns.RcodeNameError
	}
	resp.Ns = append(resp.Ns, &dns.SOA{
		Hdr: dns.RR_Header{Name: dns.Fqdn(zone), Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 3600},
		Ns:  "ns." + dns.Fqdn(zone), Mbox: "hostmaster." + dns.Fqdn(zone), Serial: 1, Refresh: 7200, Retry: 3600, Expire: 1209600, Minttl: 3600,
	})
}

// wideHostOf says which wide MX host the address of a reverse name
// belongs to.
func wideHostOf(name string) (int, bool) {
	labels := dns.SplitDomainName(name)
	if len(labels) < 2 {
		return 0, false
	}
	var addr netip.Addr
	switch strings.Join(labels[len(labels)-2:], ".") {
	case "in-addr.arpa":
		if len(labels) != 6 {
			return 0, false
		}
		var b [4]byte
		for i := range 4 {
			var v int
			if _, err := fmt.Sscanf(labels[3-i], "%d", &v); err != nil || v < 0 || v > 255 {
				return 0, false
			}
			b[i] = byte(v)
		}
		addr = netip.AddrFrom4(b)
	case "ip6.arpa":
		if len(labels) != 34 {
			return 0, false
		}
		var b [16]byte
		for i := range 32 {
			var v int
			if _, err := fmt.Sscanf(labels[31-i], "%x", &v); err != nil || v < 0 || v > 15 {
				return 0, false
			}
			b[i/2] |= byte(v) << (4 * (1 - i%2))
		}
		addr = netip.AddrFrom16(b)
	default:
		return 0, false
	}
	switch {
	case netip.MustParsePrefix("198.18.0.0/16").Contains(addr):
		return int(addr.As4()[2] >> 4), true
	case netip.MustParsePrefix("2001:db8::/40").Contains(addr):
		host := int(addr.As16()[5])
		return host, host < WideHosts
	}
	return 0, false
}

// WideHost is the name of the i-th MX host of WideDomain.
func WideHost(i int) string { return fmt.Sprintf("mx%d.%s", i, WideDomain) }

// WideAddr is the i-th IPv4 address of the host-th wide MX host, in
// 198.18.0.0/15 (benchmarking addresses, RFC 2544: neither private nor
// routed, and never dialled here).
func WideAddr(host, i int) netip.Addr {
	n := host<<12 | i&0xfff
	return netip.AddrFrom4([4]byte{198, 18 + byte(n>>16&1), byte(n >> 8), byte(n)})
}

// WideAddr6 is the i-th IPv6 address of the host-th wide MX host, in
// 2001:db8::/32.
func WideAddr6(host, i int) netip.Addr {
	return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(host), 14: byte(i >> 8), 15: byte(i)})
}

// Module is a module config (indented for modules:) that runs every probe
// against the hostile world through the resolver at addr, with the given
// extra lines (module keys, indented by four spaces). SMTP and HTTPS
// connections are denied everywhere, so no probe dials a hostile address.
func Module(name, addr, extra string) string {
	return `  ` + name + `:
    timeout: 30s
    resolvers: ["` + addr + `"]
    dns_query_timeout: 5s
    dns_attempts: 1
    denied_networks: [0.0.0.0/0, "::/0"]
` + extra + `    mx: {}
    spf: {}
    dkim: {}
    dmarc: {}
    tlsrpt: {}
    mtasts: {}
    smtp: {}
    dnsbl:
      lists:
        - zone: ` + ListZone + `
          kind: ip
          ipv6: true
          codes: {127.0.0.2: SBL}
`
}
