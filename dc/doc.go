// Package dc is the distributed-cloud core of Atoll: the subcloud model,
// its deploy-status state machine, validation of bootstrap and install
// values, and the Manager that owns the subcloud lifecycle on top of a
// narrow Store backend. It re-imagines StarlingX dcmanager; names and JSON
// keys are dcmanager's, so that its clients work unchanged.
//
// # Sections
//
// Model. Subcloud, Group, InstallValues, BootstrapValues and LogEntry carry
// dcmanager's JSON keys. ParseBootstrapValues and ParseInstallValues read
// the YAML files operators already have; known keys are typed, the others
// kept in Extra.
//
// State machine. Transition is the one table of deploy-status edges
// (not-deployed → creating → [install] → bootstrap → [config] → complete,
// with failed and aborted states that ResumeDeploy restarts). The Manager
// moves a subcloud only through it; a forbidden move is a *StateError.
//
// Manager. NewManager(store, Options) validates and stores subclouds and
// groups, seals secrets, enforces the management rules (new subclouds are
// unmanaged and offline; manage needs deploy status complete and online
// unless forced; unmanage sets every endpoint unknown; delete needs
// unmanaged, offline and no operation in progress), publishes Events and
// exports Prometheus metrics on the Registerer it is given. Every change is
// a compare-and-swap on the stored revision, re-read and retried on
// ErrConflict.
//
// Read model. The Manager keeps every subcloud in memory: loaded from the
// Store on Start or first use, and updated after each successful Store
// write it makes (records are immutable and swapped per write; a write
// older than the record in memory, by revision, is ignored). Subclouds
// serves copies from it and ViewSubclouds the shared records themselves,
// so listing 10,000 subclouds costs no Store read. This assumes the
// Manager is the only writer of its Store, as the fleet index already
// does. A Store can enforce it: if it implements WriterLocker, the Manager
// takes that lock before its first read and holds it until Close, so a
// second Manager (another controller on the same database) stands by until
// the first one stops or dies; LockLost tells the holder it lost the lock.
// Several active controllers on one database would need a change feed from
// the Store (LISTEN/NOTIFY or a revision-ordered change table).
//
// Deploy pipeline. Pluggable Phase implementations (Install, Bootstrap,
// Config) run in one worker per subcloud, at most MaxConcurrentDeploys
// phases at a time. Install runs for subclouds with install values, Config
// for subclouds added with a deploy config (AddRequest.DeployConfig, handed
// over in PhaseJob.DeployConfig); the others skip those phases. The status is persisted before and after each phase
// and each phase writes the subcloud's deploy log through the Store.
// AbortDeploy cancels the running phase (→ *-aborted); ResumeDeploy restarts
// a failed or aborted phase. After a controller restart, Start re-enters
// the phase every in-progress subcloud was in, where StarlingX would fail
// it: phases are idempotent re-entry points.
//
// Validation. Names are RFC 1123 labels and not SystemController or
// RegionOne; management ranges and gateways must sit in their subnet; no
// management subnet may overlap another subcloud's, and no OAM subnet a
// management subnet, in IPv4 and IPv6. The overlap checks use an in-memory
// index of the fleet (sorted prefixes, binary search), so one add costs
// O(log n), not a scan of the fleet; it is rebuilt from the Store on first
// use and kept up to date by every write. Each rejection is a
// *ValidationError naming the field and the conflicting subcloud.
//
// Secrets. BMC and sysadmin passwords are sealed with AES-256-GCM
// (NewAESGCMSealer) before they reach a Store; LoadOrCreateKey keeps the
// key in a 0600 file. Phases receive the BMC password opened in
// PhaseJob.Install, the Bootstrap phase the sysadmin password in
// PhaseJob.SysadminPassword; ResumeDeployWith may replace both.
//
// Audit. An Auditor checks every subcloud with a HealthChecker (by default
// HTTPSHealthChecker, an HTTPS GET of the subcloud agent's health endpoint
// with an injected TLS configuration) every Interval, with bounded
// concurrency; FailureThreshold consecutive failures take a subcloud
// offline, which sets its endpoints unknown. A TimerClock makes it testable
// without sleeping.
//
// Errors. ErrNotFound, ErrAlreadyExists, ErrConflict, ErrClosed and the
// typed *ValidationError (matching ErrInvalid) and *StateError (matching
// ErrInvalidState); test them with errors.Is and errors.As.
//
// Backends. dc/memstore (in memory) and dc/sqlstore (SQLite) implement
// Store; dc/dctest is the conformance suite both pass.
package dc
