// Package flock takes advisory, process-exclusive locks on files, so that
// two processes never share state that only one may own: an image store
// directory, a controller's data directory, a SQLite database's writer.
//
// A lock is an flock(2) on a lock file, released by the kernel when its
// holder exits, even by SIGKILL: there is no stale lock to clean up after a
// crash. The holder writes its process id into the file, so a refusal can
// name it. Where flock(2) does not exist, locks always succeed.
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrLocked reports that another process holds the lock.
var ErrLocked = errors.New("locked by another process")

// LockedError is the error of [TryLock] when another process holds the
// lock. It matches [ErrLocked] with errors.Is.
type LockedError struct {
	Path string
	PID  int // the holder's process id as it wrote it, 0 if unknown
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("%s is locked by process %d", e.Path, e.PID)
	}
	return fmt.Sprintf("%s is locked by another process", e.Path)
}

// Is makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Lock is a held lock.
type Lock struct {
	f *os.File
}

// TryLock creates path if needed and takes its lock without waiting: it
// returns a *LockedError if another process holds it. The lock is held
// until Unlock or the process's exit.
func TryLock(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := tryLock(f); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			b, _ := os.ReadFile(path)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return nil, &LockedError{Path: path, PID: pid}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// The holder's pid, for the refusal message of the next one.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Acquire takes path's lock, waiting (polling every interval) while another
// process holds it, until ctx ends.
func Acquire(ctx context.Context, path string, interval time.Duration) (*Lock, error) {
	for {
		l, err := TryLock(path)
		if !errors.Is(err, ErrLocked) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		case <-time.After(interval):
		}
	}
}

// Unlock releases the lock. The file stays (removing it would race with a
// process about to lock it).
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}
