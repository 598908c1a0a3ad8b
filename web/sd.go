package web

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/config"
)

// SDHandler serves Prometheus' HTTP service discovery (http_sd_configs)
// from the config's targets_file: the domains to probe, in target groups
// whose labels are the probe parameters (__param_module and, for domains
// with selectors of their own, __param_dkim_selector), so a fleet of
// 100,000 domains needs one scrape config instead of a 100,000-line one.
// Every replica serves the same list; Prometheus shards it over the
// replicas with hashmod (examples/fleet/). It follows reloads: the list is
// the one read with the config in force.
type SDHandler struct {
	Modules func() *collector.Modules

	mu sync.Mutex
	// renderedFor and body are the last answer and the config it was made from.
	renderedFor *config.Config
	body        []byte
}

// SDGroup is one target group of the http_sd answer.
type SDGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// SDGroups groups the targets by their probe parameters, in the order
// their first target comes in the file.
func SDGroups(targets []config.Target) []SDGroup {
	out := []SDGroup{}
	index := map[string]int{}
	for _, t := range targets {
		params := t.Params()
		key := t.Module + "\xff" + params.Encode()
		i, ok := index[key]
		if !ok {
			labels := map[string]string{"__param_module": t.Module}
			for k, v := range params {
				labels["__param_"+k] = v[0]
			}
			i = len(out)
			index[key] = i
			out = append(out, SDGroup{Labels: labels})
		}
		out[i].Targets = append(out[i].Targets, t.Target)
	}
	return out
}

// ServeHTTP answers GET /sd.
func (h *SDHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "use GET", http.StatusMethodNotAllowed)
		return
	}
	cfg := h.Modules().Config
	if cfg.TargetsFile == "" {
		http.Error(w, "no targets_file in the configuration: name one to serve its domains to Prometheus' http_sd", http.StatusNotFound)
		return
	}
	body, err := h.answer(cfg)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// answer renders the groups of cfg's targets once per config.
func (h *SDHandler) answer(cfg *config.Config) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.renderedFor == cfg {
		return h.body, nil
	}
	body, err := json.Marshal(SDGroups(cfg.Targets))
	if err != nil {
		return nil, err
	}
	h.renderedFor, h.body = cfg, body
	return body, nil
}
