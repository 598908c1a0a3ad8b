package dnsclient

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Reuse bounds of a UDP socket. Dialling and closing a socket per question
// was a third of the CPU an uncached question cost; a socket that serves a
// few questions in a row keeps most of the saving while its source port
// still changes every few seconds (RFC 5452 §9.2 asks for unpredictable
// ports; the ID and the echoed question are checked on every answer).
const (
	udpMaxUses = 32
	udpMaxAge  = 5 * time.Second
	udpMaxIdle = 64 // idle sockets kept per resolver
)

// udpPool keeps connected UDP sockets to the resolvers. A socket goes back
// only after an exchange that ended with its answer, so no answer to an
// earlier question is still on its way to it.
type udpPool struct {
	mu     sync.Mutex
	idle   map[string][]*pooledUDP
	closed bool
}

type pooledUDP struct {
	conn *dns.Conn
	uses int
	born time.Time
}

func newUDPPool() *udpPool { return &udpPool{idle: map[string][]*pooledUDP{}} }

func (p *pooledUDP) spent(now time.Time) bool {
	return p.uses >= udpMaxUses || now.Sub(p.born) >= udpMaxAge
}

// get returns an idle socket to server, or nil.
func (p *udpPool) get(server string, now time.Time) *pooledUDP {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[server]
	for len(list) > 0 {
		s := list[len(list)-1]
		list = list[:len(list)-1]
		if !s.spent(now) {
			p.idle[server] = list
			return s
		}
		s.conn.Close()
	}
	delete(p.idle, server)
	return nil
}

// put keeps a socket for the next question, or closes it.
func (p *udpPool) put(server string, s *pooledUDP, now time.Time) {
	if s.spent(now) {
		s.conn.Close()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.idle[server]) >= udpMaxIdle {
		s.conn.Close()
		return
	}
	p.idle[server] = append(p.idle[server], s)
}

// queryID draws a message ID. It must be unpredictable (RFC 5452 §4.3: the
// ID and the source port are what stand between a resolver's answer and a
// forged one); math/rand/v2's generator is ChaCha8 seeded from the
// system's randomness, as unpredictable as dns.Id's crypto/rand without a
// system call per question (dns.Id was 3% of a fleet's CPU).
func queryID() uint16 { return uint16(rand.Uint32()) }

// exchangeUDP sends q over a pooled or new UDP socket. A request that ends
// mid-exchange interrupts the read at once; that socket is closed, not
// reused.
func (c *Client) exchangeUDP(ctx context.Context, q *dns.Msg, server string, sent func()) (*dns.Msg, error) {
	s := c.udpConns.get(server, time.Now())
	if s == nil {
		conn, err := c.udp.DialContext(ctx, server)
		if err != nil {
			return nil, err
		}
		s = &pooledUDP{conn: conn, born: time.Now()}
	}
	// The attempt's deadline goes on the socket before the request's end
	// can interrupt it, so an interruption is never overwritten.
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	s.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { s.conn.SetDeadline(time.Unix(1, 0)) })
	s.uses++
	q.Id = queryID()
	sent()
	r, err := c.roundTripUDP(s.conn.Conn, q)
	if !stop() || err != nil {
		s.conn.Close()
		return r, err
	}
	c.udpConns.put(server, s, time.Now())
	return r, nil
}

// udpBuffers hold a question's wire form and then its answer's while they
// cross a socket: a new buffer of the EDNS size for every answer, as
// dns.Client reads them, was a tenth of what a fleet's exporter allocated.
var udpBuffers = sync.Pool{New: func() any { return new([]byte) }}

// roundTripUDP writes q and reads answers until one carries q's ID (an
// answer to an earlier question of the socket that timed out is passed
// over, as dns.Client does). A datagram larger than the EDNS size the
// question announced is cut to it, as the kernel cuts it for dns.Client.
func (c *Client) roundTripUDP(conn net.Conn, q *dns.Msg) (*dns.Msg, error) {
	size := max(int(c.udpSize), dns.MinMsgSize)
	bp := udpBuffers.Get().(*[]byte)
	defer udpBuffers.Put(bp)
	if cap(*bp) < size {
		*bp = make([]byte, size)
	}
	buf := (*bp)[:cap(*bp)]
	wire, err := q.PackBuffer(buf)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write(wire); err != nil {
		return nil, err
	}
	p := buf[:size]
	for {
		n, err := conn.Read(p)
		if err != nil {
			return nil, err
		}
		if n < 12 {
			return nil, dns.ErrShortRead
		}
		if binary.BigEndian.Uint16(p) != q.Id {
			continue
		}
		// Unpack copies what it keeps: the buffer goes back to the pool.
		r := new(dns.Msg)
		if err := r.Unpack(p[:n]); err != nil {
			return nil, err
		}
		return r, nil
	}
}

// close closes the idle sockets; sockets handed back later are closed
// instead of kept.
func (p *udpPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for server, list := range p.idle {
		for _, s := range list {
			s.conn.Close()
		}
		delete(p.idle, server)
	}
}

// Close releases the client's idle sockets and the answers it keeps across
// requests, and stops the sweep of expired answers. Exchanges still running
// finish normally; their sockets are closed rather than kept. The client
// stays usable, without keeping sockets or answers.
func (c *Client) Close() {
	c.udpConns.close()
	if c.shared != nil {
		c.shared.close()
	}
}
