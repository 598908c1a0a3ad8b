package mtasts

import (
	"fmt"
	"time"
)

// Config is the `mtasts:` block of a module.
type Config struct {
	// HTTPSPort is the port the policy host is fetched from. Senders use
	// 443 (RFC 8461 §3.3); tests point it at an in-process server.
	HTTPSPort int `yaml:"https_port"`
	// MaxBodyBytes is the largest policy accepted; a larger body fails
	// mtasts.policy as senders discard it (RFC 8461 §3.3 suggests 64 KiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// FetchTimeout bounds the whole policy fetch (connect, TLS, request,
	// body); the probe's own deadline can only shorten it.
	FetchTimeout time.Duration `yaml:"fetch_timeout"`
	// MinMaxAge is the smallest policy max_age mtasts.max_age accepts.
	MinMaxAge time.Duration `yaml:"min_max_age"`
}

// The limits of the configuration.
const (
	// DefaultMaxBodyBytes is RFC 8461 §3.3's suggested policy size limit.
	DefaultMaxBodyBytes = 64 << 10
	// maxMaxBodyBytes keeps a configuration from turning the probe into a
	// download tool.
	maxMaxBodyBytes = 1 << 20
	// maxFetchTimeout is longer than any scrape waits.
	maxFetchTimeout = 5 * time.Minute
)

// DefaultConfig is the configuration of an empty `mtasts: {}` block.
func DefaultConfig() Config {
	return Config{
		HTTPSPort:    443,
		MaxBodyBytes: DefaultMaxBodyBytes,
		FetchTimeout: 10 * time.Second,
		MinMaxAge:    24 * time.Hour,
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
	return c.Validate()
}

// Validate says in one line what is wrong with the configuration.
func (c Config) Validate() error {
	if c.HTTPSPort < 1 || c.HTTPSPort > 65535 {
		return fmt.Errorf("mtasts: https_port %d: want 1 to 65535", c.HTTPSPort)
	}
	if c.MaxBodyBytes < 1 || c.MaxBodyBytes > maxMaxBodyBytes {
		return fmt.Errorf("mtasts: max_body_bytes %d: want 1 to %d (RFC 8461 §3.3 suggests %d)", c.MaxBodyBytes, maxMaxBodyBytes, DefaultMaxBodyBytes)
	}
	if c.FetchTimeout <= 0 || c.FetchTimeout > maxFetchTimeout {
		return fmt.Errorf("mtasts: fetch_timeout %s: want more than 0 and at most %s", c.FetchTimeout, maxFetchTimeout)
	}
	if c.MinMaxAge < 0 || c.MinMaxAge > MaxMaxAge*time.Second {
		return fmt.Errorf("mtasts: min_max_age %s: want 0 to %s, the largest max_age RFC 8461 §3.2 allows", c.MinMaxAge, MaxMaxAge*time.Second)
	}
	if c.MinMaxAge%time.Second != 0 {
		return fmt.Errorf("mtasts: min_max_age %s: max_age counts whole seconds", c.MinMaxAge)
	}
	return nil
}
