package sending_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/sending"
)

// The spf probe's tests hold the rule; these hold the accessor: what a
// provider returns reaches the reader, a module without the provider says
// so, and only a domain that sends no mail has a skip reason.
func TestOf(t *testing.T) {
	tgt, err := probes.ParseTarget("parked.test")
	if err != nil {
		t.Fatal(err)
	}
	req := &probes.Request{Target: tgt}
	decl := &sending.Declaration{Domain: "parked.test", NoMail: true, Record: "v=spf1 -all", Why: `its SPF record "v=spf1 -all" authorises no client`}
	provide := func(v any) *probes.Env {
		return &probes.Env{Facts: probes.NewFacts(map[string]probes.Provider{
			sending.FactName: func(context.Context, *probes.Request, *probes.Env, string) (any, error) { return v, nil },
		})}
	}
	got, err := sending.Of(context.Background(), req, provide(decl))
	if err != nil || got != decl {
		t.Fatalf("Of = %v, %v", got, err)
	}
	if r := got.SkipReason(); !strings.HasPrefix(r, "parked.test sends no mail (its SPF record") {
		t.Errorf("skip reason %q", r)
	}
	if _, err := sending.Of(context.Background(), req, provide("not a declaration")); err == nil {
		t.Error("a value of another type was accepted")
	}
	if _, err := sending.Of(context.Background(), req, &probes.Env{Facts: probes.NewFacts(nil)}); !errors.Is(err, probes.ErrNotProvided) {
		t.Errorf("without a provider: %v", err)
	}
	var none *sending.Declaration
	if none.SkipReason() != "" || (&sending.Declaration{Domain: "x.test"}).SkipReason() != "" {
		t.Error("a skip reason for a domain that may send")
	}
}
