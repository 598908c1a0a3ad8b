package probes

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// Every address form that reaches this host, its links or private networks
// is refused by default, whatever it is written as; an allowed network
// inside the block opens it, a broader one does not.
func TestNetworkPolicyClosedByDefault(t *testing.T) {
	open := NetworkPolicy{}
	lab := NetworkPolicy{Allowed: prefixes("127.0.0.0/8", "::1/128")}
	everywhere := NetworkPolicy{Allowed: prefixes("0.0.0.0/0", "::/0")}
	for _, tc := range []struct {
		addr string
		// closedBlock is the block named in the refusal; "" for a
		// public address.
		closedBlock string
		// lab: whether the loopback lab policy permits it.
		lab bool
	}{
		{"127.0.0.1", "127.0.0.0/8", true},
		{"127.1.2.3", "127.0.0.0/8", true},
		{"0.0.0.0", "127.0.0.0/8", true}, // reaches this host as 127.0.0.1
		{"::", "::1/128", true},          // reaches this host as ::1
		{"::1", "::1/128", true},
		{"::ffff:127.0.0.1", "127.0.0.0/8", true},
		{"::ffff:0.0.0.0", "127.0.0.0/8", true},
		{"0.1.2.3", "0.0.0.0/8", false},
		{"::127.0.0.1", "::/8", false},            // IPv4-compatible, deprecated
		{"::ffff:0:7f00:1", "::/8", false},        // IPv4-translated (SIIT)
		{"64:ff9b::7f00:1", "127.0.0.0/8", false}, // NAT64 of 127.0.0.1
		{"64:ff9b::a00:1", "10.0.0.0/8", false},   // NAT64 of 10.0.0.1
		{"64:ff9b:1::1", "64:ff9b:1::/48", false},
		{"2002:7f00:1::1", "2002::/16", false},                       // 6to4 of 127.0.0.1
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::/23", false}, // Teredo
		{"10.0.0.1", "10.0.0.0/8", false},
		{"::ffff:10.0.0.1", "10.0.0.0/8", false},
		{"172.16.5.4", "172.16.0.0/12", false},
		{"192.168.1.1", "192.168.0.0/16", false},
		{"100.64.0.1", "100.64.0.0/10", false},
		{"169.254.169.254", "169.254.0.0/16", false},
		{"::ffff:169.254.169.254", "169.254.0.0/16", false},
		{"fe80::1", "fe80::/10", false},
		{"fe80::1%eth0", "fe80::/10", false},
		{"fd00:ec2::254", "fc00::/7", false}, // the IPv6 metadata address of EC2
		{"fc00::1", "fc00::/7", false},
		{"224.0.0.1", "224.0.0.0/4", false},
		{"ff02::1", "ff00::/8", false},
		{"255.255.255.255", "255.255.255.255/32", false},
		{"240.0.0.1", "240.0.0.0/4", false},
		{"192.0.2.1", "192.0.2.0/24", false},
		{"2001:db8::1", "2001:db8::/32", false},
		{"8.8.8.8", "", false},
		{"2607:f8b0:4004:c07::1a", "", false},
		{"64:ff9b::808:808", "", false}, // NAT64 of 8.8.8.8: public
	} {
		ip := netip.MustParseAddr(tc.addr)
		err := open.Permit(ip)
		if tc.closedBlock == "" {
			if err != nil {
				t.Errorf("%s: a public address was refused: %v", tc.addr, err)
			}
			continue
		}
		var denied *DeniedError
		if !errors.As(err, &denied) || !strings.Contains(err.Error(), " "+tc.closedBlock+":") || !strings.Contains(err.Error(), "allowed_networks") {
			t.Errorf("%s: err = %v, want a refusal naming %s and allowed_networks", tc.addr, err, tc.closedBlock)
		}
		if err := everywhere.Permit(ip); err == nil {
			t.Errorf("%s: allowed_networks 0.0.0.0/0 and ::/0 opened a closed block; only a network inside it may", tc.addr)
		}
		if err := lab.Permit(ip); (err == nil) != tc.lab {
			t.Errorf("%s under allowed_networks [127.0.0.0/8, ::1/128]: err = %v, want permitted %v", tc.addr, err, tc.lab)
		}
	}
}

func TestNetworkPolicyExplicitAllowAndDeny(t *testing.T) {
	p := NetworkPolicy{Allowed: prefixes("0.0.0.0/0", "10.1.0.0/16", "169.254.169.254/32", "::ffff:192.168.0.0/112")}
	for addr, want := range map[string]bool{
		"10.1.2.3":        true,  // inside 10.0.0.0/8, named by a network inside it
		"10.2.0.1":        false, // the rest of 10.0.0.0/8 stays closed
		"169.254.169.254": true,
		"169.254.0.1":     false,
		"192.168.3.4":     true, // an IPv4-mapped network is its IPv4 network
		"8.8.8.8":         true,
		"2001:4860::8888": false, // outside allowed_networks
	} {
		if err := p.Permit(netip.MustParseAddr(addr)); (err == nil) != want {
			t.Errorf("%s: err = %v, want permitted %v", addr, err, want)
		}
	}
	// Denied wins, in every form of the address.
	d := NetworkPolicy{Allowed: prefixes("127.0.0.0/8", "::1/128", "64:ff9b::/96"), Denied: prefixes("127.0.0.0/8", "::ffff:10.0.0.0/104")}
	for _, addr := range []string{"127.0.0.1", "0.0.0.0", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "10.0.0.1"} {
		err := d.Permit(netip.MustParseAddr(addr))
		if err == nil || !strings.Contains(err.Error(), "denied_networks") {
			t.Errorf("%s: err = %v, want denied_networks to win", addr, err)
		}
	}
	if err := d.Permit(netip.MustParseAddr("::")); err != nil {
		t.Errorf(":: under a policy that allows ::1/128: %v", err)
	}
}

// The dialer refuses every form of a loopback address by default, and dials
// the canonical address the decision was made on when the module opens
// loopback.
func TestAddressDialerDialsWhatItDecided(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	forms := []string{"127.0.0.1", "0.0.0.0", "::ffff:127.0.0.1", "::ffff:0.0.0.0"}
	closed := &AddressDialer{}
	closedDenyList := &AddressDialer{Allowed: prefixes("0.0.0.0/0", "::/0"), Denied: prefixes("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7", "fe80::/10")}
	for _, host := range append(forms, "::", "::1") {
		addr := net.JoinHostPort(host, port)
		for _, d := range []*AddressDialer{closed, closedDenyList} {
			if c, err := d.DialContext(context.Background(), "tcp", addr); err == nil {
				c.Close()
				t.Errorf("%s was dialled by a module that does not open loopback", addr)
			}
		}
	}
	lab := &AddressDialer{Allowed: prefixes("127.0.0.0/8")}
	for _, host := range forms {
		c, err := lab.DialContext(context.Background(), "tcp", net.JoinHostPort(host, port))
		if err != nil {
			t.Errorf("%s under allowed_networks [127.0.0.0/8]: %v", host, err)
			continue
		}
		if got := c.RemoteAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.1" {
			t.Errorf("%s: dialled %s, want the canonical 127.0.0.1", host, got)
		}
		c.Close()
	}
}
