package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/common/version"
)

func TestStampVersion(t *testing.T) {
	saved := [2]string{version.Version, version.BuildDate}
	t.Cleanup(func() { version.Version, version.BuildDate = saved[0], saved[1] })

	for _, tc := range []struct {
		name      string
		preset    string // set by -ldflags
		info      *debug.BuildInfo
		ok        bool
		want      string
		wantBuild string
	}{
		{"tagged checkout", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}}},
			true, "0.3.0", "2026-12-01T10:00:00Z"},
		{"untagged commit", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201100000-0123456789ab+dirty"}},
			true, "0.0.0-20261201100000-0123456789ab+dirty", ""},
		{"go run", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, develVersion, ""},
		{"no build info", "", nil, false, develVersion, ""},
		{"release build", "1.0.0", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-x"}}, true, "1.0.0", ""},
	} {
		version.Version, version.BuildDate = tc.preset, ""
		stampVersion(tc.info, tc.ok)
		if version.Version != tc.want || version.BuildDate != tc.wantBuild {
			t.Errorf("%s: version %q build date %q, want %q %q", tc.name, version.Version, version.BuildDate, tc.want, tc.wantBuild)
		}
	}
}

// TestVersionFromGitCheckout builds the command as a user does, with a
// plain `go build` (no -ldflags) in a git checkout of this source tagged
// v0.9.8, and runs --version: it must name the tag and the commit.
func TestVersionFromGitCheckout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command in a fresh git checkout")
	}
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	files, err := exec.Command(gitPath, "-C", root, "ls-files", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Skipf("the source is not a git checkout: %v", err)
	}
	dir := t.TempDir()
	for _, f := range strings.Fields(string(files)) {
		data, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(gitPath, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.test",
			"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.test", "GIT_CONFIG_GLOBAL=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "release")
	git("tag", "v0.9.8")
	commit := git("rev-parse", "HEAD")

	bin := filepath.Join(t.TempDir(), "deliverability_exporter")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/deliverability_exporter")
	build.Dir = dir
	// The default -buildvcs=auto, whatever the environment or go env -w say.
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=auto")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	want := regexp.MustCompile(`(?m)^deliverability_exporter, version 0\.9\.8 \(branch: [^,]*, revision: ` + commit + `\)$`)
	if !want.Match(out) {
		t.Errorf("--version of a plain go build at tag v0.9.8, commit %s:\n%s", commit, out)
	}
}
