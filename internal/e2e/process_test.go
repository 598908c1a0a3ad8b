package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/e2e/assets"
)

// requireE2E is set in CI: a missing daemon or privilege fails the suite
// instead of skipping it.
var requireE2E = os.Getenv("REQUIRE_E2E") == "1"

// needed is what the suite runs, by the Debian package that installs it.
var needed = []struct{ command, pkg string }{
	{"knotd", "knot"},
	{"knotc", "knot"},
	{"unbound", "unbound"},
	{"unbound-checkconf", "unbound"},
	{"postfix", "postfix"},
	{"postconf", "postfix"},
	{"postalias", "postfix"},
	{"nginx", "nginx-light"},
	{"prometheus", "prometheus"},
	{"promtool", "prometheus"},
	{"go", "the Go toolchain"},
}

// skipOrFail skips the test with the reason, or fails it under REQUIRE_E2E.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if requireE2E {
		t.Fatalf("REQUIRE_E2E=1: %s", msg)
	}
	t.Skipf("%s (set REQUIRE_E2E=1 to make this a failure)", msg)
}

// requireCommands skips (or fails) unless every command is installed.
func requireCommands(t *testing.T, commands ...string) {
	t.Helper()
	var missing []string
	for _, n := range needed {
		if len(commands) > 0 && !contains(commands, n.command) {
			continue
		}
		if _, err := exec.LookPath(n.command); err != nil {
			missing = append(missing, fmt.Sprintf("%s (%s)", n.command, n.pkg))
		}
	}
	if len(missing) > 0 {
		skipOrFail(t, "not installed: %s; on Debian: apt-get install --no-install-recommends prometheus unbound knot postfix nginx-light", strings.Join(missing, ", "))
	}
}

// requireDaemons skips (or fails) unless the whole world can run here:
// every command, and root, since Postfix's master runs as root and the
// daemons listen on the mail ports 25, 53 and 443 of loopback addresses.
func requireDaemons(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("the end-to-end suite starts real daemons; skipped in -short mode")
	}
	requireCommands(t)
	if os.Geteuid() != 0 {
		skipOrFail(t, "the end-to-end suite needs root (Postfix's master, ports 25, 53 and 443 on loopback addresses)")
	}
}

// daemon is a process the suite started and stops.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // set when done is closed
}

// startDaemon starts a foreground daemon in its own process group with its
// output in dir/<name>.log, and stops it when the test ends: SIGTERM, then
// SIGKILL after 10 seconds. On failure the test log gets the tail of its
// output.
func startDaemon(t *testing.T, dir, name string, argv ...string) *daemon {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so stop reaches the workers it forks; and
	// killed with the test binary, should that die before its cleanups
	// run (a -timeout panic).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	d := &daemon{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		out.Close()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.stop(t)
		if t.Failed() {
			t.Logf("--- %s (pid %d) output, last lines:\n%s", name, cmd.Process.Pid, tail(logPath, 40))
		}
	})
	return d
}

// stop ends the daemon's process group: the daemon and the workers it
// forked, which share its group.
func (d *daemon) stop(t *testing.T) {
	pgid := d.cmd.Process.Pid
	select {
	case <-d.done:
		return
	default:
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		t.Logf("%s did not stop on SIGTERM within 10s; killing it", d.name)
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-d.done
	}
}

// exited returns an error if the daemon is no longer running.
func (d *daemon) exited() error {
	select {
	case <-d.done:
		return fmt.Errorf("%s exited: %v\n%s", d.name, d.err, tail(d.log, 20))
	default:
		return nil
	}
}

// waitFor polls check until it succeeds, the daemons it depends on exit,
// or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, check func() error, deps ...*daemon) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		for _, d := range deps {
			if derr := d.exited(); derr != nil {
				t.Fatalf("waiting for %s: %v", what, derr)
			}
		}
		if err = check(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: still failing after %s: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// run runs a command to completion and fails the test if it fails.
func run(t *testing.T, dir string, env []string, argv ...string) string {
	t.Helper()
	out, err := runErr(dir, env, argv...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return out
}

func runErr(dir string, env []string, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// processAlive reports whether a process id still runs. A zombie does not:
// a daemon that forked away from the suite is reparented, and where the
// new parent does not reap, its exit leaves a zombie behind.
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no procfs: trust kill
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// killPID kills a process the suite started that outlived its stop
// command (a daemon that forked away from the suite).
func killPID(pid int) { _ = syscall.Kill(pid, syscall.SIGKILL) }

// repoPath joins elements onto the repository's root.
func repoPath(elem ...string) string { return assets.Path(elem...) }
