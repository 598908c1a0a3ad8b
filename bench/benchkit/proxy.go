package benchkit

import (
	"errors"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Proxy is a UDP DNS forwarder on loopback that notes when each question
// arrived and when its answer came back from upstream. In front of a
// testbed.DNSServer in lockstep, the answers of one round come back
// together and rounds are separated by at least the server's quiet period,
// so grouping the answers by time (Rounds) tells which round each question
// was in: which question waited for which.
type Proxy struct {
	Addr     string
	upstream string
	pc       net.PacketConn
	wg       sync.WaitGroup

	mu  sync.Mutex
	log []Exchange
}

// Exchange is one question through the proxy.
type Exchange struct {
	Name     string // lower case, fully qualified
	Type     uint16
	Asked    time.Time
	Answered time.Time // zero when upstream did not answer
}

// StartProxy forwards to upstream ("127.0.0.1:port", UDP).
func StartProxy(upstream string) (*Proxy, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: pc.LocalAddr().String(), upstream: upstream, pc: pc}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		buf := make([]byte, 65535)
		n, from, err := p.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.forward(buf[:n], from)
		}()
	}
}

func (p *Proxy) forward(query []byte, from net.Addr) {
	ex := Exchange{Asked: time.Now()}
	var m dns.Msg
	if err := m.Unpack(query); err == nil && len(m.Question) == 1 {
		ex.Name, ex.Type = strings.ToLower(m.Question[0].Name), m.Question[0].Qtype
	}
	defer func() {
		p.mu.Lock()
		p.log = append(p.log, ex)
		p.mu.Unlock()
	}()
	c, err := net.Dial("udp", p.upstream)
	if err != nil {
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(query); err != nil {
		return
	}
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		return
	}
	ex.Answered = time.Now()
	_, _ = p.pc.WriteTo(buf[:n], from)
}

// Close stops the proxy.
func (p *Proxy) Close() {
	p.pc.Close()
	p.wg.Wait()
}

// Log returns the exchanges so far.
func (p *Proxy) Log() []Exchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Exchange(nil), p.log...)
}

// Reset forgets the exchanges.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = nil
}

// Rounds groups the answered exchanges into rounds: a new round starts
// where the next answer came more than gap after the previous one.
func Rounds(log []Exchange, gap time.Duration) ([][]Exchange, error) {
	var answered []Exchange
	for _, e := range log {
		if e.Answered.IsZero() {
			return nil, errors.New("a question through the proxy got no answer")
		}
		answered = append(answered, e)
	}
	sort.Slice(answered, func(i, j int) bool { return answered[i].Answered.Before(answered[j].Answered) })
	var rounds [][]Exchange
	for i, e := range answered {
		if i == 0 || e.Answered.Sub(answered[i-1].Answered) > gap {
			rounds = append(rounds, nil)
		}
		rounds[len(rounds)-1] = append(rounds[len(rounds)-1], e)
	}
	return rounds, nil
}
