//go:build !linux

package tftpd

const (
	maxSegments = 1 // no segmentation offload: one datagram per call
	maxGSOBytes = 0
)

func segmentControl(int) []byte { return nil }
