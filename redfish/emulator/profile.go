package emulator

import (
	"fmt"
	"net/http"
	"time"
)

// Profile names a vendor flavour of BMC: its resource ids, strings and
// quirks. The zero value is ProfileGeneric.
type Profile string

// The profiles the emulator knows. Profiles lists them in a stable order.
const (
	// ProfileGeneric follows the DMTF mockup and the specification
	// closely: Systems/1, Managers/1, Chassis/1, media under Managers/1.
	ProfileGeneric Profile = "generic"
	// ProfileDell behaves like an iDRAC 9: ids System.Embedded.1 and
	// iDRAC.Embedded.1, media must be ejected before a new insert, and a
	// slot settles for a while after each insert or eject.
	ProfileDell Profile = "dell"
	// ProfileHPE behaves like an iLO 5: a boot override PATCH must carry
	// both BootSourceOverrideTarget and BootSourceOverrideEnabled, and
	// ETags are weak.
	ProfileHPE Profile = "hpe"
	// ProfileSupermicro behaves like an X12 BMC: InsertMedia answers 202
	// with a task, and in UEFI mode the virtual CD boots only as UsbCd.
	ProfileSupermicro Profile = "supermicro"
	// ProfileLenovo behaves like an XCC: media slots have no InsertMedia
	// or EjectMedia actions; media is inserted and ejected with PATCH.
	ProfileLenovo Profile = "lenovo"
	// ProfileOpenBMC behaves like bmcweb: ids system, bmc and chassis,
	// media under the System, and session authentication only.
	ProfileOpenBMC Profile = "openbmc"
)

// Profiles returns every known profile, ProfileGeneric first.
func Profiles() []Profile {
	return []Profile{ProfileGeneric, ProfileDell, ProfileHPE, ProfileSupermicro, ProfileLenovo, ProfileOpenBMC}
}

// String returns the profile name.
func (p Profile) String() string { return string(p) }

// Layout gives the resource paths a profile uses, so that tests and tools
// can address them without walking the tree.
type Layout struct {
	// System is the ComputerSystem, e.g. /redfish/v1/Systems/1.
	System string
	// Manager is the BMC's Manager resource.
	Manager string
	// Chassis is the Chassis resource.
	Chassis string
	// VirtualMedia is the VirtualMedia collection.
	VirtualMedia string
	// CD is the CD/DVD slot.
	CD string
	// USB is the USB stick / floppy slot.
	USB string
}

// spec is one row of the profile table. Values only: a spec is returned by
// value from specFor and never shared.
type spec struct {
	profile Profile

	vendor          string // ServiceRoot.Vendor
	product         string // ServiceRoot.Product
	manufacturer    string // ComputerSystem.Manufacturer, Chassis.Manufacturer
	model           string // ComputerSystem.Model
	managerModel    string // Manager.Model
	managerFirmware string // Manager.FirmwareVersion
	biosVersion     string // ComputerSystem.BiosVersion
	serialPrefix    string
	macOUI          [3]byte

	systemID, managerID, chassisID string
	mediaUnderSystem               bool // VirtualMedia under the System instead of the Manager
	cdSlot, usbSlot                string
	cdTypes, usbTypes              []string
	mediaActions                   bool // InsertMedia/EjectMedia actions; false: PATCH only
	// insertBusyStatus is the status for InsertMedia into an occupied slot;
	// 0 means the new image replaces the old one.
	insertBusyStatus int
	insertBusyMsgID  string
	settle           time.Duration // slot busy (and not yet reported) after insert/eject
	// asyncInsert: < 0 never, 0 always, > 0 images at least this long are
	// inserted as a task (202 + task monitor).
	asyncInsert int64

	basicAuth     bool
	weakETag      bool
	resetTypes    []string
	resetConflict bool // On while On, ForceOff while Off: 409 instead of a no-op
	bootTargets   []string
	bootNeedsBoth bool   // PATCH Boot must carry Target and Enabled together
	uefiCdTarget  string // in UEFI mode the virtual CD boots only with this target
	sessionTTL    time.Duration
}

// specFor is the profile table. It returns a fresh value on every call, so
// the table has no shared mutable state.
func specFor(p Profile) (spec, error) {
	allResets := []string{"On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "PowerCycle", "ForceOn", "Nmi", "PushPowerButton"}
	targets := []string{"None", "Pxe", "Cd", "Usb", "Hdd", "BiosSetup", "Diags", "UefiTarget", "UefiHttp"}
	s := spec{
		profile:          ProfileGeneric,
		vendor:           "Contoso",
		product:          "Atoll Redfish emulator",
		manufacturer:     "Contoso",
		model:            "3500",
		managerModel:     "Joo Janta 200",
		managerFirmware:  "1.45.455b66-rev4",
		biosVersion:      "P79 v1.45 (12/06/2017)",
		serialPrefix:     "437XR",
		macOUI:           [3]byte{0x02, 0xa7, 0x01},
		systemID:         "1",
		managerID:        "1",
		chassisID:        "1",
		cdSlot:           "CD1",
		usbSlot:          "Floppy1",
		cdTypes:          []string{"CD", "DVD"},
		usbTypes:         []string{"Floppy", "USBStick"},
		mediaActions:     true,
		insertBusyStatus: http.StatusConflict,
		insertBusyMsgID:  "Base.1.16.ResourceInUse",
		asyncInsert:      1 << 30,
		basicAuth:        true,
		resetTypes:       allResets,
		bootTargets:      targets,
		sessionTTL:       30 * time.Minute,
	}
	switch p {
	case ProfileGeneric, "":
	case ProfileDell:
		s.profile = p
		s.vendor, s.product = "Dell", "Integrated Dell Remote Access Controller"
		s.manufacturer, s.model = "Dell Inc.", "PowerEdge R650"
		s.managerModel, s.managerFirmware = "14G Monolithic", "6.10.30.00"
		s.biosVersion, s.serialPrefix = "1.13.2", "JX"
		s.macOUI = [3]byte{0x02, 0xd1, 0x01}
		s.systemID, s.managerID, s.chassisID = "System.Embedded.1", "iDRAC.Embedded.1", "System.Embedded.1"
		s.cdSlot, s.usbSlot = "CD", "RemovableDisk"
		s.usbTypes = []string{"USBStick"}
		s.insertBusyStatus, s.insertBusyMsgID = http.StatusBadRequest, "IDRAC.2.8.VRM0012"
		s.settle = 500 * time.Millisecond
		s.asyncInsert = -1
		s.resetTypes = []string{"On", "ForceOff", "ForceRestart", "GracefulRestart", "GracefulShutdown", "PushPowerButton", "Nmi", "PowerCycle"}
		s.resetConflict = true
		s.bootTargets = []string{"None", "Pxe", "Floppy", "Cd", "Hdd", "BiosSetup", "Utilities", "UefiTarget", "SDCard", "UefiHttp"}
	case ProfileHPE:
		s.profile = p
		s.vendor, s.product = "HPE", "ProLiant DL360 Gen10 Plus"
		s.manufacturer, s.model = "HPE", "ProLiant DL360 Gen10 Plus"
		s.managerModel, s.managerFirmware = "iLO 5", "iLO 5 v2.78"
		s.biosVersion, s.serialPrefix = "U46 v2.80 (10/20/2023)", "MXQ"
		s.macOUI = [3]byte{0x02, 0x48, 0x01}
		s.cdSlot, s.usbSlot = "2", "1"
		s.usbTypes = []string{"Floppy", "USBStick"}
		s.insertBusyStatus, s.insertBusyMsgID = http.StatusBadRequest, "iLO.2.15.MaxVirtualMediaConnectionEstablished"
		s.asyncInsert = -1
		s.weakETag = true
		s.resetTypes = []string{"On", "ForceOff", "GracefulShutdown", "ForceRestart", "Nmi", "PushPowerButton", "GracefulRestart"}
		s.bootNeedsBoth = true
		s.bootTargets = []string{"None", "Cd", "Hdd", "Usb", "SDCard", "Utilities", "Diags", "BiosSetup", "Pxe", "UefiShell", "UefiHttp", "UefiTarget"}
	case ProfileSupermicro:
		s.profile = p
		s.vendor, s.product = "Supermicro", "SYS-120U-TNR"
		s.manufacturer, s.model = "Supermicro", "SYS-120U-TNR"
		s.managerModel, s.managerFirmware = "ASPEED", "01.01.06"
		s.biosVersion, s.serialPrefix = "1.4a", "S4"
		s.macOUI = [3]byte{0x02, 0x25, 0x90}
		s.cdSlot, s.usbSlot = "CD1", "USB1"
		s.usbTypes = []string{"USBStick"}
		s.asyncInsert = 0
		s.resetTypes = []string{"On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "Nmi", "ForceOn", "PowerCycle"}
		s.bootTargets = []string{"None", "Pxe", "Floppy", "Cd", "Usb", "Hdd", "BiosSetup", "UsbCd", "UefiBootNext", "UefiHttp"}
		s.uefiCdTarget = "UsbCd"
	case ProfileLenovo:
		s.profile = p
		s.vendor, s.product = "Lenovo", "ThinkSystem SR650 V2"
		s.manufacturer, s.model = "Lenovo", "ThinkSystem SR650 V2"
		s.managerModel, s.managerFirmware = "XClarity Controller", "AFBT30T 6.10"
		s.biosVersion, s.serialPrefix = "AFE128K-3.10", "J30"
		s.macOUI = [3]byte{0x02, 0x8c, 0xf1}
		s.cdSlot, s.usbSlot = "EXT1", "EXT2"
		s.usbTypes = []string{"USBStick"}
		s.mediaActions = false
		s.insertBusyStatus = 0
		s.asyncInsert = -1
		s.resetTypes = []string{"On", "Nmi", "GracefulShutdown", "GracefulRestart", "ForceOn", "ForceOff", "ForceRestart"}
		s.bootTargets = []string{"None", "Pxe", "Cd", "Usb", "Hdd", "BiosSetup", "Diags", "UefiTarget"}
	case ProfileOpenBMC:
		s.profile = p
		s.vendor, s.product = "OpenBMC", "OpenBMC bmcweb"
		s.manufacturer, s.model = "OpenBMC", "Romulus"
		s.managerModel, s.managerFirmware = "OpenBmc", "2.15.0-dev-1234-g0a1b2c3"
		s.biosVersion, s.serialPrefix = "open-power-romulus-v2.9", "OB"
		s.macOUI = [3]byte{0x02, 0x0b, 0xbc}
		s.systemID, s.managerID, s.chassisID = "system", "bmc", "chassis"
		s.mediaUnderSystem = true
		s.cdSlot, s.usbSlot = "Slot_0", "Slot_1"
		s.cdTypes = []string{"CD", "DVD"}
		s.usbTypes = []string{"USBStick"}
		s.asyncInsert = -1
		s.basicAuth = false
		s.resetTypes = []string{"On", "ForceOff", "ForceOn", "ForceRestart", "GracefulRestart", "GracefulShutdown", "PowerCycle", "Nmi"}
		s.bootTargets = []string{"None", "Pxe", "Hdd", "Cd", "Diags", "BiosSetup", "Usb"}
		s.sessionTTL = time.Hour
	default:
		return spec{}, fmt.Errorf("%w: %q", ErrUnknownProfile, string(p))
	}
	return s, nil
}

func (s spec) layout() Layout {
	l := Layout{
		System:  "/redfish/v1/Systems/" + s.systemID,
		Manager: "/redfish/v1/Managers/" + s.managerID,
		Chassis: "/redfish/v1/Chassis/" + s.chassisID,
	}
	if s.mediaUnderSystem {
		l.VirtualMedia = l.System + "/VirtualMedia"
	} else {
		l.VirtualMedia = l.Manager + "/VirtualMedia"
	}
	l.CD = l.VirtualMedia + "/" + s.cdSlot
	l.USB = l.VirtualMedia + "/" + s.usbSlot
	return l
}
