// Package testbed is the in-process world the tests run against: a DNS
// server on loopback that answers like a recursive resolver from zones
// written as zone-file text, and a test CA. Nothing in it leaves 127.0.0.1.
package testbed

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Query is one question the DNS server received.
type Query struct {
	Name  string // lower case, fully qualified
	Type  uint16
	Net   string // "udp" or "tcp"
	DO    bool   // the DO bit was set
	CD    bool   // the CD (checking disabled) bit was set
	Class uint16
}

func (q Query) String() string {
	cd := ""
	if q.CD {
		cd = "/cd"
	}
	return fmt.Sprintf("%s %s/%s%s", dns.TypeToString[q.Type], q.Name, q.Net, cd)
}

// Behaviour changes how the server answers the names it is set for.
type Behaviour int

// Behaviours for particular names.
const (
	// Normal answers from the zone data.
	Normal Behaviour = iota
	// ServFail answers SERVFAIL, as a resolver does when validation or the
	// authoritative servers fail.
	ServFail
	// Drop never answers (a resolver that hangs or a lost packet).
	Drop
	// Refused answers REFUSED.
	Refused
	// TruncateUDP sets TC over UDP (with no records), so the client has to
	// come back over TCP, where the full answer is given.
	TruncateUDP

	// Hostile behaviours, for the tests that the client survives them.

	// Garbage answers with bytes that are not a DNS message after the
	// question's ID, so a client takes them for the answer.
	Garbage
	// WrongID answers with another message ID (a spoofing attempt or a
	// late answer to an earlier query).
	WrongID
	// WrongQuestion answers a different question than the one asked.
	WrongQuestion
	// WrongType answers with records of another type than asked.
	WrongType
	// Oversized sends the whole answer over UDP however large, ignoring
	// the client's advertised buffer size.
	Oversized
	// NoiseFirst sends a datagram that is not a DNS message, with another
	// ID, before the answer (an off-path forger's attempt to end the
	// exchange).
	NoiseFirst
)

// DNSServer is an authoritative-data server that answers recursive queries on
// 127.0.0.1 over UDP and TCP on the same port. It follows CNAMEs within its
// data as a recursive resolver would, answers NXDOMAIN for names it does not
// hold and NODATA for names that exist without the type asked (including
// empty non-terminals), synthesizes answers from wildcard records
// (RFC 4592) for names that do not exist, sets the AD bit for names marked
// secure and answers SERVFAIL with Extended DNS Errors for names marked
// bogus unless the CD bit is set, so it can stand in for a validating
// resolver.
type DNSServer struct {
	// Addr is "127.0.0.1:port" for UDP and TCP.
	Addr string

	stop func() // shuts the UDP and TCP servers down

	mu         sync.RWMutex
	records    map[string]map[uint16][]dns.RR
	names      map[string]bool            // owners and their ancestors (empty non-terminals)
	secure     []string                   // zone apexes whose answers carry AD
	bogus      map[string][]dns.EDNS0_EDE // zone apexes that fail validation
	extended   map[string][]dns.EDNS0_EDE // names whose answers carry EDE options
	behaviours map[string]Behaviour
	delay      time.Duration
	noChase    bool
	queries    []Query
	lockstep   *lockstep
	// inFlight counts the questions being answered; maxInFlight is the
	// most there were at once.
	inFlight, maxInFlight int
}

// lockstep holds answers back until the client has asked everything it can
// ask without them, then releases them together: one round. The number of
// rounds is the length of the client's longest chain of dependent
// questions, counted without looking at a clock's readings.
type lockstep struct {
	quiet  time.Duration
	mu     sync.Mutex
	gate   chan struct{}
	timer  *time.Timer
	rounds int
}

func (l *lockstep) join() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gate == nil {
		l.gate = make(chan struct{})
	}
	if l.timer != nil {
		l.timer.Stop()
	}
	l.timer = time.AfterFunc(l.quiet, l.release)
	return l.gate
}

func (l *lockstep) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gate == nil {
		return // a timer that lost the race with an earlier release
	}
	close(l.gate)
	l.gate = nil
	l.rounds++
}

// NewDNSServer starts a server holding the given zones (zone-file text, each
// with its own $ORIGIN). Close stops it.
func NewDNSServer(zones ...string) (*DNSServer, error) {
	s := &DNSServer{
		records:    map[string]map[uint16][]dns.RR{},
		names:      map[string]bool{},
		bogus:      map[string][]dns.EDNS0_EDE{},
		extended:   map[string][]dns.EDNS0_EDE{},
		behaviours: map[string]Behaviour{},
	}
	for _, z := range zones {
		if err := s.AddZone(z); err != nil {
			return nil, err
		}
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	return s, nil
}

// StartDNS starts a server for a test and stops it when the test ends.
func StartDNS(tb testing.TB, zones ...string) *DNSServer {
	tb.Helper()
	s, err := NewDNSServer(zones...)
	if err != nil {
		tb.Fatalf("testbed DNS: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// listenTwins listens on a UDP port of 127.0.0.1 and on the same TCP port,
// as a resolver does. Another socket may hold the TCP twin of a free UDP
// port (an outgoing connection's ephemeral port, under load), so it tries
// a few.
func listenTwins() (net.PacketConn, net.Listener, error) {
	var lastErr error
	for try := 0; try < 50; try++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			lastErr = err
			continue
		}
		return pc, ln, nil
	}
	return nil, nil, fmt.Errorf("no UDP port whose TCP twin is free: %w", lastErr)
}

func (s *DNSServer) listen() error {
	addr, stop, err := ServeDNS(dns.HandlerFunc(s.serve))
	if err != nil {
		return err
	}
	s.Addr, s.stop = addr, stop
	return nil
}

// ServeDNS serves handler on a UDP port of 127.0.0.1 and on the same TCP
// port, as a resolver does, once both are listening: the address, and
// stop, which shuts both down.
func ServeDNS(handler dns.Handler) (addr string, stop func(), err error) {
	pc, ln, err := listenTwins()
	if err != nil {
		return "", nil, err
	}
	servers := []*dns.Server{
		{PacketConn: pc, Handler: handler},
		{Listener: ln, Handler: handler},
	}
	stop = func() {
		for _, srv := range servers {
			_ = srv.Shutdown()
		}
	}
	for i, srv := range servers {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		errc := make(chan error, 1)
		go func() { errc <- srv.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-errc:
			for _, running := range servers[:i] {
				_ = running.Shutdown()
			}
			pc.Close()
			ln.Close()
			return "", nil, fmt.Errorf("start DNS server: %w", err)
		}
	}
	return pc.LocalAddr().String(), stop, nil
}

// Close stops the server.
func (s *DNSServer) Close() {
	if s.stop != nil {
		s.stop()
	}
}

// AddZone parses zone-file text and adds its records. Records of a name and
// type already present are added to, not replaced.
func (s *DNSServer) AddZone(text string) error {
	zp := dns.NewZoneParser(strings.NewReader(text), "", "")
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return fmt.Errorf("zone: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rr := range rrs {
		s.addLocked(rr)
	}
	return nil
}

// Add adds records given one per string in zone-file syntax with fully
// qualified owners ("mx1.example.test. 300 IN A 192.0.2.1").
func (s *DNSServer) Add(records ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, text := range records {
		rr, err := dns.NewRR(text)
		if err != nil {
			return fmt.Errorf("record %q: %w", text, err)
		}
		if rr == nil {
			return fmt.Errorf("record %q: empty", text)
		}
		s.addLocked(rr)
	}
	return nil
}

func (s *DNSServer) addLocked(rr dns.RR) {
	name := strings.ToLower(rr.Header().Name)
	rr.Header().Name = name
	if s.records[name] == nil {
		s.records[name] = map[uint16][]dns.RR{}
	}
	t := rr.Header().Rrtype
	s.records[name][t] = append(s.records[name][t], rr)
	for n := name; n != "."; {
		s.names[n] = true
		i := strings.IndexByte(n, '.')
		n = n[i+1:]
		if n == "" {
			break
		}
	}
}

// Remove deletes every record of the type at the name.
func (s *DNSServer) Remove(name string, qtype uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records[dns.CanonicalName(name)], qtype)
}

// SetSecure marks the zones (and everything below them) whose answers carry
// the AD bit, as a validating resolver sets it for signed zones.
func (s *DNSServer) SetSecure(apexes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range apexes {
		s.secure = append(s.secure, dns.CanonicalName(a))
	}
}

// SetBogus makes the zones at the apexes (and everything below them) fail
// DNSSEC validation, as a validating resolver answers for a zone whose DS
// matches no key or whose signatures expired: a question without the CD
// bit gets SERVFAIL with the given Extended DNS Errors (RFC 8914; none, as
// a resolver that sends none, such as Unbound without "ede: yes"), one
// with the CD bit gets the data, unvalidated (no AD). A CNAME chain that
// enters a bogus zone is bogus.
func (s *DNSServer) SetBogus(apex string, errs ...dns.EDNS0_EDE) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bogus[dns.CanonicalName(apex)] = append([]dns.EDNS0_EDE(nil), errs...)
}

// SetExtendedErrors attaches Extended DNS Error options to every answer for
// name (any type), whatever its rcode: with ServFail, a resolver that says
// why it failed ("No Reachable Authority").
func (s *DNSServer) SetExtendedErrors(name string, errs ...dns.EDNS0_EDE) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.extended[dns.CanonicalName(name)] = append([]dns.EDNS0_EDE(nil), errs...)
}

// SetBehaviour makes the server answer questions for name (any type) the
// given way.
func (s *DNSServer) SetBehaviour(name string, b Behaviour) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behaviours[dns.CanonicalName(name)] = b
}

// SetDelay delays every answer, to simulate network round-trip time.
func (s *DNSServer) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetChaseCNAMEs(false) makes the server answer an alias with the CNAME
// record alone, as an authoritative server for only that zone would, so the
// client has to follow the chain itself.
func (s *DNSServer) SetChaseCNAMEs(chase bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noChase = !chase
}

// SetLockstep makes the server answer in rounds: questions are held until no
// new one has arrived for quiet, then all are answered at once. Rounds tells
// how many rounds a client needed. quiet only has to exceed the time the
// client takes to send its next questions after an answer (microseconds);
// 0 turns lockstep off.
func (s *DNSServer) SetLockstep(quiet time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if quiet <= 0 {
		s.lockstep = nil
		return
	}
	s.lockstep = &lockstep{quiet: quiet}
}

// Rounds returns how many lockstep rounds the server has answered.
func (s *DNSServer) Rounds() int {
	s.mu.RLock()
	l := s.lockstep
	s.mu.RUnlock()
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rounds
}

// Queries returns the questions received so far.
func (s *DNSServer) Queries() []Query {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]Query(nil), s.queries...)
}

// MaxInFlight returns the most questions the server was answering at once
// (each held for the delay of SetDelay).
func (s *DNSServer) MaxInFlight() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.maxInFlight
}

// ResetQueries forgets the questions received.
func (s *DNSServer) ResetQueries() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = nil
}

// Duplicates returns the questions (over the same transport) received more
// than once, with their counts.
func (s *DNSServer) Duplicates() map[string]int {
	counts := map[string]int{}
	for _, q := range s.Queries() {
		counts[q.String()]++
	}
	for k, n := range counts {
		if n < 2 {
			delete(counts, k)
		}
	}
	return counts
}

func (s *DNSServer) serve(w dns.ResponseWriter, req *dns.Msg) {
	network := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		network = "tcp"
	}
	if len(req.Question) != 1 {
		resp := new(dns.Msg)
		resp.SetRcode(req, dns.RcodeFormatError)
		_ = w.WriteMsg(resp)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	opt := req.IsEdns0()

	s.mu.Lock()
	s.queries = append(s.queries, Query{Name: name, Type: q.Qtype, Class: q.Qclass, Net: network, DO: opt != nil && opt.Do(), CD: req.CheckingDisabled})
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	// The question stops counting before its answer leaves (or when it is
	// dropped), so that the client's next question never overlaps it here.
	answered := &answerWriter{ResponseWriter: w, done: func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}}
	w = answered
	defer answered.finish()
	behaviour := s.behaviours[name]
	extended := s.extended[name]
	delay := s.delay
	lockstep := s.lockstep
	s.mu.Unlock()

	if lockstep != nil {
		<-lockstep.join()
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = true
	// RFC 6840 §5.9: a resolver echoes the CD bit.
	resp.CheckingDisabled = req.CheckingDisabled
	switch behaviour {
	case Drop:
		return
	case ServFail:
		resp.Rcode = dns.RcodeServerFailure
		writeWithEDE(w, resp, opt, extended)
		return
	case Refused:
		resp.Rcode = dns.RcodeRefused
		writeWithEDE(w, resp, opt, extended)
		return
	}
	switch behaviour {
	case Garbage:
		_, _ = w.Write(append([]byte{byte(req.Id >> 8), byte(req.Id)}, "\x00\x01this is not a DNS message\xff\xfe"...))
		return
	case WrongID:
		resp.Id = req.Id + 1
	case NoiseFirst:
		_, _ = w.Write(append([]byte{byte((req.Id + 1) >> 8), byte(req.Id + 1)}, "\x00\x01not a DNS message\xff"...))
	case WrongQuestion:
		resp.Question[0].Name = "elsewhere.invalid."
	case WrongType:
		rr, _ := dns.NewRR(q.Name + " 300 IN TXT \"not what you asked for\"")
		if q.Qtype == dns.TypeTXT {
			rr, _ = dns.NewRR(q.Name + " 300 IN A 192.0.2.66")
		}
		resp.Answer = []dns.RR{rr}
		_ = w.WriteMsg(resp)
		return
	}
	if q.Qclass != dns.ClassINET {
		resp.Rcode = dns.RcodeRefused
		_ = w.WriteMsg(resp)
		return
	}
	if bogus, errs := s.answer(resp, name, q.Qtype, req.AuthenticatedData || opt != nil && opt.Do()); bogus && !req.CheckingDisabled {
		// A validating resolver gives nothing of a bogus answer away.
		fail := new(dns.Msg)
		fail.SetRcode(req, dns.RcodeServerFailure)
		fail.RecursionAvailable = true
		writeWithEDE(w, fail, opt, append(errs, extended...))
		return
	}
	if opt != nil {
		resp.SetEdns0(opt.UDPSize(), opt.Do())
		resp.IsEdns0().Option = extendedOptions(extended)
	}
	if network == "udp" {
		size := dns.MinMsgSize
		if opt != nil && int(opt.UDPSize()) > size {
			size = int(opt.UDPSize())
		}
		switch behaviour {
		case TruncateUDP:
			resp.Answer, resp.Ns, resp.Extra = nil, nil, nil
			resp.Truncated = true
		case Oversized:
		default:
			resp.Truncate(size)
		}
	}
	_ = w.WriteMsg(resp)
}

// writeWithEDE sends resp with the Extended DNS Errors, when the question
// came with EDNS (RFC 8914 §2: the option lives in the OPT record).
func writeWithEDE(w dns.ResponseWriter, resp *dns.Msg, opt *dns.OPT, errs []dns.EDNS0_EDE) {
	if opt != nil {
		resp.SetEdns0(opt.UDPSize(), opt.Do())
		resp.IsEdns0().Option = extendedOptions(errs)
	}
	_ = w.WriteMsg(resp)
}

func extendedOptions(errs []dns.EDNS0_EDE) []dns.EDNS0 {
	var out []dns.EDNS0
	for _, e := range errs {
		out = append(out, &dns.EDNS0_EDE{InfoCode: e.InfoCode, ExtraText: e.ExtraText})
	}
	return out
}

// answerWriter calls done once, before the first answer is written or when
// the handler returns without one.
type answerWriter struct {
	dns.ResponseWriter
	once sync.Once
	done func()
}

func (a *answerWriter) finish() { a.once.Do(a.done) }

func (a *answerWriter) WriteMsg(m *dns.Msg) error {
	a.finish()
	return a.ResponseWriter.WriteMsg(m)
}

func (a *answerWriter) Write(b []byte) (int, error) {
	a.finish()
	return a.ResponseWriter.Write(b)
}

// answer fills resp from the data, following CNAMEs as a recursive resolver
// does. bogus says the chain went through a zone marked bogus, and errs are
// that zone's Extended DNS Errors.
func (s *DNSServer) answer(resp *dns.Msg, name string, qtype uint16, wantAD bool) (bogus bool, errs []dns.EDNS0_EDE) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	secure := true
	current := name
	for hops := 0; hops < 16; hops++ {
		if zoneErrs, ok := s.bogusZone(current); ok && !bogus {
			bogus, errs = true, zoneErrs
		}
		secure = secure && s.isSecure(current)
		// A name that does not exist is answered from the wildcard at its
		// closest encloser, if there is one (RFC 4592 §3.3), with the
		// records' owner the name asked.
		source, exists := current, s.names[current]
		if !exists {
			if wild := s.wildcardFor(current); wild != "" {
				source, exists = wild, true
			}
		}
		if rrs := s.records[source][qtype]; len(rrs) > 0 {
			resp.Answer = append(resp.Answer, withOwner(copyRRs(rrs), current)...)
			break
		}
		cnames := s.records[source][dns.TypeCNAME]
		if qtype == dns.TypeCNAME || len(cnames) == 0 {
			if !exists {
				resp.Rcode = dns.RcodeNameError
			}
			// RFC 2308: a negative answer carries the zone's SOA, whose
			// TTL and MINIMUM say how long to cache it.
			if soa := s.enclosingSOA(current); soa != nil {
				resp.Ns = append(resp.Ns, dns.Copy(soa))
			}
			break
		}
		resp.Answer = append(resp.Answer, withOwner(copyRRs(cnames[:1]), current)...)
		if s.noChase {
			break
		}
		current = strings.ToLower(cnames[0].(*dns.CNAME).Target)
	}
	resp.AuthenticatedData = wantAD && secure && !bogus
	return bogus, errs
}

// bogusZone returns the Extended DNS Errors of the bogus zone name is in,
// if it is in one.
func (s *DNSServer) bogusZone(name string) ([]dns.EDNS0_EDE, bool) {
	for apex, errs := range s.bogus {
		if dns.IsSubDomain(apex, name) {
			return append([]dns.EDNS0_EDE(nil), errs...), true
		}
	}
	return nil, false
}

// wildcardFor returns the wildcard owner that answers for name, a name
// the data does not hold: "*." and the closest encloser (the nearest
// ancestor that exists, RFC 4592 §3.3.1), when the data has records
// there; "" otherwise.
func (s *DNSServer) wildcardFor(name string) string {
	for n := name; ; {
		i := strings.IndexByte(n, '.')
		if i < 0 || i == len(n)-1 {
			return ""
		}
		n = n[i+1:]
		if s.names[n] {
			wild := "*." + n
			for _, rrs := range s.records[wild] {
				if len(rrs) > 0 {
					return wild
				}
			}
			return ""
		}
	}
}

// withOwner gives records the owner name (for answers synthesized from a
// wildcard; the others have it already).
func withOwner(rrs []dns.RR, owner string) []dns.RR {
	for _, rr := range rrs {
		rr.Header().Name = owner
	}
	return rrs
}

// enclosingSOA returns the SOA of the closest zone apex at or above name
// that has one in the data.
func (s *DNSServer) enclosingSOA(name string) dns.RR {
	for n := name; ; {
		if soas := s.records[n][dns.TypeSOA]; len(soas) > 0 {
			return soas[0]
		}
		i := strings.IndexByte(n, '.')
		if i < 0 || i == len(n)-1 {
			return nil
		}
		n = n[i+1:]
	}
}

func (s *DNSServer) isSecure(name string) bool {
	for _, apex := range s.secure {
		if dns.IsSubDomain(apex, name) {
			return true
		}
	}
	return false
}

func copyRRs(rrs []dns.RR) []dns.RR {
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		out[i] = dns.Copy(rr)
	}
	return out
}

// SilentResolver is a UDP and TCP endpoint on loopback that accepts queries and
// never answers: a resolver that has gone away without refusing.
type SilentResolver struct {
	Addr string
	pc   net.PacketConn
	ln   net.Listener
	done chan struct{}
}

// StartSilentResolver starts one for a test.
func StartSilentResolver(tb testing.TB) *SilentResolver {
	tb.Helper()
	pc, ln, err := listenTwins()
	if err != nil {
		tb.Fatal(err)
	}
	s := &SilentResolver{Addr: pc.LocalAddr().String(), pc: pc, ln: ln, done: make(chan struct{})}
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never read
		}
	}()
	tb.Cleanup(func() {
		pc.Close()
		ln.Close()
	})
	return s
}
