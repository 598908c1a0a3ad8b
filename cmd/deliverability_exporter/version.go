package main

import (
	"runtime/debug"
	"strings"

	"github.com/prometheus/common/version"
)

// develVersion is the version of a build that knows none: go run, or a
// build outside a git checkout without -ldflags.
const develVersion = "devel"

func init() { stampVersion(debug.ReadBuildInfo()) }

// stampVersion fills in prometheus/common/version's Version, which release
// builds set with -ldflags -X (.ci/release, the Dockerfile), from what Go
// embeds in every binary: a plain `go build` in a git checkout records the
// module version (the tag on the commit, or a pseudo-version that names
// the commit, with +dirty for uncommitted changes) and the commit itself,
// which version.GetRevision already reads. Values set by -ldflags win.
func stampVersion(info *debug.BuildInfo, ok bool) {
	if version.Version != "" {
		return
	}
	version.Version = develVersion
	if !ok || info == nil {
		return
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		version.Version = strings.TrimPrefix(v, "v")
	}
	if version.BuildDate == "" {
		for _, s := range info.Settings {
			if s.Key == "vcs.time" {
				// The commit's time: the closest a VCS-stamped build has
				// to a build date, and reproducible.
				version.BuildDate = s.Value
			}
		}
	}
}
