package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// The browser test drives Debian's chromium through chromedriver's W3C
// WebDriver HTTP API, on loopback only. CI installs both (.ci/run) and sets
// REQUIRE_BROWSER=1, which turns a missing browser into a failure; on a
// developer machine without them the test is skipped with a message.
// UPDATE_SCREENSHOTS=1 rewrites the screenshots under docs/.

const webElementKey = "element-6066-11e4-a52e-4f735466cecf"

type webDriver struct {
	t       *testing.T
	base    string // chromedriver
	session string
}

func startBrowser(t *testing.T) *webDriver {
	t.Helper()
	driver, errDriver := exec.LookPath("chromedriver")
	browser := "/usr/bin/chromium"
	_, errBrowser := os.Stat(browser)
	if errDriver != nil || errBrowser != nil {
		msg := "chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
		if os.Getenv("REQUIRE_BROWSER") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	addr := freePort(t)
	_, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(driver, "--port="+port, "--allowed-ips=127.0.0.1")
	var logs lockedBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("chromedriver log:\n%s", logs.String())
		}
	})
	wd := &webDriver{t: t, base: "http://" + addr}
	waitFor(t, func() bool {
		var status struct {
			Value struct{ Ready bool } `json:"value"`
		}
		return wd.call(http.MethodGet, "/status", nil, &status) == nil && status.Value.Ready
	})

	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": browser,
			"args": []string{
				"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
				"--disable-background-networking", "--disable-component-update", "--disable-sync",
				"--disable-dev-shm-usage", "--window-size=1280,1400",
				"--user-data-dir=" + t.TempDir(),
			},
		},
	}}}
	var created struct {
		Value struct {
			SessionID string `json:"sessionId"`
		} `json:"value"`
	}
	if err := wd.call(http.MethodPost, "/session", caps, &created); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	wd.session = created.Value.SessionID
	t.Cleanup(func() { _ = wd.call(http.MethodDelete, "/session/"+wd.session, nil, nil) })
	return wd
}

func (wd *webDriver) call(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, wd.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func (wd *webDriver) must(method, path string, body, out any) {
	wd.t.Helper()
	if err := wd.call(method, "/session/"+wd.session+path, body, out); err != nil {
		wd.t.Fatal(err)
	}
}

func (wd *webDriver) navigate(url string) {
	wd.t.Helper()
	wd.must(http.MethodPost, "/url", map[string]string{"url": url}, nil)
}

func (wd *webDriver) find(css string) string {
	wd.t.Helper()
	var found struct {
		Value map[string]string `json:"value"`
	}
	wd.must(http.MethodPost, "/element", map[string]string{"using": "css selector", "value": css}, &found)
	return found.Value[webElementKey]
}

func (wd *webDriver) text(css string) string {
	wd.t.Helper()
	var got struct {
		Value string `json:"value"`
	}
	wd.must(http.MethodGet, "/element/"+wd.find(css)+"/text", nil, &got)
	return got.Value
}

func (wd *webDriver) url() string {
	wd.t.Helper()
	var got struct {
		Value string `json:"value"`
	}
	wd.must(http.MethodGet, "/url", nil, &got)
	return got.Value
}

func (wd *webDriver) screenshot(name string) {
	wd.t.Helper()
	if os.Getenv("UPDATE_SCREENSHOTS") == "" {
		return
	}
	var shot struct {
		Value string `json:"value"`
	}
	wd.must(http.MethodGet, "/screenshot", nil, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Value)
	if err != nil {
		wd.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", name), png, 0o644); err != nil {
		wd.t.Fatal(err)
	}
}

func TestBrowserRunsAProbeThroughTheForm(t *testing.T) {
	wd := startBrowser(t)
	world := testbed.StartExampleWorld(t)
	configPath := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, configPath, world.Addr)
	e := startExporter(t, "--config.file="+configPath)

	wd.navigate(e.base + "/")
	if got := wd.text("h1"); got != "deliverability_exporter" {
		t.Fatalf("landing page heading %q", got)
	}
	wd.must(http.MethodPost, "/element/"+wd.find("#target")+"/value", map[string]string{"text": "broken.test"}, nil)
	wd.must(http.MethodPost, "/element/"+wd.find("#run")+"/click", map[string]any{}, nil)
	waitFor(t, func() bool { return strings.Contains(wd.url(), "/report?") })

	if got := wd.text("#report-title"); got != "Mail deliverability report for broken.test" {
		t.Errorf("report title %q", got)
	}
	if got := wd.text("#verdict"); !strings.HasPrefix(got, "FAIL: must checks failed") {
		t.Errorf("verdict %q", got)
	}
	row := wd.text(`tr[id="check-ptr.present"]`)
	for _, want := range []string{"FAIL", "must", "198.51.100.7 has no PTR record", "Fix:", "7.100.51.198.in-addr.arpa. IN PTR"} {
		if !strings.Contains(row, want) {
			t.Errorf("ptr.present row lacks %q:\n%s", want, row)
		}
	}
	wd.screenshot("report.png")

	// The landing page now lists the probe, with a link to its report.
	wd.navigate(e.base + "/")
	recent := wd.text("#recent")
	if !strings.Contains(recent, "broken.test") || !strings.Contains(recent, "FAIL") {
		t.Errorf("recent probes table:\n%s", recent)
	}
	wd.screenshot("landing.png")
	wd.must(http.MethodPost, "/element/"+wd.find(`#recent a`)+"/click", map[string]any{}, nil)
	waitFor(t, func() bool { return strings.Contains(wd.url(), "report?id=") })
	if got := wd.text("#report-title"); got != "Mail deliverability report for broken.test" {
		t.Errorf("remembered report title %q", got)
	}
}

// TestBrowserRecentProbesFitTheWindow: the landing page's table of recent
// probes, with the long verdict of a domain that fails many must checks,
// fits common window widths: nothing scrolls sideways and every report
// link is on screen.
func TestBrowserRecentProbesFitTheWindow(t *testing.T) {
	wd := startBrowser(t)
	world := testbed.StartExampleWorld(t)
	configPath := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(configPath, []byte("modules:\n"+testbed.ExampleModule("mail", world.Addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	e := startExporter(t, "--config.file="+configPath)
	for _, target := range []string{"broken.test", "example.test", "nullmx.test"} {
		if code, body := e.get("/probe?module=mail&target=" + target); code != 200 {
			t.Fatalf("probe %s: %d %s", target, code, body)
		}
	}
	for _, width := range []int{1280, 1920} {
		wd.must(http.MethodPost, "/window/rect", map[string]int{"width": width, "height": 1000}, nil)
		wd.navigate(e.base + "/")
		if recent := wd.text("#recent"); !strings.Contains(recent, "must checks failed: mx.hostname") {
			t.Fatalf("the recent probes lack broken.test's verdict:\n%s", recent)
		}
		var view struct {
			Value []float64 `json:"value"`
		}
		wd.must(http.MethodPost, "/execute/sync", map[string]any{
			"script": "return [window.innerWidth, document.documentElement.scrollWidth];", "args": []any{}}, &view)
		if len(view.Value) != 2 {
			t.Fatalf("window size: %v", view.Value)
		}
		inner, scroll := view.Value[0], view.Value[1]
		if scroll > inner {
			t.Errorf("%d px window: the page is %v px wide, more than the %v px viewport", width, scroll, inner)
		}
		links := wd.findAll("#recent a")
		if len(links) != 3 {
			t.Fatalf("%d report links in the recent probes, want 3", len(links))
		}
		for _, link := range links {
			var rect struct {
				Value struct{ X, Y, Width, Height float64 } `json:"value"`
			}
			wd.must(http.MethodGet, "/element/"+link+"/rect", nil, &rect)
			r := rect.Value
			if r.Width <= 0 || r.Height <= 0 || r.X < 0 || r.X+r.Width > inner {
				t.Errorf("%d px window: a report link at x %v..%v is outside the %v px viewport", width, r.X, r.X+r.Width, inner)
			}
			var shown struct {
				Value bool `json:"value"`
			}
			wd.must(http.MethodGet, "/element/"+link+"/displayed", nil, &shown)
			if !shown.Value {
				t.Errorf("%d px window: a report link is not displayed", width)
			}
		}
		if width == 1280 {
			wd.screenshot("landing.png")
		}
	}
}

func (wd *webDriver) findAll(css string) []string {
	wd.t.Helper()
	var found struct {
		Value []map[string]string `json:"value"`
	}
	wd.must(http.MethodPost, "/elements", map[string]string{"using": "css selector", "value": css}, &found)
	var ids []string
	for _, v := range found.Value {
		ids = append(ids, v[webElementKey])
	}
	return ids
}
