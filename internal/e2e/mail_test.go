package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// mxServer is one Postfix instance of the world.
type mxServer struct {
	name     string // its host name, which it greets with
	host     int
	cert     *serverCert // nil: no STARTTLS
	starttls bool
}

func (w *world) mxServers() []mxServer {
	return []mxServer{
		{name: "mx1." + goodDomain, host: hostMXGood, cert: w.certs["mx1."+goodDomain], starttls: true},
		{name: "mx1." + brokenDomain, host: hostMXBroken1, cert: w.certs["mx1."+brokenDomain], starttls: true},
		{name: "mx2." + brokenDomain, host: hostMXBroken2},
	}
}

// startPostfix starts one Postfix per MX host with internal/testbed/postfix's
// script (which configures an instance on one loopback address with
// STARTTLS from a test CA of its own), then points it at the world's
// certificate, or turns STARTTLS off, and reloads it. The instances start
// side by side; each is stopped with the script when the test ends.
func (w *world) startPostfix(t *testing.T) {
	t.Helper()
	script := repoPath("internal", "testbed", "postfix", "postfix-test.sh")
	servers := w.mxServers()
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, mx := range servers {
		dir := filepath.Join(w.dir, "postfix-"+mx.name)
		env := []string{"POSTFIX_TEST_DIR=" + dir, "POSTFIX_TEST_ADDR=" + w.ip(mx.host),
			"POSTFIX_TEST_PORT=25", "POSTFIX_TEST_NAME=" + mx.name}
		t.Cleanup(func() { w.stopPostfix(t, script, dir, env) })
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.setUpPostfix(mx, script, dir, env)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (w *world) setUpPostfix(mx mxServer, script, dir string, env []string) error {
	conf := filepath.Join(dir, "config")
	settings := []string{"smtpd_tls_security_level = none"}
	if mx.starttls {
		settings = []string{"smtpd_tls_chain_files = " + mx.cert.keyFile + ", " + mx.cert.certFile}
	}
	for _, argv := range [][]string{
		{script, "start"},
		append([]string{"postconf", "-c", conf, "-e"}, settings...),
		{"postfix", "-c", conf, "reload"},
	} {
		if out, err := runErr(repoPath(), env, argv...); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := w.checkSMTP(mx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Postfix %s does not serve its configuration: %v\n%s", mx.name, err, tail(filepath.Join(dir, "maillog"), 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopPostfix stops an instance and makes sure its master is gone.
func (w *world) stopPostfix(t *testing.T, script, dir string, env []string) {
	pidFile := filepath.Join(dir, "queue", "pid", "master.pid")
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return // never started
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Errorf("%s: %v", pidFile, err)
		return
	}
	if out, err := runErr(repoPath(), env, script, "stop"); err != nil {
		t.Logf("postfix-test.sh stop: %v\n%s", err, out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for processAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if processAlive(pid) {
		t.Errorf("Postfix master %d still runs after stop; killing it", pid)
		killPID(pid)
	}
	if t.Failed() {
		t.Logf("--- Postfix log %s, last lines:\n%s", dir, tail(filepath.Join(dir, "maillog"), 30))
	}
}

// checkSMTP talks to an MX host as a sender would, up to the TLS handshake,
// and checks that it greets with its name, offers STARTTLS or not as
// configured, and serves the world's certificate.
func (w *world) checkSMTP(mx mxServer) error {
	c, err := net.DialTimeout("tcp", w.addr(mx.host, 25), 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	greeting, err := smtpReply(r)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if !strings.HasPrefix(greeting, "220 "+mx.name) {
		return fmt.Errorf("greeting %q does not name %s", greeting, mx.name)
	}
	if _, err := fmt.Fprintf(c, "EHLO probe.%s\r\n", parentZone); err != nil {
		return err
	}
	ehlo, err := smtpReply(r)
	if err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if offered := strings.Contains(ehlo, "STARTTLS"); offered != mx.starttls {
		return fmt.Errorf("STARTTLS offered %v, want %v (a reload not in force yet?)", offered, mx.starttls)
	}
	if !mx.starttls {
		_, _ = io.WriteString(c, "QUIT\r\n")
		return nil
	}
	if _, err := io.WriteString(c, "STARTTLS\r\n"); err != nil {
		return err
	}
	if reply, err := smtpReply(r); err != nil || !strings.HasPrefix(reply, "220") {
		return fmt.Errorf("STARTTLS: %q %v", reply, err)
	}
	tc := tls.Client(c, w.tlsConfig(mx.name))
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	served := tc.ConnectionState().PeerCertificates[0]
	if served.SerialNumber.Cmp(mx.cert.leaf.SerialNumber) != 0 {
		return fmt.Errorf("serves serial %s, not the world's certificate (a reload not in force yet?)", served.SerialNumber)
	}
	_, _ = io.WriteString(tc, "QUIT\r\n")
	return nil
}

// smtpReply reads one (possibly multi-line) SMTP reply.
func smtpReply(r *bufio.Reader) (string, error) {
	var lines []string
	for len(lines) < 100 {
		line, err := r.ReadString('\n')
		if err != nil {
			return strings.Join(lines, "\n"), err
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return strings.Join(lines, "\n"), nil
		}
	}
	return "", fmt.Errorf("reply longer than 100 lines")
}

// startNginx serves the MTA-STS policies over HTTPS on port 443 of one
// loopback address, one server block (and certificate) per policy host.
func (w *world) startNginx(t *testing.T) {
	t.Helper()
	dir := filepath.Join(w.dir, "nginx")
	var servers strings.Builder
	for host, policy := range mtastsPolicies() {
		root := filepath.Join(dir, "www", host)
		writeFile(t, filepath.Join(root, ".well-known", "mta-sts.txt"), []byte(policy), 0o644)
		fmt.Fprintf(&servers, `    server {
        listen %s ssl;
        server_name %s;
        ssl_certificate %s;
        ssl_certificate_key %s;
        root %s;
        location = /.well-known/mta-sts.txt {
            default_type text/plain;
        }
        location / {
            return 404;
        }
    }
`, w.addr(hostNginx, 443), host, w.certs[host].certFile, w.certs[host].keyFile, root)
	}
	temp := filepath.Join(dir, "temp")
	conf := fmt.Sprintf(`daemon off;
master_process on;
worker_processes 1;
pid %s;
error_log stderr notice;
events {
    worker_connections 64;
}
http {
    access_log %s;
    client_body_temp_path %s/body;
    proxy_temp_path %s/proxy;
    fastcgi_temp_path %s/fastcgi;
    uwsgi_temp_path %s/uwsgi;
    scgi_temp_path %s/scgi;
    types {
        text/plain txt;
    }
%s}
`, filepath.Join(dir, "nginx.pid"), filepath.Join(dir, "access.log"), temp, temp, temp, temp, temp, servers.String())
	confFile := filepath.Join(dir, "nginx.conf")
	writeFile(t, confFile, []byte(conf), 0o644)
	if err := os.MkdirAll(temp, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, dir, nil, "nginx", "-t", "-p", dir, "-e", "stderr", "-c", confFile)
	nginx := startDaemon(t, dir, "nginx", "nginx", "-p", dir, "-e", "stderr", "-c", confFile)

	for host, policy := range mtastsPolicies() {
		waitFor(t, 20*time.Second, "nginx to serve the policy of "+host, func() error {
			return w.checkPolicy(host, policy)
		}, nginx)
	}
}

// checkPolicy fetches a policy as a sender does: HTTPS to the policy host,
// a certificate the world's CA issued for it, text/plain.
func (w *world) checkPolicy(host, want string) error {
	client := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   w.tlsConfig(host),
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, w.addr(hostNginx, 443))
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get("https://" + host + "/.well-known/mta-sts.txt")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 65536))
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || string(body) != want {
		return fmt.Errorf("%s: %s %q: %q", host, resp.Status, resp.Header.Get("Content-Type"), body)
	}
	if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(w.certs[host].leaf.SerialNumber) != 0 {
		return fmt.Errorf("%s: serves serial %s, not the world's certificate", host, got)
	}
	return nil
}
