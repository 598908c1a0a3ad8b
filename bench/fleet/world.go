package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
)

// platform is a mail provider many domains of the fleet use: its MX hosts,
// the SPF include it asks customers to publish, the DKIM selector it signs
// with, and how many of its customers publish MTA-STS and TLS-RPT.
type platform struct {
	name     string
	share    float64 // of the fleet's domains
	mx       []mxHost
	selector string
	mtasts   float64
	tlsrpt   float64
}

type mxHost struct {
	name string
	ip   netip.Addr
}

// The platforms, shaped after real ones: a Workspace-like provider with
// five MX hosts on shared names, a large hosting provider, a mailbox
// provider, and twenty regional providers; what is left (20%) is the long
// tail of self-hosted domains, one mail server each.
func platforms() []*platform {
	ip := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	ps := []*platform{
		{name: "workspace", share: 0.30, selector: "google", mtasts: 0.05, tlsrpt: 0.10, mx: []mxHost{
			{"aspmx.l.workspace.test", ip("127.1.0.1")}, {"alt1.aspmx.l.workspace.test", ip("127.1.0.2")},
			{"alt2.aspmx.l.workspace.test", ip("127.1.1.1")}, {"alt3.aspmx.l.workspace.test", ip("127.1.1.2")},
			{"alt4.aspmx.l.workspace.test", ip("127.1.2.1")}}},
		{name: "hoster", share: 0.25, selector: "default", tlsrpt: 0.05, mx: []mxHost{
			{"mx00.hoster.test", ip("127.2.0.1")}, {"mx01.hoster.test", ip("127.2.0.2")}}},
		{name: "mailbox", share: 0.15, selector: "fm1", mtasts: 0.30, tlsrpt: 0.30, mx: []mxHost{
			{"in1-smtp.mailbox.test", ip("127.3.0.1")}, {"in2-smtp.mailbox.test", ip("127.3.0.2")}, {"in3-smtp.mailbox.test", ip("127.3.1.1")}}},
	}
	for i := range 20 {
		ps = append(ps, &platform{name: fmt.Sprintf("region%02d", i), share: 0.005, selector: "mail", tlsrpt: 0.1,
			mx: []mxHost{{fmt.Sprintf("mx.region%02d.test", i), netip.AddrFrom4([4]byte{127, 4, byte(i), 1})}}})
	}
	return ps
}

// world is the simulated internet of the fleet: the DNS of every domain,
// platform and blocklist, one SMTP server answering on every MX address,
// and one HTTPS server for every MTA-STS policy host, all on loopback.
type world struct {
	n         int
	platforms []*platform
	// perNet is how many self-hosted servers share a /24.
	perNet int
	// ownerOf maps a domain's index to its platform (nil: self-hosted).
	bounds  []int // cumulative domain counts per platform
	hostsBy map[string]netip.Addr
	nameBy  map[netip.Addr]string

	dnsDelay, smtpDelay time.Duration
	ca                  *testbed.CA
	leafKey             *ecdsa.PrivateKey
	certs               sync.Map // host name -> *tls.Certificate

	dnsAddr   string
	smtpPort  int
	httpsPort int
	closers   []func()

	// Counters.
	questions          atomic.Int64
	blocklistQuestions sync.Map // zone -> *atomic.Int64
	smtpConns          sync.Map // netip.Addr -> *addressConns
	smtpTotal          atomic.Int64
	httpsConns         atomic.Int64
}

// The policy host of every MTA-STS domain, and its TLS-RPT domains.
var policyAddr = netip.MustParseAddr("127.5.0.1")

// newWorld makes the world of n domains probed every interval. The
// self-hosted servers are 250 to a /24 when the interval is 5 minutes: 50
// conversations a minute per network, within the default
// smtp_politeness; a shorter interval (a scaled-down run) spreads them
// wider, so each network sees the same rate.
func newWorld(n int, interval, dnsDelay, smtpDelay time.Duration) (*world, error) {
	w := &world{n: n, platforms: platforms(), hostsBy: map[string]netip.Addr{}, nameBy: map[netip.Addr]string{},
		dnsDelay: dnsDelay, smtpDelay: smtpDelay}
	w.perNet = min(max(int(250*interval/(5*time.Minute)), 1), 250)
	total := 0
	for _, p := range w.platforms {
		total += int(p.share * float64(n))
		w.bounds = append(w.bounds, total)
		for _, h := range p.mx {
			w.hostsBy[h.name] = h.ip
			w.nameBy[h.ip] = h.name
		}
	}
	var err error
	if w.ca, err = testbed.NewCA("fleet world CA"); err != nil {
		return nil, err
	}
	// One key for every leaf: minting 20,000 keys would measure the
	// world's start, not the exporter.
	if w.leafKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	return w, nil
}

// domain is the name of the i-th domain: directly under .test, so each is
// its own registered domain.
func domain(i int) string { return fmt.Sprintf("d%06d.test", i) }

// index parses a domain name back to its index; -1 if it is none.
func (w *world) index(name string) int {
	if len(name) != 12 || name[0] != 'd' || !strings.HasSuffix(name, ".test") {
		return -1
	}
	i, err := strconv.Atoi(name[1:7])
	if err != nil || i < 0 || i >= w.n {
		return -1
	}
	return i
}

// platformOf returns the domain's platform, or nil for a self-hosted one
// with its index in the long tail.
func (w *world) platformOf(i int) (*platform, int) {
	for j, b := range w.bounds {
		if i < b {
			return w.platforms[j], 0
		}
	}
	return nil, i - w.bounds[len(w.bounds)-1]
}

// selfAddr is the address of the k-th self-hosted domain's server, from
// 127.16.0.0 on, perNet to a /24, as the servers of a hosting provider's
// virtual machines share networks.
func (w *world) selfAddr(k int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, byte(16 + k/(w.perNet*256)), byte(k / w.perNet % 256), byte(k%w.perNet + 2)})
}

// fraction is a stable pseudo-random draw in [0,1) for a domain and a
// feature.
func fraction(i int, feature string) float64 {
	h := fnv.New32a()
	fmt.Fprintf(h, "%d/%s", i, feature)
	return float64(h.Sum32()%10000) / 10000
}

// mxOf returns the MX hosts of domain i.
func (w *world) mxOf(i int) []mxHost {
	if p, k := w.platformOf(i); p != nil {
		return p.mx
	} else {
		return []mxHost{{"mail." + domain(i), w.selfAddr(k)}}
	}
}

// hostAddr resolves an MX host name of the world.
func (w *world) hostAddr(name string) (netip.Addr, bool) {
	if ip, ok := w.hostsBy[name]; ok {
		return ip, true
	}
	if d, ok := strings.CutPrefix(name, "mail."); ok {
		if i := w.index(d); i >= 0 {
			if p, k := w.platformOf(i); p == nil {
				return w.selfAddr(k), true
			}
		}
	}
	return netip.Addr{}, false
}

// hostName is the reverse of hostAddr.
func (w *world) hostName(ip netip.Addr) (string, bool) {
	if n, ok := w.nameBy[ip]; ok {
		return n, true
	}
	b := ip.As4()
	if b[0] != 127 || b[1] < 16 || b[3] < 2 || b[3] >= 252 {
		return "", false
	}
	if int(b[3])-2 >= w.perNet {
		return "", false
	}
	k := (int(b[1])-16)*w.perNet*256 + int(b[2])*w.perNet + int(b[3]) - 2
	last := w.n - w.bounds[len(w.bounds)-1]
	if k >= last {
		return "", false
	}
	return "mail." + domain(w.bounds[len(w.bounds)-1]+k), true
}

// The records every domain's answers are built from.
const (
	dkimKey = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAntvSKT1hkqhKe0xcaZ0x+QbouDsJuBfby/S82jxsoC/SodmfmVs2D1KAH3mi1AqdMdU12h2VfETeOJkgGYq5ljd996AJ7ud2SyOLQmlhaNHH7Lx+Mdab8/zDN1SdxPARDgcM7AsRECHwQ15R20FaKUABGu4NTbR2fDKnYwiq5jQyBkLWP+LgGOgfUF4T4HZb2PY2bQtEP6QeqOtcW4rrsH24L7XhD+HSZb1hsitrE0VPbhJzxDwI4JF815XMnSVjZgYUXP8CxI1Y0FONlqtQYgsorZ9apoW1KPQe8brSSlRsi9sXB/tu56LmG7tEDNmrZ5XUwQYUUADBOu7t1niwXwIDAQAB"
	ttl     = 3600
)

// blocklist is a list of the default module as the world serves it: its
// RFC 5782 test points and nothing else, but for the long tail's
// addresses it lists (1 in 100, on the PBL).
type blocklist struct {
	zone, kind, testPoint, answer string
}

func blocklists() map[string]blocklist {
	out := map[string]blocklist{}
	for _, l := range dnsbl.DefaultConfig().Lists {
		b := blocklist{zone: l.Zone, kind: string(l.Kind), answer: "127.0.0.2"}
		switch {
		case l.Kind == dnsbl.KindDomain && l.TestPoint != "":
			b.testPoint, b.answer = l.TestPoint, "127.0.1.2"
		case l.Kind == dnsbl.KindDomain:
			b.testPoint = "test"
			if l.Zone == "multi.surbl.org" {
				b.answer = "127.0.0.64"
			}
		case l.Kind == dnsbl.KindAllow:
			b.testPoint, b.answer = "2.0.0.127", "127.0.10.0"
		default:
			b.testPoint = "2.0.0.127"
		}
		out[l.Zone] = b
	}
	return out
}

// answer fills resp for one question.
func (w *world) answer(resp *dns.Msg, name string, qtype uint16, lists map[string]blocklist) {
	lower := strings.ToLower(strings.TrimSuffix(name, "."))
	soa := func(zone string) {
		resp.Ns = append(resp.Ns, &dns.SOA{Hdr: dns.RR_Header{Name: dns.Fqdn(zone), Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 300},
			Ns: "ns." + dns.Fqdn(zone), Mbox: "hostmaster." + dns.Fqdn(zone), Serial: 1, Refresh: 7200, Retry: 3600, Expire: 1209600, Minttl: 300})
	}
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	txt := func(s string) {
		if qtype == dns.TypeTXT {
			var parts []string
			for len(s) > 255 {
				parts, s = append(parts, s[:255]), s[255:]
			}
			resp.Answer = append(resp.Answer, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: append(parts, s)})
		}
	}
	a := func(ip netip.Addr) {
		if qtype == dns.TypeA {
			resp.Answer = append(resp.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: ip.AsSlice()})
		}
	}
	nx := func(zone string) { resp.Rcode = dns.RcodeNameError; soa(zone) }
	nodata := func(zone string) {
		if len(resp.Answer) == 0 {
			soa(zone)
		}
	}

	// The blocklists.
	for zone, l := range lists {
		sub, ok := strings.CutSuffix(lower, "."+zone)
		if !ok {
			continue
		}
		v, _ := w.blocklistQuestions.LoadOrStore(zone, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
		switch {
		case sub == l.testPoint:
			a(netip.MustParseAddr(l.answer))
			txt("test point")
			nodata(zone)
		case l.zone == "zen.spamhaus.org" && w.pbl(sub):
			a(netip.MustParseAddr("127.0.0.10"))
			txt("https://check.spamhaus.org/query/ip/" + sub)
			nodata(zone)
		default:
			nx(zone)
		}
		return
	}

	// Reverse DNS of the world's servers.
	if rev, ok := strings.CutSuffix(lower, ".in-addr.arpa"); ok {
		f := strings.Split(rev, ".")
		if len(f) == 4 {
			if ip, err := netip.ParseAddr(f[3] + "." + f[2] + "." + f[1] + "." + f[0]); err == nil {
				host, ok := w.hostName(ip)
				if ip == policyAddr {
					host, ok = "sts.policyhost.test", true
				}
				if ok {
					if qtype == dns.TypePTR {
						resp.Answer = append(resp.Answer, &dns.PTR{Hdr: hdr(dns.TypePTR), Ptr: host + "."})
					}
					nodata("127.in-addr.arpa")
					return
				}
			}
		}
		nx("127.in-addr.arpa")
		return
	}

	// The platforms' names: MX hosts, SPF includes, the policy host.
	if ip, ok := w.hostAddr(lower); ok {
		a(ip)
		txt("v=spf1 a -all") // the SPF record of a HELO name (spf.helo)
		nodata(lower)
		return
	}
	if lower == "sts.policyhost.test" {
		a(policyAddr)
		nodata(lower)
		return
	}
	for _, p := range w.platforms {
		if lower == "_spf."+p.name+".test" {
			txt(fmt.Sprintf("v=spf1 ip4:%s -all", netip.PrefixFrom(p.mx[0].ip, 16).Masked()))
			nodata(lower)
			return
		}
		if lower == p.name+".test" {
			nodata(lower)
			return
		}
	}
	if strings.HasSuffix(lower, "._report._dmarc.reports.workspace.test") {
		txt("v=DMARC1")
		nodata("reports.workspace.test")
		return
	}

	// A domain of the fleet, or a name below one.
	labels := strings.Split(lower, ".")
	if len(labels) < 2 {
		nx("test")
		return
	}
	d := labels[len(labels)-2] + "." + labels[len(labels)-1]
	i := w.index(d)
	if i < 0 {
		nx("test")
		return
	}
	p, _ := w.platformOf(i)
	sub := strings.TrimSuffix(strings.TrimSuffix(lower, d), ".")
	switch sub {
	case "":
		switch qtype {
		case dns.TypeMX:
			for j, h := range w.mxOf(i) {
				resp.Answer = append(resp.Answer, &dns.MX{Hdr: hdr(dns.TypeMX), Preference: uint16(10 * (j + 1)), Mx: h.name + "."})
			}
		case dns.TypeTXT:
			if p != nil {
				txt("v=spf1 include:_spf." + p.name + ".test ~all")
			} else {
				txt("v=spf1 mx -all")
			}
		}
		nodata(d)
	case "_dmarc":
		rua := "mailto:dmarc@" + d
		if fraction(i, "dmarc-external") < 0.2 {
			rua = "mailto:dmarc@reports.workspace.test"
		}
		txt("v=DMARC1; p=quarantine; rua=" + rua)
		nodata(d)
	case w.selectorOf(i, p) + "._domainkey":
		txt(dkimKey)
		nodata(d)
	case "_mta-sts":
		if w.hasMTASTS(i, p) {
			txt("v=STSv1; id=20261122T000000")
			nodata(d)
		} else {
			nx(d)
		}
	case "mta-sts":
		if w.hasMTASTS(i, p) {
			a(policyAddr)
			nodata(d)
		} else {
			nx(d)
		}
	case "_smtp._tls":
		if fraction(i, "tlsrpt") < w.tlsrptShare(p) {
			txt("v=TLSRPTv1; rua=mailto:tlsrpt@" + d)
			nodata(d)
		} else {
			nx(d)
		}
	case "mail":
		if p == nil {
			ip, _ := w.hostAddr(lower)
			a(ip)
			txt("v=spf1 a -all")
			nodata(d)
		} else {
			nx(d)
		}
	default:
		nx(d)
	}
}

func (w *world) selectorOf(i int, p *platform) string {
	if p == nil {
		return "dkim"
	}
	return p.selector
}

func (w *world) hasMTASTS(i int, p *platform) bool {
	share := 0.10
	if p != nil {
		share = p.mtasts
	}
	return fraction(i, "mtasts") < share
}

func (w *world) tlsrptShare(p *platform) float64 {
	if p == nil {
		return 0.20
	}
	return p.tlsrpt
}

// pbl reports whether the reversed address sub is a long-tail server the
// world lists (1 in 100).
func (w *world) pbl(sub string) bool {
	f := strings.Split(sub, ".")
	if len(f) != 4 {
		return false
	}
	ip, err := netip.ParseAddr(f[3] + "." + f[2] + "." + f[1] + "." + f[0])
	if err != nil {
		return false
	}
	b := ip.As4()
	return b[1] >= 16 && b[3]%100 == 7
}

// loopbackListener listens on every loopback address at once (0.0.0.0
// bound to the lo device): the world's servers answer whichever of
// 127.0.0.0/8 a domain's records name, and nothing outside loopback can
// reach them.
func loopbackListener(network string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptString(int(fd), syscall.SOL_SOCKET, syscall.SO_BINDTODEVICE, "lo")
		}); err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(context.Background(), network, "0.0.0.0:0")
}

// start starts the DNS, SMTP and HTTPS servers.
func (w *world) start() error {
	if err := w.startDNS(); err != nil {
		return err
	}
	if err := w.startSMTP(); err != nil {
		return err
	}
	return w.startHTTPS()
}

func (w *world) close() {
	for _, c := range w.closers {
		c()
	}
}

// startDNS answers on 127.0.0.1 over UDP (and TCP, for the odd truncated
// answer), each answer after dnsDelay, as a resolver some way off would.
// The UDP side is a plain loop rather than dns.Server (a goroutine and a
// timer per question): the world shares the machine with the exporter it
// measures, so it should cost as little as it can.
func (w *world) startDNS() error {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	_ = pc.SetReadBuffer(8 << 20)
	_ = pc.SetWriteBuffer(8 << 20)
	w.dnsAddr = pc.LocalAddr().String()
	ln, err := net.Listen("tcp", w.dnsAddr)
	if err != nil {
		pc.Close()
		return err
	}
	lists := blocklists()
	respond := func(req *dns.Msg) *dns.Msg {
		w.questions.Add(1)
		resp := new(dns.Msg)
		resp.SetReply(req)
		resp.Authoritative, resp.RecursionAvailable = true, true
		if len(req.Question) == 1 {
			q := req.Question[0]
			w.answer(resp, q.Name, q.Qtype, lists)
		}
		if opt := req.IsEdns0(); opt != nil {
			resp.SetEdns0(1232, opt.Do())
		}
		return resp
	}
	tcp := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(rw dns.ResponseWriter, req *dns.Msg) {
		_ = rw.WriteMsg(respond(req))
	})}
	go func() { _ = tcp.ActivateAndServe() }()

	// Every answer waits the same delay, so a FIFO is in deadline order.
	type pending struct {
		due  time.Time
		wire []byte
		to   *net.UDPAddr
	}
	queue := make(chan pending, 65536)
	go func() {
		for p := range queue {
			time.Sleep(time.Until(p.due))
			_, _ = pc.WriteToUDP(p.wire, p.to)
		}
	}()
	for range 2 {
		go func() {
			buf := make([]byte, 4096)
			for {
				n, from, err := pc.ReadFromUDP(buf)
				if err != nil {
					return
				}
				req := new(dns.Msg)
				if req.Unpack(buf[:n]) != nil {
					continue
				}
				wire, err := respond(req).Pack()
				if err != nil {
					continue
				}
				if w.dnsDelay <= 0 {
					_, _ = pc.WriteToUDP(wire, from)
					continue
				}
				queue <- pending{due: time.Now().Add(w.dnsDelay), wire: wire, to: from}
			}
		}()
	}
	w.closers = append(w.closers, func() { _ = tcp.Shutdown(); pc.Close() })
	return nil
}

// certificate returns the certificate of a host, minted on first use.
func (w *world) certificate(host string) (*tls.Certificate, error) {
	if c, ok := w.certs.Load(host); ok {
		return c.(*tls.Certificate), nil
	}
	c, err := w.ca.Issue(testbed.CertOptions{DNSNames: []string{host}, PrivateKey: w.leafKey})
	if err != nil {
		return nil, err
	}
	v, _ := w.certs.LoadOrStore(host, &c)
	return v.(*tls.Certificate), nil
}

// startSMTP serves every MX address on one port: the server a connection
// reached is its local address, the host name the world's for it.
func (w *world) startSMTP() error {
	ln, err := loopbackListener("tcp4")
	if err != nil {
		return err
	}
	w.smtpPort = ln.Addr().(*net.TCPAddr).Port
	w.closers = append(w.closers, func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go w.serveSMTP(c)
		}
	}()
	return nil
}

func (w *world) serveSMTP(c net.Conn) {
	defer c.Close()
	local, _ := netip.AddrFromSlice(c.LocalAddr().(*net.TCPAddr).IP)
	local = local.Unmap()
	w.smtpTotal.Add(1)
	v, _ := w.smtpConns.LoadOrStore(local, new(addressConns))
	v.(*addressConns).accepted(time.Now())
	host, ok := w.hostName(local)
	if !ok {
		return
	}
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	time.Sleep(w.smtpDelay)
	var conn net.Conn = c
	buf := make([]byte, 4096)
	write := func(s string) bool { _, err := conn.Write([]byte(s)); return err == nil }
	if !write("220 " + host + " ESMTP fleet\r\n") {
		return
	}
	tlsOn := false
	pending := ""
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		pending += string(buf[:n])
		for {
			line, rest, ok := strings.Cut(pending, "\r\n")
			if !ok {
				break
			}
			pending = rest
			verb := strings.ToUpper(strings.Fields(line + " x")[0])
			switch verb {
			case "EHLO":
				if tlsOn {
					write("250-" + host + "\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250 8BITMIME\r\n")
				} else {
					write("250-" + host + "\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
				}
			case "HELO":
				write("250 " + host + "\r\n")
			case "STARTTLS":
				if !write("220 2.0.0 Ready to start TLS\r\n") {
					return
				}
				tc := tls.Server(c, &tls.Config{GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
					return w.certificate(host)
				}})
				if err := tc.Handshake(); err != nil {
					return
				}
				conn, tlsOn, pending = tc, true, ""
			case "MAIL", "RSET", "NOOP":
				write("250 2.0.0 Ok\r\n")
			case "RCPT":
				write("550 5.1.1 Recipient address rejected\r\n")
			case "QUIT":
				write("221 2.0.0 Bye\r\n")
				return
			default:
				write("502 5.5.2 Error: command not recognized\r\n")
			}
		}
	}
}

// startHTTPS serves the MTA-STS policy of every domain that has one, with
// a certificate for its mta-sts name.
func (w *world) startHTTPS() error {
	ln, err := loopbackListener("tcp4")
	if err != nil {
		return err
	}
	w.httpsPort = ln.Addr().(*net.TCPAddr).Port
	tl := tls.NewListener(ln, &tls.Config{GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		return w.certificate(hello.ServerName)
	}})
	w.closers = append(w.closers, func() { tl.Close() })
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			go w.servePolicy(c)
		}
	}()
	return nil
}

// servePolicy answers one HTTP/1.1 request for /.well-known/mta-sts.txt.
func (w *world) servePolicy(c net.Conn) {
	defer c.Close()
	w.httpsConns.Add(1)
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	tc := c.(*tls.Conn)
	if err := tc.Handshake(); err != nil {
		return
	}
	host := strings.TrimPrefix(tc.ConnectionState().ServerName, "mta-sts.")
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "GET /.well-known/mta-sts.txt") {
		return
	}
	i := w.index(host)
	if i < 0 {
		_, _ = c.Write([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		return
	}
	var b strings.Builder
	b.WriteString("version: STSv1\r\nmode: enforce\r\n")
	for _, h := range w.mxOf(i) {
		b.WriteString("mx: " + h.name + "\r\n")
	}
	b.WriteString("max_age: 604800\r\n")
	body := b.String()
	_, _ = fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
}

// addressConns is what one MX address saw of the exporter: connections
// since the last count, and the shortest time between two.
type addressConns struct {
	n      atomic.Int64
	mu     sync.Mutex
	last   time.Time
	minGap time.Duration // 0: fewer than two connections
}

func (a *addressConns) accepted(at time.Time) {
	a.n.Add(1)
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.last.IsZero() {
		if gap := at.Sub(a.last); a.minGap == 0 || gap < a.minGap {
			a.minGap = gap
		}
	}
	a.last = at
}

// smtpPerAddress returns, per MX address, the connections it accepted
// since the last call, and resets them.
func (w *world) smtpPerAddress() map[netip.Addr]int64 {
	out := map[netip.Addr]int64{}
	w.smtpConns.Range(func(k, v any) bool {
		if n := v.(*addressConns).n.Swap(0); n > 0 {
			out[k.(netip.Addr)] = n
		}
		return true
	})
	return out
}

// smtpGaps returns the shortest time between two connections to one MX
// address over the run (0 when none had two), and how many addresses had
// two closer than within.
func (w *world) smtpGaps(within time.Duration) (shortest time.Duration, closer int) {
	w.smtpConns.Range(func(_, v any) bool {
		a := v.(*addressConns)
		a.mu.Lock()
		gap := a.minGap
		a.mu.Unlock()
		if gap == 0 {
			return true
		}
		if shortest == 0 || gap < shortest {
			shortest = gap
		}
		if gap < within {
			closer++
		}
		return true
	})
	return shortest, closer
}

// blocklistCounts returns the questions per list since the last call, and
// resets them.
func (w *world) blocklistCounts() map[string]int64 {
	out := map[string]int64{}
	w.blocklistQuestions.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Swap(0)
		return true
	})
	return out
}
