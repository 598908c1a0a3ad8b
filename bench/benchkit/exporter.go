package benchkit

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// BuildExporter builds cmd/deliverability_exporter into dir and returns the
// binary's path. It runs from the module root (the working directory of
// "go run ./bench/...").
func BuildExporter(dir string) (string, error) {
	out := filepath.Join(dir, "deliverability_exporter")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/deliverability_exporter")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/deliverability_exporter (run from the repository root): %w", err)
	}
	return out, nil
}

// Workdir makes a temporary directory for a measurement's files and, when
// exporter is empty, builds the exporter binary into it. cleanup removes
// the directory.
func Workdir(prefix, exporter string) (dir, binary string, cleanup func(), err error) {
	dir, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	if exporter == "" {
		if exporter, err = BuildExporter(dir); err != nil {
			cleanup()
			return "", "", nil, err
		}
	}
	return dir, exporter, cleanup, nil
}

// Exporter is a running exporter binary on loopback.
type Exporter struct {
	Base string // "http://127.0.0.1:port"
	cmd  *exec.Cmd
}

// StartExporter writes config into dir and starts binary on a free
// loopback port with the extra flags and environment variables (added to
// this process's), and waits until it is healthy.
func StartExporter(ctx context.Context, binary, dir, config string, env []string, flags ...string) (*Exporter, error) {
	path := filepath.Join(dir, "exporter.yml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		return nil, err
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"--config.file=" + path, "--web.listen-address=" + addr, "--log.level=warn"}, flags...)
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	e := &Exporter{Base: "http://" + addr, cmd: cmd}
	if err := WaitHTTP(ctx, e.Base+"/-/healthy"); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

// InProcessExporter is an exporter served by this process at base: its Pid
// is this process's, and Stop does nothing.
func InProcessExporter(base string) *Exporter { return &Exporter{Base: base} }

// Pid is the exporter's process id.
func (e *Exporter) Pid() int {
	if e.cmd == nil {
		return os.Getpid()
	}
	return e.cmd.Process.Pid
}

// Stop ends the exporter (SIGKILL: nothing is left to flush) and waits.
func (e *Exporter) Stop() {
	if e == nil || e.cmd == nil || e.cmd.Process == nil {
		return
	}
	_ = e.cmd.Process.Kill()
	_ = e.cmd.Wait()
}

// Metric reads one sample of the exporter's /metrics ("go_goroutines").
func (e *Exporter) Metric(name string) (float64, error) {
	resp, err := http.Get(e.Base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("%s not in /metrics", name)
}

// FreeAddr returns a free "127.0.0.1:port".
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// WaitHTTP polls url until it answers or ctx ends. It leaves no
// connection open: a measurement of the server's descriptors or
// goroutines starts from none of the bench's.
func WaitHTTP(ctx context.Context, url string) error {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Close = true
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not come up: %w", url, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Load drives GET requests with a fixed number in flight.
type Load struct {
	Client *http.Client
	// URL returns the i-th request's URL.
	URL func(i int) string
	// Check says what is wrong with a 200 answer's body, or "".
	Check func(body []byte) string
	// Header is set on every request.
	Header http.Header
}

// Outcome is what a load run saw.
type Outcome struct {
	Requests  int
	Elapsed   time.Duration
	Codes     map[int]int
	Errors    []string
	Latencies Durations // of 200 answers
}

// Run sends n requests (or until ctx ends), concurrency at once.
func (l *Load) Run(ctx context.Context, n, concurrency int) *Outcome {
	out := &Outcome{Codes: map[int]int{}}
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.URL(i), nil)
				for k, v := range l.Header {
					req.Header[k] = v
				}
				t0 := time.Now()
				resp, err := l.Client.Do(req)
				var code int
				var problem string
				if err == nil {
					body, rerr := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
					resp.Body.Close()
					code = resp.StatusCode
					switch {
					case rerr != nil && ctx.Err() != nil:
						return // the run's end cut the answer short: not a result
					case rerr != nil:
						problem = rerr.Error()
					case code == http.StatusOK && l.Check != nil:
						problem = l.Check(body)
					}
				} else if ctx.Err() == nil {
					problem = err.Error()
				}
				took := time.Since(t0)
				mu.Lock()
				out.Requests++
				if code != 0 {
					out.Codes[code]++
				}
				if problem != "" && len(out.Errors) < 1000 {
					out.Errors = append(out.Errors, problem)
				}
				if code == http.StatusOK && problem == "" {
					out.Latencies = append(out.Latencies, took)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	out.Elapsed = time.Since(start)
	return out
}

// Summary says what the answers were: "63 × 200, 1 × 503, 1 errors
// (first: ...)", status codes in order.
func (o *Outcome) Summary() string {
	codes := make([]int, 0, len(o.Codes))
	for c := range o.Codes {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d × %d", o.Codes[c], c))
	}
	if len(o.Errors) > 0 {
		parts = append(parts, fmt.Sprintf("%d errors (first: %s)", len(o.Errors), o.Errors[0]))
	}
	return strings.Join(parts, ", ")
}

// NewClient is an HTTP client that keeps up to n connections to the
// exporter open.
func NewClient(n int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxIdleConns: n, DisableCompression: true}}
}

// ProbeSuccess checks a /probe answer: "" when probe_success is 1, else the
// samples that say why (probe errors, failed checks).
func ProbeSuccess(body []byte) string {
	text := string(body)
	if strings.Contains(text, "\nprobe_success 1\n") {
		return ""
	}
	var why []string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "mail_probe_error{") && strings.HasSuffix(line, " 1") ||
			strings.HasPrefix(line, "mail_check_success{") && strings.HasSuffix(line, " 0") {
			why = append(why, line)
		}
	}
	if len(why) > 4 {
		why = append(why[:4], "...")
	}
	return "probe_success is not 1: " + strings.Join(why, "; ")
}

// StartCommand starts binary with args (its output discarded, errors to
// stderr) and waits until healthURL answers. Stop ends it.
func StartCommand(ctx context.Context, binary, healthURL string, args ...string) (*Exporter, error) {
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	e := &Exporter{Base: strings.TrimSuffix(healthURL, "/-/healthy"), cmd: cmd}
	if err := WaitHTTP(ctx, healthURL); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

// Output runs a command and returns what it printed (stdout and stderr).
func Output(binary string, args ...string) (string, error) {
	out, err := exec.Command(binary, args...).CombinedOutput()
	return string(out), err
}
