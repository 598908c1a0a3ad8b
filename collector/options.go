package collector

import "github.com/deliverability-exporter/deliverability_exporter/probes"

// EngineOption changes what NewEngine sets up before it loads the
// configuration.
type EngineOption func(*Engine)

// WithMailbox gives every module's delivery probe the exporter's built-in
// receiver (internal/receiver), which outlives configurations.
func WithMailbox(m probes.Mailbox) EngineOption {
	return func(e *Engine) { probes.SetMailbox(e.kept, m) }
}
