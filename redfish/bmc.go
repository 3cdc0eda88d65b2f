package redfish

import (
	"context"
	"time"
)

// PowerController reads and changes the host's power.
type PowerController interface {
	// PowerState reports the host's current power state.
	PowerState(ctx context.Context) (PowerState, error)
	// SetPower performs a power action. It returns once the BMC has accepted
	// the action; it does not wait for the host to reach the new state (see
	// [Client.WaitPower]).
	SetPower(ctx context.Context, action PowerAction) error
}

// BootController reads and sets the one-time or persistent boot override.
type BootController interface {
	// BootOverride reports the boot override currently set on the host.
	BootOverride(ctx context.Context) (BootOverride, error)
	// SetBootOverride sets the boot override.
	SetBootOverride(ctx context.Context, o BootOverride) error
}

// MediaController drives the host's virtual CD/DVD drive.
type MediaController interface {
	// MediaStatus reports what the virtual CD/DVD slot holds.
	MediaStatus(ctx context.Context) (MediaStatus, error)
	// InsertMedia attaches the image at imageURL to the virtual CD/DVD slot
	// and returns once the slot reports it attached. Inserting the image
	// already attached does nothing; another image is ejected first.
	InsertMedia(ctx context.Context, imageURL string) error
	// EjectMedia detaches whatever the virtual CD/DVD slot holds and
	// returns once the slot reports it empty. Ejecting an empty slot does
	// nothing.
	EjectMedia(ctx context.Context) error
}

// Inventory reads what the host is.
type Inventory interface {
	// Inventory reports the host's identity, addresses and firmware.
	Inventory(ctx context.Context) (HostInventory, error)
}

// TaskWaiter follows a Redfish task until it ends.
type TaskWaiter interface {
	// WaitTask polls the task monitor or task at uri until the task ends
	// and returns its final status. A task that ends in any state but
	// Completed is returned with an error wrapping [ErrTaskFailed].
	WaitTask(ctx context.Context, uri string) (TaskStatus, error)
}

// BMC is everything the remote-install lifecycle needs from a baseboard
// management controller. [*Client] implements it over Redfish; plugins may
// carry it across a process boundary.
type BMC interface {
	PowerController
	BootController
	MediaController
	Inventory
	TaskWaiter
}

// PowerState is a host power state as Redfish reports it.
type PowerState string

// Power states.
const (
	PowerOn         PowerState = "On"
	PowerOff        PowerState = "Off"
	PowerPoweringOn PowerState = "PoweringOn"
	// PowerPoweringOff is reported while the host shuts down.
	PowerPoweringOff PowerState = "PoweringOff"
	PowerPaused      PowerState = "Paused"
	// PowerUnknown is reported when the BMC gives no power state.
	PowerUnknown PowerState = "Unknown"
)

// PowerAction is a power action a BMC performs (a Redfish ResetType).
type PowerAction string

// Power actions.
const (
	// ActionOn powers the host on.
	ActionOn PowerAction = "On"
	// ActionForceOff cuts power at once.
	ActionForceOff PowerAction = "ForceOff"
	// ActionGracefulShutdown asks the operating system to shut down.
	ActionGracefulShutdown PowerAction = "GracefulShutdown"
	// ActionForceRestart restarts the host without a clean shutdown.
	ActionForceRestart PowerAction = "ForceRestart"
	// ActionPowerCycle turns the host off and on again. On a BMC that does
	// not offer PowerCycle, the client performs ForceOff then On.
	ActionPowerCycle PowerAction = "PowerCycle"
)

// BootTarget is a boot source override target.
type BootTarget string

// Boot targets. The client translates them to the vendor's spelling (for
// example Supermicro's virtual CD is "UsbCd").
const (
	BootNone     BootTarget = "None"
	BootCd       BootTarget = "Cd"
	BootPxe      BootTarget = "Pxe"
	BootUefiHTTP BootTarget = "UefiHttp"
	BootHdd      BootTarget = "Hdd"
)

// BootEnabled says how long a boot override lasts.
type BootEnabled string

// Boot override lifetimes.
const (
	BootDisabled   BootEnabled = "Disabled"
	BootOnce       BootEnabled = "Once"
	BootContinuous BootEnabled = "Continuous"
)

// BootMode is the firmware boot mode used with an override.
type BootMode string

// Boot modes. The empty BootMode leaves the host's mode unchanged.
const (
	BootUEFI   BootMode = "UEFI"
	BootLegacy BootMode = "Legacy"
)

// BootOverride is a host's boot source override.
type BootOverride struct {
	Target  BootTarget
	Enabled BootEnabled
	// Mode is the firmware mode; empty means "leave as is" when setting and
	// "not reported" when reading.
	Mode BootMode
}

// MediaStatus is the state of the virtual CD/DVD slot.
type MediaStatus struct {
	// Slot is the slot's resource path (under Systems or Managers).
	Slot string
	// Inserted is true when an image is attached.
	Inserted bool
	// Image is the attached image's URL, empty when none.
	Image string
	// ConnectedVia is how the image is attached ("URI", "Applet",
	// "NotConnected"), as the BMC reports it.
	ConnectedVia string
}

// HostInventory identifies a host and its firmware.
type HostInventory struct {
	Vendor       Vendor
	Manufacturer string
	Model        string
	SerialNumber string
	SKU          string
	UUID         string
	// MACAddresses lists the host's network interfaces' MAC addresses,
	// upper-case, in the order the BMC lists the interfaces.
	MACAddresses []string
	BIOSVersion  string
	BMCFirmware  string
	PowerState   PowerState
}

// TaskState is a Redfish task state.
type TaskState string

// Task states that end a task, plus Running for anything in progress.
const (
	TaskRunning   TaskState = "Running"
	TaskCompleted TaskState = "Completed"
	TaskException TaskState = "Exception"
	TaskKilled    TaskState = "Killed"
	TaskCancelled TaskState = "Cancelled"
)

// TaskStatus is a task's state as last read.
type TaskStatus struct {
	URI             string
	State           TaskState
	Health          string
	PercentComplete int
	Messages        []string
	Elapsed         time.Duration
}
