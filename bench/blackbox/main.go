// Command blackbox compares deliverability_exporter with Debian's
// prometheus-blackbox-exporter doing the same work against the same
// in-process servers on loopback: the certificate of an SMTP server over
// STARTTLS, and the MX lookup of its domain. run.sh beside this file
// installs blackbox_exporter when it is missing and runs this program:
//
//	bench/blackbox/run.sh
//
// The servers: a DNS server (testbed.DNSServer) publishing bb.test (one MX
// host, mx.bb.test, on 127.0.0.21) and a STARTTLS SMTP server there with a
// certificate from a test CA. blackbox_exporter gets a tcp module doing
// SMTP STARTTLS (query_response with starttls, the CA as tls_config) and a
// dns module asking MX bb.test of the DNS server. deliverability_exporter
// gets a module with only the smtp probe (its MX discovery is the MX
// lookup), one with the mx and smtp probes, and for context the full mail
// module against bench.test (2 MX hosts, 3 addresses, 6 blocklists).
//
// Each exporter answers -probes requests one after the other (after a
// warm-up); latency is the client's, CPU time is the exporter process's
// user + system time from /proc/PID/stat over the run.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/bench/benchkit"
	"github.com/deliverability-exporter/deliverability_exporter/bench/benchworld"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// waitMax bounds the wait for a quiet machine.
var waitMax *time.Duration

func main() {
	blackbox := flag.String("blackbox", "/usr/bin/prometheus-blackbox-exporter", "the blackbox_exporter binary")
	exporter := flag.String("exporter", "", "deliverability_exporter binary (built from ./cmd/deliverability_exporter when empty)")
	n := flag.Int("probes", 500, "probe requests per variant")
	waitLoad := flag.Float64("wait-load", 0, "first wait (at most -wait-max) for the 1-minute load average to fall below this; 0: do not wait")
	waitMax = flag.Duration("wait-max", 10*time.Minute, "the longest wait for -wait-load")
	check := flag.Bool("check", false, "exit 1 when deliverability_exporter's smtp-only module costs more CPU per probe than blackbox's tcp and dns probes together")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	ok, err := run(ctx, *blackbox, *exporter, *n, *waitLoad)
	if err != nil {
		fmt.Fprintln(os.Stderr, "blackbox:", err)
		os.Exit(2)
	}
	if *check && !ok {
		os.Exit(1)
	}
}

// bbZone is the compared domain: one MX host with one IPv4 address.
const bbZone = `
$ORIGIN bb.test.
$TTL 3600
@      IN SOA  ns hostmaster 1 7200 3600 1209600 3600
@      IN MX   10 mx
@      IN TXT  "v=spf1 mx -all"
mx     IN A    127.0.0.21
mx     IN TXT  "v=spf1 a -all"
$ORIGIN 0.0.127.in-addr.arpa.
21     IN PTR  mx.bb.test.
`

const bbHost = "mx.bb.test"

func run(ctx context.Context, blackbox, exporter string, n int, waitLoad float64) (bool, error) {
	var loadNote string
	if waitLoad > 0 {
		loadNote = benchkit.WaitQuiet(waitLoad, *waitMax)
	}
	if _, err := os.Stat(blackbox); err != nil {
		return false, fmt.Errorf("%s: %w (bench/blackbox/run.sh installs Debian's prometheus-blackbox-exporter)", blackbox, err)
	}
	bbVersion := version(blackbox)
	dir, exporter, cleanup, err := benchkit.Workdir("blackbox-compare", exporter)
	if err != nil {
		return false, err
	}
	defer cleanup()

	// The servers.
	dnsSrv, err := testbed.NewDNSServer(bbZone)
	if err != nil {
		return false, err
	}
	defer dnsSrv.Close()
	ca, err := testbed.NewCA("blackbox comparison CA")
	if err != nil {
		return false, err
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o644); err != nil {
		return false, err
	}
	cert, err := ca.Issue(testbed.CertOptions{DNSNames: []string{bbHost}})
	if err != nil {
		return false, err
	}
	smtpSrv, err := testbed.NewSMTPServer("127.0.0.21:0", testbed.SMTPBehaviour{Hostname: bbHost, Certificate: &cert})
	if err != nil {
		return false, err
	}
	defer smtpSrv.Close()
	world, err := benchworld.Start(benchworld.Options{Shape: benchworld.Loopback})
	if err != nil {
		return false, err
	}
	defer world.Close()

	// blackbox_exporter.
	bbConfig := fmt.Sprintf(`modules:
  smtp_starttls:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      tls_config:
        ca_file: %s
        server_name: %s
      query_response:
        - expect: "^220 "
        - send: "EHLO probe.exporter.test"
        - expect: "^250 "
        - send: "STARTTLS"
        - expect: "^220 "
        - starttls: true
        - send: "EHLO probe.exporter.test"
        - expect: "^250 "
        - send: "QUIT"
        - expect: "^221 "
  dns_mx:
    prober: dns
    timeout: 5s
    dns:
      query_name: bb.test
      query_type: MX
      transport_protocol: udp
      preferred_ip_protocol: ip4
      valid_rcodes: [NOERROR]
      validate_answer_rrs:
        fail_if_not_matches_regexp: ["bb\\.test\\.\\s+\\d+\\s+IN\\s+MX\\s+10\\s+mx\\.bb\\.test\\."]
`, caFile, bbHost)
	bbPath := filepath.Join(dir, "blackbox.yml")
	if err := os.WriteFile(bbPath, []byte(bbConfig), 0o644); err != nil {
		return false, err
	}
	// One process per variant, so each process's CPU time is the work of
	// its variant alone, and the variants take turns request by request, so
	// a change in the machine's load touches them all alike.
	startBB := func() (*benchkit.Exporter, error) {
		addr, err := benchkit.FreeAddr()
		if err != nil {
			return nil, err
		}
		return benchkit.StartCommand(ctx, blackbox, "http://"+addr+"/-/healthy",
			"--config.file="+bbPath, "--web.listen-address="+addr, "--log.level=warn")
	}
	bbTCP, err := startBB()
	if err != nil {
		return false, err
	}
	defer bbTCP.Stop()
	bbDNS, err := startBB()
	if err != nil {
		return false, err
	}
	defer bbDNS.Stop()

	// deliverability_exporter.
	ours := benchworld.Unbounded + fmt.Sprintf(`modules:
  smtp_only:
    timeout: 10s
    resolvers: [%[1]q]
    ca_file: %[2]s
    allowed_networks: ["127.0.0.0/8", "::1/128"]
    smtp: {port: %[3]d, ehlo_name: probe.exporter.test}
  mx_smtp:
    timeout: 10s
    resolvers: [%[1]q]
    ca_file: %[2]s
    allowed_networks: ["127.0.0.0/8", "::1/128"]
    mx: {srv_services: []}
    smtp: {port: %[3]d, ehlo_name: probe.exporter.test}
`, dnsSrv.Addr, caFile, smtpSrv.Port()) + world.Module("mail", benchworld.ModuleOptions{})
	var des []*benchkit.Exporter
	for range 3 {
		sub, err := os.MkdirTemp(dir, "de")
		if err != nil {
			return false, err
		}
		de, err := benchkit.StartExporter(ctx, exporter, sub, ours, nil)
		if err != nil {
			return false, err
		}
		defer de.Stop()
		des = append(des, de)
	}

	type variant struct {
		name, who string
		proc      *benchkit.Exporter
		url       string
		check     func([]byte) string
	}
	variants := []variant{
		{"tcp module: SMTP STARTTLS, certificate expiry", "blackbox_exporter", bbTCP,
			bbTCP.Base + "/probe?module=smtp_starttls&target=" + smtpSrv.Addr, bbSuccess},
		{"dns module: MX bb.test", "blackbox_exporter", bbDNS,
			bbDNS.Base + "/probe?module=dns_mx&target=" + dnsSrv.Addr, bbSuccess},
		{"smtp probe (MX, A/AAAA, TLSA, STARTTLS, chain, names)", "deliverability_exporter", des[0],
			des[0].Base + "/probe?module=smtp_only&target=bb.test", benchkit.ProbeSuccess},
		{"mx and smtp probes (adds PTR, FCrDNS, CAA, DNSSEC)", "deliverability_exporter", des[1],
			des[1].Base + "/probe?module=mx_smtp&target=bb.test", benchkit.ProbeSuccess},
		{"full mail module, bench.test (context)", "deliverability_exporter", des[2],
			des[2].Base + "/probe?module=mail&target=" + benchworld.Domain, benchkit.ProbeSuccess},
	}
	type result struct {
		lat  benchkit.Durations
		cpu  time.Duration
		body int
	}
	results := make([]result, len(variants))
	client := benchkit.NewClient(len(variants))
	get := func(v variant) (time.Duration, error) {
		t0 := time.Now()
		resp, err := client.Get(v.url)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("status %d", resp.StatusCode)
		}
		if why := v.check(body); why != "" {
			return 0, fmt.Errorf("%s", why)
		}
		return took, nil
	}
	for round := 0; round < 20; round++ { // warm-up
		for _, v := range variants {
			if _, err := get(v); err != nil {
				return false, fmt.Errorf("%s, %s: warm-up: %w", v.who, v.name, err)
			}
		}
	}
	before := make([]benchkit.ProcStat, len(variants))
	for i, v := range variants {
		if before[i], err = benchkit.Stat(v.proc.Pid()); err != nil {
			return false, err
		}
	}
	for round := 0; round < n; round++ {
		for i, v := range variants {
			took, err := get(v)
			if err != nil {
				return false, fmt.Errorf("%s, %s: %w", v.who, v.name, err)
			}
			results[i].lat = append(results[i].lat, took)
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
	}
	for i, v := range variants {
		after, err := benchkit.Stat(v.proc.Pid())
		if err != nil {
			return false, err
		}
		results[i].cpu = (after.CPU - before[i].CPU) / time.Duration(n)
		results[i].body = bodySize(client, v.url)
	}

	fmt.Printf("## Side by side with blackbox_exporter\n\n")
	fmt.Printf("Measured %s", benchkit.Machine())
	if loadNote != "" {
		fmt.Printf("; %s", loadNote)
	}
	fmt.Printf(".\n`bench/blackbox/run.sh` (%d probes per row, one at a time, the rows taking turns, after 20 rounds to warm up; each row its own exporter process); %s.\n\n", n, bbVersion)
	var rows [][]string
	for i, v := range variants {
		r := results[i]
		rows = append(rows, []string{v.who, v.name, benchkit.Ms(r.lat.Pct(50)), benchkit.Ms(r.lat.Pct(90)),
			fmt.Sprintf("%.2f ms", float64(r.cpu)/float64(time.Millisecond)), fmt.Sprint(r.body)})
	}
	fmt.Println(benchkit.Table([]string{"exporter", "probe", "latency p50", "p90", "CPU time per probe", "answer bytes"}, rows))
	bbCPU := results[0].cpu + results[1].cpu
	bbLat := results[0].lat.Pct(50) + results[1].lat.Pct(50)
	ratio := func(i int) string {
		return fmt.Sprintf("CPU %.2f×, latency %.2f×", float64(results[i].cpu)/float64(bbCPU), float64(results[i].lat.Pct(50))/float64(bbLat))
	}
	fmt.Printf("blackbox_exporter needs two probes (tcp and dns) for the certificate and the MX lookup: %.2f ms of CPU and %s of latency (p50) together.\n\n",
		float64(bbCPU)/float64(time.Millisecond), benchkit.Ms(bbLat))
	fmt.Printf("| deliverability_exporter against blackbox's tcp + dns | ratio |\n|---|---|\n")
	fmt.Printf("| smtp probe | %s |\n| mx and smtp probes | %s |\n| full mail module (far more work) | %s |\n\n", ratio(2), ratio(3), ratio(4))
	return results[2].cpu <= bbCPU, nil
}

func bbSuccess(body []byte) string {
	if strings.Contains(string(body), "\nprobe_success 1\n") {
		return ""
	}
	return "probe_success is not 1"
}

func bodySize(c *http.Client, url string) int {
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return len(b)
}

func version(binary string) string {
	out, _ := benchkit.Output(binary, "--version")
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	if line == "" {
		return "blackbox_exporter (version unknown)"
	}
	return line
}
