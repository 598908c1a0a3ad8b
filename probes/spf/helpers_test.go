package spf

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// newResolver returns a request-scoped resolver asking the test server at
// addr (always on 127.0.0.1).
func newResolver(t testing.TB, addr string) *dnsclient.Resolver {
	t.Helper()
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{addr}, Timeout: 2 * time.Second, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	return client.NewResolver()
}

// loopbackResolver is a net.Resolver that sends every question to the test
// server at addr, whatever /etc/resolv.conf says: the shape
// blitiri.com.ar/go/spf takes, pinned to loopback.
func loopbackResolver(addr string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
}

// senderDomain is the domain check_host() starts from: the MAIL FROM
// domain, or the HELO name for a null sender (RFC 7208 §2.4).
func senderDomain(mailfrom, helo string) string {
	if i := strings.LastIndexByte(mailfrom, '@'); i >= 0 && i+1 < len(mailfrom) {
		return mailfrom[i+1:]
	}
	return helo
}
