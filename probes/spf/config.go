package spf

import (
	"fmt"
	"slices"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// Config is the `spf:` block of a module.
type Config struct {
	// AcceptableAll are the qualifiers spf.all_policy accepts on the all
	// that ends the evaluation (the implicit ?all when a record has none):
	// any of "+", "-", "~", "?".
	AcceptableAll []string `yaml:"acceptable_all"`
	// MaxIPv4Addresses is the most IPv4 addresses the SPF tree may
	// authorise before spf.not_too_broad fails.
	MaxIPv4Addresses uint64 `yaml:"max_ipv4_addresses"`
	// HeloNames are the HELO/EHLO names whose own SPF record spf.helo
	// checks (until the SMTP probe reports the names the MX hosts use);
	// spf.helo is skipped when there are none.
	HeloNames []string `yaml:"helo_names"`
	// CheckOutbound turns spf.authorizes_outbound on: check_host() is
	// evaluated for every MX address and every outbound IP of the request.
	CheckOutbound bool `yaml:"check_outbound"`
}

// DefaultConfig is the configuration of an empty `spf: {}` block.
func DefaultConfig() Config {
	return Config{
		AcceptableAll:    []string{"~", "-"},
		MaxIPv4Addresses: 65536, // a /16 (docs/checks.md)
		CheckOutbound:    true,
	}
}

// UnmarshalYAML fills the defaults first, so keys left out keep them, then
// decodes into an alias type without this method (so decoding does not
// recurse) and with the decoder's strictness intact: unknown keys are still
// rejected under KnownFields(true).
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	type rawConfig Config
	*c = DefaultConfig()
	if err := unmarshal((*rawConfig)(c)); err != nil {
		return err
	}
	names, err := c.normalized()
	c.HeloNames = names
	return err
}

// Validate says in one line what is wrong with the configuration.
func (c Config) Validate() error {
	_, err := c.normalized()
	return err
}

// normalized validates the configuration and returns the HELO names in
// the lower-case A-label form the probe asks for.
func (c Config) normalized() ([]string, error) {
	if len(c.AcceptableAll) == 0 {
		return nil, fmt.Errorf(`spf: acceptable_all is empty; list the qualifiers that pass, such as ["~", "-"]`)
	}
	for i, q := range c.AcceptableAll {
		switch q {
		case "+", "-", "~", "?":
		default:
			return nil, fmt.Errorf(`spf: acceptable_all[%d]: %q is not a qualifier; use "+", "-", "~" or "?" (as in +all, -all, ~all, ?all)`, i, q)
		}
		if slices.Contains(c.AcceptableAll[:i], q) {
			return nil, fmt.Errorf("spf: acceptable_all: %q is listed twice", q)
		}
	}
	if c.MaxIPv4Addresses > 1<<32 {
		return nil, fmt.Errorf("spf: max_ipv4_addresses is %d; there are only 4294967296 IPv4 addresses", c.MaxIPv4Addresses)
	}
	var names []string
	for i, h := range c.HeloNames {
		name, err := probes.NormalizeName(h)
		if err != nil {
			return nil, fmt.Errorf("spf: helo_names[%d]: %w", i, err)
		}
		if slices.Contains(names, name) {
			return nil, fmt.Errorf("spf: helo_names: %q is listed twice", name)
		}
		names = append(names, name)
	}
	return names, nil
}
