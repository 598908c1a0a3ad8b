package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// TestRelease builds the default platforms as .ci/release does, twice, and
// checks the artefacts: the checksums file, the tarballs' content, static
// binaries for the right machine, the version the binary reports, and the
// same bytes from the second build.
func TestRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the command for every release platform")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	args := func(out string) []string {
		return []string{"-root", root, "-out", out, "-version", "1.2.3-rc.1", "-revision", "0123456789abcdef",
			"-branch", "release-1.2", "-date", "2026-11-21T12:00:00Z"}
	}
	first, second := t.TempDir(), t.TempDir()
	var log bytes.Buffer
	if err := run(args(first), &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if err := run(args(second), &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}

	sums, err := os.ReadFile(filepath.Join(first, checksums))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(second, checksums))
	if !bytes.Equal(sums, again) {
		t.Errorf("two builds of the same source differ:\n%s\n%s", sums, again)
	}
	lines := strings.Split(strings.TrimSpace(string(sums)), "\n")
	if len(lines) != len(DefaultPlatforms) {
		t.Fatalf("%s lists %d files, want one per platform %v:\n%s", checksums, len(lines), DefaultPlatforms, sums)
	}
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for i, p := range DefaultPlatforms {
		goos, goarch, _ := strings.Cut(p, "/")
		base := "deliverability_exporter-1.2.3-rc.1." + goos + "-" + goarch
		sum, name, _ := strings.Cut(lines[i], "  ")
		if name != base+".tar.gz" {
			t.Errorf("%s line %d names %q, want %s.tar.gz", checksums, i+1, name, base)
			continue
		}
		data, err := os.ReadFile(filepath.Join(first, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: checksum %s, the file's is %x", name, sum, got)
		}
		files := untar(t, data)
		var got []string
		for n := range files {
			got = append(got, n)
		}
		sort.Strings(got)
		want := []string{base + "/CHANGELOG.md", base + "/LICENSE", base + "/README.md", base + "/config.example.yml", base + "/deliverability_exporter"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s holds %v, want %v", name, got, want)
		}
		bin := files[base+"/deliverability_exporter"]
		f, err := elf.NewFile(bytes.NewReader(bin))
		if err != nil {
			t.Fatalf("%s: the binary is not ELF: %v", name, err)
		}
		if f.Machine != machines[goarch] {
			t.Errorf("%s: machine %v, want %v", name, f.Machine, machines[goarch])
		}
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				t.Errorf("%s: the binary asks for a dynamic loader: not static", name)
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Errorf("%s: the binary needs %v: not static", name, libs)
		}
		f.Close()

		if goos == runtime.GOOS && goarch == runtime.GOARCH {
			path := filepath.Join(t.TempDir(), "deliverability_exporter")
			if err := os.WriteFile(path, bin, 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(path, "--version").CombinedOutput()
			if err != nil {
				t.Fatalf("--version: %v\n%s", err, out)
			}
			for _, want := range []string{
				"deliverability_exporter, version 1.2.3-rc.1 (branch: release-1.2, revision: 0123456789abcdef)",
				"build user:       release",
				"build date:       20261121-12:00:00",
			} {
				if !strings.Contains(string(out), want) {
					t.Errorf("--version lacks %q:\n%s", want, out)
				}
			}
		}
	}
}

func TestReleaseRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-version", "latest", "-revision", "x", "-branch", "b", "-date", "2026-01-01T00:00:00Z"}, "is not X.Y.Z"},
		{[]string{"-version", "1.0.0", "-revision", "x", "-branch", "b", "-date", "yesterday"}, "-date"},
		{[]string{"-version", "1.0.0", "-revision", "x", "-branch", "b", "-date", "2026-01-01T00:00:00Z", "-platforms", "linux"}, "not GOOS/GOARCH"},
		{[]string{"-version", "1.0.0", "extra"}, "unexpected arguments"},
	} {
		var log bytes.Buffer
		tc.args = append([]string{"-out", t.TempDir()}, tc.args...)
		err := run(tc.args, &log)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

func untar(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if hdr.Uid != 0 || hdr.Uname != "root" {
			t.Errorf("%s owned by %d/%s, want root", hdr.Name, hdr.Uid, hdr.Uname)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[hdr.Name] = b
	}
}
