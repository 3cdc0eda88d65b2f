package dc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Manager. The zero value is usable: no logging, no
// metrics, the real clock, no phases (an added subcloud goes straight to
// complete), no events. NewManager fills defaults on a copy.
type Options struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the Manager's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Clock stamps created-at, updated-at and log entries; nil is the real clock.
	Clock Clock
	// Sealer encrypts BMC and sysadmin passwords before they reach the
	// Store. Without one, requests carrying a password are refused.
	Sealer Sealer
	// Install, Bootstrap and Config run the deploy phases. A nil phase is
	// skipped: no Install → start at bootstrap, no Bootstrap → complete
	// after install. Config runs only for subclouds added with a deploy
	// config (the others complete after bootstrap); without Config, an add
	// with a deploy config is refused.
	Install, Bootstrap, Config Phase
	// Events receives state changes; nil publishes nothing.
	Events Publisher
	// MaxConcurrentDeploys bounds the phases running at once (default 100).
	MaxConcurrentDeploys int
}

// DefaultMaxConcurrentDeploys is the default Options.MaxConcurrentDeploys.
const DefaultMaxConcurrentDeploys = 100

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.MaxConcurrentDeploys <= 0 {
		o.MaxConcurrentDeploys = DefaultMaxConcurrentDeploys
	}
	return o
}

// Manager owns the subcloud lifecycle: validation, the deploy-status state
// machine, revisions, secret sealing, the deploy pipeline and events. It
// persists through a Store and is safe for concurrent use.
type Manager struct {
	store   Store
	opts    Options
	log     *slog.Logger
	metrics *managerMetrics

	// writeMu serialises the check-then-write of operations that change the
	// fleet index keys (names, subnets): add, rename, delete.
	writeMu sync.Mutex

	fleet *fleetIndex
	// view is the read model: every subcloud, immutable records swapped
	// per write. Loaded with the fleet index, kept up to date by every
	// successful Store write of this Manager.
	view *subcloudView

	loadMu sync.Mutex
	loaded bool
	// unlock releases the store's writer lock (WriterLocker), if taken.
	unlock func() error
	// lost is closed when the Manager stops because it lost that lock.
	lost chan struct{}

	mu      sync.Mutex
	closed  bool
	workers map[int64]*deployWorker
	wg      sync.WaitGroup
	base    context.Context
	stop    context.CancelCauseFunc
	sem     chan struct{}
}

// NewManager returns a Manager persisting through store. The store stays
// the caller's: Close does not close it.
func NewManager(store Store, opts Options) (*Manager, error) {
	if store == nil {
		return nil, errors.New("dc: NewManager: nil Store")
	}
	o := opts.withDefaults()
	m := &Manager{
		store:   store,
		opts:    o,
		log:     o.Logger,
		fleet:   newFleetIndex(),
		view:    newSubcloudView(),
		workers: make(map[int64]*deployWorker),
		sem:     make(chan struct{}, o.MaxConcurrentDeploys),
		lost:    make(chan struct{}),
	}
	m.base, m.stop = context.WithCancelCause(context.Background())
	met, err := newManagerMetrics(o.Registerer, m.fleet)
	if err != nil {
		return nil, err
	}
	m.metrics = met
	return m, nil
}

// load rebuilds the fleet index and the read model from the Store once.
func (m *Manager) load(ctx context.Context) error {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return ErrClosed
	}
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	if m.loaded {
		return nil
	}
	if err := m.lockWriter(ctx); err != nil {
		return err
	}
	all, err := m.store.ListSubclouds(ctx)
	if err != nil {
		return fmt.Errorf("dc: load subclouds: %w", err)
	}
	m.fleet.reset(all)
	m.view.reset(all)
	m.loaded = true
	return nil
}

// Close stops the deploy workers, waiting for their phases to return.
// Subclouds whose phase was interrupted keep their in-progress deploy
// status, so that Start on the next Manager resumes them.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.stop(ErrClosed)
	m.wg.Wait()
	m.metrics.unregister()
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	if m.unlock != nil {
		if err := m.unlock(); err != nil {
			return fmt.Errorf("dc: release the store writer lock: %w", err)
		}
		m.unlock = nil
	}
	return nil
}

// lockWriter takes the store's writer lock if the store offers one (see
// [WriterLocker]), saying so in the log when another Manager holds it.
// Called with loadMu held.
func (m *Manager) lockWriter(ctx context.Context) error {
	wl, ok := m.store.(WriterLocker)
	if !ok || m.unlock != nil {
		return nil
	}
	start := time.Now()
	standby := time.AfterFunc(time.Second, func() {
		m.log.InfoContext(ctx, "another manager holds the store writer lock; standing by")
	})
	// Close ends the wait too.
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer context.AfterFunc(m.base, func() { cancel(ErrClosed) })()
	lost, unlock, err := wl.LockWriter(lctx)
	standby.Stop()
	if err != nil {
		return fmt.Errorf("dc: take the store writer lock: %w", err)
	}
	m.unlock = unlock
	m.log.InfoContext(ctx, "store writer lock taken", "waited", time.Since(start).Round(time.Millisecond))
	go func() {
		select {
		case <-lost:
			m.log.Error("store writer lock lost: stopping the deploy workers; another manager may take over")
			close(m.lost)
			m.stop(ErrWriterLockLost)
		case <-m.base.Done():
		}
	}()
	return nil
}

// LockLost is closed if the Manager lost the store's writer lock (see
// [WriterLocker]): it has stopped its deploy workers, and its process
// should stop serving (the reference daemon exits) so that the Manager
// that takes the lock next is the only writer.
func (m *Manager) LockLost() <-chan struct{} { return m.lost }

func (m *Manager) now() time.Time { return m.opts.Clock.Now().UTC() }

func (m *Manager) publish(ctx context.Context, t EventType, s *Subcloud, prev string) {
	if m.opts.Events == nil || s == nil {
		return
	}
	m.opts.Events.Publish(ctx, Event{Type: t, Subcloud: *s.Clone(), Time: m.now(), Previous: prev})
}

// publishDiff publishes the events implied by a change from before to after.
func (m *Manager) publishDiff(ctx context.Context, before, after *Subcloud) {
	if before.DeployStatus != after.DeployStatus {
		m.publish(ctx, DeployStatusChanged, after, string(before.DeployStatus))
	}
	if before.Availability != after.Availability {
		m.publish(ctx, AvailabilityChanged, after, string(before.Availability))
	}
	if before.ManagementState != after.ManagementState {
		t := SubcloudUnmanaged
		if after.ManagementState == Managed {
			t = SubcloudManaged
		}
		m.publish(ctx, t, after, string(before.ManagementState))
	}
	if before.SyncStatus() != after.SyncStatus() {
		m.publish(ctx, EndpointChanged, after, string(before.SyncStatus()))
	}
}

// maxCASAttempts bounds the re-read-and-retry loop of one mutation; each
// conflict means another writer succeeded, so progress is made.
const maxCASAttempts = 64

// mutate applies fn to the current record and stores it with
// compare-and-swap, re-reading and re-applying fn on ErrConflict. fn
// validates before it changes anything: when it fails, or leaves the record
// as it was, nothing is written (after is then the unchanged record, with
// after.Revision == before.Revision).
func (m *Manager) mutate(ctx context.Context, id int64, fn func(s *Subcloud) error) (after, before *Subcloud, err error) {
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		cur, err := m.store.GetSubcloud(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		before = cur.Clone()
		if err := fn(cur); err != nil {
			return nil, nil, err
		}
		if reflect.DeepEqual(cur, before) {
			// Nothing to change: no write, no revision bump, no event.
			return cur, before, nil
		}
		cur.UpdatedAt = m.now()
		next, err := m.store.UpdateSubcloud(ctx, cur)
		if errors.Is(err, ErrConflict) && attempt < maxCASAttempts {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if m.view.update(next) {
			m.fleet.put(next)
		}
		m.publishDiff(ctx, before, next)
		return next, before, nil
	}
}

// lookup resolves a ref: all digits is an ID, anything else a name.
func (m *Manager) lookup(ctx context.Context, ref string) (*Subcloud, error) {
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	if id, ok := parseID(ref); ok {
		return m.store.GetSubcloud(ctx, id)
	}
	return m.store.GetSubcloudByName(ctx, ref)
}

func parseID(ref string) (int64, bool) {
	if ref == "" {
		return 0, false
	}
	for _, c := range ref {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	return id, err == nil
}

// AddRequest is a request to add a subcloud.
type AddRequest struct {
	// Bootstrap holds the subcloud's name and networks (required).
	Bootstrap *BootstrapValues
	// BootstrapAddress is where the bootstrap phase reaches the subcloud.
	BootstrapAddress netip.Addr
	// Install, when set, makes the deploy start with the install phase.
	// Its BMCPassword is plaintext here and sealed before storage.
	Install *InstallValues
	// Group is a group name or ID; empty is the Default group.
	Group string
	// Description and Location override the bootstrap values' when set.
	Description, Location string
	// Release is the software version to deploy.
	Release string
	// DeployConfig is the deploy config file (YAML, see
	// ValidateDeployConfig). When set, the Config phase runs after
	// bootstrap with it in PhaseJob.DeployConfig; empty means none, and
	// the deploy completes after bootstrap.
	DeployConfig []byte
	// SysadminPassword is the subcloud's sysadmin password (plaintext
	// here, sealed before storage), handed to the Bootstrap phase in
	// PhaseJob.SysadminPassword. Empty means none.
	SysadminPassword string
}

// AddSubcloud validates req, stores the new subcloud (unmanaged, offline,
// deploy status creating) and starts its deploy pipeline in the background.
// The returned subcloud is as stored, before the pipeline moves it on.
func (m *Manager) AddSubcloud(ctx context.Context, req AddRequest) (*Subcloud, error) {
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	if req.Bootstrap == nil {
		return nil, &ValidationError{Field: "bootstrap_values", Reason: "required"}
	}
	s, err := subcloudFromRequest(req)
	if err != nil {
		return nil, err
	}
	group, err := m.resolveGroup(ctx, req.Group)
	if err != nil {
		return nil, err
	}
	s.GroupID = group.ID
	if len(req.DeployConfig) > 0 {
		if m.opts.Config == nil {
			return nil, &ValidationError{Field: "deploy_config", Reason: "this controller has no config phase"}
		}
		if err := ValidateDeployConfig(req.DeployConfig); err != nil {
			return nil, err
		}
		s.DeployConfig = append([]byte(nil), req.DeployConfig...)
	}
	if req.Install != nil {
		if err := validateInstall(req.Install); err != nil {
			return nil, err
		}
		sealed, err := m.sealInstall(req.Install)
		if err != nil {
			return nil, err
		}
		s.Install = sealed
	}
	if s.SealedSysadminPassword, err = m.sealSysadmin(req.SysadminPassword); err != nil {
		return nil, err
	}
	deploy, err := Transition(NotDeployed, OpCreate)
	if err != nil {
		return nil, err
	}
	now := m.now()
	s.DeployStatus = deploy
	s.ManagementState = Unmanaged
	s.Availability = Offline
	s.CreatedAt, s.UpdatedAt = now, now
	for _, t := range DefaultEndpointTypes() {
		s.Endpoints = append(s.Endpoints, EndpointStatus{EndpointType: t, SyncStatus: SyncUnknown})
	}

	m.writeMu.Lock()
	if err := m.fleet.check(s); err != nil {
		m.writeMu.Unlock()
		return nil, err
	}
	created, err := m.store.CreateSubcloud(ctx, s)
	if err == nil {
		m.fleet.put(created)
		m.view.create(created)
	}
	m.writeMu.Unlock()
	if errors.Is(err, ErrAlreadyExists) {
		return nil, &ValidationError{Field: "name", Reason: "already used by", Conflict: s.Name, also: ErrAlreadyExists}
	}
	if err != nil {
		return nil, err
	}
	m.log.InfoContext(ctx, "subcloud added", "subcloud", created.Name, "id", created.ID, "group", group.Name)
	m.publish(ctx, SubcloudAdded, created, "")
	if err := m.launch(created.ID); err != nil {
		return nil, err
	}
	return created, nil
}

func (m *Manager) sealInstall(v *InstallValues) (*InstallValues, error) {
	c := v.Clone()
	if c.BMCPassword == "" {
		return c, nil
	}
	if m.opts.Sealer == nil {
		return nil, fmt.Errorf("%w: refusing to store a BMC password", ErrNoSealer)
	}
	sealed, err := m.opts.Sealer.Seal([]byte(c.BMCPassword))
	if err != nil {
		return nil, err
	}
	c.BMCPassword = ""
	c.SealedBMCPassword = sealed
	return c, nil
}

// sealSysadmin seals a sysadmin password; empty stays empty.
func (m *Manager) sealSysadmin(pw string) ([]byte, error) {
	if pw == "" {
		return nil, nil
	}
	if m.opts.Sealer == nil {
		return nil, fmt.Errorf("%w: refusing to store a sysadmin password", ErrNoSealer)
	}
	return m.opts.Sealer.Seal([]byte(pw))
}

// openSysadmin opens a sealed sysadmin password; empty stays empty.
func (m *Manager) openSysadmin(sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	if m.opts.Sealer == nil {
		return "", fmt.Errorf("%w: cannot open the sysadmin password", ErrNoSealer)
	}
	pt, err := m.opts.Sealer.Open(sealed)
	return string(pt), err
}

// openInstall returns install values with the BMC password in plaintext.
func (m *Manager) openInstall(v *InstallValues) (*InstallValues, error) {
	c := v.Clone()
	if c == nil || len(c.SealedBMCPassword) == 0 {
		return c, nil
	}
	if m.opts.Sealer == nil {
		return nil, fmt.Errorf("%w: cannot open the BMC password", ErrNoSealer)
	}
	pt, err := m.opts.Sealer.Open(c.SealedBMCPassword)
	if err != nil {
		return nil, err
	}
	c.BMCPassword = string(pt)
	c.SealedBMCPassword = nil
	return c, nil
}

// Subcloud returns the subcloud named by ref (all digits: an ID, anything
// else: a name), or ErrNotFound.
func (m *Manager) Subcloud(ctx context.Context, ref string) (*Subcloud, error) {
	return m.lookup(ctx, ref)
}

// Subclouds lists subclouds ordered by ID, narrowed by opts. It serves
// copies (the caller may modify them) from the Manager's read model, not
// from the Store; ViewSubclouds skips the copies.
func (m *Manager) Subclouds(ctx context.Context, opts ...ListOption) ([]*Subcloud, error) {
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	var lo listOptions
	for _, o := range opts {
		o(&lo)
	}
	all := m.view.list()
	out := make([]*Subcloud, 0, len(all))
	for _, s := range all {
		if !lo.hasGroup || s.GroupID == lo.group {
			out = append(out, s.Clone())
		}
	}
	return out, nil
}

// UpdateRequest changes fields of a subcloud; nil fields stay unchanged.
type UpdateRequest struct {
	// ManagementState manages or unmanages the subcloud (see Manage).
	ManagementState *ManagementState
	// Force skips the deploy-status and availability checks of manage.
	Force bool
	// Description and Location replace the subcloud's.
	Description, Location *string
	// Name renames the subcloud; it must be unmanaged.
	Name *string
	// Group moves the subcloud to the group with that name or ID.
	Group *string
	// Install replaces the install values (BMCPassword plaintext, sealed
	// before storage).
	Install *InstallValues
}

// UpdateSubcloud applies req to the subcloud named by ref in one write. A
// rename needs the subcloud unmanaged (before a management change in the
// same request applies); install values are validated and sealed; a
// management change follows the rules of Manage and Unmanage. Every check
// runs before the write: a refused request, or one that changes nothing,
// leaves the stored subcloud (revision, updated-at) untouched.
func (m *Manager) UpdateSubcloud(ctx context.Context, ref string, req UpdateRequest) (*Subcloud, error) {
	if req.ManagementState != nil && *req.ManagementState != Managed && *req.ManagementState != Unmanaged {
		return nil, &ValidationError{Field: "management-state", Reason: fmt.Sprintf("%q is not managed or unmanaged", *req.ManagementState)}
	}
	if req.Description != nil {
		if err := validateText("description", *req.Description); err != nil {
			return nil, err
		}
	}
	if req.Location != nil {
		if err := validateText("location", *req.Location); err != nil {
			return nil, err
		}
	}
	cur, err := m.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	var groupID int64
	if req.Group != nil {
		g, err := m.resolveGroup(ctx, *req.Group)
		if err != nil {
			return nil, err
		}
		groupID = g.ID
	}
	var install *InstallValues
	if req.Install != nil {
		if err := validateInstall(req.Install); err != nil {
			return nil, err
		}
		if install, err = m.sealInstall(req.Install); err != nil {
			return nil, err
		}
	}
	if req.Name != nil && *req.Name != cur.Name {
		if err := validateName(*req.Name); err != nil {
			return nil, err
		}
		m.writeMu.Lock()
		defer m.writeMu.Unlock()
		if err := m.fleet.checkName(*req.Name, cur.ID); err != nil {
			return nil, err
		}
	}
	s, before, err := m.mutate(ctx, cur.ID, func(s *Subcloud) error {
		if req.Name != nil && *req.Name != s.Name && s.ManagementState != Unmanaged {
			return &StateError{State: DeployStatus(s.ManagementState), Op: OpUpdate, Kind: "management"}
		}
		if req.ManagementState != nil {
			var err error
			if *req.ManagementState == Managed {
				err = applyManage(s, req.Force)
			} else {
				err = applyUnmanage(s)
			}
			if err != nil {
				return err
			}
		}
		if req.Name != nil {
			s.Name = *req.Name
		}
		if req.Description != nil {
			s.Description = *req.Description
		}
		if req.Location != nil {
			s.Location = *req.Location
		}
		if req.Group != nil {
			s.GroupID = groupID
		}
		if install != nil {
			s.Install = install.Clone()
		}
		return nil
	})
	if errors.Is(err, ErrAlreadyExists) {
		return nil, &ValidationError{Field: "name", Reason: "already used by", Conflict: *req.Name, also: ErrAlreadyExists}
	}
	if err != nil {
		return nil, err
	}
	if fieldsChanged(before, s) {
		m.log.InfoContext(ctx, "subcloud updated", "subcloud", s.Name, "id", s.ID)
		m.publish(ctx, SubcloudUpdated, s, "")
	}
	if before.ManagementState != s.ManagementState {
		m.log.InfoContext(ctx, "subcloud management state changed", "subcloud", s.Name, "to", s.ManagementState, "force", req.Force)
	}
	return s, nil
}

// fieldsChanged reports whether an update changed what SubcloudUpdated
// announces: name, description, location, group or install values.
func fieldsChanged(before, after *Subcloud) bool {
	return before.Name != after.Name || before.Description != after.Description ||
		before.Location != after.Location || before.GroupID != after.GroupID ||
		!reflect.DeepEqual(before.Install, after.Install)
}

// applyManage sets s managed, or says why it cannot be: it needs deploy
// status complete and availability online unless force.
func applyManage(s *Subcloud, force bool) error {
	if s.ManagementState == Managed {
		return &StateError{State: DeployStatus(s.ManagementState), Op: OpManage, Kind: "management"}
	}
	if !force {
		if _, err := Transition(s.DeployStatus, OpManage); err != nil {
			return err
		}
		if s.Availability != Online {
			return &StateError{State: DeployStatus(s.Availability), Op: OpManage, Kind: "availability"}
		}
	}
	s.ManagementState = Managed
	return nil
}

// applyUnmanage sets s unmanaged and every endpoint unknown, or says why it
// cannot be.
func applyUnmanage(s *Subcloud) error {
	if s.ManagementState != Managed {
		return &StateError{State: DeployStatus(s.ManagementState), Op: OpUnmanage, Kind: "management"}
	}
	if _, err := Transition(s.DeployStatus, OpUnmanage); err != nil {
		return err
	}
	s.ManagementState = Unmanaged
	for i := range s.Endpoints {
		s.Endpoints[i].SyncStatus = SyncUnknown
	}
	return nil
}

// Manage sets the subcloud managed. It needs deploy status complete and
// availability online unless force. A refusal writes nothing.
func (m *Manager) Manage(ctx context.Context, ref string, force bool) (*Subcloud, error) {
	cur, err := m.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	s, _, err := m.mutate(ctx, cur.ID, func(s *Subcloud) error { return applyManage(s, force) })
	if err != nil {
		return nil, err
	}
	m.log.InfoContext(ctx, "subcloud managed", "subcloud", s.Name, "force", force)
	return s, nil
}

// Unmanage sets the subcloud unmanaged and every endpoint's sync status
// unknown. A refusal writes nothing.
func (m *Manager) Unmanage(ctx context.Context, ref string) (*Subcloud, error) {
	cur, err := m.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	s, _, err := m.mutate(ctx, cur.ID, applyUnmanage)
	if err != nil {
		return nil, err
	}
	m.log.InfoContext(ctx, "subcloud unmanaged", "subcloud", s.Name)
	return s, nil
}

// DeleteSubcloud deletes the subcloud and its deploy log. It needs the
// subcloud unmanaged, offline and with no deploy operation in progress.
// It returns the subcloud as it was.
func (m *Manager) DeleteSubcloud(ctx context.Context, ref string) (*Subcloud, error) {
	cur, err := m.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	for attempt := 1; ; attempt++ {
		if cur.ManagementState != Unmanaged {
			return nil, &StateError{State: DeployStatus(cur.ManagementState), Op: OpDelete, Kind: "management"}
		}
		if cur.Availability != Offline {
			return nil, &StateError{State: DeployStatus(cur.Availability), Op: OpDelete, Kind: "availability"}
		}
		if _, err := Transition(cur.DeployStatus, OpDelete); err != nil {
			return nil, err
		}
		m.mu.Lock()
		w := m.workers[cur.ID]
		m.mu.Unlock()
		if w != nil {
			st := cur.DeployStatus
			if st != Complete && !st.Failed() && !st.Aborted() {
				return nil, &StateError{State: st, Op: OpDelete}
			}
			// The worker recorded the final status and is on its way out.
			select {
			case <-w.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		err := m.store.DeleteSubcloud(ctx, cur.ID, cur.Revision)
		if errors.Is(err, ErrConflict) && attempt < maxCASAttempts {
			if cur, err = m.store.GetSubcloud(ctx, cur.ID); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		m.fleet.remove(cur.ID)
		m.view.remove(cur.ID)
		m.log.InfoContext(ctx, "subcloud deleted", "subcloud", cur.Name, "id", cur.ID)
		m.publish(ctx, SubcloudDeleted, cur, "")
		return cur, nil
	}
}

// DeployLog returns the subcloud's deploy log in order.
func (m *Manager) DeployLog(ctx context.Context, ref string) ([]LogEntry, error) {
	cur, err := m.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	return m.store.DeployLog(ctx, cur.ID)
}

// SetAvailability records an audit result. Going offline sets every
// endpoint's sync status unknown.
func (m *Manager) SetAvailability(ctx context.Context, id int64, a Availability) (*Subcloud, error) {
	if a != Online && a != Offline {
		return nil, &ValidationError{Field: "availability-status", Reason: fmt.Sprintf("%q is not online or offline", a)}
	}
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	cur, err := m.store.GetSubcloud(ctx, id)
	if err != nil {
		return nil, err
	}
	if cur.Availability == a {
		return cur, nil
	}
	s, before, err := m.mutate(ctx, id, func(s *Subcloud) error {
		s.Availability = a
		if a == Offline {
			for i := range s.Endpoints {
				s.Endpoints[i].SyncStatus = SyncUnknown
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if before.Availability != s.Availability {
		m.log.InfoContext(ctx, "subcloud availability changed", "subcloud", s.Name, "from", before.Availability, "to", s.Availability)
	}
	return s, nil
}

// SetEndpointStatus records the sync status of one endpoint, adding the
// endpoint type if the subcloud does not have it yet.
func (m *Manager) SetEndpointStatus(ctx context.Context, id int64, endpoint string, st SyncStatus) (*Subcloud, error) {
	switch st {
	case InSync, OutOfSync, SyncUnknown:
	default:
		return nil, &ValidationError{Field: "sync_status", Reason: fmt.Sprintf("%q is not in-sync, out-of-sync or unknown", st)}
	}
	if endpoint == "" {
		return nil, &ValidationError{Field: "endpoint_type", Reason: "required"}
	}
	if err := m.load(ctx); err != nil {
		return nil, err
	}
	s, _, err := m.mutate(ctx, id, func(s *Subcloud) error {
		for i := range s.Endpoints {
			if s.Endpoints[i].EndpointType == endpoint {
				s.Endpoints[i].SyncStatus = st
				return nil
			}
		}
		s.Endpoints = append(s.Endpoints, EndpointStatus{EndpointType: endpoint, SyncStatus: st})
		return nil
	})
	return s, err
}
