package dnsbl

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"gopkg.in/yaml.v3"
)

// FuzzClassify: any set of answered addresses is judged without a panic,
// and a listing is reported only when every address is a listing code in
// 127.0.0.0/8 that is not an error code.
func FuzzClassify(f *testing.F) {
	f.Add([]byte{127, 0, 0, 2})
	f.Add([]byte{127, 255, 255, 254, 127, 0, 0, 2})
	f.Add([]byte{198, 51, 100, 200})
	f.Add([]byte{127, 0, 0, 10, 127, 0, 0, 10, 127, 0, 0, 4})
	f.Add([]byte{127, 0, 0})
	l := &List{Zone: "zen.bl.test", Kind: KindIP,
		Codes:      map[string]string{"127.0.0.2": "SBL", "127.0.0.10": "PBL"},
		ErrorCodes: map[string]string{"127.255.255.254": "query via public/open resolver", "127.0.0.1": "refused"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		var in []netip.Addr
		for i := 0; i+4 <= len(data) && len(in) < 64; i += 4 {
			in = append(in, netip.AddrFrom4([4]byte(data[i:i+4])))
		}
		if len(data)%4 != 0 && len(data) >= 16 {
			in = append(in, netip.AddrFrom16([16]byte(data[len(data)-16:])))
		}
		o, codes := classify(l, in)
		if len(codes) > maxCodes {
			t.Fatalf("%d codes kept", len(codes))
		}
		bad := false
		for _, a := range in {
			a = a.Unmap()
			bad = bad || !a.Is4() || !loopback.Contains(a) || l.ErrorCodes[a.String()] != ""
		}
		switch {
		case len(in) == 0 && o != notListed:
			t.Fatalf("no address judged %s", o)
		case bad && o != refused:
			t.Fatalf("%v judged %s, want an error of the list", in, o)
		case len(in) > 0 && !bad && o != listed:
			t.Fatalf("%v judged %s, want listed", in, o)
		}
		for _, c := range codes {
			if c.Meaning == "" || strings.ContainsAny(c.Meaning, "\n") {
				t.Fatalf("code %s has meaning %q", c.Code(), c.Meaning)
			}
			if o == listed && (!loopback.Contains(c.Addr) || l.ErrorCodes[c.Code()] != "") {
				t.Fatalf("listing code %s", c.Code())
			}
		}
	})
}

// FuzzQueryNames: a name from the network either becomes a valid DNS
// question under the zone or is refused; an address always becomes the
// RFC 5782 name, equal to its reverse DNS name with the zone as suffix.
func FuzzQueryNames(f *testing.F) {
	f.Add("mx1.example.com", []byte{192, 0, 2, 1})
	f.Add("EXAMPLE.com.", []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10})
	f.Add("a..b", []byte{})
	f.Add(`x\.y.test`, []byte{255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, name string, raw []byte) {
		const zone = "dbl.bl.test"
		q, err := nameQueryName(name, zone)
		if err == nil {
			if _, ok := dns.IsDomainName(q); !ok || len(q) > 254 || !strings.HasSuffix(q, "."+zone+".") {
				t.Fatalf("nameQueryName(%q) = %q", name, q)
			}
			if q != strings.ToLower(q) || strings.ContainsAny(q, "\\ ") {
				t.Fatalf("nameQueryName(%q) = %q is not a plain lower-case name", name, q)
			}
			labels := dns.SplitDomainName(q)
			if len(labels) != strings.Count(q, ".") {
				t.Fatalf("nameQueryName(%q) = %q: labels %q", name, q, labels)
			}
		}
		var ip netip.Addr
		switch {
		case len(raw) >= 16:
			ip = netip.AddrFrom16([16]byte(raw[:16]))
		case len(raw) >= 4:
			ip = netip.AddrFrom4([4]byte(raw[:4]))
		default:
			return
		}
		if got, want := ipQueryName(ip, zone), reverseUnder(t, ip.Unmap(), zone); got != want {
			t.Fatalf("ipQueryName(%s) = %q, want %q", ip, got, want)
		}
	})
}

// FuzzConfig: any YAML either fails to load with a one-line reason of the
// probe's own or loads into a configuration that validates, survives
// New, and comes back the same through YAML.
func FuzzConfig(f *testing.F) {
	f.Add("{}")
	f.Add("lists: [{zone: zen.bl.test, kind: ip, ipv6: true, codes: {127.0.0.2: SBL}, error_codes: {127.255.255.254: refused}}]")
	f.Add("max_concurrency: 3\ncheck_health: false\nlists: []")
	f.Add("lists: [{zone: 'X.Test.', kind: Domain, name: x}]")
	f.Add("lists: [{zone: x.test, kind: ip, codes: {127.0.0.1: nope}}]")
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 4096 {
			return
		}
		var cfg Config
		dec := yaml.NewDecoder(strings.NewReader(text))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			if strings.HasPrefix(err.Error(), "dnsbl:") && strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if reflect.DeepEqual(cfg, Config{}) {
			// A null document ("", "~", "&a"): the decoder never calls
			// UnmarshalYAML. The collector enables a null block with
			// DefaultConfig, and New gives a zero Config the default
			// concurrency and no lists.
			if p := New(cfg, nil); p.cfg.MaxConcurrency != DefaultMaxConcurrency || len(p.cfg.Lists) != 0 {
				t.Fatalf("New(Config{}) = %+v", p.cfg)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("decoded config does not validate: %v", err)
		}
		p := New(cfg, nil)
		if !reflect.DeepEqual(p.cfg, cfg) && !(len(cfg.Lists) == 0 && len(p.cfg.Lists) == 0) {
			t.Fatalf("New changed a valid config:\n%+v\n%+v", cfg, p.cfg)
		}
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var again Config
		if err := yaml.Unmarshal(out, &again); err != nil {
			t.Fatalf("marshalled config %q does not load: %v", out, err)
		}
		if !reflect.DeepEqual(normalizeEmpty(again), normalizeEmpty(cfg)) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v\n%s", cfg, again, out)
		}
	})
}

// normalizeEmpty treats empty and nil maps and slices alike.
func normalizeEmpty(c Config) Config {
	if len(c.Lists) == 0 {
		c.Lists = nil
	}
	for i := range c.Lists {
		if len(c.Lists[i].Codes) == 0 {
			c.Lists[i].Codes = nil
		}
		if len(c.Lists[i].ErrorCodes) == 0 {
			c.Lists[i].ErrorCodes = nil
		}
	}
	return c
}
