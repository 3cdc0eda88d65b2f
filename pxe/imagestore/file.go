package imagestore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/atoll-edge/atoll/internal/flock"
)

// Options configure a [FileStore]. The zero value means defaults.
type Options struct {
	// Logger receives registration and verification events. Default: discard.
	Logger *slog.Logger
	// Now is the clock stamping registrations. Default: time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// FileStore is a [Store] kept in a directory. It is safe for concurrent use.
type FileStore struct {
	opts Options
	root *os.Root
	lock *flock.Lock

	mu     sync.RWMutex
	images map[string][]Image  // name -> versions in registration order
	repos  map[string]*os.Root // "name/version" -> open repository root
	closed bool
}

var _ Store = (*FileStore)(nil)

const (
	indexFile = "index.json"
	blobDir   = "blobs/sha256"
	repoDir   = "repos"
	tmpDir    = "tmp"
	lockFile  = "lock" // held by the process that has the store open
)

// Open opens (creating it if needed) the store kept in dir. One process at
// a time has a store open: while one has, Open in another fails with an
// error matching [ErrInUse] that names it. The lock goes with the process
// (even a crash releases it).
func Open(dir string, opts Options) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("imagestore: %w", err)
	}
	lock, err := flock.TryLock(filepath.Join(dir, lockFile))
	if errors.Is(err, flock.ErrLocked) {
		return nil, fmt.Errorf("%w: %w", ErrInUse, err)
	}
	if err != nil {
		return nil, fmt.Errorf("imagestore: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		lock.Unlock()
		return nil, fmt.Errorf("imagestore: %w", err)
	}
	s := &FileStore{opts: opts.withDefaults(), root: root, lock: lock, images: map[string][]Image{}, repos: map[string]*os.Root{}}
	if err := s.load(); err != nil {
		root.Close()
		lock.Unlock()
		return nil, err
	}
	return s, nil
}

func (s *FileStore) load() error {
	for _, d := range []string{blobDir, repoDir, tmpDir} {
		if err := s.root.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("imagestore: %w", err)
		}
	}
	// Leftovers of registrations interrupted by a crash.
	if err := s.root.RemoveAll(tmpDir); err != nil {
		return fmt.Errorf("imagestore: clean %s: %w", tmpDir, err)
	}
	if err := s.root.Mkdir(tmpDir, 0o755); err != nil {
		return fmt.Errorf("imagestore: %w", err)
	}
	b, err := s.root.ReadFile(indexFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("imagestore: read index: %w", err)
	}
	var idx struct {
		Images []Image `json:"images"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return fmt.Errorf("imagestore: decode index: %w", err)
	}
	for _, img := range idx.Images {
		if validate("name", img.Name) != nil || validate("version", img.Version) != nil || validateDigest(img.SHA256) != nil {
			return fmt.Errorf("imagestore: index holds an invalid entry %q/%q", img.Name, img.Version)
		}
		s.images[img.Name] = append(s.images[img.Name], img)
	}
	return nil
}

// Close releases the store's directory handles. Files and roots handed out
// before remain usable until their holders close them or, for repository
// roots, until Close.
func (s *FileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	for k, r := range s.repos {
		r.Close()
		delete(s.repos, k)
	}
	return errors.Join(s.root.Close(), s.lock.Unlock())
}

// Stat returns the latest version registered under name.
func (s *FileStore) Stat(ctx context.Context, name string) (Image, error) {
	if err := ValidateName(name); err != nil {
		return Image{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.latestLocked(name)
}

// StatVersion returns the given version of name.
func (s *FileStore) StatVersion(ctx context.Context, name, version string) (Image, error) {
	if err := ValidateName(name); err != nil {
		return Image{}, err
	}
	if err := validate("version", version); err != nil {
		return Image{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, img := range s.images[name] {
		if img.Version == version {
			return img, nil
		}
	}
	return Image{}, fmt.Errorf("%w: %s version %s", ErrNotFound, name, version)
}

func (s *FileStore) latestLocked(name string) (Image, error) {
	v := s.images[name]
	if len(v) == 0 {
		return Image{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return v[len(v)-1], nil
}

// List returns the latest version of every name, sorted by name.
func (s *FileStore) List(ctx context.Context) ([]Image, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Image, 0, len(s.images))
	for _, v := range s.images {
		out = append(out, v[len(v)-1])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// URL returns the HTTP address of the image called name under base, after
// checking that it is registered. See the package-level [URL].
func (s *FileStore) URL(ctx context.Context, base, name string) (string, error) {
	if _, err := s.Stat(ctx, name); err != nil {
		return "", err
	}
	return URL(base, name)
}

// OpenImage opens the latest version of the [KindImage] called name.
func (s *FileStore) OpenImage(ctx context.Context, name string) (*os.File, Image, error) {
	if err := ValidateName(name); err != nil {
		return nil, Image{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	img, err := s.latestLocked(name)
	if err != nil {
		return nil, Image{}, err
	}
	if img.Kind != KindImage {
		return nil, Image{}, fmt.Errorf("%w: %s is a %s, not a single-file image", ErrNotFound, name, img.Kind)
	}
	f, err := s.root.Open(blobPath(img.SHA256))
	if err != nil {
		return nil, Image{}, fmt.Errorf("imagestore: open %s: %w", name, err)
	}
	return f, img, nil
}

// OpenRepo returns a root on the latest version of the [KindOSTree]
// repository called name. The root belongs to the store; do not close it.
func (s *FileStore) OpenRepo(ctx context.Context, name string) (*os.Root, Image, error) {
	if err := ValidateName(name); err != nil {
		return nil, Image{}, err
	}
	s.mu.RLock()
	img, err := s.latestLocked(name)
	var r *os.Root
	if err == nil {
		r = s.repos[img.Name+"/"+img.Version]
	}
	s.mu.RUnlock()
	if err != nil {
		return nil, Image{}, err
	}
	if img.Kind != KindOSTree {
		return nil, Image{}, fmt.Errorf("%w: %s is a %s, not an OSTree repository", ErrNotFound, name, img.Kind)
	}
	if r != nil {
		return r, img, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, Image{}, fmt.Errorf("imagestore: store closed")
	}
	key := img.Name + "/" + img.Version
	if r := s.repos[key]; r != nil {
		return r, img, nil
	}
	r, err = s.root.OpenRoot(repoPath(img.Name, img.Version))
	if err != nil {
		return nil, Image{}, fmt.Errorf("imagestore: open repository %s: %w", name, err)
	}
	s.repos[key] = r
	return r, img, nil
}

// Register stores the content read from r as version of the single-file
// image name. If sha256hex is not empty the content must hash to it, or
// nothing is stored and the error matches [ErrChecksumMismatch].
// Registering the same name, version and content again is a no-op;
// different content under a registered version is [ErrAlreadyExists].
func (s *FileStore) Register(ctx context.Context, name, version string, r io.Reader, sha256hex string) (Image, error) {
	if err := ValidateName(name); err != nil {
		return Image{}, err
	}
	if err := validate("version", version); err != nil {
		return Image{}, err
	}
	if sha256hex != "" {
		if err := validateDigest(sha256hex); err != nil {
			return Image{}, err
		}
	}
	tmp, err := s.tempName()
	if err != nil {
		return Image{}, err
	}
	sum, size, err := s.writeFile(ctx, tmp, r)
	if err != nil {
		s.root.Remove(tmp)
		return Image{}, err
	}
	if sha256hex != "" && sum != sha256hex {
		s.root.Remove(tmp)
		return Image{}, &ChecksumError{Name: name, Want: sha256hex, Got: sum}
	}
	img := Image{Name: name, Version: version, Kind: KindImage, SHA256: sum, Size: size, Files: 1, Created: s.opts.Now().UTC()}
	return s.commit(img, tmp, "")
}

// RegisterRepo copies the OSTree archive repository in directory src into
// the store as version of name. Only regular files and directories are
// copied; the repository must have a config file declaring an archive mode.
func (s *FileStore) RegisterRepo(ctx context.Context, name, version, src string) (Image, error) {
	if err := ValidateName(name); err != nil {
		return Image{}, err
	}
	if err := validate("version", version); err != nil {
		return Image{}, err
	}
	srcRoot, err := os.OpenRoot(src)
	if err != nil {
		return Image{}, fmt.Errorf("imagestore: %w", err)
	}
	defer srcRoot.Close()
	cfg, err := srcRoot.ReadFile("config")
	if err != nil {
		return Image{}, fmt.Errorf("imagestore: %s is not an OSTree repository: %w", src, err)
	}
	if !bytes.Contains(cfg, []byte("mode=archive")) {
		return Image{}, fmt.Errorf("imagestore: %s is not an OSTree archive repository (config has no mode=archive)", src)
	}
	tmp, err := s.tempName()
	if err != nil {
		return Image{}, err
	}
	if err := s.root.Mkdir(tmp, 0o755); err != nil {
		return Image{}, fmt.Errorf("imagestore: %w", err)
	}
	var manifest bytes.Buffer
	var total int64
	files := 0
	err = fs.WalkDir(srcRoot.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		switch {
		case d.IsDir():
			return s.root.Mkdir(path.Join(tmp, p), 0o755)
		case d.Type().IsRegular():
			f, err := srcRoot.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			sum, n, err := s.writeFile(ctx, path.Join(tmp, p), f)
			if err != nil {
				return err
			}
			fmt.Fprintf(&manifest, "%s %d %s\n", sum, n, p)
			total += n
			files++
			return nil
		default:
			return fmt.Errorf("imagestore: %s: %s is not a regular file or directory", src, p)
		}
	})
	if err != nil {
		s.root.RemoveAll(tmp)
		return Image{}, fmt.Errorf("imagestore: copy repository: %w", err)
	}
	mtmp, err := s.tempName()
	if err != nil {
		s.root.RemoveAll(tmp)
		return Image{}, err
	}
	sum, _, err := s.writeFile(ctx, mtmp, &manifest)
	if err != nil {
		s.root.RemoveAll(tmp)
		s.root.Remove(mtmp)
		return Image{}, err
	}
	img := Image{Name: name, Version: version, Kind: KindOSTree, SHA256: sum, Size: total, Files: files, Created: s.opts.Now().UTC()}
	return s.commit(img, mtmp, tmp)
}

// commit moves the blob tmpBlob (and the repository tree tmpRepo, if any)
// into place and records img in the index.
func (s *FileStore) commit(img Image, tmpBlob, tmpRepo string) (Image, error) {
	cleanup := func() {
		s.root.Remove(tmpBlob)
		if tmpRepo != "" {
			s.root.RemoveAll(tmpRepo)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		cleanup()
		return Image{}, fmt.Errorf("imagestore: store closed")
	}
	for _, old := range s.images[img.Name] {
		if old.Version != img.Version {
			continue
		}
		cleanup()
		if old.SHA256 == img.SHA256 && old.Kind == img.Kind {
			return old, nil
		}
		return Image{}, fmt.Errorf("%w: %s version %s has digest %s", ErrAlreadyExists, img.Name, img.Version, old.SHA256)
	}
	if _, err := s.root.Stat(blobPath(img.SHA256)); err == nil {
		s.root.Remove(tmpBlob) // the same content is already stored
	} else {
		if err := s.root.MkdirAll(path.Dir(blobPath(img.SHA256)), 0o755); err != nil {
			cleanup()
			return Image{}, fmt.Errorf("imagestore: %w", err)
		}
		if err := s.root.Rename(tmpBlob, blobPath(img.SHA256)); err != nil {
			cleanup()
			return Image{}, fmt.Errorf("imagestore: %w", err)
		}
	}
	if tmpRepo != "" {
		dst := repoPath(img.Name, img.Version)
		if err := s.root.MkdirAll(path.Dir(dst), 0o755); err != nil {
			cleanup()
			return Image{}, fmt.Errorf("imagestore: %w", err)
		}
		s.root.RemoveAll(dst) // an unindexed leftover of an interrupted run
		if err := s.root.Rename(tmpRepo, dst); err != nil {
			cleanup()
			return Image{}, fmt.Errorf("imagestore: %w", err)
		}
	}
	s.images[img.Name] = append(s.images[img.Name], img)
	if err := s.saveLocked(); err != nil {
		v := s.images[img.Name]
		s.images[img.Name] = v[:len(v)-1]
		if len(s.images[img.Name]) == 0 {
			delete(s.images, img.Name)
		}
		return Image{}, err
	}
	s.opts.Logger.Info("image registered", "image", img.Name, "version", img.Version, "kind", string(img.Kind), "sha256", img.SHA256, "size", img.Size)
	return img, nil
}

// Delete removes version of name, or every version when version is empty.
// Content no other version refers to is removed from disk.
func (s *FileStore) Delete(ctx context.Context, name, version string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if version != "" {
		if err := validate("version", version); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.images[name]
	keep := old[:0:0]
	var gone []Image
	for _, img := range old {
		if version == "" || img.Version == version {
			gone = append(gone, img)
		} else {
			keep = append(keep, img)
		}
	}
	if len(gone) == 0 {
		return fmt.Errorf("%w: %s %s", ErrNotFound, name, version)
	}
	if len(keep) == 0 {
		delete(s.images, name)
	} else {
		s.images[name] = keep
	}
	if err := s.saveLocked(); err != nil {
		s.images[name] = old
		return err
	}
	for _, img := range gone {
		key := img.Name + "/" + img.Version
		if r := s.repos[key]; r != nil {
			r.Close()
			delete(s.repos, key)
		}
		if img.Kind == KindOSTree {
			s.root.RemoveAll(repoPath(img.Name, img.Version))
		}
		if !s.referencedLocked(img.SHA256) {
			s.root.Remove(blobPath(img.SHA256))
		}
	}
	if version == "" {
		s.root.Remove(path.Join(repoDir, name))
	}
	s.opts.Logger.Info("image deleted", "image", name, "version", version)
	return nil
}

func (s *FileStore) referencedLocked(sum string) bool {
	for _, v := range s.images {
		for _, img := range v {
			if img.SHA256 == sum {
				return true
			}
		}
	}
	return false
}

// Verify re-hashes the latest version of name. Corruption is reported as a
// [*ChecksumError], which matches [ErrChecksumMismatch].
func (s *FileStore) Verify(ctx context.Context, name string) error {
	img, err := s.Stat(ctx, name)
	if err != nil {
		return err
	}
	return s.verify(ctx, img)
}

// VerifyAll verifies the latest version of every name and joins the errors.
func (s *FileStore) VerifyAll(ctx context.Context) error {
	imgs, _ := s.List(ctx)
	var errs []error
	for _, img := range imgs {
		if err := s.verify(ctx, img); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *FileStore) verify(ctx context.Context, img Image) error {
	sum, err := s.hashFile(ctx, blobPath(img.SHA256))
	if errors.Is(err, fs.ErrNotExist) {
		return &ChecksumError{Name: img.Name, Want: img.SHA256}
	}
	if err != nil {
		return err
	}
	if sum != img.SHA256 {
		s.opts.Logger.Warn("image corrupt", "image", img.Name, "version", img.Version, "sha256", sum)
		return &ChecksumError{Name: img.Name, Want: img.SHA256, Got: sum}
	}
	if img.Kind != KindOSTree {
		return nil
	}
	manifest, err := s.root.ReadFile(blobPath(img.SHA256))
	if err != nil {
		return fmt.Errorf("imagestore: %w", err)
	}
	dir := repoPath(img.Name, img.Version)
	want := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(manifest))
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 3)
		if len(f) != 3 {
			return fmt.Errorf("imagestore: malformed manifest for %s", img.Name)
		}
		want[f[2]] = f[0]
	}
	var errs []error
	seen := 0
	err = fs.WalkDir(s.root.FS(), dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel := strings.TrimPrefix(p, dir+"/")
		w, ok := want[rel]
		if !ok {
			errs = append(errs, &ChecksumError{Name: img.Name, File: rel, Got: "unexpected file"})
			return nil
		}
		seen++
		got, err := s.hashFile(ctx, p)
		if err != nil {
			return err
		}
		if got != w {
			errs = append(errs, &ChecksumError{Name: img.Name, File: rel, Want: w, Got: got})
		}
		delete(want, rel)
		return nil
	})
	if err != nil {
		return fmt.Errorf("imagestore: verify %s: %w", img.Name, err)
	}
	missing := slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range missing {
		errs = append(errs, &ChecksumError{Name: img.Name, File: k, Want: want[k]})
	}
	if len(errs) > 0 {
		s.opts.Logger.Warn("repository corrupt", "image", img.Name, "version", img.Version, "bad_files", len(errs))
	}
	return errors.Join(errs...)
}

func (s *FileStore) hashFile(ctx context.Context, p string) (string, error) {
	f, err := s.root.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeFile writes r to p inside the root, syncs it and returns its digest.
func (s *FileStore) writeFile(ctx context.Context, p string, r io.Reader) (string, int64, error) {
	f, err := s.root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", 0, fmt.Errorf("imagestore: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("imagestore: write: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func (s *FileStore) saveLocked() error {
	var all []Image
	for _, v := range s.images {
		all = append(all, v...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	b, err := json.MarshalIndent(struct {
		Images []Image `json:"images"`
	}{all}, "", "  ")
	if err != nil {
		return fmt.Errorf("imagestore: encode index: %w", err)
	}
	tmp, err := s.tempName()
	if err != nil {
		return err
	}
	if _, _, err := s.writeFile(context.Background(), tmp, bytes.NewReader(b)); err != nil {
		s.root.Remove(tmp)
		return err
	}
	if err := s.root.Rename(tmp, indexFile); err != nil {
		s.root.Remove(tmp)
		return fmt.Errorf("imagestore: save index: %w", err)
	}
	return nil
}

func (s *FileStore) tempName() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("imagestore: %w", err)
	}
	return tmpDir + "/" + hex.EncodeToString(b[:]) + "." + strconv.Itoa(os.Getpid()), nil
}

func blobPath(sum string) string           { return blobDir + "/" + sum }
func repoPath(name, version string) string { return repoDir + "/" + name + "/" + version }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
