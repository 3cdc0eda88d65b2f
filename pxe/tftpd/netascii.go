package tftpd

import "bufio"

// netasciiReader converts a file to netascii (RFC 764 as RFC 1350 uses it):
// LF becomes CR LF and a bare CR becomes CR NUL.
type netasciiReader struct {
	r       *bufio.Reader
	pending byte // second byte of a pair that did not fit, or 0
	hasPend bool
}

func (n *netasciiReader) Read(p []byte) (int, error) {
	i := 0
	for i < len(p) {
		if n.hasPend {
			p[i] = n.pending
			n.hasPend = false
			i++
			continue
		}
		c, err := n.r.ReadByte()
		if err != nil {
			if i > 0 {
				return i, nil
			}
			return 0, err
		}
		switch c {
		case '\n':
			p[i], n.pending, n.hasPend = '\r', '\n', true
		case '\r':
			p[i], n.pending, n.hasPend = '\r', 0, true
		default:
			p[i] = c
		}
		i++
	}
	return i, nil
}
