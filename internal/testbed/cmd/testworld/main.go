// Command testworld serves the test world's DNS (testbed.ExampleZones) on
// loopback until interrupted, and writes an exporter config that resolves
// through it, so the exporter can be tried by hand without touching the
// internet:
//
//	go run ./internal/testbed/cmd/testworld -config /tmp/world.yml &
//	go run ./cmd/deliverability_exporter --config.file /tmp/world.yml &
//	curl 'localhost:10075/probe?module=mail&target=broken.test&debug=true'
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

func main() {
	configPath := flag.String("config", "", "write an exporter config using this world's resolver to this file")
	flag.Parse()

	srv, err := testbed.NewDNSServer(testbed.ExampleZones)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testworld:", err)
		os.Exit(1)
	}
	defer srv.Close()
	testbed.MarkExampleSecure(srv)

	if *configPath != "" {
		cfg := "modules:\n" + testbed.ExampleModule("mail", srv.Addr)
		if err := os.WriteFile(*configPath, []byte(cfg), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "testworld:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("DNS for example.test, broken.test, nullmx.test, nomx.test, v6only.test on %s (UDP and TCP)\n", srv.Addr)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
