package dc

import (
	"context"
	"time"
)

// EventType names a state change of a subcloud.
type EventType string

// Event types published by the Manager and the Auditor.
const (
	SubcloudAdded       EventType = "subcloud-added"
	SubcloudUpdated     EventType = "subcloud-updated"
	SubcloudManaged     EventType = "subcloud-managed"
	SubcloudUnmanaged   EventType = "subcloud-unmanaged"
	AvailabilityChanged EventType = "availability-changed"
	DeployStatusChanged EventType = "deploy-status-changed"
	EndpointChanged     EventType = "endpoint-changed"
	SubcloudDeleted     EventType = "subcloud-deleted"
)

// Event is one state change, carrying the subcloud as it is after it.
type Event struct {
	Type     EventType
	Subcloud Subcloud
	Time     time.Time
	// Previous is the value before the change for AvailabilityChanged,
	// DeployStatusChanged and EndpointChanged ("" otherwise).
	Previous string
}

// Publisher receives events. Publish must not block for long; it runs on
// the goroutine that made the change.
type Publisher interface {
	Publish(ctx context.Context, e Event)
}

// Clock tells the time. Tests inject a fake one.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

// Now returns the real time.
func (realClock) Now() time.Time { return time.Now() }
