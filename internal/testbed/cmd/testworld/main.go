// Command testworld serves the test world on loopback until interrupted, so
// the exporter can be tried by hand without touching the internet: the
// example domains' DNS (testbed.ExampleZones: example.test, broken.test,
// nullmx.test, nomx.test, v6only.test) and the mail world's servers
// (testbed.MailWorld: starttls.test, expired.test, selfsigned.test,
// wrongname.test and notls.test, whose MX hosts are SMTP servers with
// STARTTLS on 127.25.0.10-14, and starttls.test's MTA-STS policy host). It
// writes an exporter config with two modules, and the test CA beside it:
//
//   - mail: the DNS-only probes, for the example domains (their MX
//     addresses are documentation addresses nothing answers on);
//   - full: every probe, smtp and mtasts included, for the mail world.
//
// Try it:
//
//	go run ./internal/testbed/cmd/testworld -config /tmp/world.yml &
//	go run ./cmd/deliverability_exporter --config.file /tmp/world.yml &
//	curl 'localhost:10075/probe?module=mail&target=broken.test&debug=true'
//	curl 'localhost:10075/probe?module=full&target=starttls.test'
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// caFileName is the test CA's file, written beside the config.
const caFileName = "testworld-ca.pem"

func main() {
	configPath := flag.String("config", "", "write an exporter config using this world to this file, and the test CA beside it ("+caFileName+")")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *configPath, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "testworld:", err)
		os.Exit(1)
	}
}

// run serves the world until ctx ends; ready, when not nil, is called once
// everything listens and the config is written.
func run(ctx context.Context, configPath string, out io.Writer, ready func()) error {
	world, err := testbed.NewMailWorld()
	if err != nil {
		return err
	}
	defer world.Close()

	if configPath != "" {
		caFile := filepath.Join(filepath.Dir(configPath), caFileName)
		if err := os.WriteFile(caFile, world.CA.PEM, 0o644); err != nil {
			return err
		}
		caFile, err = filepath.Abs(caFile)
		if err != nil {
			return err
		}
		cfg := "modules:\n" + testbed.ExampleModule("mail", world.DNS.Addr) + world.Module("full", caFile)
		if err := os.WriteFile(configPath, []byte(cfg), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "Config %s (modules mail and full), test CA %s\n", configPath, caFile)
	}
	fmt.Fprintf(out, "DNS on %s (UDP and TCP) for example.test, broken.test, nullmx.test, nomx.test, v6only.test (module mail)\n", world.DNS.Addr)
	fmt.Fprintf(out, "and %s (module full): SMTP with STARTTLS on %s port %d, the MTA-STS policy on %s\n",
		strings.Join(testbed.MailWorldDomains(), ", "), smtpAddresses(world), world.SMTP[0].Port(), world.HTTPS.Addr)
	fmt.Fprintln(out, "Ready; interrupt to stop.")
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	return nil
}

func smtpAddresses(w *testbed.MailWorld) string {
	var ips []string
	for _, s := range w.SMTP {
		host, _, _ := strings.Cut(s.Addr, ":")
		ips = append(ips, host)
	}
	return strings.Join(ips, ", ")
}
