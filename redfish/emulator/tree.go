package emulator

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"
)

// mockupFS holds a subset of the DMTF public-rackmount1 mockup (BSD
// 3-Clause, see mockup/LICENSE.md): the static part of every BMC's tree.
//
//go:embed mockup
var mockupFS embed.FS

// Paths in the mockup that each profile renames.
const (
	mockSystem  = "/redfish/v1/Systems/437XR1138R2"
	mockManager = "/redfish/v1/Managers/BMC"
	mockChassis = "/redfish/v1/Chassis/1U"

	sessionsPath = "/redfish/v1/SessionService/Sessions"
	tasksPath    = "/redfish/v1/TaskService/Tasks"
	monitorsPath = "/redfish/v1/TaskService/TaskMonitors"
)

// resource is one addressable document. Handlers run without b.mu held and
// lock it themselves.
type resource struct {
	doc   map[string]any
	allow string
	get   func(w http.ResponseWriter, r *http.Request, body []byte)
	patch func(w http.ResponseWriter, r *http.Request, params map[string]any) *rfError
	post  func(w http.ResponseWriter, r *http.Request, params map[string]any) *rfError
	del   func(w http.ResponseWriter, r *http.Request) *rfError

	body []byte // rendered doc; nil when stale
	etag string
	link string // Link header naming the JSON schema
}

type action struct {
	fn func(w http.ResponseWriter, r *http.Request, params map[string]any) *rfError
}

const allowGet = "GET, HEAD"

func jsonUnmarshal(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// put adds or replaces a resource. Caller holds b.mu (or owns b).
func (b *BMC) put(p string, doc map[string]any, allow string) *resource {
	if allow == "" {
		allow = allowGet
	}
	r := &resource{doc: doc, allow: allow}
	b.res[p] = r
	return r
}

// touch marks a resource's rendering stale. Caller holds b.mu.
func (b *BMC) touch(p string) {
	if r := b.res[p]; r != nil {
		r.body = nil
	}
}

func (b *BMC) lookupAction(p string) *action {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.actions[p]
}

// render returns the resource at p with its current ETag and body.
func (b *BMC) render(p string) (*resource, string, []byte) {
	b.mu.RLock()
	r := b.res[p]
	if r == nil {
		b.mu.RUnlock()
		return nil, "", nil
	}
	if r.body != nil {
		etag, body := r.etag, r.body
		b.mu.RUnlock()
		return r, etag, body
	}
	b.mu.RUnlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	r = b.res[p]
	if r == nil {
		return nil, "", nil
	}
	b.renderLocked(r)
	return r, r.etag, r.body
}

func (b *BMC) renderLocked(r *resource) {
	if r.body != nil {
		return
	}
	body, err := json.Marshal(r.doc)
	if err != nil {
		// Documents hold only JSON values; this is a programming error.
		panic(fmt.Sprintf("emulator: render: %v", err))
	}
	h := fnv.New64a()
	_, _ = h.Write(body)
	if t, ok := r.doc["@odata.type"].(string); ok && r.link == "" {
		// "#ComputerSystem.v1_27_0.ComputerSystem" is described by
		// ComputerSystem.v1_27_0.json.
		if i := strings.LastIndex(t, "."); i > 1 {
			r.link = "<http://redfish.dmtf.org/schemas/v1/" + t[1:i] + ".json>; rel=describedby"
		}
	}
	r.body = body
	r.etag = fmt.Sprintf(`"%016x"`, h.Sum64())
	if b.spec.weakETag {
		r.etag = "W/" + r.etag
	}
}

// skeleton is the parsed, renamed mockup for one layout: resource documents
// by path, and the virtual media templates by mockup slot name. Parsing is
// most of the cost of New, so a fleet parses once and clones.
type skeleton struct {
	docs      map[string]map[string]any
	templates map[string]map[string]any
}

// loadSkeleton parses the embedded mockup, renamed for l.
func loadSkeleton(l Layout) (*skeleton, error) {
	rename := strings.NewReplacer(
		mockSystem+"/VirtualMedia", "/emulator/template/VirtualMedia",
		mockSystem, l.System,
		mockManager, l.Manager,
		mockChassis, l.Chassis,
	)
	sk := &skeleton{docs: map[string]map[string]any{}, templates: map[string]map[string]any{}}
	err := fs.WalkDir(mockupFS, "mockup", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Base(name) != "index.json" {
			return err
		}
		raw, err := mockupFS.ReadFile(name)
		if err != nil {
			return err
		}
		dir := strings.TrimPrefix(path.Dir(name), "mockup")
		p := rename.Replace("/redfish/v1" + dir)
		var doc map[string]any
		if err := jsonUnmarshal([]byte(rename.Replace(string(raw))), &doc); err != nil {
			return fmt.Errorf("emulator: mockup %s: %w", name, err)
		}
		delete(doc, "@Redfish.Copyright")
		if strings.HasPrefix(p, "/emulator/template/") {
			sk.templates[path.Base(p)] = doc
			return nil
		}
		// Resources carry their Id; collections have none in the schema
		// (ManagerAccountCollection and the rest define no Id property).
		if t, _ := doc["@odata.type"].(string); p != "/redfish/v1" && !strings.HasSuffix(t, "Collection") {
			doc["Id"] = path.Base(p)
		}
		// Role.v1_3 requires RoleId; the mockup's roles predate it.
		if t, _ := doc["@odata.type"].(string); strings.HasPrefix(t, "#Role.") {
			if _, ok := doc["RoleId"]; !ok {
				doc["RoleId"] = path.Base(p)
			}
		}
		sk.docs[p] = doc
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sk, nil
}

// clone deep-copies the skeleton, so that a BMC may change its documents.
func (sk *skeleton) clone() *skeleton {
	c := &skeleton{docs: make(map[string]map[string]any, len(sk.docs)), templates: make(map[string]map[string]any, len(sk.templates))}
	for p, d := range sk.docs {
		c.docs[p] = deepCopy(d).(map[string]any)
	}
	for p, d := range sk.templates {
		c.templates[p] = deepCopy(d).(map[string]any)
	}
	return c
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = deepCopy(e)
		}
		return s
	default:
		// Strings, json.Number, bools and nil are immutable.
		return v
	}
}

// build takes the BMC's own copy of the mockup (sk, or a fresh parse),
// adapts it to the profile and seed, adds the dynamic resources and prunes
// links to resources the BMC does not serve.
func (b *BMC) build(sk *skeleton) error {
	b.res = make(map[string]*resource)
	b.actions = make(map[string]*action)
	b.sessions = make(map[string]*session)
	l, sp := b.layout, b.spec
	if sk == nil {
		var err error
		if sk, err = loadSkeleton(l); err != nil {
			return err
		}
	}
	for p, doc := range sk.docs {
		b.put(p, doc, "")
	}
	templates := sk.templates
	seed := b.opts.Seed
	id := identity(sp, seed)

	root := b.res["/redfish/v1"].doc
	root["Vendor"] = sp.vendor
	root["Product"] = sp.product
	root["UUID"] = id.uuid(0)
	root["ProtocolFeaturesSupported"] = map[string]any{
		"ExpandQuery":     map[string]any{"ExpandAll": false, "Levels": false, "Links": false, "NoLinks": false},
		"SelectQuery":     false,
		"FilterQuery":     false,
		"OnlyMemberQuery": false,
		"ExcerptQuery":    false,
	}

	// ComputerSystem.
	sys := b.res[l.System].doc
	sys["Name"] = "System"
	sys["Manufacturer"], sys["Model"] = sp.manufacturer, sp.model
	sys["SerialNumber"], sys["UUID"] = id.serial, id.uuid(1)
	sys["BiosVersion"] = sp.biosVersion
	sys["HostName"] = fmt.Sprintf("host-%d", seed)
	sys["Status"] = map[string]any{"State": "Enabled", "Health": "OK", "HealthRollup": "OK"}
	sys["IndicatorLED"] = "Off"
	delete(sys, "Oem")
	delete(sys, "BootProgress")
	delete(sys, "LastResetTime")
	delete(sys, "SubModel")
	delete(sys, "PartNumber")
	delete(sys, "AssetTag")
	sys["AssetTag"] = ""
	sys["Actions"] = map[string]any{
		"#ComputerSystem.Reset": map[string]any{
			"target":                            l.System + "/Actions/ComputerSystem.Reset",
			"ResetType@Redfish.AllowableValues": slices.Clone(sp.resetTypes),
		},
	}
	if sp.mediaUnderSystem {
		sys["VirtualMedia"] = map[string]any{"@odata.id": l.VirtualMedia}
	} else {
		delete(sys, "VirtualMedia")
	}
	sysRes := b.res[l.System]
	sysRes.allow = "GET, HEAD, PATCH"
	sysRes.patch = b.patchSystem
	b.actions[l.System+"/Actions/ComputerSystem.Reset"] = &action{fn: b.resetAction}
	b.syncSystemLocked()

	// Host NICs get MAC addresses from the seed.
	b.setMACs(l.System+"/EthernetInterfaces", id, 0)
	b.setMACs(l.Manager+"/EthernetInterfaces", id, 8)

	// Manager.
	mgr := b.res[l.Manager].doc
	mgr["Id"] = sp.managerID
	mgr["Model"] = sp.managerModel
	mgr["Description"] = sp.vendor + " BMC (emulated)"
	mgr["FirmwareVersion"] = sp.managerFirmware
	mgr["UUID"] = id.uuid(2)
	mgr["ServiceEntryPointUUID"] = root["UUID"]
	delete(mgr, "AdditionalFirmwareVersions")
	delete(mgr, "DateTime")
	delete(mgr, "DateTimeLocalOffset")
	if !sp.mediaUnderSystem {
		mgr["VirtualMedia"] = map[string]any{"@odata.id": l.VirtualMedia}
	}
	mgr["Actions"] = map[string]any{
		"#Manager.Reset": map[string]any{
			"target":                            l.Manager + "/Actions/Manager.Reset",
			"ResetType@Redfish.AllowableValues": []any{"ForceRestart", "GracefulRestart"},
		},
	}
	b.actions[l.Manager+"/Actions/Manager.Reset"] = &action{fn: b.managerResetAction}

	// Chassis.
	ch := b.res[l.Chassis].doc
	ch["Manufacturer"], ch["Model"], ch["SerialNumber"] = sp.manufacturer, sp.model, id.serial
	delete(ch, "Location")
	delete(ch, "PartNumber")
	delete(ch, "AssetTag")

	// Firmware inventory.
	if fw := b.res["/redfish/v1/UpdateService/FirmwareInventory/BMC"]; fw != nil {
		fw.doc["Version"], fw.doc["Manufacturer"], fw.doc["Name"] = sp.managerFirmware, sp.manufacturer, sp.vendor+" BMC Firmware"
		delete(fw.doc, "AdditionalVersions")
		delete(fw.doc, "LowestSupportedVersion")
	}
	if fw := b.res["/redfish/v1/UpdateService/FirmwareInventory/BIOS"]; fw != nil {
		fw.doc["Version"], fw.doc["Manufacturer"] = sp.biosVersion, sp.manufacturer
		delete(fw.doc, "LowestSupportedVersion")
	}
	if us := b.res["/redfish/v1/UpdateService"]; us != nil {
		for _, k := range []string{"Actions", "HttpPushUri", "HttpPushUriOptions", "HttpPushUriOptionsBusy", "LocalImageStore",
			"LocalImageStoreAvailableCapacityBytes", "LocalImageStoreTotalCapacityBytes", "ClientCertificates", "MaxImageSizeBytes",
			"MultipartHttpPushUri", "RemoteServerCertificates", "PublicIdentitySSHKey", "UpdateServiceCapabilities"} {
			delete(us.doc, k)
		}
	}

	// Accounts: one read-only account, the configured user, and the three
	// predefined roles.
	if as := b.res["/redfish/v1/AccountService"]; as != nil {
		keep := map[string]bool{"@odata.id": true, "@odata.type": true, "Id": true, "Name": true, "Description": true,
			"Status": true, "ServiceEnabled": true, "MinPasswordLength": true, "AccountLockoutThreshold": true,
			"AccountLockoutDuration": true, "Accounts": true, "Roles": true, "LocalAccountAuth": true}
		for k := range as.doc {
			if !keep[k] {
				delete(as.doc, k)
			}
		}
	}
	if acct := b.res["/redfish/v1/AccountService/Accounts/1"]; acct != nil {
		acct.doc["UserName"] = b.opts.Username
		for _, k := range []string{"EmailAddress", "PhoneNumber", "OneTimePasscodeDeliveryAddress", "Actions", "Certificates"} {
			delete(acct.doc, k)
		}
	}

	// Sessions and tasks.
	b.res["/redfish/v1/SessionService"].doc["SessionTimeout"] = int(sp.sessionTTL.Seconds())
	ss := b.res["/redfish/v1/SessionService"]
	ss.allow = "GET, HEAD"
	coll := b.put(sessionsPath, map[string]any{
		"@odata.type": "#SessionCollection.SessionCollection",
		"@odata.id":   sessionsPath,
		"Name":        "Session Collection",
	}, "GET, HEAD, POST")
	coll.post = b.createSession
	b.syncCollectionLocked(sessionsPath, nil)
	ts := b.res["/redfish/v1/TaskService"].doc
	delete(ts, "DateTime")
	ts["CompletedTaskOverWritePolicy"] = "Oldest"
	ts["LifeCycleEventOnTaskStateChange"] = false
	b.put(tasksPath, map[string]any{
		"@odata.type": "#TaskCollection.TaskCollection",
		"@odata.id":   tasksPath,
		"Name":        "Task Collection",
	}, "")
	b.syncCollectionLocked(tasksPath, nil)

	// Virtual media.
	if err := b.buildMedia(templates); err != nil {
		return err
	}

	// The OData service document lists the root's top-level links.
	var odata []any
	keys := make([]string, 0, len(root))
	for k := range root {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.pruneLinks()
	for _, k := range keys {
		if m, ok := root[k].(map[string]any); ok {
			if u, ok := m["@odata.id"].(string); ok {
				odata = append(odata, map[string]any{"name": k, "kind": "Singleton", "url": u})
			}
		}
	}
	b.put("/redfish/v1/odata", map[string]any{
		"@odata.context": "/redfish/v1/$metadata",
		"value":          odata,
	}, "")
	return nil
}

// setMACs rewrites the MAC addresses of every interface under coll.
func (b *BMC) setMACs(coll string, id ident, base byte) {
	n := byte(0)
	prefix := coll + "/"
	keys := make([]string, 0)
	for p := range b.res {
		if strings.HasPrefix(p, prefix) && !strings.Contains(p[len(prefix):], "/") {
			keys = append(keys, p)
		}
	}
	sort.Strings(keys)
	for _, p := range keys {
		d := b.res[p].doc
		mac := id.mac(base + n)
		n++
		d["MACAddress"], d["PermanentMACAddress"] = mac, mac
	}
}

// pruneLinks removes references to resources the BMC does not serve, so a
// client or validator walking the tree never meets a dangling link.
func (b *BMC) pruneLinks() {
	for p, r := range b.res {
		r.doc = pruneMap(r.doc, func(u string) bool {
			u = strings.TrimRight(strings.SplitN(u, "#", 2)[0], "/")
			if u == "/redfish/v1" || u == p {
				return true
			}
			if !strings.HasPrefix(u, "/redfish/v1/") {
				return true
			}
			_, ok := b.res[u]
			return ok
		})
		if m, ok := r.doc["Members"].([]any); ok {
			r.doc["Members@odata.count"] = len(m)
		}
		// Links.Oem and other vendor blocks are dropped wholesale.
		if links, ok := r.doc["Links"].(map[string]any); ok {
			delete(links, "Oem")
		}
	}
}

func pruneMap(m map[string]any, keep func(string) bool) map[string]any {
	for k, v := range m {
		switch t := v.(type) {
		case string:
			// A Control's URI (OperatingSpeedRangeMHz.DataSourceUri) is a
			// plain string, not an @odata.id object.
			if k == "DataSourceUri" && !keep(t) {
				delete(m, k)
			}
		case map[string]any:
			if u, ok := t["@odata.id"].(string); ok && len(t) == 1 && !keep(u) {
				delete(m, k)
				delete(m, k+"@odata.count")
				continue
			}
			m[k] = pruneMap(t, keep)
		case []any:
			out := t[:0]
			for _, e := range t {
				if em, ok := e.(map[string]any); ok {
					if u, ok := em["@odata.id"].(string); ok && len(em) == 1 && !keep(u) {
						continue
					}
					out = append(out, pruneMap(em, keep))
					continue
				}
				out = append(out, e)
			}
			m[k] = out
			if _, ok := m[k+"@odata.count"]; ok {
				m[k+"@odata.count"] = len(out)
			}
		}
	}
	return m
}

// syncCollectionLocked rewrites a collection's Members from paths. Caller
// holds b.mu.
func (b *BMC) syncCollectionLocked(coll string, members []string) {
	r := b.res[coll]
	ms := make([]any, 0, len(members))
	for _, m := range members {
		ms = append(ms, map[string]any{"@odata.id": m})
	}
	r.doc["Members"] = ms
	r.doc["Members@odata.count"] = len(ms)
	r.body = nil
}

// ident derives per-BMC identity from the profile and seed.
type ident struct {
	serial string
	sum    [32]byte
	oui    [3]byte
}

func identity(sp spec, seed uint64) ident {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], seed)
	sum := sha256.Sum256(append([]byte("atoll-emulator/"+string(sp.profile)+"/"), buf[:]...))
	return ident{serial: fmt.Sprintf("%s%07d", sp.serialPrefix, seed%10_000_000), sum: sum, oui: sp.macOUI}
}

func (id ident) uuid(n byte) string {
	u := id.sum
	u[0] ^= n
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// mac returns the n-th MAC address of this BMC: the profile's locally
// administered OUI, then 24 bits from the seed's hash, plus n.
func (id ident) mac(n byte) string {
	v := uint32(id.sum[20])<<16 | uint32(id.sum[21])<<8 | uint32(id.sum[22]&0xf0)
	v += uint32(n)
	return fmt.Sprintf("%02X:%02X:%02X:%02X:%02X:%02X", id.oui[0], id.oui[1], id.oui[2], byte(v>>16), byte(v>>8), byte(v))
}

// serveMetadata answers $metadata with references to the DMTF schemas of
// every resource type the BMC serves.
func (b *BMC) serveMetadata(w http.ResponseWriter) {
	b.mu.RLock()
	seen := map[string]string{}
	for _, r := range b.res {
		t, _ := r.doc["@odata.type"].(string)
		t = strings.TrimPrefix(t, "#")
		if t == "" {
			continue
		}
		ns := strings.SplitN(t, ".", 2)[0]
		if i := strings.LastIndex(t, "."); i > 0 {
			seen[ns] = t[:i]
		}
	}
	b.mu.RUnlock()
	names := make([]string, 0, len(seen))
	for k := range seen {
		names = append(names, k)
	}
	sort.Strings(names)
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	sb.WriteString(`<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">` + "\n")
	for _, n := range names {
		fmt.Fprintf(&sb, "  <edmx:Reference Uri=\"http://redfish.dmtf.org/schemas/v1/%s_v1.xml\">\n", n)
		fmt.Fprintf(&sb, "    <edmx:Include Namespace=\"%s\"/>\n", n)
		if v := seen[n]; v != n {
			fmt.Fprintf(&sb, "    <edmx:Include Namespace=\"%s\"/>\n", v)
		}
		sb.WriteString("  </edmx:Reference>\n")
	}
	sb.WriteString(`  <edmx:Reference Uri="http://redfish.dmtf.org/schemas/v1/ServiceRoot_v1.xml">` + "\n")
	sb.WriteString(`    <edmx:Include Namespace="ServiceRoot"/>` + "\n  </edmx:Reference>\n")
	sb.WriteString(`  <edmx:DataServices>` + "\n")
	sb.WriteString(`    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="Service">` + "\n")
	sb.WriteString(`      <EntityContainer Name="Service" Extends="ServiceRoot.v1_0_0.ServiceContainer"/>` + "\n")
	sb.WriteString("    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>\n")
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Allow", allowGet)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(sb.String()))
}
