package dc

import "context"

// Store is the narrow backend interface the Manager persists through. It
// is deliberately dumb: no validation, no state machine, no secrets in
// plaintext (the Manager seals them first). Implementations return copies
// that callers may mutate, and map their driver errors onto ErrNotFound,
// ErrAlreadyExists and ErrConflict.
//
// Updates and deletes are compare-and-swap on Revision: they succeed only
// if the stored revision equals the one passed, and an update stores the
// record with Revision+1.
type Store interface {
	// CreateSubcloud stores a new subcloud, assigning ID and Revision 1.
	// ErrAlreadyExists if the name is taken; ErrNotFound if its group does
	// not exist.
	CreateSubcloud(ctx context.Context, s *Subcloud) (*Subcloud, error)
	// GetSubcloud returns the subcloud with that ID, or ErrNotFound.
	GetSubcloud(ctx context.Context, id int64) (*Subcloud, error)
	// GetSubcloudByName returns the subcloud with that name, or ErrNotFound.
	GetSubcloudByName(ctx context.Context, name string) (*Subcloud, error)
	// ListSubclouds returns every subcloud ordered by ID.
	ListSubclouds(ctx context.Context) ([]*Subcloud, error)
	// UpdateSubcloud replaces the subcloud if s.Revision is current
	// (ErrConflict otherwise) and returns the stored copy with Revision+1.
	// ErrAlreadyExists if a rename collides.
	UpdateSubcloud(ctx context.Context, s *Subcloud) (*Subcloud, error)
	// DeleteSubcloud removes the subcloud and its deploy log if revision is
	// current (ErrConflict otherwise).
	DeleteSubcloud(ctx context.Context, id, revision int64) error

	// CreateGroup stores a new group, assigning ID and Revision 1.
	CreateGroup(ctx context.Context, g *Group) (*Group, error)
	// GetGroup returns the group with that ID, or ErrNotFound.
	GetGroup(ctx context.Context, id int64) (*Group, error)
	// GetGroupByName returns the group with that name, or ErrNotFound.
	GetGroupByName(ctx context.Context, name string) (*Group, error)
	// ListGroups returns every group ordered by ID, Default first.
	ListGroups(ctx context.Context) ([]*Group, error)
	// UpdateGroup replaces the group if g.Revision is current.
	UpdateGroup(ctx context.Context, g *Group) (*Group, error)
	// DeleteGroup removes the group if revision is current.
	// ErrInvalidState if subclouds still belong to it.
	DeleteGroup(ctx context.Context, id, revision int64) error

	// AppendDeployLog appends one entry to a subcloud's deploy log.
	// ErrNotFound if the subcloud does not exist.
	AppendDeployLog(ctx context.Context, subcloudID int64, e LogEntry) error
	// DeployLog returns a subcloud's deploy log in append order.
	DeployLog(ctx context.Context, subcloudID int64) ([]LogEntry, error)

	// Close releases the store. Later calls may return ErrClosed.
	Close() error
}

// WriterLocker is an optional [Store] capability: a lock that makes its
// holder the store's only writing Manager. A Manager serves reads from its
// in-memory model and assumes no other writer, so it takes this lock
// before it first reads the store when the store offers one, waiting while
// another Manager holds it. Several controllers can then share one
// database: one active, the others standing by until it stops or dies.
type WriterLocker interface {
	// LockWriter blocks until the lock is held or ctx ends. lost is
	// closed if the lock is lost while held (the connection holding it
	// broke); unlock releases it.
	LockWriter(ctx context.Context) (lost <-chan struct{}, unlock func() error, err error)
}

// ListOption narrows Manager.Subclouds.
type ListOption func(*listOptions)

type listOptions struct {
	group    int64
	hasGroup bool
}

// InGroup keeps subclouds of the group with that ID.
func InGroup(id int64) ListOption {
	return func(o *listOptions) { o.group, o.hasGroup = id, true }
}
