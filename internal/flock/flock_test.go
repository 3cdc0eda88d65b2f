package flock_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/internal/flock"
)

// TestMain lets the test binary hold a lock in a child process.
func TestMain(m *testing.M) {
	if path := os.Getenv("FLOCK_TEST_HOLD"); path != "" {
		if _, err := flock.TryLock(path); err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		fmt.Println("LOCKED")
		os.Stdin.Read(make([]byte, 1)) // hold until the parent closes stdin or kills us
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestTryLock: a lock held by another process is refused with its pid; it
// is free again once that process is killed with SIGKILL; Unlock frees it
// for the next holder.
func TestTryLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "FLOCK_TEST_HOLD="+path)
	stdin, _ := child.StdinPipe()
	out, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	buf := make([]byte, 64)
	if n, _ := out.Read(buf); string(buf[:n]) != "LOCKED\n" {
		t.Fatalf("child: %q", buf[:n])
	}

	_, err := flock.TryLock(path)
	var le *flock.LockedError
	if !errors.Is(err, flock.ErrLocked) || !errors.As(err, &le) || le.PID != child.Process.Pid {
		t.Fatalf("TryLock while the child holds it: %v, want a LockedError naming pid %d", err, child.Process.Pid)
	}

	child.Process.Kill()
	child.Wait()
	l, err := flock.TryLock(path)
	if err != nil {
		t.Fatalf("TryLock after the holder's SIGKILL: %v", err)
	}
	if _, err := flock.TryLock(path); !errors.Is(err, flock.ErrLocked) {
		// flock locks belong to open file descriptions: a second open
		// in the same process is refused too.
		t.Fatalf("second TryLock in the same process: %v", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := flock.TryLock(path)
	if err != nil {
		t.Fatalf("TryLock after Unlock: %v", err)
	}
	l2.Unlock()
}

// TestAcquireWaits: Acquire waits while the lock is held, returns the context's
// error with the holder named when it ends first, and takes the lock once
// it is released.
func TestAcquireWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	held, err := flock.TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := flock.Acquire(ctx, path, 10*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, flock.ErrLocked) {
		t.Fatalf("Acquire while held: %v, want the deadline and ErrLocked", err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		held.Unlock()
	}()
	l, err := flock.Acquire(context.Background(), path, 10*time.Millisecond)
	if err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
	l.Unlock()
}
