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
	// ejectBeforeInsert: InsertMedia fails while any image is attached, so
	// eject first even when the slot looks empty-but-connected.
	ejectBeforeInsert bool
	// insertSettle: wait this long after InsertMedia before the media is
	// usable as a boot device.
	insertSettle time.Duration
	// powerSettle: wait this long after the host reports Off before
	// changing boot settings or powering on again.
	powerSettle time.Duration
	// cdTarget is the vendor's BootSourceOverrideTarget for the virtual CD.
	cdTarget string
	// bootModeInPatch: send BootSourceOverrideMode in the same PATCH as the
	// target. When false, the mode is sent in its own PATCH and only when
	// it differs from the current one.
	bootModeInPatch bool
	// bootEnabledFirst: the BMC only accepts a target change when
	// BootSourceOverrideEnabled is sent first in its own PATCH.
	bootEnabledFirst bool
	// insertProtocol: send TransferProtocolType (from the URL's scheme)
	// and TransferMethod "Stream" with InsertMedia.
	insertProtocol bool
	// insertFlags: send Inserted=true and WriteProtected=true with
	// InsertMedia.
	insertFlags bool
}

// quirksFor returns the table entry for v. The table, in one place:
//
//	vendor      media slot        eject first  insert settle  power settle  CD target  boot PATCH
//	dell-idrac  Systems, Managers yes          3s             2s            Cd         mode in its own PATCH
//	hpe-ilo     Managers          yes          2s             2s            Cd         Enabled, then Target
//	supermicro  Managers, Systems yes          5s             3s            UsbCd      mode with target
//	lenovo-xcc  Managers          yes          3s             2s            Cd         mode with target
//	openbmc     Managers          no           1s             1s            Cd         mode with target
//	generic     Systems, Managers no           0              0             Cd         mode with target
//
// Facts behind it: iDRAC 9 lists VirtualMedia under the Manager
// (iDRAC.Embedded.1/VirtualMedia/CD) and later firmware under the System,
// and refuses InsertMedia while an image is attached; iLO 5 keeps virtual
// media under Managers/1/VirtualMedia and rejects a Target change unless
// Enabled is already set; Supermicro boots its virtual CD as "UsbCd" and
// wants the protocol with InsertMedia; Lenovo XCC and OpenBMC keep virtual
// media under the Manager and want the transfer protocol spelled out.
func quirksFor(v Vendor) quirks {
	switch v {
	case VendorDell:
		return quirks{vendor: v, mediaSearch: []mediaHome{mediaUnderSystems, mediaUnderManagers},
			ejectBeforeInsert: true, insertSettle: 3 * time.Second, powerSettle: 2 * time.Second,
			cdTarget: "Cd", bootModeInPatch: false, insertFlags: true}
	case VendorHPE:
		return quirks{vendor: v, mediaSearch: []mediaHome{mediaUnderManagers, mediaUnderSystems},
			ejectBeforeInsert: true, insertSettle: 2 * time.Second, powerSettle: 2 * time.Second,
			cdTarget: "Cd", bootModeInPatch: true, bootEnabledFirst: true, insertFlags: true}
	case VendorSupermicro:
		return quirks{vendor: v, mediaSearch: []mediaHome{mediaUnderManagers, mediaUnderSystems},
			ejectBeforeInsert: true, insertSettle: 5 * time.Second, powerSettle: 3 * time.Second,
			cdTarget: "UsbCd", bootModeInPatch: true, insertProtocol: true}
	case VendorLenovo:
		return quirks{vendor: v, mediaSearch: []mediaHome{mediaUnderManagers, mediaUnderSystems},
			ejectBeforeInsert: true, insertSettle: 3 * time.Second, powerSettle: 2 * time.Second,
			cdTarget: "Cd", bootModeInPatch: true, insertFlags: true}
	case VendorOpenBMC:
		return quirks{vendor: v, mediaSearch: []mediaHome{mediaUnderManagers, mediaUnderSystems},
			insertSettle: time.Second, powerSettle: time.Second,
			cdTarget: "Cd", bootModeInPatch: true, insertProtocol: true}
	default:
		return quirks{vendor: VendorGeneric, mediaSearch: []mediaHome{mediaUnderSystems, mediaUnderManagers},
			cdTarget: "Cd", bootModeInPatch: true}
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

// bootTargetFor translates a portable target to the vendor's spelling.
func (q quirks) bootTargetFor(t BootTarget) string {
	if t == BootCd {
		return q.cdTarget
	}
	return string(t)
}

// bootTargetFrom translates a vendor's target back to the portable one.
func (q quirks) bootTargetFrom(s string) BootTarget {
	if s == q.cdTarget {
		return BootCd
	}
	return BootTarget(s)
}
