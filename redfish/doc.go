// Package redfish controls baseboard management controllers (BMCs) over
// Redfish: power, boot override, virtual media, inventory and tasks, and on
// top of them the zero-touch remote install of a subcloud host.
//
// # Capabilities
//
// What the lifecycle needs from a BMC is a set of small interfaces:
// [PowerController], [BootController], [MediaController], [Inventory] and
// [TaskWaiter], composed into [BMC]. Every method takes a context first.
// Power states, power actions, boot targets, boot lifetimes and boot modes
// are typed ([PowerState], [PowerAction], [BootTarget], [BootEnabled],
// [BootMode]). The plugins package carries a BMC across a process boundary;
// the dc package declares its own Installer and the daemon adapts
// [RemoteInstall] to it (this package imports neither).
//
// # Connecting
//
// [Dial] connects a [Client] to one BMC with github.com/stmcginnis/gofish. It
// logs in with a Redfish session and falls back to HTTP basic auth when the
// BMC has no session service; a refused password is an error at once.
// Certificates are verified against the system roots or
// [Options].RootCAs; [Options].InsecureSkipVerify is the explicit opt-out.
// [Client.Close] logs out. A Client is safe for concurrent use, keeps what
// it discovered about the BMC (system, manager, media slot, reset action),
// and returns per-call results only.
//
// # Errors
//
// Every failure is an [*Error] naming the BMC, the operation, the HTTP status
// and the Redfish message id, and wrapping a sentinel for errors.Is:
// [ErrUnauthorized] (401/403), [ErrNotFound] (404), [ErrNoVirtualMedia],
// [ErrTimeout], [ErrUnavailable] (5xx or network failures past the retry
// budget), [ErrUnsupported], [ErrTaskFailed], [ErrRejected] (other 4xx),
// [ErrInstallFailed].
//
// # Retries and limits
//
// Transient failures (5xx but 501, attempt timeouts, refused, reset or
// dropped connections) are retried with exponential backoff and jitter
// (github.com/cenkalti/backoff/v4), honouring Retry-After up to RetryMax;
// 4xx answers are never retried. Each attempt is bounded by
// [Options].RequestTimeout and the whole call by its context. At most
// [Options].MaxConcurrent requests are in flight to one BMC. A 401 on a
// session client renews the session once (it may have expired) and repeats
// the request once; a refused renewal is reported at once. Polling, backoff
// and settle waits run on [Options].Clock (the real clock by default).
//
// # Vendor quirks
//
// What differs between Dell iDRAC, HPE iLO, Supermicro, Lenovo XCC and
// OpenBMC lives in one table (quirks.go, function quirksFor), chosen from
// the service root's Vendor or the system's Manufacturer, or forced with
// [Options].Vendor: where the CD/DVD slot lives (Systems or Managers),
// whether to eject before inserting, settle delays, the virtual CD's boot
// target (Supermicro's "UsbCd" in UEFI mode), how the boot mode is PATCHed,
// and which InsertMedia parameters to send. Media inserts and ejects are
// confirmed by polling the slot, power changes by polling the power state.
//
// # Remote install
//
// [RemoteInstall] runs eject → power off → insert image → boot once from CD
// → power on → wait for install-complete, reporting each step as an
// [Event]. Each step checks the BMC before it acts, so the sequence is
// idempotent and resumes after a crash where the BMC is: an attached image
// is not attached again, a set boot override is not set again, and a host
// already powered on with the image is not power-cycled.
//
// # Observability
//
// Logs go to [Options].Logger (silent by default), every line with the
// "bmc" attribute. Metrics go to [Options].Registerer:
// atoll_redfish_requests_total{op,method,code},
// atoll_redfish_retries_total{op} and atoll_redfish_errors_total{op,kind}.
//
// # Testing
//
// The tests drive every operation against the emulator in
// redfish/emulator in each vendor profile, read the inventory of every DMTF
// mockup in testdata/mockups, inject 5xx bursts, dropped connections, bad
// credentials, hangs and stuck tasks, and crash and resume RemoteInstall.
// BenchmarkRemoteInstallFleet (make bench-redfish) installs 1,000 emulated
// BMCs concurrently.
package redfish
