package main

import (
	"bytes"
	"errors"
	"math"
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/go-kit/log"
)

// keepMemoryLimit restores the runtime's memory limit after a test that
// sets it, and runs the test as if the environment set none.
func keepMemoryLimit(t *testing.T) int64 {
	t.Helper()
	if v, ok := os.LookupEnv("AUTOMEMLIMIT"); ok {
		t.Skipf("AUTOMEMLIMIT=%s is set in the environment", v)
	}
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	return before
}

func TestMemoryLimitFollowsTheCgroup(t *testing.T) {
	keepMemoryLimit(t)
	var logs bytes.Buffer
	setMemoryLimit(0.9, memlimit.Limit(1<<30), log.NewLogfmtLogger(&logs))
	// 0.9 of 1 GiB, as the library rounds it: uint64(float64(limit) * ratio).
	if got, want := debug.SetMemoryLimit(-1), int64(966367641); got != want {
		t.Errorf("Go memory limit %d under a cgroup limit of 1 GiB, want %d", got, want)
	}
	if !strings.Contains(logs.String(), "gomemlimit_bytes=966367641") {
		t.Errorf("the log does not say the limit set: %s", logs.String())
	}
}

func TestMemoryLimitLeftAlone(t *testing.T) {
	for name, tc := range map[string]struct {
		env      string
		provider memlimit.Provider
		log      string
	}{
		"GOMEMLIMIT in the environment": {env: "300MiB", provider: memlimit.Limit(1 << 30)},
		"no cgroup limit":               {provider: func() (uint64, error) { return 0, memlimit.ErrNoLimit }},
		"no cgroups":                    {provider: func() (uint64, error) { return 0, memlimit.ErrCgroupsNotSupported }},
		"not in a cgroup":               {provider: func() (uint64, error) { return 0, memlimit.ErrNoCgroup }},
		"an unreadable cgroup":          {provider: func() (uint64, error) { return 0, errors.New("permission denied") }, log: "Cannot read the cgroup's memory limit"},
	} {
		t.Run(name, func(t *testing.T) {
			keepMemoryLimit(t)
			debug.SetMemoryLimit(math.MaxInt64)
			if tc.env != "" {
				t.Setenv("GOMEMLIMIT", tc.env)
			}
			var logs bytes.Buffer
			setMemoryLimit(0.9, tc.provider, log.NewLogfmtLogger(&logs))
			if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
				t.Errorf("Go memory limit %d, want it left unset", got)
			}
			if tc.log == "" && (strings.Contains(logs.String(), "level=info") || strings.Contains(logs.String(), "level=warn")) {
				t.Errorf("logged above debug where nothing is wrong and nothing was set: %s", logs.String())
			}
			if tc.log != "" && !strings.Contains(logs.String(), tc.log) {
				t.Errorf("log %q, want %q", logs.String(), tc.log)
			}
		})
	}
}

func TestMemoryLimitRatioIsChecked(t *testing.T) {
	for _, bad := range []string{"0", "-0.5", "1.5", "NaN"} {
		var stderr bytes.Buffer
		_, code, done := parseFlags([]string{"--auto-gomemlimit.ratio=" + bad}, &bytes.Buffer{}, &stderr)
		if !done || code != 2 || !strings.Contains(stderr.String(), "--auto-gomemlimit.ratio") {
			t.Errorf("ratio %s: exit %d (done %v), stderr %q; want 2 naming the flag", bad, code, done, stderr.String())
		}
	}
	f, _, done := parseFlags([]string{"--auto-gomemlimit.ratio=1"}, &bytes.Buffer{}, &bytes.Buffer{})
	if done || f.memLimitRatio != 1 || !f.autoMemLimit {
		t.Errorf("ratio 1 refused, or --auto-gomemlimit off by default: %+v", f)
	}
}
