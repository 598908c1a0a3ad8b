package dnsclient_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// portCounter is a UDP DNS server that answers every A question with
// 192.0.2.1 (names starting with "slow" after 300ms) and remembers the
// source port each question came from.
type portCounter struct {
	addr   string
	mu     sync.Mutex
	ports  map[int]int
	byName map[string]int
}

func startPortCounter(t *testing.T) *portCounter {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &portCounter{addr: pc.LocalAddr().String(), ports: map[int]int{}, byName: map[string]int{}}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		port := w.RemoteAddr().(*net.UDPAddr).Port
		p.mu.Lock()
		p.ports[port]++
		p.byName[req.Question[0].Name] = port
		p.mu.Unlock()
		if strings.HasPrefix(req.Question[0].Name, "slow") {
			time.Sleep(300 * time.Millisecond)
		}
		m := new(dns.Msg)
		m.SetReply(req)
		rr, _ := dns.NewRR(req.Question[0].Name + " 60 IN A 192.0.2.1")
		m.Answer = []dns.RR{rr}
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return p
}

func (p *portCounter) counts() (ports, questions int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range p.ports {
		questions += n
	}
	return len(p.ports), questions
}

// Sockets are reused for a few questions each, not one per question and
// not one for ever: the source port keeps changing.
func TestUDPSocketsAreReusedWithinBounds(t *testing.T) {
	srv := startPortCounter(t)
	c, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.addr}, Timeout: time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	const questions = 100
	for i := range questions {
		r := c.NewResolver()
		ans, err := r.Lookup(context.Background(), fmt.Sprintf("h%d.example.test", i), dns.TypeA)
		if err != nil {
			t.Fatal(err)
		}
		if got := ans.Addrs(); len(got) != 1 || got[0].String() != "192.0.2.1" {
			t.Fatalf("answer %d: %v", i, got)
		}
	}
	ports, asked := srv.counts()
	if asked != questions {
		t.Fatalf("the server saw %d questions, want %d", asked, questions)
	}
	// 100 questions one after the other: at most 32 per socket, so at
	// least 4 ports; far fewer than one per question.
	if ports < 4 || ports > questions/4 {
		t.Errorf("%d source ports for %d questions in a row, want between 4 and %d", ports, questions, questions/4)
	}
}

func (p *portCounter) port(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.byName[name]
}

// A question abandoned mid-exchange leaves its socket closed, so its late
// answer cannot reach a later question; the sockets of answered questions
// are reused.
func TestUDPSocketOfAnAbandonedQuestionIsNotReused(t *testing.T) {
	srv := startPortCounter(t)
	c, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.addr}, Timeout: time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	ask := func(ctx context.Context, name string) error {
		_, err := c.NewResolver().Lookup(ctx, name, dns.TypeA)
		return err
	}
	if err := ask(context.Background(), "first.example.test"); err != nil {
		t.Fatal(err)
	}
	if err := ask(context.Background(), "second.example.test"); err != nil {
		t.Fatal(err)
	}
	if a, b := srv.port("first.example.test."), srv.port("second.example.test."); a != b {
		t.Fatalf("two questions in a row came from ports %d and %d: the first socket was not reused", a, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := ask(ctx, "slow.example.test"); err == nil {
		t.Fatal("a question abandoned after 50ms got an answer")
	}
	if err := ask(context.Background(), "after.example.test"); err != nil {
		t.Fatal(err)
	}
	if a, b := srv.port("slow.example.test."), srv.port("after.example.test."); a == 0 || a == b {
		t.Errorf("the question after an abandoned one came from the abandoned socket (port %d)", b)
	}
}

// A closed client (its config reloaded away) keeps answering the requests
// still running, without keeping sockets.
func TestClosedClientKeepsNoSockets(t *testing.T) {
	srv := startPortCounter(t)
	c, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.addr}, Timeout: time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	for _, name := range []string{"one.example.test", "two.example.test"} {
		if _, err := c.NewResolver().Lookup(context.Background(), name, dns.TypeA); err != nil {
			t.Fatalf("%s after Close: %v", name, err)
		}
	}
	if a, b := srv.port("one.example.test."), srv.port("two.example.test."); a == b {
		t.Errorf("a closed client reused its socket (port %d)", a)
	}
}

// tcpCounter is a DNS server that truncates every UDP answer and answers
// over TCP after a delay, counting the TCP questions it holds at once.
type tcpCounter struct {
	addr           string
	mu             sync.Mutex
	inFlight, most int
	tcpQuestions   int
}

func startTCPCounter(t *testing.T, delay time.Duration) *tcpCounter {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Skipf("the TCP twin of a free UDP port is taken: %v", err)
	}
	tc := &tcpCounter{addr: pc.LocalAddr().String()}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
			m.Truncated = true
			w.WriteMsg(m)
			return
		}
		tc.mu.Lock()
		tc.tcpQuestions++
		tc.inFlight++
		tc.most = max(tc.most, tc.inFlight)
		tc.mu.Unlock()
		time.Sleep(delay)
		tc.mu.Lock()
		tc.inFlight--
		tc.mu.Unlock()
		rr, _ := dns.NewRR(req.Question[0].Name + " 60 IN A 192.0.2.1")
		m.Answer = []dns.RR{rr}
		w.WriteMsg(m)
	})
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: ln, Handler: handler}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return tc
}

// Answers over TCP (up to 64 KB each, ten times that decoded) are read
// MaxTCPInFlight at a time, however many questions are on the wire at
// once over UDP.
func TestTCPAnswersAreReadAFewAtATime(t *testing.T) {
	srv := startTCPCounter(t, 30*time.Millisecond)
	c, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.addr}, Timeout: 5 * time.Second, Attempts: 1,
		MaxInFlight: 64, MaxTCPInFlight: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := c.NewResolver()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ans, err := r.Lookup(context.Background(), fmt.Sprintf("t%d.example.test", i), dns.TypeA)
			if err != nil {
				t.Error(err)
				return
			}
			if got := ans.Addrs(); len(got) != 1 || got[0].String() != "192.0.2.1" {
				t.Errorf("t%d: %v", i, got)
			}
		})
	}
	wg.Wait()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.tcpQuestions != 8 {
		t.Errorf("%d questions over TCP, want the 8 truncated over UDP", srv.tcpQuestions)
	}
	if srv.most > 2 {
		t.Errorf("%d answers read over TCP at once, more than MaxTCPInFlight 2", srv.most)
	}
}
