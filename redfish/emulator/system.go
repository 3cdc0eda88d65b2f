package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
)

func bootEnabledValues() []string { return []string{"Once", "Continuous", "Disabled"} }

func bootModeValues() []string { return []string{"UEFI", "Legacy"} }

// syncSystemLocked writes the typed host state into the System and Chassis
// documents. Caller holds b.mu (or owns b).
func (b *BMC) syncSystemLocked() {
	sys := b.res[b.layout.System].doc
	sys["PowerState"] = string(b.power)
	sys["Boot"] = map[string]any{
		"BootSourceOverrideTarget":                          string(b.boot.target),
		"BootSourceOverrideTarget@Redfish.AllowableValues":  slices.Clone(b.spec.bootTargets),
		"BootSourceOverrideEnabled":                         b.boot.enabled,
		"BootSourceOverrideEnabled@Redfish.AllowableValues": bootEnabledValues(),
		"BootSourceOverrideMode":                            b.boot.mode,
		"BootSourceOverrideMode@Redfish.AllowableValues":    bootModeValues(),
	}
	b.touch(b.layout.System)
	if ch := b.res[b.layout.Chassis]; ch != nil {
		ch.doc["PowerState"] = string(b.power)
		b.touch(b.layout.Chassis)
	}
}

// systemWritable lists the writable properties of the ComputerSystem
// besides Boot.
func systemWritable() []string { return []string{"AssetTag", "HostName", "IndicatorLED"} }

func (b *BMC) patchSystem(w http.ResponseWriter, r *http.Request, params map[string]any) *rfError {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.layout.System
	if e := b.checkIfMatchLocked(r, p); e != nil {
		return e
	}
	doc := b.res[p].doc
	// Validate everything before changing anything.
	keys := sortedKeys(params)
	next := b.boot
	simple := map[string]string{}
	for _, k := range keys {
		v := params[k]
		switch {
		case strings.HasPrefix(k, "@odata."):
			continue
		case k == "Boot":
			bm, ok := v.(map[string]any)
			if !ok {
				return newErr(http.StatusBadRequest, "PropertyValueTypeError", jsonText(v), "Boot").withProps("/Boot")
			}
			if e := b.validateBoot(bm, &next); e != nil {
				return e
			}
		case slices.Contains(systemWritable(), k):
			s, ok := v.(string)
			if !ok {
				return newErr(http.StatusBadRequest, "PropertyValueTypeError", jsonText(v), k).withProps("/" + k)
			}
			if k == "IndicatorLED" && !slices.Contains([]string{"Lit", "Blinking", "Off"}, s) {
				return newErr(http.StatusBadRequest, "PropertyValueNotInList", s, k).withProps("/" + k)
			}
			simple[k] = s
		default:
			if _, known := doc[k]; known {
				return newErr(http.StatusBadRequest, "PropertyNotWritable", k).withProps("/" + k)
			}
			return newErr(http.StatusBadRequest, "PropertyUnknown", k).withProps("/" + k)
		}
	}
	for k, v := range simple {
		doc[k] = v
	}
	if next != b.boot {
		b.log.Info("boot override set", "target", next.target, "enabled", next.enabled, "mode", next.mode)
	}
	b.boot = next
	b.syncSystemLocked()
	res := b.res[p]
	b.renderLocked(res)
	w.Header().Set("ETag", res.etag)
	w.Header().Set("Allow", res.allow)
	writeJSON(w, http.StatusOK, res.body)
	return nil
}

func (b *BMC) validateBoot(bm map[string]any, next *bootState) *rfError {
	_, hasTarget := bm["BootSourceOverrideTarget"]
	_, hasEnabled := bm["BootSourceOverrideEnabled"]
	if b.spec.bootNeedsBoth && hasTarget != hasEnabled {
		missing := "BootSourceOverrideEnabled"
		if !hasTarget {
			missing = "BootSourceOverrideTarget"
		}
		return newErr(http.StatusBadRequest, "PropertyMissing", missing).withProps("/Boot/" + missing)
	}
	for _, k := range sortedKeys(bm) {
		v := bm[k]
		s, isString := v.(string)
		var allowed []string
		switch k {
		case "BootSourceOverrideTarget":
			allowed = b.spec.bootTargets
		case "BootSourceOverrideEnabled":
			allowed = bootEnabledValues()
		case "BootSourceOverrideMode":
			allowed = bootModeValues()
		case "UefiTargetBootSourceOverride", "BootNext":
			if !isString {
				return newErr(http.StatusBadRequest, "PropertyValueTypeError", jsonText(v), k).withProps("/Boot/" + k)
			}
			continue
		default:
			if strings.HasPrefix(k, "@") || strings.Contains(k, "@") {
				continue
			}
			return newErr(http.StatusBadRequest, "PropertyUnknown", "Boot/"+k).withProps("/Boot/" + k)
		}
		if !isString {
			return newErr(http.StatusBadRequest, "PropertyValueTypeError", jsonText(v), k).withProps("/Boot/" + k)
		}
		if !slices.Contains(allowed, s) {
			return newErr(http.StatusBadRequest, "PropertyValueNotInList", s, k).withProps("/Boot/" + k)
		}
		switch k {
		case "BootSourceOverrideTarget":
			next.target = BootTarget(s)
		case "BootSourceOverrideEnabled":
			next.enabled = s
		case "BootSourceOverrideMode":
			next.mode = s
		}
	}
	return nil
}

// resetAction implements ComputerSystem.Reset.
func (b *BMC) resetAction(w http.ResponseWriter, r *http.Request, params map[string]any) *rfError {
	const act = "ComputerSystem.Reset"
	for k := range params {
		if k != "ResetType" {
			return newErr(http.StatusBadRequest, "ActionParameterUnknown", act, k).withProps("/" + k)
		}
	}
	v, ok := params["ResetType"]
	if !ok {
		return newErr(http.StatusBadRequest, "ActionParameterMissing", act, "ResetType").withProps("/ResetType")
	}
	rt, ok := v.(string)
	if !ok {
		return newErr(http.StatusBadRequest, "ActionParameterValueFormatError", jsonText(v), "ResetType", act).withProps("/ResetType")
	}
	if !slices.Contains(b.spec.resetTypes, rt) {
		return newErr(http.StatusBadRequest, "ActionParameterValueNotInList", rt, "ResetType", act).withProps("/ResetType")
	}
	ev, e := b.reset(rt)
	if e != nil {
		return e
	}
	if ev != nil && b.opts.OnBoot != nil {
		b.opts.OnBoot(*ev)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Reset applies a ComputerSystem.Reset directly, as a Redfish client
// would, calling Options.OnBoot if the host boots. Failures wrap ErrInvalid
// (a reset type the profile does not allow) or ErrConflict.
func (b *BMC) Reset(resetType string) error {
	if !slices.Contains(b.spec.resetTypes, resetType) {
		return fmt.Errorf("%w: reset type %q", ErrInvalid, resetType)
	}
	ev, e := b.reset(resetType)
	if e != nil {
		return e.goErr()
	}
	if ev != nil && b.opts.OnBoot != nil {
		b.opts.OnBoot(*ev)
	}
	return nil
}

// reset changes the power state; it returns a BootEvent when the host
// boots.
func (b *BMC) reset(rt string) (*BootEvent, *rfError) {
	b.mu.Lock()
	defer b.mu.Unlock()
	on := b.power == PowerOn
	conflict := func() *rfError {
		return newErr(http.StatusConflict, "ResourceInUse")
	}
	boot := false
	switch rt {
	case "On", "ForceOn":
		if on {
			if b.spec.resetConflict {
				return nil, conflict()
			}
			return nil, nil
		}
		boot = true
	case "ForceOff", "GracefulShutdown":
		if !on && b.spec.resetConflict {
			return nil, conflict()
		}
		b.power = PowerOff
	case "ForceRestart", "GracefulRestart":
		if !on && b.spec.resetConflict {
			return nil, conflict()
		}
		boot = true
	case "PowerCycle":
		boot = true
	case "PushPowerButton":
		if on {
			b.power = PowerOff
		} else {
			boot = true
		}
	case "Nmi":
		if !on {
			return nil, conflict()
		}
	}
	if !boot {
		b.log.Info("host power changed", "reset", rt, "power", b.power)
		b.syncSystemLocked()
		return nil, nil
	}
	b.power = PowerOn
	ev := b.bootLocked(rt)
	b.syncSystemLocked()
	b.log.Info("host booted", "reset", rt, "target", ev.Target, "image", ev.Image)
	return &ev, nil
}

// bootLocked resolves the boot device and consumes a one-time override.
func (b *BMC) bootLocked(rt string) BootEvent {
	ev := BootEvent{
		BMC: b.opts.Name, SystemID: b.spec.systemID, Target: BootHdd,
		Mode: b.boot.mode, Reset: rt, Time: b.now(),
	}
	if b.boot.enabled != "Disabled" && b.boot.target != BootNone {
		ev.Target = b.boot.target
	}
	if b.boot.enabled == "Once" {
		b.boot.enabled = "Disabled"
	}
	if s := b.bootSlotLocked(ev.Target, ev.Mode); s != nil && s.inserted {
		ev.Image, ev.ImageSize, ev.ImageSHA256 = s.image, s.size, s.sha
	}
	b.boots++
	return ev
}

// bootSlotLocked maps a boot target to the media slot the firmware would
// boot from, honouring the profile's UEFI quirk.
func (b *BMC) bootSlotLocked(t BootTarget, mode string) *slot {
	var kind string
	switch t {
	case BootCd:
		if b.spec.uefiCdTarget != "" && mode == "UEFI" {
			return nil
		}
		kind = "cd"
	case BootUsbCd:
		kind = "cd"
	case BootUsb, "Floppy":
		kind = "usb"
	default:
		return nil
	}
	for _, s := range b.slots {
		if s.kind == kind {
			return s
		}
	}
	return nil
}

func (b *BMC) managerResetAction(w http.ResponseWriter, r *http.Request, params map[string]any) *rfError {
	const act = "Manager.Reset"
	if v, ok := params["ResetType"]; ok {
		s, _ := v.(string)
		if s != "ForceRestart" && s != "GracefulRestart" {
			return newErr(http.StatusBadRequest, "ActionParameterValueNotInList", jsonText(v), "ResetType", act).withProps("/ResetType")
		}
	}
	b.log.Info("manager reset")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}
