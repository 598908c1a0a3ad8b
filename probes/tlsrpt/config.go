package tlsrpt

// Config is the `tlsrpt:` block of a module. The probe has nothing to
// tune: RFC 8460 §3 leaves no threshold to choose. The block turns the
// probe on, and unknown keys in it are refused.
type Config struct{}

// DefaultConfig is the configuration of an empty `tlsrpt: {}` block.
func DefaultConfig() Config { return Config{} }

// UnmarshalYAML decodes into an alias type without this method (so
// decoding does not recurse) and with the decoder's strictness intact:
// unknown keys are still rejected under KnownFields(true).
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	type rawConfig Config
	*c = DefaultConfig()
	if err := unmarshal((*rawConfig)(c)); err != nil {
		return err
	}
	return c.Validate()
}

// Validate says in one line what is wrong with the configuration: nothing
// can be.
func (c Config) Validate() error { return nil }
