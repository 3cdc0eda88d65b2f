package redfish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/stmcginnis/gofish/schemas"
)

// ref is an OData link.
type ref struct {
	ID string `json:"@odata.id"`
}

// resourceExtras is what the client reads from a resource's raw JSON that
// gofish keeps private: action targets, allowable values and links.
type resourceExtras struct {
	Actions map[string]struct {
		Target     string   `json:"target"`
		ResetTypes []string `json:"ResetType@Redfish.AllowableValues"`
	} `json:"Actions"`
	Links struct {
		ManagedBy []ref `json:"ManagedBy"`
	} `json:"Links"`
	VirtualMedia       ref `json:"VirtualMedia"`
	EthernetInterfaces ref `json:"EthernetInterfaces"`
}

func extras(raw []byte) resourceExtras {
	var x resourceExtras
	_ = json.Unmarshal(raw, &x) // gofish already parsed it; missing parts stay empty
	return x
}

// discover finds the system (and its manager link) and picks the quirks.
func (c *Client) discover(ctx context.Context) error {
	var sys *schemas.ComputerSystem
	err := c.retry(ctx, "discover", func(ctx context.Context) error {
		systems, err := c.gf(ctx).Service.Systems()
		if err != nil && len(systems) == 0 {
			return unwrapCollection(err)
		}
		for _, s := range systems {
			if c.opts.SystemID == "" || s.ID == c.opts.SystemID || path.Base(s.ODataID) == c.opts.SystemID {
				sys = s
				break
			}
		}
		if sys == nil {
			return fmt.Errorf("%w: system %q", ErrNotFound, c.opts.SystemID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	x := extras(sys.RawData)
	var managerURI string
	if len(x.Links.ManagedBy) == 0 {
		// No link from the system: take the service's first manager.
		err := c.retry(ctx, "discover", func(ctx context.Context) error {
			resp, err := c.gf(ctx).Get("/redfish/v1/Managers")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var coll struct {
				Members []ref `json:"Members"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&coll); err != nil {
				return err
			}
			if len(coll.Members) > 0 {
				managerURI = coll.Members[0].ID
			}
			return nil
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	rootVendor := c.current().Service.Vendor
	c.mu.Lock()
	defer c.mu.Unlock()
	c.topo.systemURI = sys.ODataID
	c.topo.systemMedia = x.VirtualMedia.ID
	reset := x.Actions["#ComputerSystem.Reset"]
	c.topo.resetTarget = reset.Target
	c.topo.resetTypes = reset.ResetTypes
	if len(x.Links.ManagedBy) > 0 {
		c.topo.managerURI = x.Links.ManagedBy[0].ID
	}
	if c.topo.managerURI == "" {
		c.topo.managerURI = managerURI
	}
	v := c.opts.Vendor
	if v == "" {
		v = detectVendor(rootVendor, sys.Manufacturer, "")
	}
	c.topo.vendor = v
	c.topo.q = quirksFor(v)
	return nil
}

// unwrapCollection turns gofish's collection error into its first failure,
// so that a 404 or 401 inside a collection read keeps its status.
func unwrapCollection(err error) error {
	var ce *schemas.CollectionError
	if errors.As(err, &ce) {
		for _, f := range ce.Failures {
			return f
		}
	}
	return err
}

func (c *Client) topology() topology {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.topo
}

// getSystem reads the system resource.
func (c *Client) getSystem(ctx context.Context, op string) (*schemas.ComputerSystem, error) {
	uri := c.topology().systemURI
	var sys *schemas.ComputerSystem
	err := c.retry(ctx, op, func(ctx context.Context) error {
		s, err := schemas.GetObject[schemas.ComputerSystem](c.gf(ctx), uri)
		sys = s
		return err
	})
	return sys, err
}

// PowerState reports the host's power state.
func (c *Client) PowerState(ctx context.Context) (PowerState, error) {
	sys, err := c.getSystem(ctx, "power-state")
	if err != nil {
		return "", err
	}
	return powerStateOf(sys), nil
}

func powerStateOf(sys *schemas.ComputerSystem) PowerState {
	if sys.PowerState == "" {
		return PowerUnknown
	}
	return PowerState(sys.PowerState)
}

// SetPower performs action. PowerCycle on a BMC that does not offer it is
// done as ForceOff, a wait for Off, then On.
func (c *Client) SetPower(ctx context.Context, action PowerAction) error {
	const op = "power"
	t := c.topology()
	if t.resetTarget == "" {
		return c.fail(op, fmt.Errorf("%w: system has no Reset action", ErrUnsupported))
	}
	allowed := func(a PowerAction) bool {
		return len(t.resetTypes) == 0 || slices.Contains(t.resetTypes, string(a))
	}
	if action == ActionPowerCycle && !allowed(ActionPowerCycle) {
		st, err := c.PowerState(ctx)
		if err != nil {
			return err
		}
		if st != PowerOff {
			if err := c.postReset(ctx, t.resetTarget, ActionForceOff); err != nil {
				return err
			}
			if err := c.WaitPower(ctx, PowerOff, 0); err != nil {
				return err
			}
		}
		return c.postReset(ctx, t.resetTarget, ActionOn)
	}
	if !allowed(action) {
		return c.fail(op, fmt.Errorf("%w: power action %s (allowed: %s)", ErrUnsupported, action, strings.Join(t.resetTypes, ", ")))
	}
	return c.postReset(ctx, t.resetTarget, action)
}

func (c *Client) postReset(ctx context.Context, target string, action PowerAction) error {
	c.log.Info("power action", "action", action)
	return c.action(ctx, "power", target, map[string]any{"ResetType": string(action)})
}

// action POSTs an action and follows its task, if the BMC answers 202.
func (c *Client) action(ctx context.Context, op, target string, body any) error {
	var monitor string
	err := c.retry(ctx, op, func(ctx context.Context) error {
		resp, err := c.gf(ctx).Post(target, body)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusAccepted {
			monitor = resp.Header.Get("Location")
		}
		return nil
	})
	if err != nil || monitor == "" {
		return err
	}
	_, err = c.waitTask(ctx, op, monitor)
	return err
}

// fail wraps a local (non-HTTP) failure as an *Error.
func (c *Client) fail(op string, err error) error {
	e := c.newError(context.Background(), op, 0, err)
	c.metrics.failure(op, e)
	return e
}

// WaitPower polls until the host reports want, or timeout passes on the
// Clock (zero means until ctx ends). It fails with ErrTimeout. On reaching
// Off it also waits the vendor's power settle delay.
func (c *Client) WaitPower(ctx context.Context, want PowerState, timeout time.Duration) error {
	clk := c.opts.Clock
	deadline := clk.Now().Add(timeout)
	for {
		st, err := c.PowerState(ctx)
		if err != nil {
			return err
		}
		if st == want {
			if want == PowerOff {
				// Some BMCs need a moment after Off before they accept
				// boot or media changes.
				return sleep(ctx, clk, c.settle(c.topology().q.powerSettle))
			}
			return nil
		}
		if timeout > 0 && !clk.Now().Before(deadline) {
			return c.fail("wait-power", fmt.Errorf("%w: power state %s after %v, want %s", ErrTimeout, st, timeout, want))
		}
		if err := sleep(ctx, clk, c.opts.PollInterval); err != nil {
			return c.fail("wait-power", fmt.Errorf("%w: power state %s, want %s: %w", ErrTimeout, st, want, err))
		}
	}
}

// BootOverride reports the boot override currently set.
func (c *Client) BootOverride(ctx context.Context) (BootOverride, error) {
	sys, err := c.getSystem(ctx, "boot-override")
	if err != nil {
		return BootOverride{}, err
	}
	return c.bootOf(sys), nil
}

func (c *Client) bootOf(sys *schemas.ComputerSystem) BootOverride {
	q := c.topology().q
	o := BootOverride{
		Target:  q.bootTargetFrom(string(sys.Boot.BootSourceOverrideTarget)),
		Enabled: BootEnabled(sys.Boot.BootSourceOverrideEnabled),
		Mode:    BootMode(sys.Boot.BootSourceOverrideMode),
	}
	if o.Target == "" {
		o.Target = BootNone
	}
	if o.Enabled == "" {
		o.Enabled = BootDisabled
	}
	return o
}

// SetBootOverride sets the boot override. Setting what is already set
// sends nothing.
func (c *Client) SetBootOverride(ctx context.Context, o BootOverride) error {
	sys, err := c.getSystem(ctx, "boot-override")
	if err != nil {
		return err
	}
	return c.setBoot(ctx, sys, o)
}

// setBoot PATCHes the boot override on an already-read system, in the
// vendor's shape.
func (c *Client) setBoot(ctx context.Context, sys *schemas.ComputerSystem, o BootOverride) error {
	const op = "boot-override"
	q := c.topology().q
	if o.Enabled == "" {
		o.Enabled = BootOnce
	}
	mode := o.Mode
	if mode == "" {
		mode = BootMode(sys.Boot.BootSourceOverrideMode)
	}
	target := q.bootTargetFor(o.Target, mode)
	if allowed := sys.Boot.AllowableBootSourceOverrideTargetValues; len(allowed) > 0 && o.Target != BootNone &&
		!slices.Contains(allowed, schemas.BootSource(target)) {
		return c.fail(op, fmt.Errorf("%w: boot target %s", ErrUnsupported, target))
	}
	modeDiffers := o.Mode != "" && string(o.Mode) != string(sys.Boot.BootSourceOverrideMode)
	if cur := c.bootOf(sys); string(sys.Boot.BootSourceOverrideTarget) == target && cur.Enabled == o.Enabled && !modeDiffers {
		return nil // already set
	}
	var patches []map[string]any
	main := map[string]any{"BootSourceOverrideTarget": target, "BootSourceOverrideEnabled": string(o.Enabled)}
	switch {
	case o.Mode != "" && q.bootModeInPatch:
		main["BootSourceOverrideMode"] = string(o.Mode)
	case modeDiffers:
		patches = append(patches, map[string]any{"BootSourceOverrideMode": string(o.Mode)})
	}
	patches = append(patches, main)
	etag := sys.GetETag()
	for _, p := range patches {
		body := map[string]any{"Boot": p}
		err := c.retry(ctx, op, func(ctx context.Context) error {
			h := map[string]string{}
			if etag != "" {
				h["If-Match"] = etag
			}
			resp, err := c.gf(ctx).PatchWithHeaders(sys.ODataID, body, h)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			etag = resp.Header.Get("ETag")
			return nil
		})
		if err != nil {
			return err
		}
	}
	c.log.Info("boot override set", "target", target, "enabled", o.Enabled, "mode", o.Mode)
	return nil
}

// mediaSlot finds (once) the CD/DVD-capable virtual media slot, under
// Systems or Managers in the vendor's order. When it had to look, it also
// returns the slot as just read, saving the caller a GET.
func (c *Client) mediaSlot(ctx context.Context) (string, *schemas.VirtualMedia, error) {
	const op = "find-media"
	t := c.topology()
	if t.mediaURI != "" {
		return t.mediaURI, nil, nil
	}
	var found *schemas.VirtualMedia
	for _, home := range t.q.mediaSearch {
		err := c.retry(ctx, op, func(ctx context.Context) error {
			api := c.gf(ctx)
			coll := t.systemMedia // known from discovery
			if home == mediaUnderManagers {
				if t.managerURI == "" {
					return nil
				}
				resp, err := api.Get(t.managerURI)
				if err != nil {
					return err
				}
				var x resourceExtras
				err = json.NewDecoder(resp.Body).Decode(&x)
				resp.Body.Close()
				if err != nil {
					return err
				}
				coll = x.VirtualMedia.ID
			}
			if coll == "" {
				return nil
			}
			// Read the slots one by one and stop at the first CD/DVD one
			// (BMCs list it first more often than not).
			list, err := schemas.GetCollection(api, coll)
			if err != nil {
				return err
			}
			for _, uri := range list.ItemLinks {
				s, err := schemas.GetVirtualMedia(api, uri)
				if err != nil {
					return err
				}
				if slices.Contains(s.MediaTypes, schemas.CDVirtualMediaType) || slices.Contains(s.MediaTypes, schemas.DVDVirtualMediaType) {
					found = s
					return nil
				}
			}
			return nil
		})
		if err != nil {
			return "", nil, err
		}
		if found != nil {
			break
		}
	}
	if found == nil {
		return "", nil, c.fail(op, ErrNoVirtualMedia)
	}
	c.mu.Lock()
	c.topo.mediaURI = found.ODataID
	c.mu.Unlock()
	return found.ODataID, found, nil
}

// getMedia reads the CD/DVD slot.
func (c *Client) getMedia(ctx context.Context, op string) (*schemas.VirtualMedia, error) {
	uri, fresh, err := c.mediaSlot(ctx)
	if err != nil || fresh != nil {
		return fresh, err
	}
	var vm *schemas.VirtualMedia
	err = c.retry(ctx, op, func(ctx context.Context) error {
		v, err := schemas.GetVirtualMedia(c.gf(ctx), uri)
		vm = v
		return err
	})
	return vm, err
}

func mediaStatusOf(vm *schemas.VirtualMedia) MediaStatus {
	// Inserted is optional in the schema; without it, an Image means
	// something is attached.
	inserted := vm.Image != ""
	if vm.Inserted != nil {
		inserted = *vm.Inserted
	}
	return MediaStatus{
		Slot:         vm.ODataID,
		Inserted:     inserted,
		Image:        vm.Image,
		ConnectedVia: string(vm.ConnectedVia),
	}
}

// MediaStatus reports what the CD/DVD slot holds.
func (c *Client) MediaStatus(ctx context.Context) (MediaStatus, error) {
	vm, err := c.getMedia(ctx, "media-status")
	if err != nil {
		return MediaStatus{}, err
	}
	return mediaStatusOf(vm), nil
}

// InsertMedia attaches imageURL to the CD/DVD slot. When the slot already
// holds imageURL it does nothing; when it holds another image, that one is
// ejected first.
func (c *Client) InsertMedia(ctx context.Context, imageURL string) error {
	vm, err := c.getMedia(ctx, "insert-media")
	if err != nil {
		return err
	}
	return c.insertMedia(ctx, vm, imageURL)
}

func (c *Client) insertMedia(ctx context.Context, vm *schemas.VirtualMedia, imageURL string) error {
	const op = "insert-media"
	q := c.topology().q
	st := mediaStatusOf(vm)
	if st.Inserted && st.Image == imageURL {
		return nil
	}
	var err error
	if st.Inserted || (q.ejectBeforeInsert && st.Image != "") {
		if err := c.ejectMedia(ctx, vm); err != nil {
			return err
		}
		// The eject changed the slot (and its ETag): read it again.
		if vm, err = c.getMedia(ctx, op); err != nil {
			return err
		}
	}
	params := map[string]any{"Image": imageURL}
	if q.insertFlags || !vm.SupportsMediaInsert {
		params["Inserted"] = true
		params["WriteProtected"] = true
	}
	if q.insertProtocol {
		if u, err := url.Parse(imageURL); err == nil && u.Scheme != "" {
			params["TransferProtocolType"] = strings.ToUpper(u.Scheme)
			params["TransferMethod"] = "Stream"
		}
	}
	c.log.Info("inserting media", "image", imageURL, "slot", vm.ODataID)
	x := extras(vm.RawData)
	if target := x.Actions["#VirtualMedia.InsertMedia"].Target; target != "" {
		err = c.action(ctx, op, target, params)
	} else {
		err = c.patch(ctx, op, vm.ODataID, vm.GetETag(), params)
	}
	if err != nil {
		return err
	}
	if err := c.waitMedia(ctx, op, vm.ODataID, true, imageURL); err != nil {
		return err
	}
	return sleep(ctx, c.opts.Clock, c.settle(q.insertSettle))
}

// waitMedia polls the slot at uri until it reports the image attached
// (inserted) or nothing attached (!inserted), for at most MediaTimeout.
func (c *Client) waitMedia(ctx context.Context, op, uri string, inserted bool, image string) error {
	clk := c.opts.Clock
	deadline := clk.Now().Add(c.opts.MediaTimeout)
	for {
		var st MediaStatus
		err := c.retry(ctx, op, func(ctx context.Context) error {
			v, err := schemas.GetVirtualMedia(c.gf(ctx), uri)
			if err == nil {
				st = mediaStatusOf(v)
			}
			return err
		})
		if err != nil {
			return err
		}
		if inserted && st.Inserted && st.Image == image || !inserted && !st.Inserted {
			return nil
		}
		if !clk.Now().Before(deadline) {
			return c.fail(op, fmt.Errorf("%w: slot %s still reports inserted=%t image %q after %v", ErrTimeout, uri, st.Inserted, st.Image, c.opts.MediaTimeout))
		}
		if err := sleep(ctx, clk, c.opts.PollInterval); err != nil {
			return c.fail(op, fmt.Errorf("%w: slot %s reports inserted=%t image %q: %w", ErrTimeout, uri, st.Inserted, st.Image, err))
		}
	}
}

// patch PATCHes uri with body (and If-Match when etag is known).
func (c *Client) patch(ctx context.Context, op, uri, etag string, body any) error {
	return c.retry(ctx, op, func(ctx context.Context) error {
		h := map[string]string{}
		if etag != "" {
			h["If-Match"] = etag
		}
		resp, err := c.gf(ctx).PatchWithHeaders(uri, body, h)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
}

// EjectMedia detaches the CD/DVD slot's image; an empty slot is left alone.
func (c *Client) EjectMedia(ctx context.Context) error {
	vm, err := c.getMedia(ctx, "eject-media")
	if err != nil {
		return err
	}
	st := mediaStatusOf(vm)
	if !st.Inserted && st.Image == "" {
		return nil
	}
	return c.ejectMedia(ctx, vm)
}

func (c *Client) ejectMedia(ctx context.Context, vm *schemas.VirtualMedia) error {
	const op = "eject-media"
	c.log.Info("ejecting media", "image", vm.Image, "slot", vm.ODataID)
	x := extras(vm.RawData)
	var err error
	if target := x.Actions["#VirtualMedia.EjectMedia"].Target; target != "" {
		err = c.action(ctx, op, target, map[string]any{})
	} else {
		err = c.patch(ctx, op, vm.ODataID, vm.GetETag(), map[string]any{"Image": nil, "Inserted": false})
	}
	if err != nil {
		return err
	}
	return c.waitMedia(ctx, op, vm.ODataID, false, "")
}

// Inventory reads the host's identity, MAC addresses and firmware versions.
func (c *Client) Inventory(ctx context.Context) (HostInventory, error) {
	const op = "inventory"
	sys, err := c.getSystem(ctx, op)
	if err != nil {
		return HostInventory{}, err
	}
	t := c.topology()
	inv := HostInventory{
		Vendor:       t.vendor,
		Manufacturer: sys.Manufacturer,
		Model:        sys.Model,
		SerialNumber: sys.SerialNumber,
		SKU:          sys.SKU,
		UUID:         sys.UUID,
		BIOSVersion:  sys.BiosVersion,
		PowerState:   powerStateOf(sys),
	}
	if nics := extras(sys.RawData).EthernetInterfaces.ID; nics != "" {
		err := c.retry(ctx, op, func(ctx context.Context) error {
			ifs, err := schemas.ListReferencedEthernetInterfaces(c.gf(ctx), nics)
			if err != nil && len(ifs) == 0 {
				return unwrapCollection(err)
			}
			inv.MACAddresses = inv.MACAddresses[:0]
			for _, i := range ifs {
				mac := i.MACAddress
				if mac == "" {
					mac = i.PermanentMACAddress
				}
				if mac != "" {
					inv.MACAddresses = append(inv.MACAddresses, strings.ToUpper(mac))
				}
			}
			return nil
		})
		if err != nil {
			return HostInventory{}, err
		}
	}
	if t.managerURI != "" {
		err := c.retry(ctx, op, func(ctx context.Context) error {
			m, err := schemas.GetManager(c.gf(ctx), t.managerURI)
			if err != nil {
				return err
			}
			inv.BMCFirmware = m.FirmwareVersion
			return nil
		})
		if err != nil {
			return HostInventory{}, err
		}
	}
	return inv, nil
}

// WaitTask follows the task monitor or task at uri until the task ends.
func (c *Client) WaitTask(ctx context.Context, uri string) (TaskStatus, error) {
	return c.waitTask(ctx, "wait-task", uri)
}

// waitTask polls uri. A task monitor answers 202 while the task runs and
// the final response after; a Task resource is polled until its TaskState
// ends.
func (c *Client) waitTask(ctx context.Context, op, uri string) (TaskStatus, error) {
	clk := c.opts.Clock
	start := clk.Now()
	st := TaskStatus{URI: uri, State: TaskRunning}
	for {
		var done bool
		err := c.retry(ctx, op, func(ctx context.Context) error {
			resp, err := c.gf(ctx).Get(uri)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var task schemas.Task
			decErr := json.NewDecoder(resp.Body).Decode(&task)
			if resp.StatusCode != http.StatusAccepted && (decErr != nil || task.TaskState == "") {
				// The monitor returned the operation's result: done.
				st.State, done = TaskCompleted, true
				return nil
			}
			if task.TaskState != "" {
				st.State = TaskState(task.TaskState)
				st.Health = string(task.TaskStatus)
				if task.PercentComplete != nil {
					st.PercentComplete = int(*task.PercentComplete)
				}
				st.Messages = st.Messages[:0]
				for _, m := range task.Messages {
					st.Messages = append(st.Messages, m.Message)
				}
			}
			switch st.State {
			case TaskCompleted, TaskException, TaskKilled, TaskCancelled:
				done = true
			}
			return nil
		})
		st.Elapsed = clk.Now().Sub(start)
		if err != nil {
			return st, err
		}
		if done {
			if st.State != TaskCompleted {
				return st, c.fail(op, fmt.Errorf("%w: task %s ended %s: %s", ErrTaskFailed, uri, st.State, strings.Join(st.Messages, "; ")))
			}
			return st, nil
		}
		if err := sleep(ctx, clk, c.opts.PollInterval); err != nil {
			return st, c.fail(op, fmt.Errorf("%w: task %s still %s after %s: %w", ErrTimeout, uri, st.State, st.Elapsed.Round(time.Millisecond), err))
		}
	}
}
