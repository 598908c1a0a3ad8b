package collector

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// The delivery probe judges the relay's address with the module's own
// blocklists (a DQS key zone, an internal list), not the public defaults.
func TestDeliveryLendsTheModulesBlocklists(t *testing.T) {
	srv := testbed.StartDNS(t, `
$ORIGIN custom.bl.test.
@ 3600 IN SOA ns hostmaster 1 7200 3600 1209600 300
2.0.0.127 IN A 127.0.0.2
`)
	ms := compileYAML(t, `modules:
  mail:
    resolvers: ["`+srv.Addr+`"]
    dnsbl:
      lists:
        - zone: custom.bl.test
          kind: ip
`)
	m := ms.byName["mail"]
	setup := probes.Setup{Block: m.Config.Block}
	p := deliveryLent.Blocklists.Build(setup)
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	tgt, _ := probes.ParseTarget("192.0.2.1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.Run(ctx, &probes.Request{Target: tgt}, probetest.Env(client))
	asked := false
	for _, q := range srv.Queries() {
		if strings.HasSuffix(q.Name, ".custom.bl.test.") {
			asked = true
		}
		if strings.Contains(q.Name, "spamhaus") {
			t.Errorf("the default lists were asked: %s", q.Name)
		}
	}
	if !asked {
		t.Errorf("the module's list was not asked: %v", srv.Queries())
	}
}
