package smtpsession

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// FuzzReadReply: whatever a server sends, the reader returns replies within
// the bounds or an error, and what it returns renders back to the same
// reply.
func FuzzReadReply(f *testing.F) {
	for _, seed := range []string{
		"220 mail.example.com ESMTP Postfix\r\n",
		"250-mx.example.com Hello\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
		"250\r\n",
		"220 a\n221 b\r\n",
		"250-a\r\n251 b\r\n",
		"220 no line end",
		strings.Repeat("250-x\r\n", 120),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		for i := 0; i <= len(data); i++ { // each reply consumes at least one byte
			r, err := readReply(br)
			if err != nil {
				return
			}
			if r.Code < 200 || r.Code > 559 || len(r.Lines) == 0 || len(r.Lines) > maxReplyLines {
				t.Fatalf("reply %d with %d lines", r.Code, len(r.Lines))
			}
			var wire strings.Builder
			for j, l := range r.Lines {
				if len(l) > maxLineLength {
					t.Fatalf("line of %d bytes", len(l))
				}
				sep := "-"
				if j == len(r.Lines)-1 {
					sep = " "
				}
				fmt.Fprintf(&wire, "%d%s%s\r\n", r.Code, sep, l)
			}
			again, err := readReply(bufio.NewReader(strings.NewReader(wire.String())))
			if err != nil {
				// A line holding a bare CR or LF of its own cannot be
				// rendered back; anything else must.
				if !strings.ContainsAny(strings.Join(r.Lines, ""), "\r\n") {
					t.Fatalf("rendered reply %q does not parse: %v", wire.String(), err)
				}
				continue
			}
			if again.Code != r.Code || len(again.Lines) != len(r.Lines) {
				t.Fatalf("round trip %d %q -> %d %q", r.Code, r.Lines, again.Code, again.Lines)
			}
		}
	})
}

// FuzzParseEHLO: the extension list is bounded and well-formed whatever the
// reply lines hold.
func FuzzParseEHLO(f *testing.F) {
	f.Add("mx.example.com Hello\nPIPELINING\nAUTH=LOGIN PLAIN\nSIZE 100\nSTARTTLS")
	f.Add("\n\n-x\nAUTH=\n=\nAUTH= ")
	f.Fuzz(func(t *testing.T, text string) {
		lines := strings.Split(text, "\n")
		if len(lines) > maxReplyLines {
			lines = lines[:maxReplyLines]
		}
		name, exts := parseEHLO(&Reply{Code: 250, Lines: lines})
		if strings.ContainsAny(name, " \t") {
			t.Fatalf("name %q has blanks", name)
		}
		if len(exts) >= len(lines) && len(lines) > 0 {
			t.Fatalf("%d extensions from %d lines", len(exts), len(lines))
		}
		for _, e := range exts {
			if !ehloKeyword(e.Keyword) || e.Keyword != strings.ToUpper(e.Keyword) || len(e.Params) > maxParams {
				t.Fatalf("extension %+v", e)
			}
		}
	})
}

// pipeDialer connects the conversation to a scripted server over net.Pipe:
// the server sends script, reads whatever the client says, and hangs up.
type pipeDialer struct {
	script []byte
	wg     sync.WaitGroup
}

func (d *pipeDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	client, server := net.Pipe()
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		_, _ = io.Copy(io.Discard, server)
	}()
	go func() {
		defer d.wg.Done()
		_, _ = server.Write(d.script)
		server.Close()
	}()
	return client, nil
}

// FuzzConversation: nothing a server sends makes the conversation panic,
// run past its bounds or leave a goroutine behind.
func FuzzConversation(f *testing.F) {
	for _, seed := range []string{
		"220 mx.example.com ESMTP\r\n250-mx.example.com\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n220 go ahead\r\n",
		"220 mx ESMTP\r\n500 what\r\n250 mx\r\n250 ok\r\n250 ok\r\n550 no\r\n250 ok\r\n221 bye\r\n",
		"554 no service\r\n221 bye\r\n",
		"220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n\x16\x03\x03\x00\x05hello",
		"220-a\r\n220-b\r\n",
	} {
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, script []byte, rcpt bool) {
		d := &pipeDialer{script: script}
		env := &probes.Env{Dialer: d, Now: time.Now, Facts: probes.NewFacts(nil)}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conv := conversation{ehloName: "probe.example.com"}
		if rcpt {
			conv.rcpts = []RcptResult{{Check: RcptPostmaster, Address: "postmaster@example.com"}, {Check: RcptOpenRelay, Address: DefaultRelayTestRecipient}}
		}
		s := converse(ctx, env, nil, Endpoint{MX: "mx.example.com", IP: netip.MustParseAddr("192.0.2.1"), Port: 25}, conv)
		d.wg.Wait()
		if s == nil || len(s.Transcript) > maxTranscript+1 {
			t.Fatalf("session %+v", s)
		}
		for _, l := range s.Transcript {
			if strings.ContainsAny(l, "\r\n") || len(l) > 200+len("…") {
				t.Fatalf("transcript line %q", l)
			}
		}
	})
}
