package redfish

import (
	"strings"
	"time"
)

// Vendor names a BMC family whose Redfish service needs particular handling.
type Vendor string

// Vendors with an entry in the quirks table.
const (
	VendorGeneric    Vendor = "generic"
	VendorDell       Vendor = "dell-idrac"
	VendorHPE        Vendor = "hpe-ilo"
	VendorSupermicro Vendor = "supermicro"
	VendorLenovo     Vendor = "lenovo-xcc"
	VendorOpenBMC    Vendor = "openbmc"
)

// mediaHome says where a vendor lists its virtual media.
type mediaHome int

const (
	mediaUnderSystems mediaHome = iota
	mediaUnderManagers
)

// quirks is everything that differs between BMC families. It is the only
// place vendor differences live; the operations read it and never test the
// vendor themselves.
type quirks struct {
	vendor Vendor
	// mediaSearch is the order in which the CD/DVD slot is looked for.
	mediaSearch []mediaHome
	// ejectBeforeInsert: InsertMedia is refused while an image is attached
	// (or still recorded in the slot), so eject first.
	ejectBeforeInsert bool
	// insertSettle: wait this long after the slot reports the image before
	// using it as a boot device.
	insertSettle time.Duration
	// powerSettle: wait this long after the host reports Off before
	// changing boot settings or powering on again.
	powerSettle time.Duration
	// cdTarget and cdTargetUEFI are the vendor's BootSourceOverrideTarget
	// for the virtual CD in Legacy and in UEFI mode.
	cdTarget, cdTargetUEFI string
	// bootModeInPatch: send BootSourceOverrideMode in the same PATCH as the
	// target. When false, the mode is sent in its own PATCH and only when
	// it differs from the current one.
	bootModeInPatch bool
	// insertProtocol: send TransferProtocolType (from the URL's scheme)
	// and TransferMethod "Stream" with InsertMedia.
	insertProtocol bool
	// insertFlags: send Inserted=true and WriteProtected=true with
	// InsertMedia.
	insertFlags bool
}

// quirksFor returns the table entry for v. The table, in one place:
//
//	vendor      media slot         eject first  insert settle  power settle  virtual CD target  boot mode
//	dell-idrac  Managers, Systems  yes          3s             2s            Cd                 own PATCH, if changed
//	hpe-ilo     Managers           yes          2s             2s            Cd                 with target
//	supermicro  Managers, Systems  yes          5s             3s            Cd; UsbCd in UEFI  with target
//	lenovo-xcc  Managers           no           3s             2s            Cd                 with target
//	openbmc     Systems, Managers  no           1s             1s            Cd                 with target
//	generic     Systems, Managers  no           0              0             Cd                 with target
//
// Every vendor gets Target and Enabled in one PATCH (iLO 5 refuses one
// without the other). Facts behind the rows: iDRAC 9 lists VirtualMedia
// under its Manager (iDRAC.Embedded.1/VirtualMedia/CD), later firmware
// under the System, and answers InsertMedia into an occupied slot with
// 400; iLO 5 keeps media under Managers/1/VirtualMedia and answers 400 to
// an insert while connected; Supermicro X12 boots its virtual CD in UEFI
// mode only as "UsbCd" and wants the transfer protocol spelled out;
// Lenovo XCC has no InsertMedia action (media is PATCHed) and replaces an
// attached image; bmcweb (OpenBMC) keeps media under the System and wants
// the transfer protocol. Polling the slot and power state makes the settle
// delays a margin for real hardware, not a correctness device.
func quirksFor(v Vendor) quirks {
	switch v {
	case VendorDell:
		return quirks{vendor: v, mediaSearch: []mediaHome{mediaUnderManagers, mediaUnderSystems},
			ejectBeforeInsert: true, insertSettle: 3 * time.Second, powerSettle: 2 * time.Second,
			cdTarget: "Cd", cdTargetUEFI: "Cd", bootModeInPatch: false, insertFlags: true}
	case VendorHPE:
		return quirks{vendor: v, mediaSearch: []mediaHome{mediaUnderManagers, mediaUnderSystems},
			ejectBeforeInsert: true, insertSettle: 2 * time.Second, powerSettle: 2 * time.Second,
			cdTarget: "Cd", cdTargetUEFI: "Cd", bootModeInPatch: true, insertFlags: true}
	case VendorSupermicro:
		return quirks{vendor: v, mediaSearch: []mediaHome{mediaUnderManagers, mediaUnderSystems},
			ejectBeforeInsert: true, insertSettle: 5 * time.Second, powerSettle: 3 * time.Second,
			cdTarget: "Cd", cdTargetUEFI: "UsbCd", bootModeInPatch: true, insertProtocol: true}
	case VendorLenovo:
		return quirks{vendor: v, mediaSearch: []mediaHome{mediaUnderManagers, mediaUnderSystems},
			insertSettle: 3 * time.Second, powerSettle: 2 * time.Second,
			cdTarget: "Cd", cdTargetUEFI: "Cd", bootModeInPatch: true, insertFlags: true}
	case VendorOpenBMC:
		return quirks{vendor: v, mediaSearch: []mediaHome{mediaUnderSystems, mediaUnderManagers},
			insertSettle: time.Second, powerSettle: time.Second,
			cdTarget: "Cd", cdTargetUEFI: "Cd", bootModeInPatch: true, insertProtocol: true}
	default:
		return quirks{vendor: VendorGeneric, mediaSearch: []mediaHome{mediaUnderSystems, mediaUnderManagers},
			cdTarget: "Cd", cdTargetUEFI: "Cd", bootModeInPatch: true}
	}
}

// detectVendor names the BMC family from what the service says about
// itself: the service root's Vendor, then the system's manufacturer, then
// the manager's model.
func detectVendor(rootVendor, manufacturer, managerModel string) Vendor {
	for _, s := range []string{rootVendor, manufacturer, managerModel} {
		s = strings.ToLower(s)
		switch {
		case s == "":
			continue
		case strings.Contains(s, "dell"):
			return VendorDell
		case strings.Contains(s, "hpe"), strings.Contains(s, "hewlett"):
			return VendorHPE
		case strings.Contains(s, "supermicro"):
			return VendorSupermicro
		case strings.Contains(s, "lenovo"):
			return VendorLenovo
		case strings.Contains(s, "openbmc"):
			return VendorOpenBMC
		}
	}
	return VendorGeneric
}

// bootTargetFor translates a portable target to the vendor's spelling for
// the firmware mode the host will boot in.
func (q quirks) bootTargetFor(t BootTarget, mode BootMode) string {
	if t != BootCd {
		return string(t)
	}
	if mode == BootUEFI {
		return q.cdTargetUEFI
	}
	return q.cdTarget
}

// bootTargetFrom translates a vendor's target back to the portable one.
func (q quirks) bootTargetFrom(s string) BootTarget {
	if s == q.cdTarget || s == q.cdTargetUEFI {
		return BootCd
	}
	return BootTarget(s)
}
