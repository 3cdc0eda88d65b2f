package pgtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestSweepStale removes the directories of dead servers and of old
// interrupted initdbs, and keeps those of live servers and fresh starts.
func TestSweepStale(t *testing.T) {
	// A process that has exited: its pid is free (until reused, which a
	// test this short does not meet in practice).
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(pid int, age time.Duration) string {
		t.Helper()
		dir, err := os.MkdirTemp("/tmp", dirPrefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if pid > 0 {
			os.MkdirAll(filepath.Join(dir, "data"), 0o700)
			if err := os.WriteFile(filepath.Join(dir, "data", "postmaster.pid"), []byte(strconv.Itoa(pid)+"\n/x\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(dir, old, old); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	deadDir := mk(dead.Process.Pid, 0)
	liveDir := mk(os.Getpid(), time.Hour)
	freshDir := mk(0, time.Minute)
	oldDir := mk(0, time.Hour)
	sweepStale(time.Now())
	for dir, keep := range map[string]bool{deadDir: false, liveDir: true, freshDir: true, oldDir: false} {
		_, err := os.Stat(dir)
		if exists := err == nil; exists != keep {
			t.Errorf("%s: exists=%v after the sweep, want %v", dir, exists, keep)
		}
	}
}
