package dnsclient_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// Answers a hostile or broken resolver can send. Each lookup must end
// within its deadline with an error (or, where the answer is usable, with
// what it holds), never hang or panic.
func TestHostileAnswers(t *testing.T) {
	var big strings.Builder
	big.WriteString("$ORIGIN big.test.\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&big, "many IN A 10.%d.%d.%d\n", i/65536, (i/256)%256, i%256)
	}
	srv := testbed.StartDNS(t, zone, big.String())
	for name, b := range map[string]testbed.Behaviour{
		"garbage.example.test":   testbed.Garbage,
		"wrongid.example.test":   testbed.WrongID,
		"wrongq.example.test":    testbed.WrongQuestion,
		"wrongtype.example.test": testbed.WrongType,
		"noise.example.test":     testbed.NoiseFirst,
		"many.big.test":          testbed.TruncateUDP,
	} {
		srv.SetBehaviour(name, b)
	}
	srv.SetBehaviour("huge.big.test", testbed.Oversized)
	if err := srv.Add("noise.example.test. 300 IN A 192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		if err := srv.Add(fmt.Sprintf("huge.big.test. 300 IN A 10.9.%d.%d", i/256, i%256)); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name    string
		qtype   uint16
		wantErr string // "" means the lookup succeeds
		check   func(*dnsclient.Answer) error
	}{
		{"garbage.example.test", dns.TypeA, "bad question name", nil},
		{"wrongid.example.test", dns.TypeA, "no answer within", nil},
		{"wrongq.example.test", dns.TypeA, "does not match the question", nil},
		{"noise.example.test", dns.TypeA, "", func(a *dnsclient.Answer) error {
			if len(a.Records) != 1 {
				return fmt.Errorf("after the noise, %v; want the answer", a.Records)
			}
			return nil
		}},
		{"wrongtype.example.test", dns.TypeA, "", func(a *dnsclient.Answer) error {
			if !a.Empty() {
				return fmt.Errorf("records of the wrong type were returned: %v", a.Records)
			}
			return nil
		}},
		{"many.big.test", dns.TypeA, "", func(a *dnsclient.Answer) error {
			if len(a.Records) != 1000 {
				return fmt.Errorf("%d records over TCP, want 1000", len(a.Records))
			}
			return nil
		}},
		{"huge.big.test", dns.TypeA, "", nil}, // either an error or a complete answer; never a panic or a hang
		{"loop1.example.test", dns.TypeA, "CNAME loop", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: 200 * time.Millisecond, Attempts: 2})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ans, err := c.NewResolver().Lookup(ctx, tc.name, tc.qtype)
			if ctx.Err() != nil {
				t.Fatalf("the lookup ran into the test's deadline: %v", err)
			}
			switch {
			case tc.name == "huge.big.test":
				if err == nil && len(ans.Records) != 300 {
					t.Errorf("an oversized answer gave %d records", len(ans.Records))
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err = %v, want one containing %q", err, tc.wantErr)
				}
				var qe *dnsclient.Error
				if tc.wantErr != "CNAME loop" && !errors.As(err, &qe) {
					t.Errorf("err is %T, want *dnsclient.Error", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if err := tc.check(ans); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
