package delivery

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// TestIMAPReadBound: an IMAP server that answers the header FETCH with a
// literal far larger than the partial fetch asked for (and larger than
// memory) makes the look fail once maxIMAPSessionBytes have been read,
// instead of go-imap reading it all.
func TestIMAPReadBound(t *testing.T) {
	ca, err := testbed.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(testbed.CertOptions{CommonName: "127.0.0.1", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	var streamed atomic.Int64
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		_, _ = c.Write([]byte("* OK [CAPABILITY IMAP4rev1] ready\r\n"))
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			f := strings.Fields(line)
			if len(f) < 2 {
				return
			}
			tag, cmd := f[0], strings.ToUpper(f[1])
			if cmd == "UID" && len(f) > 2 {
				cmd += " " + strings.ToUpper(f[2])
			}
			var reply string
			switch cmd {
			case "SELECT":
				reply = "* 1 EXISTS\r\n" + tag + " OK [READ-WRITE] done\r\n"
			case "UID SEARCH":
				reply = "* SEARCH 7\r\n" + tag + " OK done\r\n"
			case "UID FETCH":
				// A literal of a gigabyte, streamed until the client
				// hangs up.
				if _, err := c.Write([]byte("* 1 FETCH (UID 7 BODY[HEADER]<0> {1073741824}\r\n")); err != nil {
					return
				}
				chunk := make([]byte, 64<<10)
				for {
					n, err := c.Write(chunk)
					streamed.Add(int64(n))
					if err != nil {
						return
					}
				}
			default:
				reply = tag + " OK done\r\n"
			}
			if _, err := c.Write([]byte(reply)); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-served
	})

	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("imap-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := MailboxConfig{Name: "box", Address: "p@box.test", IMAP: ln.Addr().String(), Username: "p@box.test", PasswordFile: pw}
	m.normalize()
	env := &probes.Env{
		Dialer:  &probes.AddressDialer{Allowed: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		RootCAs: ca.Pool,
		Now:     time.Now,
		Logger:  log.NewNopLogger(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	found, err := lookInMailbox(ctx, env, m, "token")
	if found != nil || err == nil || !strings.Contains(err.Error(), "more than 4194304 bytes in one session") {
		t.Fatalf("lookInMailbox = %+v, %v; want the session's read bound", found, err)
	}
	ln.Close()
	<-served
	// What the server got out before the client hung up is the bound
	// plus what the sockets buffer, not the literal's gigabyte.
	if n := streamed.Load(); n > 64<<20 {
		t.Errorf("the server streamed %d bytes", n)
	}
}
