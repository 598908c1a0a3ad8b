package smtpsession

import (
	"errors"
	"fmt"
	"strings"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// The RCPT checks a module can turn on.
const (
	RcptPostmaster = "postmaster"
	RcptAbuse      = "abuse"
	RcptOpenRelay  = "open_relay"
)

// DefaultRelayTestRecipient is the foreign address the open-relay check
// offers in RCPT TO.
//
// A well-run server must refuse it because relaying is not allowed, not
// because the address is broken, or an open relay would pass the test:
//   - the local part is "postmaster", which every domain that receives mail
//     must accept (RFC 5321 §4.5.1): an open relay that verifies recipients
//     (Postfix reject_unverified_recipient, Exim callouts) still says yes;
//     a made-up local part would be refused as "user unknown" and hide it;
//   - the domain receives mail through a real MX: a domain without one
//     (example.com, example.net and example.org are reserved by RFC 2606
//     and publish a null MX, RFC 7505; .invalid names do not exist) is
//     refused by reject_unknown_recipient_domain and similar checks, so
//     the refusal would say nothing about relaying;
//   - it is not the probed domain, and it is stable: IANA's own domain
//     will receive mail as long as the RFCs that reserve the names above.
//
// No message is ever sent to it: the probe never says DATA, and resets the
// transaction after RCPT. Modules may name an address at a domain their
// operator controls instead.
const DefaultRelayTestRecipient = "postmaster@iana.org"

// Config is what a conversation says and where it goes: the part of the
// smtp block that the conversations other probes read depend on.
type Config struct {
	// EHLOName is the name the probe gives in EHLO. Empty means the
	// machine's host name (os.Hostname), or an address literal of the
	// local address when that is not a fully qualified name (RFC 5321
	// §4.1.4).
	EHLOName string `yaml:"ehlo_name"`
	// Port is the port MX hosts are probed on; a host or IP target's own
	// port wins.
	Port int `yaml:"port"`
	// RcptChecks turns on RCPT TO checks: postmaster, abuse, open_relay.
	// Empty means no MAIL or RCPT command is sent.
	RcptChecks []string `yaml:"rcpt_checks"`
	// RelayTestRecipient is the foreign address open_relay offers.
	RelayTestRecipient string `yaml:"relay_test_recipient"`
	// MaxParallel bounds the addresses probed at once.
	MaxParallel int `yaml:"max_parallel"`
	// ImplicitTLSPort is the implicit-TLS submission port.
	ImplicitTLSPort int `yaml:"implicit_tls_port"`
	// EgressCheck names addresses known to answer on the SMTP port, which
	// tell a failed connection from a blocked way out (Egress).
	EgressCheck EgressCheck `yaml:"egress_check"`
}

// DefaultConfig is the conversation of an empty `smtp: {}` block.
func DefaultConfig() Config {
	return Config{
		Port:               probes.DefaultSMTPPort,
		RelayTestRecipient: DefaultRelayTestRecipient,
		MaxParallel:        8,
		ImplicitTLSPort:    465,
	}
}

// Normalize puts names in the form the conversations compare them in.
func (c *Config) Normalize() {
	if c.EHLOName != "" {
		if n, err := probes.NormalizeName(c.EHLOName); err == nil {
			c.EHLOName = n
		}
	}
	if local, domain, ok := strings.Cut(c.RelayTestRecipient, "@"); ok {
		if n, err := probes.NormalizeName(domain); err == nil {
			c.RelayTestRecipient = local + "@" + n
		}
	}
	c.EgressCheck.Addresses = append([]string(nil), c.EgressCheck.Addresses...)
	c.RcptChecks = append([]string(nil), c.RcptChecks...)
	for i, r := range c.RcptChecks {
		c.RcptChecks[i] = strings.ToLower(r)
	}
}

// Validate says in one line what is wrong with the configuration.
func (c Config) Validate() error {
	if c.EHLOName != "" {
		if _, err := probes.NormalizeName(c.EHLOName); err != nil {
			return fmt.Errorf("smtp: ehlo_name %q: %w", c.EHLOName, err)
		}
	}
	if err := validPort(c.Port); err != nil {
		return fmt.Errorf("smtp: port: %w", err)
	}
	if err := validPort(c.ImplicitTLSPort); err != nil {
		return fmt.Errorf("smtp: implicit_tls_port: %w", err)
	}
	seen := map[string]bool{}
	for i, r := range c.RcptChecks {
		r = strings.ToLower(r)
		switch r {
		case RcptPostmaster, RcptAbuse, RcptOpenRelay:
		default:
			return fmt.Errorf("smtp: rcpt_checks[%d]: %q is not one of postmaster, abuse, open_relay", i, c.RcptChecks[i])
		}
		if seen[r] {
			return fmt.Errorf("smtp: rcpt_checks: %q is listed twice", r)
		}
		seen[r] = true
	}
	if err := validMailbox(c.RelayTestRecipient); err != nil {
		return fmt.Errorf("smtp: relay_test_recipient %q: %w", c.RelayTestRecipient, err)
	}
	if c.MaxParallel < 1 || c.MaxParallel > 256 {
		return fmt.Errorf("smtp: max_parallel %d: want 1 to 256", c.MaxParallel)
	}
	return c.EgressCheck.validate()
}

func validPort(p int) error {
	if p < 1 || p > 65535 {
		return fmt.Errorf("%d is not a port (want 1-65535)", p)
	}
	return nil
}

// validMailbox accepts local@domain where the local part is a dot-atom
// (RFC 5321 §4.1.2, without quoted strings) and the domain a host name: what
// can be written in RCPT TO:<...> without escaping.
func validMailbox(s string) error {
	local, domain, ok := strings.Cut(s, "@")
	switch {
	case !ok:
		return errors.New("want local-part@domain")
	case local == "":
		return errors.New("empty local part")
	case len(local) > 64:
		return fmt.Errorf("local part is %d characters long; RFC 5321 §4.5.3.1.1 allows 64", len(local))
	case strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, ".."):
		return errors.New("local part has a leading, trailing or double dot")
	}
	for i := 0; i < len(local); i++ {
		if !atext(local[i]) && local[i] != '.' {
			return fmt.Errorf("local part contains %q", string(local[i]))
		}
	}
	if _, err := probes.NormalizeName(domain); err != nil {
		return fmt.Errorf("domain: %w", err)
	}
	return nil
}

// atext is RFC 5322 §3.2.3's set of characters of an atom.
func atext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// Enabled reports whether a RCPT check is turned on.
func (c Config) Enabled(check string) bool {
	for _, r := range c.RcptChecks {
		if r == check {
			return true
		}
	}
	return false
}
