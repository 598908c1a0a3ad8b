// Command hostile measures what issue 17 found the exporter could not hold,
// on loopback only: whether answers arrive before the scrape timeout minus
// --timeout-offset when many requests at once probe domains whose mail
// servers are tarpits and whose resolver never answers, and how many file
// descriptors idle keep-alive connections hold, and for how long, with and
// without basic auth.
//
//	go build -o /tmp/dex ./cmd/deliverability_exporter
//	go run ./bench/hostile -exporter /tmp/dex -requests 1000 -scrape-timeout 15s
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/deliverability-exporter/deliverability_exporter/bench/benchkit"
	"github.com/deliverability-exporter/deliverability_exporter/bench/benchworld"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

func main() {
	exporter := flag.String("exporter", "", "the exporter binary to run (required)")
	requests := flag.Int("requests", 1000, "concurrent probe requests for hostile domains")
	scrape := flag.Duration("scrape-timeout", 15*time.Second, "scrape timeout each request announces (and the client's own timeout)")
	offset := flag.Duration("timeout-offset", 500*time.Millisecond, "the exporter's --timeout-offset")
	idle := flag.Int("idle", 1000, "idle keep-alive connections to open (0: skip that measurement)")
	idleTimeout := flag.Duration("idle-timeout", 90*time.Second, "the exporter's --web.idle-timeout")
	flag.Parse()
	if *exporter == "" {
		fmt.Fprintln(os.Stderr, "hostile: -exporter is required")
		os.Exit(2)
	}
	if err := run(*exporter, *requests, *scrape, *offset, *idle, *idleTimeout); err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(1)
	}
}

func run(exporter string, requests int, scrape, offset time.Duration, idle int, idleTimeout time.Duration) error {
	dir, err := os.MkdirTemp("", "hostile")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	config, cleanup, err := hostileWorld(dir)
	if err != nil {
		return err
	}
	defer cleanup()
	if requests > 0 {
		if err := onTime(exporter, config, requests, scrape, offset); err != nil {
			return err
		}
	}
	if idle > 0 {
		webConfig := filepath.Join(dir, "web.yml")
		hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
		if err != nil {
			return err
		}
		if err := os.WriteFile(webConfig, []byte("basic_auth_users:\n  prometheus: "+string(hash)+"\n"), 0o600); err != nil {
			return err
		}
		for _, mode := range []struct {
			name string
			args []string
		}{{"plain", nil}, {"basic auth (every request 401)", []string{"--web.config.file=" + webConfig}}} {
			if err := idleConnections(exporter, config, mode.name, mode.args, idle, idleTimeout); err != nil {
				return err
			}
		}
		if err := beyondTheBound(exporter, config, 2*idle); err != nil {
			return err
		}
	}
	return nil
}

// beyondTheBound opens n connections at once, each sending a request and
// then holding the connection, against an exporter with its default
// --web.max-connections (1,024), and reports the descriptors it holds.
func beyondTheBound(exporter, config string, n int) error {
	e, err := start(exporter, "--config.file="+config)
	if err != nil {
		return err
	}
	defer e.Stop()
	addr := strings.TrimPrefix(e.Base, "http://")
	base := fds(e)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("connection %d: %w", len(conns), err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "GET /-/healthy HTTP/1.1\r\nHost: exporter\r\n\r\n")
	}
	time.Sleep(2 * time.Second) // let the exporter accept all it will
	fmt.Printf("%d connections at once, --web.max-connections 1024: exporter FDs %d before, %d with them open; /-/healthy on a new connection waits for a free place\n", n, base, fds(e))
	return nil
}

// hostileWorld serves the domains of issue 17's tarpit load: MX hosts that
// never greet, greet a byte a second or drip their EHLO reply, an MTA-STS
// host that never completes a TLS handshake, and a domain the resolver
// never answers for. It writes the module config and returns its path.
func hostileWorld(dir string) (string, func(), error) {
	behaviours := map[string]testbed.Hostile{"127.0.0.7": testbed.NeverGreet, "127.0.0.8": testbed.DripGreeting, "127.0.0.9": testbed.DripEHLO}
	servers, err := testbed.NewSMTPGroup([]string{"127.0.0.7", "127.0.0.8", "127.0.0.9"}, func(ip string) testbed.SMTPBehaviour {
		return testbed.SMTPBehaviour{Hostname: "mx.hostile.test", Hostile: behaviours[ip]}
	})
	if err != nil {
		return "", nil, err
	}
	port := servers[0].Port()
	dns, err := testbed.NewDNSServer(`$ORIGIN hostile.test.
tarpit IN MX 10 mx.tarpit
mx.tarpit IN A 127.0.0.7
_mta-sts.tarpit IN TXT "v=STSv1; id=1"
mta-sts.tarpit IN A 127.0.0.7
drip IN MX 10 mx.drip
mx.drip IN A 127.0.0.8
dripehlo IN MX 10 mx.dripehlo
mx.dripehlo IN A 127.0.0.9
silent IN MX 10 mx.silent
`)
	if err != nil {
		for _, s := range servers {
			s.Close()
		}
		return "", nil, err
	}
	dns.SetBehaviour("silent.hostile.test", testbed.Drop)
	cleanup := func() {
		dns.Close()
		for _, s := range servers {
			s.Close()
		}
	}
	config := filepath.Join(dir, "config.yml")
	yaml := benchworld.Unbounded + fmt.Sprintf(`modules:
  mail:
    timeout: 60s
    resolvers: [%q]
    dns_query_timeout: 5s
    allowed_networks: [127.0.0.0/8]
    mx: {srv_services: []}
    spf: {}
    smtp: {port: %d, ehlo_name: probe.example.test}
    mtasts: {https_port: %d}
`, dns.Addr, port, port)
	if err := os.WriteFile(config, []byte(yaml), 0o644); err != nil {
		cleanup()
		return "", nil, err
	}
	return config, cleanup, nil
}

// start runs the exporter on a free loopback port with args and waits
// until it answers.
func start(exporter string, args ...string) (*benchkit.Exporter, error) {
	addr, err := benchkit.FreeAddr()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return benchkit.StartCommand(ctx, exporter, "http://"+addr+"/-/healthy",
		append([]string{"--web.listen-address=" + addr, "--log.level=warn"}, args...)...)
}

// fds is how many file descriptors the exporter holds, or -1.
func fds(e *benchkit.Exporter) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", e.Pid()))
	if err != nil {
		return -1
	}
	return len(entries)
}

// onTime sends requests at once, each announcing the scrape timeout and
// giving up after it as Prometheus does, and reports how many answers
// came by the exporter's deadline (scrape timeout minus offset), how many
// after it but in time for the client, and how many were lost.
func onTime(exporter, config string, requests int, scrape, offset time.Duration) error {
	e, err := start(exporter, "--config.file="+config, "--probe.max-in-flight=0", "--timeout-offset="+offset.String())
	if err != nil {
		return err
	}
	defer e.Stop()
	targets := []string{"tarpit.hostile.test", "drip.hostile.test", "dripehlo.hostile.test", "silent.hostile.test"}
	client := &http.Client{Timeout: scrape, Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: requests}}
	latencies := make([]time.Duration, requests)
	errs := make([]error, requests)
	var wg sync.WaitGroup
	for i := range requests {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, e.Base+"/probe?target="+targets[i%len(targets)], nil)
			req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(scrape.Seconds(), 'f', -1, 64))
			t0 := time.Now()
			resp, err := client.Do(req)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			latencies[i], errs[i] = time.Since(t0), err
		})
	}
	wg.Wait()
	due := scrape - offset
	var answered benchkit.Durations
	late, lost := 0, 0
	var firstErr error
	for i, err := range errs {
		if err != nil {
			lost++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		answered = append(answered, latencies[i])
		if latencies[i] > due {
			late++
		}
	}
	fmt.Printf("%d concurrent requests for tarpit, dripping and silent-resolver domains, scrape timeout %s, --timeout-offset %s (answer due at %s)\n", requests, scrape, offset, due)
	fmt.Printf("answered %d (%d of them after %s), lost to the client's timeout %d\n", len(answered), late, due, lost)
	if len(answered) > 0 {
		fmt.Printf("latency: p50 %s, p99 %s, max %s\n", benchkit.Ms(answered.Pct(50)), benchkit.Ms(answered.Pct(99)), benchkit.Ms(answered.Pct(100)))
	}
	if st, err := benchkit.Stat(e.Pid()); err == nil {
		fmt.Printf("exporter peak RSS %s\n", benchkit.MiB(st.HWM))
	}
	if firstErr != nil {
		fmt.Printf("first lost request: %v\n", firstErr)
	}
	return nil
}

// idleConnections opens n keep-alive connections, each after one request,
// leaves them idle, and reports the exporter's file descriptors until the
// idle timeout has closed them; then n more connections than
// --web.max-connections, to show they wait without descriptors.
func idleConnections(exporter, config, mode string, args []string, n int, idleTimeout time.Duration) error {
	e, err := start(exporter, append([]string{"--config.file=" + config, "--web.idle-timeout=" + idleTimeout.String()}, args...)...)
	if err != nil {
		return err
	}
	defer e.Stop()
	addr := strings.TrimPrefix(e.Base, "http://")
	base := fds(e)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	codes := map[int]int{}
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "GET /-/healthy HTTP/1.1\r\nHost: exporter\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		codes[resp.StatusCode]++
		resp.Body.Close()
	}
	opened := time.Now()
	fmt.Printf("%s: %d idle keep-alive connections (answers %v): exporter FDs %d before, %d with them open\n", mode, n, codes, base, fds(e))
	for time.Since(opened) < idleTimeout+30*time.Second {
		time.Sleep(5 * time.Second)
		if f := fds(e); f <= base+2 {
			fmt.Printf("%s: back to %d FDs %s after the last request (--web.idle-timeout %s)\n", mode, f, time.Since(opened).Round(time.Second), idleTimeout)
			return nil
		}
	}
	fmt.Printf("%s: still %d FDs %s after the last request\n", mode, fds(e), time.Since(opened).Round(time.Second))
	return nil
}
