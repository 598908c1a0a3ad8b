package smtp

import (
	"fmt"

	"github.com/deliverability-exporter/deliverability_exporter/probes/smtpsession"
)

// Config is the `smtp:` block of a module.
type Config struct {
	// Session is what the conversations say and where they go; other
	// probes of the module read the same conversations.
	Session smtpsession.Config `yaml:",inline"`
	// ImplicitTLS also probes ImplicitTLSPort (465, RFC 8314 §3.3).
	ImplicitTLS bool `yaml:"implicit_tls"`
	// MinRSABits and MinECDSABits are the smallest server keys
	// tls.key_strength accepts.
	MinRSABits   int `yaml:"min_rsa_bits"`
	MinECDSABits int `yaml:"min_ecdsa_bits"`
}

// DefaultConfig is the configuration of an empty `smtp: {}` block.
func DefaultConfig() Config {
	return Config{
		Session:      smtpsession.DefaultConfig(),
		MinRSABits:   2048,
		MinECDSABits: 256,
	}
}

// UnmarshalYAML fills the defaults first, so keys left out keep them, then
// decodes into an alias type without this method (so decoding does not
// recurse) and with the decoder's strictness intact.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	type rawConfig Config
	*c = DefaultConfig()
	if err := unmarshal((*rawConfig)(c)); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	c.Session.Normalize()
	return nil
}

// Validate says in one line what is wrong with the configuration.
func (c Config) Validate() error {
	if err := c.Session.Validate(); err != nil {
		return err
	}
	if c.MinRSABits < 1024 || c.MinRSABits > 16384 {
		return fmt.Errorf("smtp: min_rsa_bits %d: want 1024 to 16384", c.MinRSABits)
	}
	if c.MinECDSABits < 224 || c.MinECDSABits > 521 {
		return fmt.Errorf("smtp: min_ecdsa_bits %d: want 224 to 521", c.MinECDSABits)
	}
	return nil
}
