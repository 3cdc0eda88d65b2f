package tftpd

import (
	"encoding/binary"
	"syscall"
	"unsafe"
)

const (
	udpSegment  = 103 // UDP_SEGMENT, linux/udp.h
	maxSegments = 64  // UDP_MAX_SEGMENTS on older kernels
	maxGSOBytes = 65000
)

// segmentControl returns the control message asking the kernel to split a
// datagram into segments of size bytes (UDP GSO, Linux 4.18).
func segmentControl(size int) []byte {
	b := make([]byte, syscall.CmsgSpace(2))
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = syscall.IPPROTO_UDP
	h.Type = udpSegment
	h.SetLen(syscall.CmsgLen(2))
	binary.NativeEndian.PutUint16(b[syscall.CmsgLen(0):], uint16(size))
	return b
}
