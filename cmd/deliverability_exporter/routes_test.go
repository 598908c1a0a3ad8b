package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

func TestRoutePrefixFlags(t *testing.T) {
	for _, tc := range []struct {
		external, prefix string
		want             string
	}{
		{"", "", "/"},
		{"http://proxy.example/", "", "/"},
		{"https://proxy.example/mail", "", "/mail/"},
		{"https://proxy.example/tools/mail/", "", "/tools/mail/"},
		{"https://proxy.example/mail/", "/", "/"}, // a proxy that strips the prefix
		{"", "exporter", "/exporter/"},
		{"", "/exporter/", "/exporter/"},
	} {
		u, given, err := externalURL(tc.external)
		if err != nil {
			t.Fatalf("%q: %v", tc.external, err)
		}
		if given != (tc.external != "") {
			t.Errorf("%q: given = %v", tc.external, given)
		}
		if got := routePrefix(tc.prefix, u); got != tc.want {
			t.Errorf("external %q prefix %q: %q, want %q", tc.external, tc.prefix, got, tc.want)
		}
	}
	for _, bad := range []string{`"http://x/"`, "proxy.example/mail", "ftp://x/", "http://%zz"} {
		if _, _, err := externalURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestWithRoutePrefix(t *testing.T) {
	h := withRoutePrefix("/mail/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.URL.Path + "?" + r.URL.RawQuery))
	}))
	for path, want := range map[string]string{
		"/mail/":                      "200 /?",
		"/mail/probe?target=a.test":   "200 /probe?target=a.test",
		"/mail/-/healthy":             "200 /-/healthy?",
		"/mail":                       "301 /mail/",
		"/mail?x=1":                   "301 /mail/?x=1",
		"/mailbox":                    "404",
		"/probe":                      "404",
		"/":                           "404",
		"/mail/a%2Fb":                 "200 /a/b?",
		"/other/mail/probe?target=x.": "404",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		got := strings.Fields(rec.Result().Status)[0]
		switch rec.Code {
		case 200:
			got += " " + rec.Body.String()
		case 301:
			got += " " + rec.Header().Get("Location")
		}
		if got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}

var linkRE = regexp.MustCompile(`(?:href|action)="([^"]+)"`)

// TestExporterUnderRoutePrefix runs the exporter as behind a reverse proxy
// that keeps the path: every path is under the prefix, and every link and
// form of its pages, followed from where the page is, stays there.
func TestExporterUnderRoutePrefix(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	configPath := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, configPath, world.Addr)
	e := startExporterAt(t, "/tools/mail/-/healthy", "--config.file="+configPath, "--web.external-url=https://proxy.example/tools/mail", "--web.enable-lifecycle")

	for path, want := range map[string]int{"/": 404, "/probe?target=example.test": 404, "/metrics": 404, "/tools/mail/metrics": 200, "/tools/mail/config": 200} {
		if code, _ := e.get(path); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(e.base + "/tools/mail")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/tools/mail/" {
		t.Errorf("/tools/mail: %d to %q, want a redirect to /tools/mail/", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, body := e.post("/tools/mail/-/reload"); code != 200 {
		t.Errorf("reload under the prefix: %d %s", code, body)
	}

	// A probe through the form, so the landing page lists a report.
	code, report := e.get("/tools/mail/report?target=broken.test&module=mail")
	if code != 200 {
		t.Fatalf("report under the prefix: %d\n%s", code, report)
	}
	code, landing := e.get("/tools/mail/")
	if code != 200 || !strings.Contains(landing, "<code>https://proxy.example/tools/mail/probe?module=MODULE") {
		t.Fatalf("landing page: %d\n%s", code, landing)
	}
	pages := map[string]string{"/tools/mail/": landing, "/tools/mail/report": report}
	followed := 0
	for pagePath, body := range pages {
		pageURL, _ := url.Parse(e.base + pagePath)
		for _, m := range linkRE.FindAllStringSubmatch(body, -1) {
			link, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
			if err != nil {
				t.Errorf("%s: link %q: %v", pagePath, m[1], err)
				continue
			}
			if link.IsAbs() {
				continue // documentation elsewhere
			}
			target := pageURL.ResolveReference(link)
			if !strings.HasPrefix(target.Path, "/tools/mail/") {
				t.Errorf("%s: link %q leads to %s, outside the prefix", pagePath, m[1], target.Path)
				continue
			}
			if target.Path == "/tools/mail/report" && target.RawQuery == "" {
				target.RawQuery = "target=example.test&module=mail" // the form's action
			}
			code, _ := e.get(strings.TrimPrefix(target.String(), e.base))
			if code != 200 {
				t.Errorf("%s: link %q (%s): %d", pagePath, m[1], target, code)
			}
			followed++
		}
	}
	if followed < 6 {
		t.Errorf("followed %d links; the pages link to the form, a report, the config, the metrics and the health check", followed)
	}
}
