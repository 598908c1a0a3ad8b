package testbed

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// httpsClient connects every request to the server's address, whatever the
// URL's host, and verifies certificates against pool: what a client that
// resolved the name to the server would do.
func httpsClient(srv *HTTPSServer, pool *x509.CertPool) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, srv.Addr)
			},
			TLSClientConfig:   &tls.Config{RootCAs: pool},
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       5 * time.Second,
	}
}

func TestHTTPSServerSitesBySNI(t *testing.T) {
	ca, err := NewCA("HTTPS Test CA")
	if err != nil {
		t.Fatal(err)
	}
	issue := func(opts CertOptions) *tls.Certificate {
		c, err := ca.Issue(opts)
		if err != nil {
			t.Fatal(err)
		}
		return &c
	}
	srv := StartHTTPS(t, "127.0.0.1:0")
	srv.SetSite("mta-sts.a.test", HTTPSSite{
		Certificate: issue(CertOptions{DNSNames: []string{"mta-sts.a.test"}}),
		Body:        "version: STSv1\n",
	})
	srv.SetSite("mta-sts.b.test", HTTPSSite{
		Certificate: issue(CertOptions{DNSNames: []string{"mta-sts.b.test"}}),
		Status:      http.StatusNotFound,
		ContentType: "text/html; charset=utf-8",
		Body:        "<h1>not here</h1>",
	})
	srv.SetSite("mta-sts.c.test", HTTPSSite{
		Certificate: issue(CertOptions{DNSNames: []string{"mta-sts.c.test"}}),
		Location:    "https://www.c.test/mta-sts.txt",
	})
	srv.SetSite("mta-sts.d.test", HTTPSSite{
		Certificate:   issue(CertOptions{DNSNames: []string{"mta-sts.d.test"}}),
		NoContentType: true,
		Body:          "plain words",
	})
	client := httpsClient(srv, ca.Pool)

	for _, tc := range []struct {
		host, contentType, body, location string
		status                            int
	}{
		{host: "mta-sts.a.test", status: 200, contentType: "text/plain", body: "version: STSv1\n"},
		{host: "mta-sts.b.test", status: 404, contentType: "text/html; charset=utf-8", body: "<h1>not here</h1>"},
		{host: "mta-sts.c.test", status: 301, contentType: "text/plain", location: "https://www.c.test/mta-sts.txt"},
		{host: "mta-sts.d.test", status: 200, body: "plain words"},
	} {
		resp, err := client.Get("https://" + tc.host + "/.well-known/mta-sts.txt")
		if err != nil {
			t.Fatalf("%s: %v", tc.host, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != tc.contentType ||
			string(body) != tc.body || resp.Header.Get("Location") != tc.location {
			t.Errorf("%s: %d %q %q location %q, want %d %q %q location %q", tc.host,
				resp.StatusCode, resp.Header.Get("Content-Type"), body, resp.Header.Get("Location"),
				tc.status, tc.contentType, tc.body, tc.location)
		}
		if resp.TLS == nil || resp.TLS.PeerCertificates[0].DNSNames[0] != tc.host {
			t.Errorf("%s: served the wrong certificate", tc.host)
		}
	}

	// A name the server has no site for gets no certificate at all.
	if _, err := client.Get("https://mta-sts.unknown.test/"); err == nil {
		t.Error("a request for an unknown site succeeded")
	}
	reqs := srv.Requests()
	if len(reqs) != 4 || reqs[0].ServerName != "mta-sts.a.test" || reqs[0].Path != "/.well-known/mta-sts.txt" || reqs[0].Method != "GET" {
		t.Errorf("requests recorded: %+v", reqs)
	}
}

func TestHTTPSServerCertificates(t *testing.T) {
	ca, err := NewCA("HTTPS Test CA")
	if err != nil {
		t.Fatal(err)
	}
	srv := StartHTTPS(t, "127.0.0.1:0")
	expired, err := ca.Issue(CertOptions{DNSNames: []string{"mta-sts.old.test"},
		NotBefore: time.Now().AddDate(0, -6, 0), NotAfter: time.Now().AddDate(0, 0, -1)})
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := ca.Issue(CertOptions{DNSNames: []string{"www.wrong.test"}})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetSite("mta-sts.old.test", HTTPSSite{Certificate: &expired})
	srv.SetSite("mta-sts.wrong.test", HTTPSSite{Certificate: &wrong})
	client := httpsClient(srv, ca.Pool)
	for host, want := range map[string]string{
		"mta-sts.old.test":   "expired",
		"mta-sts.wrong.test": "not mta-sts.wrong.test",
	} {
		_, err := client.Get("https://" + host + "/")
		var verr *tls.CertificateVerificationError
		if !errors.As(err, &verr) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a verification error about %q", host, err, want)
		}
	}
}

func TestHTTPSServerStallAndEndlessEndOnClose(t *testing.T) {
	ca, err := NewCA("HTTPS Test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(CertOptions{DNSNames: []string{"mta-sts.slow.test", "mta-sts.big.test"}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewHTTPSServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.SetSite("mta-sts.slow.test", HTTPSSite{Certificate: &cert, Stall: true})
	srv.SetSite("mta-sts.big.test", HTTPSSite{Certificate: &cert, Endless: true, Body: "version: STSv1\n"})
	client := httpsClient(srv, ca.Pool)

	// The endless body goes on past any size a reader would accept.
	resp, err := client.Get("https://mta-sts.big.test/")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if err != nil || n != 1<<20 {
		t.Errorf("read %d bytes (%v) of the endless body, want 1 MiB", n, err)
	}

	// The stalled request holds until the server closes; Close waits for
	// both answers to end.
	stalled := make(chan error, 1)
	go func() {
		resp, err := client.Get("https://mta-sts.slow.test/")
		if err == nil {
			resp.Body.Close()
		}
		stalled <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.Requests()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-stalled:
		t.Fatalf("the stalled request ended before Close: %v", err)
	default:
	}
	srv.Close()
	resp.Body.Close()
	if err := <-stalled; err == nil {
		t.Error("the stalled request got an answer")
	}
}
