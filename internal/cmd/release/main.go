// Command release builds the release artefacts: for each platform a static
// binary (CGO_ENABLED=0) in a tarball with the licence, the changelog, the
// README and the example configuration, and a sha256sums.txt over the
// tarballs, in the format `sha256sum -c` reads. It needs nothing but Go
// (and git, to read the version and commit when they are not given):
//
//	.ci/release                        # the version from the tag on HEAD
//	.ci/release -version 0.2.0-rc.1    # any version
//
// The build is reproducible: the same commit gives the same bytes (paths
// trimmed, no VCS stamping, the commit's time as build date and tar
// timestamps), so anyone can check a published checksum.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

const (
	programName = "deliverability_exporter"
	versionPkg  = "github.com/prometheus/common/version"
	checksums   = "sha256sums.txt"
)

// DefaultPlatforms are the platforms of a release.
var DefaultPlatforms = []string{"linux/amd64", "linux/arm64"}

// packaged are the files beside the binary in every tarball.
var packaged = []string{"LICENSE", "CHANGELOG.md", "README.md", "config.example.yml"}

// options say what to build.
type options struct {
	root      string // the repository
	out       string // the output directory
	version   string
	revision  string
	branch    string
	buildUser string
	date      time.Time
	platforms []string
	log       io.Writer
}

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(args []string, log io.Writer) error {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.SetOutput(log)
	o := options{log: log}
	var platforms, date string
	fs.StringVar(&o.root, "root", ".", "the repository to build")
	fs.StringVar(&o.out, "out", "dist", "directory for the artefacts (created; existing artefacts of the same names are replaced)")
	fs.StringVar(&o.version, "version", "", "the version, without a leading v (default: the vX.Y.Z tag on HEAD)")
	fs.StringVar(&o.revision, "revision", "", "the commit (default: git rev-parse HEAD)")
	fs.StringVar(&o.branch, "branch", "", "the branch (default: the branch checked out, or HEAD)")
	fs.StringVar(&o.buildUser, "build-user", "release", "the build user the binary reports")
	fs.StringVar(&date, "date", "", "build date, RFC 3339 (default: the commit's time)")
	fs.StringVar(&platforms, "platforms", strings.Join(DefaultPlatforms, ","), "GOOS/GOARCH pairs, comma-separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	o.platforms = strings.Split(platforms, ",")
	if date != "" {
		t, err := time.Parse(time.RFC3339, date)
		if err != nil {
			return fmt.Errorf("-date: %w", err)
		}
		o.date = t
	}
	if err := o.fillFromGit(); err != nil {
		return err
	}
	return build(o)
}

var versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?$`)

// fillFromGit reads what was not given from the checkout.
func (o *options) fillFromGit() error {
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = o.root
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(ee.Stderr))
			}
			return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if o.version == "" {
		tag, err := git("describe", "--tags", "--exact-match", "--match", "v[0-9]*", "HEAD")
		if err != nil {
			return fmt.Errorf("no -version given and HEAD has no vX.Y.Z tag (%v)", err)
		}
		o.version = strings.TrimPrefix(tag, "v")
	}
	o.version = strings.TrimPrefix(o.version, "v")
	if !versionRE.MatchString(o.version) {
		return fmt.Errorf("version %q is not X.Y.Z or X.Y.Z-suffix", o.version)
	}
	if o.revision == "" {
		rev, err := git("rev-parse", "HEAD")
		if err != nil {
			return fmt.Errorf("no -revision given: %w", err)
		}
		if status, err := git("status", "--porcelain", "--untracked-files=no"); err == nil && status != "" {
			rev += "-modified" // as Go's own VCS stamping says it
		}
		o.revision = rev
	}
	if o.branch == "" {
		if b, err := git("rev-parse", "--abbrev-ref", "HEAD"); err == nil {
			o.branch = b
		} else {
			o.branch = "unknown"
		}
	}
	if o.date.IsZero() {
		if d, err := git("log", "-1", "--format=%cI", "HEAD"); err == nil {
			if t, err := time.Parse(time.RFC3339, d); err == nil {
				o.date = t
			}
		}
		if o.date.IsZero() {
			return errors.New("no -date given and the commit's time is unknown")
		}
	}
	return nil
}

// build writes a tarball per platform and the checksums of all of them.
func build(o options) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	sums := map[string]string{}
	for _, p := range o.platforms {
		goos, goarch, ok := strings.Cut(strings.TrimSpace(p), "/")
		if !ok || goos == "" || goarch == "" {
			return fmt.Errorf("platform %q is not GOOS/GOARCH", p)
		}
		name, sum, err := buildPlatform(o, goos, goarch)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", goos, goarch, err)
		}
		sums[name] = sum
		fmt.Fprintf(o.log, "%s  %s\n", sum, filepath.Join(o.out, name))
	}
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", sums[n], n)
	}
	return os.WriteFile(filepath.Join(o.out, checksums), []byte(b.String()), 0o644)
}

// buildPlatform builds one binary and packs it; it returns the tarball's
// name and SHA-256.
func buildPlatform(o options, goos, goarch string) (string, string, error) {
	base := fmt.Sprintf("%s-%s.%s-%s", programName, o.version, goos, goarch)
	tmp, err := os.MkdirTemp("", "release-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, programName)
	ldflags := strings.Join([]string{
		"-s", "-w",
		"-X", versionPkg + ".Version=" + o.version,
		"-X", versionPkg + ".Revision=" + o.revision,
		"-X", versionPkg + ".Branch=" + o.branch,
		"-X", versionPkg + ".BuildUser=" + o.buildUser,
		"-X", versionPkg + ".BuildDate=" + o.date.UTC().Format("20060102-15:04:05"),
	}, " ")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", bin, "./cmd/"+programName)
	cmd.Dir = o.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=-mod=readonly")
	cmd.Stdout, cmd.Stderr = o.log, o.log
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("go build: %w", err)
	}

	name := base + ".tar.gz"
	var buf bytes.Buffer
	if err := pack(&buf, base, o.date, bin, o.root); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(filepath.Join(o.out, name), buf.Bytes(), 0o644); err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return name, hex.EncodeToString(sum[:]), nil
}

// pack writes the tarball: base/ with the binary and the packaged files,
// owned by root, dated mtime, so the bytes depend on the content only.
func pack(w io.Writer, base string, mtime time.Time, bin, root string) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	add := func(path, name string, mode int64) error {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		hdr := &tar.Header{
			Name: base + "/" + name, Mode: mode, Size: int64(len(data)),
			ModTime: mtime.UTC().Truncate(time.Second), Typeflag: tar.TypeReg,
			Uname: "root", Gname: "root", Format: tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: base + "/", Mode: 0o755, Typeflag: tar.TypeDir,
		ModTime: mtime.UTC().Truncate(time.Second), Uname: "root", Gname: "root", Format: tar.FormatPAX}); err != nil {
		return err
	}
	if err := add(bin, programName, 0o755); err != nil {
		return err
	}
	for _, f := range packaged {
		if err := add(filepath.Join(root, f), f, 0o644); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}
