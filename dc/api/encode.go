package api

import (
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/atoll-edge/atoll/dc"
)

// noErrors is what dcmanager reports in error-description when there is none.
const noErrors = "No errors present"

// Values of deploy_config_sync_status, as dcmanager spells them.
const (
	deployConfigUpToDate = "Deployment: configurations up-to-date"
	deployConfigUnknown  = "unknown"
	// oamUnavailable is dcmanager's oam_floating_ip when it has none; its
	// CLI hides the row then.
	oamUnavailable = "unavailable"
)

// timeLayout is how timestamps cross the wire (RFC 3339, UTC, nanoseconds
// trimmed), the layout time.Time's own JSON methods read back.
const timeLayout = time.RFC3339Nano

// appendSubcloud appends the JSON object of s. detail adds the keys of
// GET /v1.0/subclouds/{ref}/detail.
func appendSubcloud(b []byte, s *dc.Subcloud, detail bool) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, s.ID, 10)
	b = appendKeyString(b, "name", s.Name)
	b = appendKeyString(b, "description", s.Description)
	b = appendKeyString(b, "location", s.Location)
	b = appendKeyString(b, "software-version", s.SoftwareVersion)
	b = appendKeyString(b, "management-state", string(s.ManagementState))
	b = appendKeyString(b, "availability-status", string(s.Availability))
	b = appendKeyString(b, "deploy-status", string(s.DeployStatus))
	b = appendKeyString(b, "backup-status", s.BackupStatus)
	b = appendKeyString(b, "prestage-status", s.PrestageStatus)
	desc := s.ErrorDescription
	if desc == "" {
		desc = noErrors
	}
	b = appendKeyString(b, "error-description", desc)
	b = appendKeyPrefix(b, "management-subnet", s.ManagementSubnet)
	b = appendKeyAddr(b, "management-start-ip", s.ManagementStartIP)
	b = appendKeyAddr(b, "management-end-ip", s.ManagementEndIP)
	b = appendKeyAddr(b, "management-gateway-ip", s.ManagementGatewayIP)
	b = appendKeyAddr(b, "systemcontroller-gateway-ip", s.SystemControllerGatewayIP)
	b = appendKeyPrefix(b, "external_oam_subnet", s.OAMSubnet)
	b = appendKeyAddr(b, "external_oam_gateway_address", s.OAMGatewayIP)
	b = appendKeyAddr(b, "bootstrap-address", s.BootstrapAddress)
	b = appendKeyString(b, "system_mode", string(s.SystemMode))
	b = appendKeyTime(b, "created-at", s.CreatedAt)
	b = appendKeyTime(b, "updated-at", s.UpdatedAt)
	b = append(b, `,"group_id":`...)
	b = strconv.AppendInt(b, s.GroupID, 10)
	b = appendKeyString(b, "sync_status", string(s.SyncStatus()))
	b = append(b, `,"endpoint_sync_status":[`...)
	for i, e := range s.Endpoints {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"endpoint_type":`...)
		b = appendString(b, e.EndpointType)
		b = append(b, `,"sync_status":`...)
		b = appendString(b, string(e.SyncStatus))
		b = append(b, '}')
	}
	b = append(b, ']')
	b = appendKeyString(b, "region-name", regionName(s))
	if detail {
		if s.OAMFloatingIP.IsValid() {
			b = appendKeyAddr(b, "oam_floating_ip", s.OAMFloatingIP)
		} else {
			b = appendKeyString(b, "oam_floating_ip", oamUnavailable)
		}
		dcs := deployConfigUnknown
		if s.DeployStatus == dc.Complete {
			dcs = deployConfigUpToDate
		}
		b = appendKeyString(b, "deploy_config_sync_status", dcs)
		b = appendKeyString(b, "region_name", regionName(s))
	}
	return append(b, '}')
}

// regionName is the subcloud's region. Atoll names a subcloud's region after
// the subcloud (dcmanager generates a UUID-like name; both are opaque keys to
// its clients).
func regionName(s *dc.Subcloud) string { return s.Name }

// appendGroup appends the JSON object of g.
func appendGroup(b []byte, g *dc.Group) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, g.ID, 10)
	b = appendKeyString(b, "name", g.Name)
	b = appendKeyString(b, "description", g.Description)
	b = appendKeyString(b, "update_apply_type", string(g.UpdateApplyType))
	b = append(b, `,"max_parallel_subclouds":`...)
	b = strconv.AppendInt(b, int64(g.MaxParallelSubclouds), 10)
	b = appendKeyTime(b, "created-at", g.CreatedAt)
	b = appendKeyTime(b, "updated-at", g.UpdatedAt)
	return append(b, '}')
}

func appendKeyString(b []byte, key, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

func appendKeyAddr(b []byte, key string, a netip.Addr) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':', '"')
	if a.IsValid() {
		b = a.AppendTo(b)
	}
	return append(b, '"')
}

func appendKeyPrefix(b []byte, key string, p netip.Prefix) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':', '"')
	if p.IsValid() {
		b = p.AppendTo(b)
	}
	return append(b, '"')
}

func appendKeyTime(b []byte, key string, t time.Time) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':', '"')
	b = t.UTC().AppendFormat(b, timeLayout)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped byte for byte as
// encoding/json does (HTML-safe, invalid UTF-8 replaced by U+FFFD, U+2028
// and U+2029 escaped).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
