package dnsclient

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
)

// Resolver answers questions for one probe request. Each distinct question
// (name, type) goes on the wire at most once per Resolver, however many
// probes ask it concurrently; answers and errors are kept until the Resolver
// is dropped. Only a question abandoned because its asker's context ended is
// forgotten, so a later asker tries again.
//
// A Resolver has a budget (Budget): how many distinct questions it asks and
// how much memory the answers it holds may take. Whatever a domain
// publishes, a request then holds at most that much DNS; a question beyond
// the budget fails with an *Error wrapping ErrBudget, which makes the checks
// that needed it undecided.
type Resolver struct {
	client *Client
	budget Budget

	calls *flight.Group[question, exchanged]

	queries     atomic.Int64
	hits        atomic.Int64
	sharedHits  atomic.Int64
	misses      atomic.Int64
	asked       atomic.Int64 // distinct questions taken from the budget
	answerBytes atomic.Int64 // what the answers held cost (answerCost)
	refused     atomic.Int64 // questions the budget refused

	bogusMu sync.Mutex
	bogus   []*Bogus

	// looked holds the answers Lookup built, by question, so the request
	// builds each once: a check that looks up the same name for each of
	// 64 addresses would otherwise copy its records 64 times.
	looked sync.Map // question -> *lookedUp
}

// lookedUp is an answer Lookup built and how many questions it asked.
type lookedUp struct {
	ans  *Answer
	asks int64
}

type question struct {
	name  string
	qtype uint16
}

// exchanged is a question's answer, the resolver that gave it and what the
// answer costs in memory (answerCost).
type exchanged struct {
	msg    *dns.Msg
	server string
	bogus  *Bogus // the resolver refused the answer; msg is the CD answer
	cost   int64
}

// Budget bounds what one Resolver asks and holds.
type Budget struct {
	// Questions is how many distinct questions may be asked, from the wire
	// or from the answers kept across requests (0: DefaultMaxQuestions).
	Questions int
	// AnswerBytes is how much memory the answers held may take, counted by
	// answerCost (0: DefaultMaxAnswerBytes).
	AnswerBytes int64
}

// Defaults of a Budget's fields left zero. A mail domain's probe request
// asks 50 to 400 questions and holds 20 to 300 KB of answers (a large
// DNSSEC-signed domain, with its NSEC proofs, at the top); a hostile one
// would ask and hold without end.
const (
	DefaultMaxQuestions   = 2000
	DefaultMaxAnswerBytes = 1 << 20
)

// recordCost is what one decoded record costs beyond its wire form: the
// record's struct and header, its owner name as a string, and its slots in
// the message's and the answer's slices. Measured on 64 KB answers of A,
// AAAA, MX, PTR and TXT records with miekg/dns, the decoded message takes
// its wire size plus 70 to 100 bytes a record.
const recordCost = 128

// answerCost is what a message of wireBytes takes once decoded.
func answerCost(msg *dns.Msg, wireBytes int) int64 {
	return int64(wireBytes) + recordCost*int64(len(msg.Answer)+len(msg.Ns)+len(msg.Extra))
}

// ErrBudget is wrapped by the errors of questions a Resolver's budget
// refused.
var ErrBudget = errors.New("over the request's DNS budget")

// BudgetError says which part of the budget a question would have
// overrun.
type BudgetError struct {
	// Key is the module setting ("limits.dns_questions").
	Key string
	// Max is its value.
	Max int64
	// What says what the question met ("not asked: the request has asked
	// its 2000 questions").
	What string
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("%s (the module's %s is %d)", e.What, e.Key, e.Max)
}

// Is makes errors.Is(err, ErrBudget) true.
func (e *BudgetError) Is(target error) bool { return target == ErrBudget }

// NewResolver returns a request-scoped resolver with an empty cache and the
// default budget.
func (c *Client) NewResolver() *Resolver { return c.NewResolverWithBudget(Budget{}) }

// NewResolverWithBudget returns a request-scoped resolver with an empty
// cache and the given budget (zero fields take the defaults).
func (c *Client) NewResolverWithBudget(b Budget) *Resolver {
	if b.Questions <= 0 {
		b.Questions = DefaultMaxQuestions
	}
	if b.AnswerBytes <= 0 {
		b.AnswerBytes = DefaultMaxAnswerBytes
	}
	return &Resolver{client: c, budget: b, calls: flight.NewMemo[question, exchanged]()}
}

// Stats counts a resolver's work.
type Stats struct {
	Queries     int64 // messages sent on the wire (a truncated answer retried over TCP is two)
	CacheHits   int64 // questions answered from the request cache
	SharedHits  int64 // questions answered from the answers kept across requests
	CacheMisses int64 // questions that had to be asked
	// Questions is how many distinct questions the budget was asked for,
	// AnswerBytes what the answers held cost (see Budget), and
	// OverBudget how many questions the budget refused.
	Questions   int64
	AnswerBytes int64
	OverBudget  int64
}

// Stats returns the counts so far.
func (r *Resolver) Stats() Stats {
	return Stats{Queries: r.queries.Load(), CacheHits: r.hits.Load(), SharedHits: r.sharedHits.Load(), CacheMisses: r.misses.Load(),
		Questions: r.asked.Load(), AnswerBytes: r.answerBytes.Load(), OverBudget: r.refused.Load()}
}

// Budget returns the resolver's budget, defaults filled in.
func (r *Resolver) Budget() Budget { return r.budget }

// Servers returns the resolver addresses in use.
func (r *Resolver) Servers() []string { return r.client.Servers() }

// Bogus returns the questions of the request whose answers the resolver
// refused as DNSSEC-bogus, by name and type; the probes saw the answers
// given with checking disabled instead (see Answer.Bogus).
func (r *Resolver) Bogus() []*Bogus {
	r.bogusMu.Lock()
	out := append([]*Bogus(nil), r.bogus...)
	r.bogusMu.Unlock()
	slices.SortFunc(out, func(a, b *Bogus) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Type, b.Type))
	})
	return out
}

// Answer is the outcome of a question that got a NOERROR or NXDOMAIN answer.
// Its records are shared with the cache: read them, never modify them.
type Answer struct {
	// Name and Type are the question as asked (Name fully qualified).
	Name string
	Type uint16
	// Rcode is dns.RcodeSuccess or dns.RcodeNameError, for the end of the
	// CNAME chain.
	Rcode int
	// CNAMEs is the chain of alias targets followed from Name, in order.
	CNAMEs []string
	// Records are the answer records of Type at the end of the chain.
	Records []dns.RR
	// Authenticated is the AD bit: every message on the way was validated
	// by the resolver.
	Authenticated bool
	// Bogus, when set, says the resolver refused a message on the way as
	// DNSSEC-bogus (SERVFAIL, and an answer with checking disabled): the
	// records are what the zone publishes, unvalidated, and what no
	// validating sender or receiver gets. Authenticated is false then.
	Bogus *Bogus
	// Server is the resolver that answered (the last one for a chain).
	Server string
	// TTL is how long the answer may be cached, in seconds: the smallest
	// TTL of the records and aliases used, or for a negative answer the
	// SOA's negative-caching TTL (RFC 2308 §5); 0 when the answer gave
	// none.
	TTL uint32
	// Size is what the messages of the answer take in memory, as the
	// request's budget counts them (wire size plus a cost per record).
	Size int64
}

// NXDomain reports whether the name does not exist.
func (a *Answer) NXDomain() bool { return a.Rcode == dns.RcodeNameError }

// Empty reports whether there are no records of the type asked (NXDOMAIN or
// NODATA): what RFC 7208 calls a void lookup.
func (a *Answer) Empty() bool { return len(a.Records) == 0 }

// Owner is the name the records belong to: the question name, or the end of
// its CNAME chain.
func (a *Answer) Owner() string {
	if n := len(a.CNAMEs); n > 0 {
		return a.CNAMEs[n-1]
	}
	return a.Name
}

// Lookup asks one question and follows CNAMEs: first within the answer the
// resolver gave, then with further questions if the resolver stopped at an
// alias, up to the client's bound. An rcode other than NOERROR or NXDOMAIN,
// a timeout, or a CNAME loop is an error (*Error for the first two).
func (r *Resolver) Lookup(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	fqdn := dns.CanonicalName(name)
	key := question{name: fqdn, qtype: qtype}
	if v, ok := r.looked.Load(key); ok {
		l := v.(*lookedUp)
		r.hits.Add(l.asks)
		return l.ans, nil
	}
	ans, asks, err := r.lookup(ctx, fqdn, qtype)
	if err != nil {
		return nil, err
	}
	v, _ := r.looked.LoadOrStore(key, &lookedUp{ans: ans, asks: asks})
	return v.(*lookedUp).ans, nil
}

// lookup is Lookup without the memory of answers built, with the number
// of questions it asked.
func (r *Resolver) lookup(ctx context.Context, fqdn string, qtype uint16) (*Answer, int64, error) {
	ans := &Answer{Name: fqdn, Type: qtype, Authenticated: true}
	var asks int64
	ttl := newMinTTL()
	seen := map[string]bool{fqdn: true}
	current := fqdn
	for {
		asked := current
		msg, server, bogus, cost, err := r.ask(ctx, asked, qtype)
		asks++
		if err != nil {
			return nil, 0, err
		}
		ans.Size += cost
		ans.Server = server
		ans.Rcode = msg.Rcode
		if bogus != nil && ans.Bogus == nil {
			ans.Bogus = bogus
		}
		ans.Authenticated = ans.Authenticated && msg.AuthenticatedData && ans.Bogus == nil
		// Walk the aliases the resolver already followed in this answer.
		for qtype != dns.TypeCNAME {
			target, ok := cnameOf(msg, current)
			if !ok {
				break
			}
			if seen[target] {
				return nil, 0, fmt.Errorf("dns %s %s: CNAME loop at %s", dns.TypeToString[qtype], strings.TrimSuffix(fqdn, "."), strings.TrimSuffix(target, "."))
			}
			if len(ans.CNAMEs) >= r.client.maxCNAMEs {
				return nil, 0, fmt.Errorf("dns %s %s: CNAME chain longer than %d", dns.TypeToString[qtype], strings.TrimSuffix(fqdn, "."), r.client.maxCNAMEs)
			}
			seen[target] = true
			ans.CNAMEs = append(ans.CNAMEs, target)
			ttl.see(cnameTTL(msg, current))
			current = target
		}
		ans.Records = ans.Records[:0]
		for _, rr := range msg.Answer {
			h := rr.Header()
			if h.Rrtype == qtype && h.Class == dns.ClassINET && strings.EqualFold(h.Name, current) {
				ans.Records = append(ans.Records, rr)
				ttl.see(h.Ttl)
			}
		}
		// A resolver that stops at an alias (or an authoritative server
		// answering for one zone) leaves the rest of the chain to us. One
		// that followed it to a name without the type asked said so with
		// the SOA of that name's zone (a NODATA answer, RFC 2308 §2.2):
		// asking that name again would only repeat it.
		if len(ans.Records) > 0 || msg.Rcode != dns.RcodeSuccess || current == asked || soaOf(msg) != nil {
			if len(ans.Records) == 0 {
				ttl.see(negativeTTL(msg))
			}
			ans.TTL = ttl.value()
			return ans, asks, nil
		}
	}
}

// minTTL tracks the smallest TTL seen; none seen is 0.
type minTTL struct {
	v    uint32
	seen bool
}

func newMinTTL() *minTTL { return &minTTL{} }

func (m *minTTL) see(ttl uint32) {
	if !m.seen || ttl < m.v {
		m.v, m.seen = ttl, true
	}
}

func (m *minTTL) value() uint32 { return m.v }

// cnameTTL is the TTL of the CNAME at owner (the alias was followed, so it
// is there).
func cnameTTL(msg *dns.Msg, owner string) uint32 {
	for _, rr := range msg.Answer {
		if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, owner) {
			return c.Hdr.Ttl
		}
	}
	return 0
}

// negativeTTL is how long a negative answer may be cached: the smaller of
// the SOA record's TTL and its MINIMUM field (RFC 2308 §5); 0 without an
// SOA in the authority section.
func negativeTTL(msg *dns.Msg) uint32 {
	if soa := soaOf(msg); soa != nil {
		return min(soa.Hdr.Ttl, soa.Minttl)
	}
	return 0
}

// soaOf is the SOA record of the authority section, which a negative
// answer carries (RFC 2308 §3), or nil.
func soaOf(msg *dns.Msg) *dns.SOA {
	for _, rr := range msg.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa
		}
	}
	return nil
}

func cnameOf(msg *dns.Msg, owner string) (string, bool) {
	for _, rr := range msg.Answer {
		if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, owner) {
			return dns.CanonicalName(c.Target), true
		}
	}
	return "", false
}

// ask returns the cached message for a question, asking it if needed, and
// what it costs. A question abandoned because its asker's context ended is
// asked again for the next asker with time left (flight.Group). A bogus
// answer is kept for the request only: across requests the resolver is
// asked again. A question beyond the budget is not asked, and an answer
// that would take the held answers beyond it is dropped: both are errors
// wrapping ErrBudget.
func (r *Resolver) ask(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, *Bogus, int64, error) {
	q := question{name: name, qtype: qtype}
	v, err, joined := r.calls.Do(ctx, q, func() (exchanged, error) {
		if n := r.asked.Add(1); n > int64(r.budget.Questions) {
			r.asked.Add(-1)
			r.refused.Add(1)
			return exchanged{}, &Error{Name: name, Type: qtype, Rcode: -1, Err: &BudgetError{
				Key: "limits.dns_questions", Max: int64(r.budget.Questions),
				What: fmt.Sprintf("not asked: the request has asked its %d DNS questions", r.budget.Questions)}}
		}
		var (
			msg    *dns.Msg
			server string
			bogus  *Bogus
			wire   int
		)
		room := func() int64 { return r.budget.AnswerBytes - r.answerBytes.Load() }
		tooLarge := func(size int) (exchanged, error) {
			r.refused.Add(1)
			return exchanged{}, &Error{Name: name, Type: qtype, Rcode: -1, Server: server, Err: &BudgetError{
				Key: "limits.dns_answer_bytes", Max: r.budget.AnswerBytes,
				What: fmt.Sprintf("answer of %d bytes not read: the request's DNS answers would take more than %d bytes",
					size, r.budget.AnswerBytes)}}
		}
		if m, srv, size, ok := r.client.cached(q, room()); ok {
			r.sharedHits.Add(1)
			server = srv
			if m == nil {
				return tooLarge(size)
			}
			msg, wire = m, size
		} else {
			r.misses.Add(1)
			var err error
			msg, server, bogus, wire, err = r.client.exchange(ctx, name, qtype, func() { r.queries.Add(1) }, room)
			var large *answerTooLargeError
			switch {
			case errors.As(err, &large):
				return tooLarge(int(large.size))
			case err != nil:
				if flight.ContextOver(ctx) {
					// Abandoned, and asked again by the next asker with
					// time left: the budget counts that one.
					r.asked.Add(-1)
				}
				return exchanged{}, err
			}
			if bogus != nil {
				r.bogusMu.Lock()
				r.bogus = append(r.bogus, bogus)
				r.bogusMu.Unlock()
			} else if kept := r.client.keep(q, msg, server); wire == 0 {
				wire = kept
			}
			if wire == 0 {
				wire = msg.Len()
			}
		}
		cost := answerCost(msg, wire)
		if total := r.answerBytes.Add(cost); total > r.budget.AnswerBytes {
			r.answerBytes.Add(-cost)
			r.refused.Add(1)
			return exchanged{}, &Error{Name: name, Type: qtype, Rcode: -1, Server: server, Err: &BudgetError{
				Key: "limits.dns_answer_bytes", Max: r.budget.AnswerBytes,
				What: fmt.Sprintf("answer of %d bytes (%d records) dropped: the request's DNS answers would take more than %d bytes",
					wire, len(msg.Answer)+len(msg.Ns)+len(msg.Extra), r.budget.AnswerBytes)}}
		}
		return exchanged{msg: msg, server: server, bogus: bogus, cost: cost}, nil
	})
	if joined {
		if err != nil && err == ctx.Err() {
			// This asker's own context ended while another asked.
			return nil, "", nil, 0, &Error{Name: name, Type: qtype, Rcode: -1, Err: err}
		}
		r.hits.Add(1)
	}
	return v.msg, v.server, v.bogus, v.cost, err
}

// Addrs returns the addresses of an A or AAAA answer. An answer can hold
// thousands: to look for one or go through them, use HasAddr or AllAddrs,
// which copy nothing.
func (a *Answer) Addrs() []netip.Addr { return a.FirstAddrs(-1) }

// AllAddrs yields the addresses of an A or AAAA answer, in answer order.
func (a *Answer) AllAddrs() iter.Seq[netip.Addr] {
	return func(yield func(netip.Addr) bool) {
		for _, rr := range a.Records {
			var ip netip.Addr
			var ok bool
			switch v := rr.(type) {
			case *dns.A:
				ip, ok = netip.AddrFromSlice(v.A.To4())
			case *dns.AAAA:
				ip, ok = netip.AddrFromSlice(v.AAAA.To16())
			}
			if ok && !yield(ip) {
				return
			}
		}
	}
}

// HasAddr reports whether the answer holds the address.
func (a *Answer) HasAddr(ip netip.Addr) bool {
	for addr := range a.AllAddrs() {
		if addr == ip {
			return true
		}
	}
	return false
}

// FirstAddrs returns at most n addresses of an A or AAAA answer, in answer
// order (all of them when n is negative): an answer can hold thousands.
func (a *Answer) FirstAddrs(n int) []netip.Addr {
	var out []netip.Addr
	for ip := range a.AllAddrs() {
		if n >= 0 && len(out) >= n {
			break
		}
		out = append(out, ip)
	}
	return out
}

// TXT returns each TXT record as one string, its character-strings joined
// without separators (RFC 7208 §3.3, RFC 6376 §3.6.2.2), as the bytes the
// publisher wrote: miekg/dns keeps character-strings in presentation form
// (\" for a quote, \DDD for other bytes), which is undone here.
func (a *Answer) TXT() []string {
	var out []string
	for _, rr := range a.Records {
		if t, ok := rr.(*dns.TXT); ok {
			var b strings.Builder
			for _, part := range t.Txt {
				b.WriteString(unescapeTXT(part))
			}
			out = append(out, b.String())
		}
	}
	return out
}

// unescapeTXT turns a character-string in presentation form back into its
// bytes: \DDD is the byte with that decimal value, \X is X.
func unescapeTXT(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			if v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0'); v < 256 {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Names returns the target names of PTR, NS or CNAME records, fully
// qualified and in lower case.
func (a *Answer) Names() []string {
	var out []string
	for _, rr := range a.Records {
		switch v := rr.(type) {
		case *dns.PTR:
			out = append(out, dns.CanonicalName(v.Ptr))
		case *dns.NS:
			out = append(out, dns.CanonicalName(v.Ns))
		case *dns.CNAME:
			out = append(out, dns.CanonicalName(v.Target))
		}
	}
	return out
}

// ReverseName returns the in-addr.arpa or ip6.arpa name of an address.
func ReverseName(ip netip.Addr) string {
	name, err := dns.ReverseAddr(ip.Unmap().String())
	if err != nil {
		// ReverseAddr only fails on text that is not an address, and
		// netip.Addr.String always is one.
		return ""
	}
	return name
}

// TypeName returns the mnemonic of a record type ("AAAA").
func TypeName(t uint16) string { return dns.TypeToString[t] }
