package benchkit

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine describes where and when a measurement ran, for RESULTS.md.
func Machine() string {
	load := "?"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			load = strings.Join(f[:3], " ")
		}
	}
	cpu := "?"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("%s, %s, %d CPUs (%s), load average %s", time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version(), runtime.NumCPU(), cpu, load)
}

// LoadAverage returns the 1-minute load average.
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// WaitQuiet waits until the 1-minute load average is below limit, or max
// has passed; it says which.
func WaitQuiet(limit float64, max time.Duration) string {
	deadline := time.Now().Add(max)
	for {
		l := LoadAverage()
		if l >= 0 && l < limit {
			return fmt.Sprintf("load average %.2f (below %.2f)", l, limit)
		}
		if time.Now().After(deadline) {
			return fmt.Sprintf("load average %.2f: the machine did not get below %.2f within %s; numbers taken under that load", l, limit, max)
		}
		time.Sleep(5 * time.Second)
	}
}

// ProcStat is a process's CPU time and memory from /proc.
type ProcStat struct {
	CPU     time.Duration // user + system
	RSS     int64         // bytes (VmRSS)
	HWM     int64         // peak RSS (VmHWM)
	Threads int
}

var clockTicks = func() int64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && v > 0 {
			return v
		}
	}
	return 100
}()

// Stat reads /proc/PID/stat (utime, stime) and /proc/PID/status (VmRSS,
// VmHWM, Threads).
func Stat(pid int) (ProcStat, error) {
	var s ProcStat
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name is in parentheses and may hold spaces: fields
	// count from the last ')'.
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	// After ")": state(3) ... utime is field 14 and stime 15 of the whole
	// line, so 11 and 12 here (0-based after the state at 0).
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	s.CPU = time.Duration((ut + st) * int64(time.Second) / clockTicks)
	st2, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(st2), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "VmRSS", "VmHWM":
			n, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
			if k == "VmRSS" {
				s.RSS = n * 1024
			} else {
				s.HWM = n * 1024
			}
		case "Threads":
			s.Threads, _ = strconv.Atoi(v)
		}
	}
	return s, nil
}

// SelfCPU is this process's CPU time so far.
func SelfCPU() time.Duration {
	s, err := Stat(os.Getpid())
	if err != nil {
		return 0
	}
	return s.CPU
}

// MiB formats bytes in MiB.
func MiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// MetricMiB formats a byte count read from the exporter's /metrics in MiB,
// or "?" when it was not read (0).
func MetricMiB(v float64) string {
	if v == 0 {
		return "?"
	}
	return MiB(int64(v))
}
