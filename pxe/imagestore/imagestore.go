package imagestore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Sentinel errors. Errors returned by this package wrap one of them.
var (
	// ErrNotFound means no image or version is registered under the name.
	ErrNotFound = errors.New("imagestore: not found")
	// ErrAlreadyExists means the name and version are registered with other content.
	ErrAlreadyExists = errors.New("imagestore: already exists")
	// ErrChecksumMismatch means content does not hash to the expected SHA-256.
	ErrChecksumMismatch = errors.New("imagestore: checksum mismatch")
	// ErrInvalidName means a name, version or digest is not acceptable.
	ErrInvalidName = errors.New("imagestore: invalid name")
	// ErrInUse reports that another process has the store's directory
	// open: two writers would delete each other's registrations in
	// progress.
	ErrInUse = errors.New("imagestore: in use by another process")
)

// ChecksumError reports content whose SHA-256 differs from the expected one.
// It matches [ErrChecksumMismatch] with [errors.Is].
type ChecksumError struct {
	Name string // image name
	File string // file within the image ("" for a single-file image)
	Want string // expected hex digest ("" when the file should not exist)
	Got  string // actual hex digest ("" when the file is missing)
}

func (e *ChecksumError) Error() string {
	where := e.Name
	if e.File != "" {
		where += ":" + e.File
	}
	return fmt.Sprintf("imagestore: checksum mismatch for %s: want %q, got %q", where, e.Want, e.Got)
}

// Is reports whether target is [ErrChecksumMismatch].
func (e *ChecksumError) Is(target error) bool { return target == ErrChecksumMismatch }

// NameError reports an unacceptable name, version or digest. It matches
// [ErrInvalidName] with [errors.Is].
type NameError struct {
	Field  string // "name", "version" or "sha256"
	Value  string
	Reason string
}

func (e *NameError) Error() string {
	return fmt.Sprintf("imagestore: invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

// Is reports whether target is [ErrInvalidName].
func (e *NameError) Is(target error) bool { return target == ErrInvalidName }

// Kind says what an [Image] holds.
type Kind string

// Kinds of images.
const (
	KindImage  Kind = "image"  // a single file
	KindOSTree Kind = "ostree" // an OSTree archive repository
)

// Image describes one registered version of a named artifact.
type Image struct {
	Name    string    `json:"name"`
	Version string    `json:"version"`
	Kind    Kind      `json:"kind"`
	SHA256  string    `json:"sha256"` // hex; for KindOSTree the digest of the file manifest
	Size    int64     `json:"size"`   // bytes; for KindOSTree the sum over all files
	Files   int       `json:"files"`  // 1 for KindImage, the number of files for KindOSTree
	Created time.Time `json:"created"`
}

// Store is the contract of an image store. [FileStore] implements it.
type Store interface {
	// Stat returns the latest version registered under name.
	Stat(ctx context.Context, name string) (Image, error)
	// OpenImage opens the latest version of a [KindImage] for reading.
	// The caller closes the file.
	OpenImage(ctx context.Context, name string) (*os.File, Image, error)
	// OpenRepo returns a root on the latest version of a [KindOSTree]
	// repository. The root is owned by the store: the caller must not close it.
	OpenRepo(ctx context.Context, name string) (*os.Root, Image, error)
	// Verify re-hashes the latest version of name and reports corruption as
	// an error matching [ErrChecksumMismatch].
	Verify(ctx context.Context, name string) error
}

// HTTPPath is the path under which package httpboot serves images by name.
const HTTPPath = "/images/"

// URL returns the address of the image called name relative to base, the
// URL at which an httpboot handler is mounted (for example
// "http://10.0.0.1:8080"). It validates the name but does not check that an
// image is registered under it; [FileStore.URL] does.
func URL(base, name string) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("imagestore: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("imagestore: base URL %q: want an absolute http or https URL", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + HTTPPath + name
	u.RawPath = ""
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

const maxNameLen = 128

// ValidateName reports whether s is acceptable as an image name or version:
// 1 to 128 characters from [A-Za-z0-9._+-], starting with a letter or digit.
// Such a name is a single path element that can never mean "..".
func ValidateName(s string) error { return validate("name", s) }

func validate(field, s string) error {
	if s == "" {
		return &NameError{Field: field, Value: s, Reason: "empty"}
	}
	if len(s) > maxNameLen {
		return &NameError{Field: field, Value: s, Reason: "longer than 128 bytes"}
	}
	if !isAlnum(s[0]) {
		return &NameError{Field: field, Value: s, Reason: "must start with a letter or digit"}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' && c != '+' {
			return &NameError{Field: field, Value: s, Reason: fmt.Sprintf("character %q not allowed", c)}
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func validateDigest(s string) error {
	if len(s) != 64 {
		return &NameError{Field: "sha256", Value: s, Reason: "want 64 hex digits"}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return &NameError{Field: "sha256", Value: s, Reason: "want lower-case hex digits"}
		}
	}
	return nil
}
