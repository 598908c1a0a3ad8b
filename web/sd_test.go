package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/go-kit/log"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
)

// TestSDServesTheTargetsFileAndFollowsReloads: /sd answers the targets
// file as Prometheus' http_sd target groups, one per module and set of
// selectors, and after a reload the list read with it; a targets file that
// does not load fails the reload and the list in force stays.
func TestSDServesTheTargetsFileAndFollowsReloads(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("config.yml", "targets_file: fleet.txt\nmodules:\n  mail:\n    mx: {}\n    dkim: {}\n  strict:\n    mx: {}\n")
	write("fleet.txt", "a.example\nb.example dkim_selector=s1,s2\nc.example\nd.example module=strict\n")
	engine, err := collector.NewEngine(filepath.Join(dir, "config.yml"), log.NewNopLogger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &SDHandler{Modules: engine.Current}
	get := func() (int, []SDGroup) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/sd", nil))
		if rec.Code != http.StatusOK {
			return rec.Code, nil
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json (Prometheus' http_sd requires it)", ct)
		}
		var groups []SDGroup
		if err := json.Unmarshal(rec.Body.Bytes(), &groups); err != nil {
			t.Fatalf("not http_sd JSON: %v\n%s", err, rec.Body)
		}
		return rec.Code, groups
	}
	_, groups := get()
	want := []SDGroup{
		{Targets: []string{"a.example", "c.example"}, Labels: map[string]string{"__param_module": "mail"}},
		{Targets: []string{"b.example"}, Labels: map[string]string{"__param_module": "mail", "__param_dkim_selector": "s1,s2"}},
		{Targets: []string{"d.example"}, Labels: map[string]string{"__param_module": "strict"}},
	}
	if !reflect.DeepEqual(groups, want) {
		t.Errorf("/sd:\n got %+v\nwant %+v", groups, want)
	}

	write("fleet.txt", "e.example\n")
	if err := engine.Reload(); err != nil {
		t.Fatal(err)
	}
	_, groups = get()
	want = []SDGroup{{Targets: []string{"e.example"}, Labels: map[string]string{"__param_module": "mail"}}}
	if !reflect.DeepEqual(groups, want) {
		t.Errorf("/sd after a reload:\n got %+v\nwant %+v", groups, want)
	}

	write("fleet.txt", "e.example\nf.example module=gone\n")
	if err := engine.Reload(); err == nil {
		t.Fatal("a targets file naming an unknown module loaded")
	}
	if _, groups = get(); !reflect.DeepEqual(groups, want) {
		t.Errorf("/sd after a failed reload: %+v, want the list in force", groups)
	}

	write("config.yml", "modules:\n  mail:\n    mx: {}\n")
	if err := engine.Reload(); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(); code != http.StatusNotFound {
		t.Errorf("/sd without a targets_file: %d, want 404", code)
	}
}
