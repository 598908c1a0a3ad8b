package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// binary is the exporter built once for the tests in this file, which run it
// as users do: a process with flags, listening on loopback.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deliverability_exporter-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "deliverability_exporter")
	build := exec.Command("go", "build", "-race", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		// -race needs cgo; fall back to a plain build.
		build = exec.Command("go", "build", "-o", binary, ".")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building the exporter:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type exporter struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string
	stderr *lockedBuffer
	exited chan error
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func startExporter(t *testing.T, args ...string) *exporter {
	t.Helper()
	return startExporterAt(t, "/-/healthy", args...)
}

// startExporterAt starts the exporter and waits until healthPath answers.
func startExporterAt(t *testing.T, healthPath string, args ...string) *exporter {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(binary, append([]string{"--web.listen-address=" + addr}, args...)...)
	e := &exporter{t: t, cmd: cmd, base: "http://" + addr, stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = e.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { e.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("exporter log:\n%s", e.stderr.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(e.base + healthPath)
		if err == nil {
			resp.Body.Close()
			return e
		}
		select {
		case err := <-e.exited:
			t.Fatalf("exporter exited at start: %v\n%s", err, e.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("exporter did not come up:\n%s", e.stderr.String())
	return nil
}

func (e *exporter) get(path string) (int, string) {
	e.t.Helper()
	resp, err := http.Get(e.base + path)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (e *exporter) post(path string) (int, string) {
	e.t.Helper()
	resp, err := http.Post(e.base+path, "text/plain", nil)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func writeConfig(t *testing.T, path, resolver string) {
	t.Helper()
	cfg := fmt.Sprintf("modules:\n  mail:\n    timeout: 10s\n    resolvers: [%q]\n    allowed_networks: [127.0.0.0/8]\n    mx: {}\n  quick:\n    timeout: 3s\n    resolvers: [%q]\n    allowed_networks: [127.0.0.0/8]\n    mx: {srv_services: [submissions]}\n", resolver, resolver)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestExporterEndToEnd(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	configPath := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, configPath, world.Addr)
	e := startExporter(t, "--config.file="+configPath, "--log.level=debug", "--web.enable-lifecycle")

	code, body := e.get("/probe?module=mail&target=example.test")
	if code != 200 || !strings.Contains(body, "probe_success 1") || !strings.Contains(body, `mail_check_success{check="ptr.fcrdns",level="must"} 1`) {
		t.Errorf("probe example.test: %d\n%s", code, body)
	}

	code, body = e.get("/probe?module=mail&target=broken.test&debug=true")
	for _, want := range []string{"FAIL", "mx.hostname", "fix: ", "probe_success 0"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("debug report lacks %q (%d):\n%s", want, code, body)
		}
	}

	for query, want := range map[string]string{
		"/probe?target=":                                      "empty",
		"/probe?target=http%3A%2F%2Fx":                        "URLs",
		"/probe?module=nope&target=a.test":                    "unknown module",
		"/probe?target=" + strings.Repeat("x", 300) + ".test": "characters long",
	} {
		code, body := e.get(query)
		if code != 400 || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d %q, want 400 with %q", query, code, body, want)
		}
	}

	code, body = e.get("/")
	if code != 200 || !strings.Contains(body, "quick") || !strings.Contains(body, `action="report"`) ||
		!strings.Contains(body, `href="report?id=`) {
		t.Errorf("landing page (modules, form, recent probes): %d\n%s", code, body)
	}
	code, body = e.get("/report?module=quick&target=broken.test")
	if code != 200 || !strings.Contains(body, "<h1 id=\"report-title\">Mail deliverability report for broken.test</h1>") {
		t.Errorf("HTML report: %d\n%s", code, body)
	}
	if code, _ := e.get("/nonexistent"); code != 404 {
		t.Errorf("unknown path: %d", code)
	}

	code, body = e.get("/metrics")
	for _, want := range []string{
		"deliverability_exporter_build_info{",
		"deliverability_exporter_config_last_reload_successful 1",
		"deliverability_exporter_config_last_reload_success_timestamp_seconds",
		`deliverability_exporter_probe_requests_rejected_total{reason="unknown_module"} 1`,
		"deliverability_exporter_dns_queries_total",
		"deliverability_exporter_probes_in_flight 0",
		"go_goroutines",
		"process_resident_memory_bytes",
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "mail_check_success") {
		t.Error("/metrics carries probe results; they belong to /probe only")
	}

	// Reload: GET is refused; a broken file keeps the old config; SIGHUP
	// picks up a fixed one.
	if code, _ := e.get("/-/reload"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d", code)
	}
	if err := os.WriteFile(configPath, []byte("modules:\n  mail:\n    timeout: -5s\n    mx: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body = e.post("/-/reload")
	if code != 500 || !strings.Contains(body, "timeout must be positive") {
		t.Errorf("reload of a broken file: %d %q", code, body)
	}
	if _, body := e.get("/metrics"); !strings.Contains(body, "deliverability_exporter_config_last_reload_successful 0") {
		t.Error("failed reload not visible in the reload metric")
	}
	// Another reload right after is refused: /-/reload is rate limited.
	resp, err := http.Post(e.base+"/-/reload", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a second reload at once: %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, _ := e.get("/probe?module=quick&target=example.test"); code != 200 {
		t.Errorf("the old config is no longer in force after a failed reload: %d", code)
	}
	if err := os.WriteFile(configPath, []byte(fmt.Sprintf("modules:\n  renamed:\n    resolvers: [%q]\n    mx: {}\n", world.Addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		code, _ := e.get("/probe?module=renamed&target=example.test")
		return code == 200
	})
	if code, _ := e.get("/probe?module=quick&target=example.test"); code != 400 {
		t.Errorf("module of the old config still answers after SIGHUP: %d", code)
	}
}

func TestExporterBuiltInDefault(t *testing.T) {
	e := startExporter(t)
	code, body := e.get("/")
	if code != 200 || !strings.Contains(body, "built-in default") || !strings.Contains(body, "<td>mail</td>") {
		t.Errorf("landing page without --config.file: %d\n%s", code, body)
	}
	// The lifecycle API is off unless --web.enable-lifecycle.
	if code, body := e.post("/-/reload"); code != http.StatusForbidden || !strings.Contains(body, "--web.enable-lifecycle") {
		t.Errorf("POST /-/reload without --web.enable-lifecycle: %d %q", code, body)
	}
}

func TestExporterBasicAuth(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(webConfig, []byte("basic_auth_users:\n  prometheus: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startExporter(t, "--web.config.file="+webConfig)
	for _, path := range []string{"/metrics", "/", "/report?id=1", "/probe?target=example.test"} {
		resp, err := http.Get(e.base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d, want 401", path, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, e.base+"/metrics", nil)
	req.SetBasicAuth("prometheus", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with credentials: %d", resp.StatusCode)
	}
	// exporter-toolkit logs through the go-kit logger (one stack), with
	// the exporter's timestamp key.
	waitFor(t, func() bool { return strings.Contains(e.stderr.String(), "TLS is disabled") })
	for _, line := range strings.Split(strings.TrimSpace(e.stderr.String()), "\n") {
		keys, _ := parseLine(t, "logfmt", line)
		if got := strings.Join(keys, " "); !strings.Contains(" "+got+" ", " ts ") || strings.Contains(" "+got+" ", " time ") {
			t.Errorf("log line %q: keys %s, want ts and no time", line, got)
		}
	}
}

func TestCommandLine(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.yml")
	if err := os.WriteFile(good, []byte("modules:\n  mail:\n    mx: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yml")
	if err := os.WriteFile(bad, []byte("modules:\n  mail:\n    mx: {}\n    smtp_typo: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--version"}, 0, "deliverability_exporter, version"},
		{[]string{"--help"}, 0, "--config.file"},
		{[]string{"--help"}, 0, "--web.listen-address"},
		{[]string{"--help"}, 0, "Flags of serve, the default command:"},
		{[]string{"check", "--help"}, 0, "failures-only"},
		{[]string{"--no-such-flag"}, 2, "unknown long flag"},
		{[]string{"--log.format=xml"}, 2, "enum value must be one of"},
		{[]string{"--config.check", "--config.file=" + good}, 0, "valid"},
		{[]string{"--config.check", "--config.file=" + bad}, 1, "line 4: field smtp_typo not found"},
		{[]string{"--config.file=" + bad}, 1, "smtp_typo"},
		{[]string{"--config.file=/nonexistent.yml"}, 1, "no such file"},
		{[]string{"--web.external-url=proxy.example/mail"}, 2, "want an absolute http or https URL"},
	} {
		cmd := exec.Command(binary, tc.args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%v: exit %d, output:\n%s\nwant exit %d and %q", tc.args, code, out.String(), tc.code, tc.want)
		}
	}
}

// TestCheckHelp: check's help lists the flags check reads and none of
// those only the exporter reads.
func TestCheckHelp(t *testing.T) {
	code, out, _ := runBinary(t, nil, "check", "--help")
	if code != 0 {
		t.Fatalf("check --help: exit %d\n%s", code, out)
	}
	for _, want := range []string{"--config.file", "--log.level", "--log.format", "--module", "--format", "--color",
		"verbose", "failures-only", "--timeout=", "--dkim-selector", "--outbound-ip"} {
		if !strings.Contains(out, want) {
			t.Errorf("check --help lacks %s:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"web.", "history.limit", "probe.max-in-flight", "timeout-offset", "config.check"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("check --help lists %s, which check does not use:\n%s", unwanted, out)
		}
	}
	// The exporter's flags still work without naming serve.
	code, _, errOut := runBinary(t, nil, "--history.limit=5", "--probe.max-in-flight=1", "--timeout-offset=1s", "--config.check")
	if code != 2 || !strings.Contains(errOut, "--config.check needs --config.file") {
		t.Errorf("serve's flags without the command: exit %d %q", code, errOut)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("condition not met within 10s")
}

// lockedBuffer collects the exporter's stderr while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestDockerfile checks what can be checked without a Docker engine: the
// image exposes the default port, builds this command statically, and
// copies files that exist.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	_, port, _ := net.SplitHostPort(defaultAddress)
	for _, want := range []string{
		"EXPOSE " + port,
		"CGO_ENABLED=0",
		"./cmd/" + programName,
		"USER nonroot",
		"COPY config.example.yml /etc/" + programName + "/config.yml",
		`CMD ["--config.file=/etc/` + programName + `/config.yml"]`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join("..", "..", "config.example.yml")); err != nil {
		t.Error(err)
	}
}

// TestDockerignore checks that .dockerignore keeps the repository's history
// and build outputs out of the build context, and nothing the image's
// build reads: go.mod, go.sum, config.example.yml and every file of every
// package of this module the command is built from.
func TestDockerignore(t *testing.T) {
	root := filepath.Join("..", "..")
	data, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") {
			t.Fatalf(".dockerignore: exception %q: this test does not model exceptions", line)
		}
		patterns = append(patterns, strings.Trim(line, "/"))
	}
	for _, p := range []string{".git/HEAD", "dist/deliverability_exporter-1.0.0.linux-amd64.tar.gz", "deliverability_exporter", "docs/landing.png"} {
		if !dockerIgnored(patterns, p) {
			t.Errorf(".dockerignore does not exclude %s", p)
		}
	}

	needed := []string{"go.mod", "go.sum", "config.example.yml"}
	list := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if .Module.Main}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}{{end}}`, ".")
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		dir, err := filepath.Rel(absRoot, fields[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fields[1:] {
			needed = append(needed, filepath.ToSlash(filepath.Join(dir, f)))
		}
	}
	if len(needed) < 20 {
		t.Fatalf("go list found only %v", needed)
	}
	for _, p := range needed {
		if dockerIgnored(patterns, p) {
			t.Errorf(".dockerignore excludes %s, which the image's build needs", p)
		}
	}
}

// dockerIgnored reports whether a path of the build context matches one of
// the patterns, as Docker reads them: relative to the context's root, ** for
// any number of directories, and a pattern that matches a directory
// excludes what is under it.
func dockerIgnored(patterns []string, path string) bool {
	parts := strings.Split(path, "/")
	for _, pat := range patterns {
		for i := 1; i <= len(parts); i++ {
			prefix := strings.Join(parts[:i], "/")
			if ok, _ := filepath.Match(pat, prefix); ok {
				return true
			}
			if rest, ok := strings.CutPrefix(pat, "**/"); ok {
				for j := 0; j < i; j++ {
					if ok, _ := filepath.Match(rest, strings.Join(parts[j:i], "/")); ok {
						return true
					}
				}
			}
		}
	}
	return false
}

func runBinary(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

func TestCheckCommand(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	configPath := filepath.Join(t.TempDir(), "config.yml")
	writeConfig(t, configPath, world.Addr)
	cfg := "--config.file=" + configPath

	code, out, errOut := runBinary(t, nil, "check", cfg, "example.test")
	if code != 0 || !strings.Contains(out, "PASS: every must check passed") || errOut != "" {
		t.Errorf("check example.test: exit %d\n%s\nstderr: %s", code, out, errOut)
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes written to a pipe")
	}

	code, out, _ = runBinary(t, nil, "check", cfg, "example.test", "broken.test")
	if code != 1 || !strings.Contains(out, "FAIL: must checks failed") || !strings.Contains(out, "fix: ") ||
		strings.Index(out, "report for example.test") > strings.Index(out, "report for broken.test") {
		t.Errorf("check example.test broken.test: exit %d\n%s", code, out)
	}

	code, out, _ = runBinary(t, nil, "check", cfg, "--format=json", "broken.test")
	var doc struct {
		SchemaVersion int  `json:"schema_version"`
		Success       bool `json:"success"`
		Reports       []struct {
			FailedMust []string `json:"failed_must"`
		} `json:"reports"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 1 || doc.SchemaVersion != 1 || doc.Success ||
		len(doc.Reports) != 1 || len(doc.Reports[0].FailedMust) == 0 {
		t.Errorf("check --format=json: exit %d, %v\n%s", code, err, out)
	}

	// The default text is a summary: passed checks by id, without their
	// evidence; --verbose shows it; --failures-only leaves passes out.
	_, summary, _ := runBinary(t, nil, "check", cfg, "example.test")
	_, verbose, _ := runBinary(t, nil, "check", cfg, "--verbose", "example.test")
	const evidence = "- example.test. MX 10 mx1.example.test."
	if strings.Contains(summary, evidence) || !regexp.MustCompile(`(?m)^  PASS   .*\bmx\.hostname, mx\.present,`).MatchString(summary) {
		t.Errorf("check example.test is not the summary:\n%s", summary)
	}
	if !strings.Contains(verbose, evidence) {
		t.Errorf("check --verbose example.test lacks the evidence %q:\n%s", evidence, verbose)
	}
	code, out, _ = runBinary(t, nil, "check", cfg, "--failures-only", "example.test")
	if code != 0 || strings.Contains(out, "PASS ") || !strings.Contains(out, "Every check passed or was skipped in: mx") {
		t.Errorf("check --failures-only example.test: exit %d\n%s", code, out)
	}
	code, out, _ = runBinary(t, nil, "check", cfg, "--failures-only", "broken.test")
	if code != 1 || strings.Contains(out, "PASS ") || !strings.Contains(out, "FAIL   must    ptr.present") || !strings.Contains(out, "fix: ") {
		t.Errorf("check --failures-only broken.test: exit %d\n%s", code, out)
	}

	if _, out, _ := runBinary(t, nil, "check", cfg, "--color=always", "broken.test"); !strings.Contains(out, "\x1b[31m") {
		t.Error("--color=always wrote no colour")
	}
	if _, out, _ := runBinary(t, []string{"NO_COLOR=1"}, "check", cfg, "broken.test"); strings.Contains(out, "\x1b[") {
		t.Error("NO_COLOR not respected")
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", cfg}, "required argument 'target' not provided"},
		{[]string{"check", cfg, "http://x"}, "URLs"},
		{[]string{"check", cfg, "--module=nope", "example.test"}, `unknown module "nope"`},
		{[]string{"check", cfg, "--outbound-ip=mail.example.test", "example.test"}, "not an IPv4 or IPv6 address"},
		{[]string{"check", "--config.file=/nonexistent.yml", "example.test"}, "no such file"},
		// Without --config.file: the built-in default, whose one module is mail.
		{[]string{"check", "--module=nope", "example.test"}, `unknown module "nope"; the configuration has: mail`},
		{[]string{"check", cfg, "--format=xml", "example.test"}, "enum value"},
		{[]string{"check", cfg, "--verbose", "--failures-only", "example.test"}, "exclude each other"},
		{[]string{"check", cfg, "--web.listen-address=:1", "example.test"}, "unknown long flag"},
	} {
		code, _, errOut := runBinary(t, nil, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}
