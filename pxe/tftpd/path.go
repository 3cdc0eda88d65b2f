package tftpd

import (
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf8"
)

// DefaultMaxNameLen is the longest file name accepted when Options.MaxNameLen is zero.
const DefaultMaxNameLen = 255

// CleanName checks a requested file name and returns the [io/fs] path to open
// under the root. It never rewrites a name into a different one (no stripping
// of "../" or of a leading slash): a name is either already a clean relative
// path or refused. Refused names wrap [ErrUnsafePath] or [ErrNameTooLong].
//
// Refused: empty names, names longer than maxLen bytes (maxLen <= 0 means
// [DefaultMaxNameLen]), absolute paths, "." and ".." elements, empty elements
// ("a//b", trailing "/"), backslashes, NUL and other control bytes, invalid
// UTF-8 (which covers overlong encodings of "." and "/"), and "%" followed by
// two hex digits, so that no layer that percent-decodes can turn the name
// into a traversal.
func CleanName(name string, maxLen int) (string, error) {
	if maxLen <= 0 {
		maxLen = DefaultMaxNameLen
	}
	if len(name) > maxLen {
		return "", fmt.Errorf("%w: %d bytes, limit %d", ErrNameTooLong, len(name), maxLen)
	}
	if name == "" {
		return "", fmt.Errorf("%w: empty name", ErrUnsafePath)
	}
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: invalid UTF-8", ErrUnsafePath)
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c < 0x20 || c == 0x7f:
			return "", fmt.Errorf("%w: control byte %#02x", ErrUnsafePath, c)
		case c == '\\':
			return "", fmt.Errorf("%w: backslash", ErrUnsafePath)
		case c == '%' && i+2 < len(name) && isHex(name[i+1]) && isHex(name[i+2]):
			return "", fmt.Errorf("%w: percent-encoded byte", ErrUnsafePath)
		}
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: absolute path", ErrUnsafePath)
	}
	// fs.ValidPath refuses ".", ".." and empty elements and a trailing slash,
	// except that it accepts "." alone, which names the root directory.
	if name == "." || !fs.ValidPath(name) {
		return "", fmt.Errorf("%w: \".\", \"..\" or empty path element", ErrUnsafePath)
	}
	return name, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
