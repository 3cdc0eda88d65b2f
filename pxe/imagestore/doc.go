// Package imagestore keeps the boot images and OSTree repositories that Atoll
// serves to booting hosts, registered by name and version and addressed by
// their SHA-256 digest.
//
// # Sections
//
// # Model
//
// An [Image] is one registered version of a named artifact. Its [Kind] is
// either [KindImage] (a single file: a kernel, an initramfs, an ISO, an EFI
// binary) or [KindOSTree] (an OSTree archive repository, a directory tree).
// A name resolves to the version registered last; every version stays
// addressable through [FileStore.StatVersion] until it is deleted.
//
// # Content addressing and verification
//
// A single-file image is stored once per digest under blobs/sha256/, so two
// names registering the same bytes share one file. An OSTree repository is
// copied under repos/ and described by a manifest that lists the SHA-256 of
// every file; the manifest's own SHA-256 is the repository's digest.
// Registration hashes what it writes and refuses the artifact when the caller
// named a different digest ([ErrChecksumMismatch]); [FileStore.Verify]
// re-hashes what is on disk on demand and reports corruption the same way.
//
// # Safety
//
// Names and versions are validated ([ErrInvalidName]) before they reach the
// file system, and every file operation goes through an [os.Root] opened on
// the store's directory, so neither a crafted name nor a symbolic link inside
// the store can reach a file outside it. One process at a time has a
// directory open (an flock on its lock file, released even by a crash):
// another's Open fails with [ErrInUse], since cleaning up interrupted
// registrations on open would delete the first one's work in progress.
//
// # URLs
//
// The HTTP boot handler in package httpboot serves images under [HTTPPath];
// [URL] builds the address of an image from a base URL, which is what a
// Redfish virtual-media insert or an iPXE script points at.
//
// # Errors
//
// Errors wrap the sentinels [ErrNotFound], [ErrAlreadyExists],
// [ErrChecksumMismatch], [ErrInvalidName] and [ErrInUse]; test them with
// [errors.Is].
// A checksum failure is also a [*ChecksumError] carrying the file and both
// digests.
package imagestore
