package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nicModules returns the virtio-net modules in load order (netboot.md).
func nicModules() []string {
	return []string{"virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci", "failover", "net_failover", "virtio_net"}
}

// kernel is a Debian kernel extracted into the cache.
type kernel struct {
	vmlinuz string
	modules []string // .ko paths in load order (built-in ones absent)
}

func cacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "atoll-e2e")
	}
	if os.Geteuid() == 0 {
		return "/var/cache/atoll-e2e"
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "atoll-e2e")
	}
	return filepath.Join(os.TempDir(), "atoll-e2e")
}

// debianKernel returns the kernel package linux-image-amd64 depends on,
// downloaded with apt-get download and extracted (vmlinuz and the NIC
// modules) into the cache, or skips the test when that is impossible.
func debianKernel(t *testing.T) kernel {
	t.Helper()
	for _, tool := range []string{"apt-cache", "apt-get", "dpkg-deb", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: the kernel comes from Debian's linux-image-amd64 (run on Debian with apt)", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", "linux-image-amd64").Output()
	if err != nil {
		t.Skipf("apt-cache depends linux-image-amd64: %v (run apt-get update)", err)
	}
	pkg := ""
	for _, l := range strings.Split(string(out), "\n") {
		if dep, ok := strings.CutPrefix(strings.TrimSpace(l), "Depends: "); ok && strings.HasPrefix(dep, "linux-image-") {
			pkg = dep
			break
		}
	}
	if pkg == "" {
		t.Skipf("linux-image-amd64 has no linux-image-* dependency:\n%s", out)
	}
	dir := filepath.Join(cacheDir(), pkg)
	k, err := loadKernel(dir)
	if err == nil {
		return k
	}
	if err := os.MkdirAll(cacheDir(), 0o755); err != nil {
		t.Skipf("kernel cache %s: %v", cacheDir(), err)
	}
	dl, err := os.MkdirTemp(cacheDir(), "download-")
	if err != nil {
		t.Skipf("kernel cache: %v", err)
	}
	defer os.RemoveAll(dl)
	os.Chmod(dl, 0o755)
	t.Logf("downloading %s into %s", pkg, cacheDir())
	cmd := exec.CommandContext(ctx, "apt-get", "download", pkg)
	cmd.Dir = dl
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("apt-get download %s failed (no network or no apt sources?): %v\n%s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dl, "*.deb"))
	if len(debs) != 1 {
		t.Fatalf("apt-get download %s left %v", pkg, debs)
	}
	x := filepath.Join(dl, "x")
	os.Mkdir(x, 0o755)
	sh := fmt.Sprintf("dpkg-deb --fsys-tarfile %q | tar -x -C %q --wildcards './boot/vmlinuz-*' '*/modules.builtin' '*/virtio*.ko' '*/failover.ko' '*/net_failover.ko'", debs[0], x)
	if out, err := exec.CommandContext(ctx, "sh", "-c", sh).CombinedOutput(); err != nil {
		t.Fatalf("extract %s: %v\n%s", debs[0], err, out)
	}
	staged := filepath.Join(dl, "staged")
	os.MkdirAll(filepath.Join(staged, "modules"), 0o755)
	vmlinuz, _ := filepath.Glob(filepath.Join(x, "boot", "vmlinuz-*"))
	if len(vmlinuz) != 1 {
		t.Fatalf("no vmlinuz in %s", debs[0])
	}
	if err := os.Rename(vmlinuz[0], filepath.Join(staged, "vmlinuz")); err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	filepath.WalkDir(x, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			found[d.Name()] = p
		}
		return nil
	})
	if p, ok := found["modules.builtin"]; ok {
		if err := os.Rename(p, filepath.Join(staged, "modules.builtin")); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range nicModules() {
		if p, ok := found[m+".ko"]; ok {
			if err := os.Rename(p, filepath.Join(staged, "modules", m+".ko")); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Publish atomically; a concurrent run may have won the race.
	os.RemoveAll(dir) // an incomplete copy of an older version of this test
	if err := os.Rename(staged, dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(dir); statErr != nil {
			t.Fatalf("publish kernel: %v", err)
		}
	}
	k, err = loadKernel(dir)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func loadKernel(dir string) (kernel, error) {
	k := kernel{vmlinuz: filepath.Join(dir, "vmlinuz")}
	if _, err := os.Stat(k.vmlinuz); err != nil {
		return k, err
	}
	builtin, err := os.ReadFile(filepath.Join(dir, "modules.builtin"))
	if err != nil {
		return k, err
	}
	for _, m := range nicModules() {
		p := filepath.Join(dir, "modules", m+".ko")
		if _, err := os.Stat(p); err == nil {
			k.modules = append(k.modules, p)
		} else if !strings.Contains(string(builtin), "/"+m+".ko\n") {
			return k, fmt.Errorf("module %s neither in %s nor built in", m, dir)
		}
	}
	return k, nil
}
