package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// TestConfigPage: /config shows the configuration in force, as YAML that
// names where it came from; the landing page links to it.
func TestConfigPage(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	cfg := worldConfig(t, world.Addr, "")
	h, _ := newHandler(cfg)
	ui := &WebUI{Modules: func() *collector.Modules { return cfg }, ConfigSource: func() string { return "/etc/world.yml" }, History: NewHistory(1), Probe: h}

	rec := httptest.NewRecorder()
	ui.Config(rec, httptest.NewRequest(http.MethodGet, "/config", nil))
	body := rec.Body.String()
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("/config: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{"# The configuration in force, from /etc/world.yml", "modules:\n  mail:\n", "zone: zen.bl.test", "resolvers:\n      - " + world.Addr} {
		if !strings.Contains(body, want) {
			t.Errorf("/config lacks %q:\n%s", want, body)
		}
	}

	rec = httptest.NewRecorder()
	ui.Landing(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if page := rec.Body.String(); !strings.Contains(page, `<a href="config">`) || !strings.Contains(page, "<code>/probe?module=MODULE") {
		t.Errorf("landing page without an external URL:\n%s", page)
	}
	ui.ExternalURL = "https://monitoring.example/mail/"
	rec = httptest.NewRecorder()
	ui.Landing(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if page := rec.Body.String(); !strings.Contains(page, "<code>https://monitoring.example/mail/probe?module=MODULE") {
		t.Errorf("landing page does not show the scrape URL under the external URL:\n%s", page)
	}
}
