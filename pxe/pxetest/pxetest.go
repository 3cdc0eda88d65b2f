package pxetest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Tool returns the absolute path of the command name, or skips the test
// with a message naming the Debian package aptPkg to install.
func Tool(t testing.TB, name, aptPkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not found: install it with `apt-get install -y --no-install-recommends %s`", name, aptPkg)
	}
	return p
}

// Run runs a command and fails the test with its output when it fails.
func Run(t testing.TB, ctx context.Context, name string, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TreeSpec describes the generated tree committed into a repository.
type TreeSpec struct {
	// Files is the number of regular files. Default: 200.
	Files int
	// Bytes is their approximate total size. Default: 2 MiB.
	Bytes int64
	// Seed makes the content reproducible.
	Seed uint64
	// StaticDelta also generates a static delta from empty to the commit.
	StaticDelta bool
}

// OSTreeRepo creates an archive repository in dir (which must not exist or
// be empty), commits a generated tree on ref and updates the summary. It
// returns the commit checksum. It skips the test when ostree is missing.
func OSTreeRepo(t testing.TB, dir, ref string, spec TreeSpec) string {
	t.Helper()
	ostree := Tool(t, "ostree", "ostree")
	if spec.Files <= 0 {
		spec.Files = 200
	}
	if spec.Bytes <= 0 {
		spec.Bytes = 2 << 20
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tree := filepath.Join(t.TempDir(), "tree")
	if err := WriteTree(tree, spec); err != nil {
		t.Fatal(err)
	}
	Run(t, ctx, ostree, "--repo="+dir, "init", "--mode=archive")
	Run(t, ctx, ostree, "--repo="+dir, "commit", "--branch="+ref, "--subject=atoll test tree",
		"--owner-uid=0", "--owner-gid=0", "--timestamp=2026-01-01T00:00:00Z", "--tree=dir="+tree)
	commit := strings.TrimSpace(Run(t, ctx, ostree, "--repo="+dir, "rev-parse", ref))
	if spec.StaticDelta {
		Run(t, ctx, ostree, "--repo="+dir, "static-delta", "generate", "--empty", "--to="+commit)
	}
	Run(t, ctx, ostree, "--repo="+dir, "summary", "-u")
	return commit
}

// WriteTree writes the files spec describes under dir: spec.Files files in
// directories of 100, sizes spread around the mean, half of each file
// random and half repeated text so that compression has work to do.
func WriteTree(dir string, spec TreeSpec) error {
	rng := rand.New(rand.NewPCG(spec.Seed, 0x61746f6c6c))
	mean := spec.Bytes / int64(spec.Files)
	for i := range spec.Files {
		d := filepath.Join(dir, fmt.Sprintf("d%03d", i/100))
		if i%100 == 0 {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		size := mean/2 + rng.Int64N(mean+1)
		b := make([]byte, size)
		half := size / 2
		for j := int64(0); j < half; j += 8 {
			v := rng.Uint64()
			for k := int64(0); k < 8 && j+k < half; k++ {
				b[j+k] = byte(v >> (8 * k))
			}
		}
		copy(b[half:], bytes.Repeat([]byte(fmt.Sprintf("atoll file %d ", i)), int(size)/10+1))
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%05d.bin", i)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// PullOSTree pulls ref from url into a new repository of the given mode
// ("archive", "bare-user", ...) in dir with the stock `ostree pull`, then
// runs `ostree fsck` on it. It returns the time the pull took and the
// pulled commit.
func PullOSTree(t testing.TB, ctx context.Context, dir, mode, url, ref string) (time.Duration, string) {
	t.Helper()
	ostree := Tool(t, "ostree", "ostree")
	Run(t, ctx, ostree, "--repo="+dir, "init", "--mode="+mode)
	Run(t, ctx, ostree, "--repo="+dir, "remote", "add", "--no-gpg-verify", "origin", url)
	start := time.Now()
	Run(t, ctx, ostree, "--repo="+dir, "pull", "origin", ref)
	took := time.Since(start)
	Run(t, ctx, ostree, "--repo="+dir, "fsck")
	commit := strings.TrimSpace(Run(t, ctx, ostree, "--repo="+dir, "rev-parse", "origin:"+ref))
	return took, commit
}
