package dc

import (
	"maps"
	"net/netip"
	"time"
)

// ManagementState says whether the System Controller manages a subcloud
// (syncs configuration to it, raises its alarms) or leaves it alone.
type ManagementState string

// Management states, spelled as dcmanager spells them.
const (
	Managed   ManagementState = "managed"
	Unmanaged ManagementState = "unmanaged"
)

// Availability is the result of the audit: whether the subcloud answers.
type Availability string

// Availability states, spelled as dcmanager spells them.
const (
	Online  Availability = "online"
	Offline Availability = "offline"
)

// SyncStatus is the configuration sync state of one endpoint of a subcloud.
type SyncStatus string

// Sync states, spelled as dcmanager spells them.
const (
	InSync      SyncStatus = "in-sync"
	OutOfSync   SyncStatus = "out-of-sync"
	SyncUnknown SyncStatus = "unknown"
)

// EndpointStatus is the sync status of one endpoint type of a subcloud.
type EndpointStatus struct {
	EndpointType string     `json:"endpoint_type"`
	SyncStatus   SyncStatus `json:"sync_status"`
}

// DefaultEndpointTypes returns the endpoint types a new subcloud starts
// with, each in SyncUnknown. It returns a new slice on every call.
func DefaultEndpointTypes() []string {
	return []string{"platform", "identity", "patching", "load", "dc-cert", "firmware", "kubernetes", "kube-rootca", "usm"}
}

// SystemMode is the controller layout of a subcloud.
type SystemMode string

// System modes accepted in bootstrap values.
const (
	Simplex      SystemMode = "simplex"
	Duplex       SystemMode = "duplex"
	DuplexDirect SystemMode = "duplex-direct"
)

// PhaseName names one deploy phase.
type PhaseName string

// Deploy phases, in pipeline order.
const (
	PhaseInstall   PhaseName = "install"
	PhaseBootstrap PhaseName = "bootstrap"
	PhaseConfig    PhaseName = "config"
)

// Subcloud is one edge cluster managed by the System Controller. JSON keys
// are spelled as dcmanager's v1.0 API spells them.
type Subcloud struct {
	ID                        int64            `json:"id"`
	Name                      string           `json:"name"`
	Description               string           `json:"description"`
	Location                  string           `json:"location"`
	GroupID                   int64            `json:"group_id"`
	SoftwareVersion           string           `json:"software-version"`
	ManagementState           ManagementState  `json:"management-state"`
	Availability              Availability     `json:"availability-status"`
	DeployStatus              DeployStatus     `json:"deploy-status"`
	BackupStatus              string           `json:"backup-status"`
	PrestageStatus            string           `json:"prestage-status"`
	ErrorDescription          string           `json:"error-description"`
	ManagementSubnet          netip.Prefix     `json:"management-subnet"`
	ManagementStartIP         netip.Addr       `json:"management-start-ip"`
	ManagementEndIP           netip.Addr       `json:"management-end-ip"`
	ManagementGatewayIP       netip.Addr       `json:"management-gateway-ip"`
	SystemControllerGatewayIP netip.Addr       `json:"systemcontroller-gateway-ip"`
	OAMSubnet                 netip.Prefix     `json:"external_oam_subnet"`
	OAMGatewayIP              netip.Addr       `json:"external_oam_gateway_address"`
	OAMFloatingIP             netip.Addr       `json:"oam_floating_ip"`
	BootstrapAddress          netip.Addr       `json:"bootstrap-address"`
	SystemMode                SystemMode       `json:"system_mode"`
	Endpoints                 []EndpointStatus `json:"endpoint_sync_status"`

	// Install holds the install values, with the BMC password sealed
	// (SealedBMCPassword set, BMCPassword empty) whenever it comes from the
	// Manager or a Store. Nil when the subcloud has no install values.
	Install *InstallValues `json:"-"`
	// Phase is the deploy phase in flight, or the one that failed or was
	// aborted; ResumeDeploy restarts it.
	Phase PhaseName `json:"-"`
	// DeployConfig is the deploy config file given at add (YAML), handed
	// to the Config phase; empty when the subcloud has none, and then the
	// config phase is skipped. It is not part of the API's JSON.
	DeployConfig []byte `json:"-"`
	// SealedSysadminPassword is the subcloud's sysadmin password, sealed
	// by the Manager's Sealer (never stored in plaintext); the Bootstrap
	// phase gets it opened in PhaseJob.SysadminPassword. Empty when none
	// was given.
	SealedSysadminPassword []byte `json:"-"`
	// Revision is the compare-and-swap token of the stored record.
	Revision int64 `json:"-"`

	CreatedAt time.Time `json:"created-at"`
	UpdatedAt time.Time `json:"updated-at"`
}

// SyncStatus returns the aggregate sync status of the subcloud: out-of-sync
// if any endpoint is, in-sync if every endpoint is (and there is at least
// one), unknown otherwise.
func (s *Subcloud) SyncStatus() SyncStatus {
	if len(s.Endpoints) == 0 {
		return SyncUnknown
	}
	all := true
	for _, e := range s.Endpoints {
		switch e.SyncStatus {
		case OutOfSync:
			return OutOfSync
		case InSync:
		default:
			all = false
		}
	}
	if all {
		return InSync
	}
	return SyncUnknown
}

// Clone returns a deep copy of s.
func (s *Subcloud) Clone() *Subcloud {
	if s == nil {
		return nil
	}
	c := *s
	if s.Endpoints != nil {
		c.Endpoints = append([]EndpointStatus(nil), s.Endpoints...)
	}
	c.Install = s.Install.Clone()
	if s.DeployConfig != nil {
		c.DeployConfig = append([]byte(nil), s.DeployConfig...)
	}
	if s.SealedSysadminPassword != nil {
		c.SealedSysadminPassword = append([]byte(nil), s.SealedSysadminPassword...)
	}
	return &c
}

// InstallValues are the values the install phase needs to install a
// subcloud remotely through its BMC. BMCPassword is plaintext only in
// requests and inside a PhaseJob; stored values carry SealedBMCPassword.
type InstallValues struct {
	BMCAddress         string `json:"bmc_address" yaml:"bmc_address"`
	BMCUsername        string `json:"bmc_username" yaml:"bmc_username"`
	BMCPassword        string `json:"bmc_password,omitempty" yaml:"bmc_password"`
	BootstrapInterface string `json:"bootstrap_interface" yaml:"bootstrap_interface"`
	BootstrapAddress   string `json:"bootstrap_address" yaml:"bootstrap_address"`
	BootstrapVLAN      int    `json:"bootstrap_vlan,omitempty" yaml:"bootstrap_vlan"`
	NetworkAddress     string `json:"network_address,omitempty" yaml:"network_address"`
	NetworkMask        int    `json:"network_mask,omitempty" yaml:"network_mask"`
	Image              string `json:"image" yaml:"image"`
	BootDevice         string `json:"boot_device" yaml:"boot_device"`
	RootfsDevice       string `json:"rootfs_device" yaml:"rootfs_device"`
	InstallType        int    `json:"install_type" yaml:"install_type"`
	SoftwareVersion    string `json:"software_version,omitempty" yaml:"software_version"`

	// Extra holds the keys of an install values file that Atoll does not
	// interpret, untouched.
	Extra map[string]any `json:"extra,omitempty" yaml:"-"`

	// SealedBMCPassword is BMCPassword encrypted by the Manager's Sealer.
	SealedBMCPassword []byte `json:"-" yaml:"-"`
}

// Clone returns a deep copy of v.
func (v *InstallValues) Clone() *InstallValues {
	if v == nil {
		return nil
	}
	c := *v
	if v.SealedBMCPassword != nil {
		c.SealedBMCPassword = append([]byte(nil), v.SealedBMCPassword...)
	}
	c.Extra = maps.Clone(v.Extra)
	return &c
}

// BootstrapValues are the known keys of a subcloud's bootstrap values file.
// Keys Atoll does not interpret are kept in Extra.
type BootstrapValues struct {
	Name                           string     `yaml:"name"`
	Description                    string     `yaml:"description"`
	Location                       string     `yaml:"location"`
	SystemMode                     SystemMode `yaml:"system_mode"`
	ManagementSubnet               string     `yaml:"management_subnet"`
	ManagementStartAddress         string     `yaml:"management_start_address"`
	ManagementEndAddress           string     `yaml:"management_end_address"`
	ManagementGatewayAddress       string     `yaml:"management_gateway_address"`
	SystemControllerGatewayAddress string     `yaml:"systemcontroller_gateway_address"`
	ExternalOAMSubnet              string     `yaml:"external_oam_subnet"`
	ExternalOAMGatewayAddress      string     `yaml:"external_oam_gateway_address"`
	ExternalOAMFloatingAddress     string     `yaml:"external_oam_floating_address"`

	// Extra holds every other key of the file, untouched.
	Extra map[string]any `yaml:"-"`
}

// ApplyType is how an update is applied across the subclouds of a group.
type ApplyType string

// Apply types of a subcloud group.
const (
	ApplySerial   ApplyType = "serial"
	ApplyParallel ApplyType = "parallel"
)

// DefaultGroupID is the ID of the Default subcloud group, which always
// exists and cannot be deleted or renamed.
const DefaultGroupID int64 = 1

// DefaultGroupName is the name of the Default subcloud group.
const DefaultGroupName = "Default"

// Group is a subcloud group: the unit of rollout parallelism.
type Group struct {
	ID                   int64     `json:"id"`
	Name                 string    `json:"name"`
	Description          string    `json:"description"`
	UpdateApplyType      ApplyType `json:"update_apply_type"`
	MaxParallelSubclouds int       `json:"max_parallel_subclouds"`
	Revision             int64     `json:"-"`
	CreatedAt            time.Time `json:"created-at"`
	UpdatedAt            time.Time `json:"updated-at"`
}

// Clone returns a copy of g.
func (g *Group) Clone() *Group {
	if g == nil {
		return nil
	}
	c := *g
	return &c
}

// LogEntry is one line of a subcloud's deploy log.
type LogEntry struct {
	Time    time.Time `json:"time"`
	Phase   PhaseName `json:"phase"`
	Message string    `json:"message"`
}
