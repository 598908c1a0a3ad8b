package main

import (
	"errors"
	"math"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// setMemoryLimit gives the Go runtime a soft memory limit of ratio times
// the memory limit of the exporter's cgroup (a container's limit), as
// Prometheus does with the same flags. Go's collector lets the heap grow
// to twice what is live before it collects: an exporter whose caches are
// full would otherwise be killed by the container's limit for garbage it
// had not collected yet. A GOMEMLIMIT in the environment wins (and
// AUTOMEMLIMIT=off turns it off). Without a cgroup limit nothing changes.
func setMemoryLimit(ratio float64, provider memlimit.Provider, logger log.Logger) {
	before := debug.SetMemoryLimit(-1)
	limit, err := memlimit.Set(memlimit.WithRatio(ratio), memlimit.WithProvider(provider))
	switch {
	case errors.Is(err, memlimit.ErrCgroupsNotSupported), errors.Is(err, memlimit.ErrNoCgroup):
		level.Debug(logger).Log("msg", "No cgroup to read a memory limit from; the Go memory limit is left as it is", "err", err)
	case err != nil:
		level.Warn(logger).Log("msg", "Cannot read the cgroup's memory limit; the Go memory limit is left as it is", "err", err)
	case limit != before && limit < math.MaxInt64:
		level.Info(logger).Log("msg", "Set the Go memory limit from the cgroup's", "gomemlimit_bytes", limit, "ratio", ratio)
	}
}
