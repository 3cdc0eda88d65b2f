//go:build linux

package httpboot

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// beneathOpener opens a file below an [os.Root] with one openat2(2) call
// resolved with RESOLVE_BENEATH (no "..", absolute path or symbolic link
// may leave the directory) instead of os.Root's walk of one openat per
// path element. It keeps one directory descriptor per root it has seen,
// for the roots' lifetime (they are few: the boot file root and one per
// OSTree repository version). Where the kernel lacks openat2 (before 5.6)
// it falls back to os.Root.
type beneathOpener struct {
	dirs   sync.Map // *os.Root -> *os.File (the root directory)
	dirsMu sync.Mutex
	noSys  atomic.Bool
}

func (b *beneathOpener) open(root *os.Root, p string) (*os.File, error) {
	if b.noSys.Load() {
		return root.Open(p)
	}
	dir, err := b.dir(root)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Openat2(int(dir.Fd()), p, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	})
	switch {
	case errors.Is(err, unix.ENOSYS):
		b.noSys.Store(true)
		return root.Open(p)
	case err != nil:
		return nil, &os.PathError{Op: "openat2", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

func (b *beneathOpener) dir(root *os.Root) (*os.File, error) {
	if d, ok := b.dirs.Load(root); ok {
		return d.(*os.File), nil
	}
	b.dirsMu.Lock()
	defer b.dirsMu.Unlock()
	if d, ok := b.dirs.Load(root); ok {
		return d.(*os.File), nil
	}
	d, err := root.Open(".")
	if err != nil {
		return nil, err
	}
	b.dirs.Store(root, d)
	return d, nil
}
