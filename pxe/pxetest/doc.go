// Package pxetest holds test helpers for the pxe packages: locating the real
// client tools a test drives (skipping with an install hint when one is
// missing) and building OSTree archive repositories with the stock ostree
// command.
//
// # Sections
//
// # Tools
//
// [Tool] returns the path of a command or skips the test, naming the Debian
// package that provides it. CI installs them all, so nothing skips there.
//
// # OSTree repositories
//
// [OSTreeRepo] writes a deterministic tree of files, commits it into a new
// archive repository, updates the summary and optionally generates a static
// delta. [PullOSTree] pulls it back with `ostree pull` into a fresh
// repository and checks it with `ostree fsck`.
package pxetest
