package emulator

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// FaultConfig is a set of faults to inject. The zero value injects none.
type FaultConfig struct {
	// Path, if set, limits the faults to requests whose path starts with
	// it (e.g. a System's Reset action).
	Path string
	// Latency delays every matching response.
	Latency time.Duration
	// FailNext answers the next FailNext matching requests with
	// FailStatus (default 503, with Retry-After) and a Redfish error body.
	FailNext   int
	FailStatus int
	// DropNext closes the connection of the next DropNext matching
	// requests without answering; DropAll drops every one.
	DropNext int
	DropAll  bool
	// StuckTasks keeps tasks Running (their outcome is held back until the
	// fault clears).
	StuckTasks bool
	// Unauthorized answers 401 to every authenticated request and login,
	// as if the credentials were wrong.
	Unauthorized bool
	// Hang holds matching requests without answering until the client
	// gives up, the fault clears or the BMC closes.
	Hang bool
}

// Faults injects faults into one BMC. Its methods are safe for concurrent
// use and take effect on the next request.
type Faults struct {
	mu   sync.Mutex
	c    FaultConfig
	hang chan struct{} // closed when Hang is cleared
}

func newFaults(c FaultConfig) *Faults {
	f := &Faults{}
	f.Set(c)
	return f
}

// Set replaces the whole configuration.
func (f *Faults) Set(c FaultConfig) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.c.Hang && !c.Hang && f.hang != nil {
		close(f.hang)
		f.hang = nil
	}
	if c.Hang && f.hang == nil {
		f.hang = make(chan struct{})
	}
	f.c = c
}

// Config returns the current configuration, with FailNext and DropNext
// counting what is left.
func (f *Faults) Config() FaultConfig {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.c
}

// Clear removes every fault and releases hanging requests.
func (f *Faults) Clear() { f.Set(FaultConfig{}) }

// Update applies fn to a copy of the configuration and installs the result.
func (f *Faults) Update(fn func(*FaultConfig)) {
	f.mu.Lock()
	c := f.c
	f.mu.Unlock()
	fn(&c)
	f.Set(c)
}

// SetLatency delays every matching response by d.
func (f *Faults) SetLatency(d time.Duration) { f.Update(func(c *FaultConfig) { c.Latency = d }) }

// FailNext answers the next n matching requests with status (0 means 503).
func (f *Faults) FailNext(n, status int) {
	f.Update(func(c *FaultConfig) { c.FailNext, c.FailStatus = n, status })
}

// DropNext closes the connection of the next n matching requests.
func (f *Faults) DropNext(n int) { f.Update(func(c *FaultConfig) { c.DropNext = n }) }

// SetStuckTasks holds tasks in the Running state while on.
func (f *Faults) SetStuckTasks(on bool) { f.Update(func(c *FaultConfig) { c.StuckTasks = on }) }

// SetUnauthorized makes every authentication fail while on.
func (f *Faults) SetUnauthorized(on bool) { f.Update(func(c *FaultConfig) { c.Unauthorized = on }) }

// SetHang holds matching requests unanswered while on.
func (f *Faults) SetHang(on bool) { f.Update(func(c *FaultConfig) { c.Hang = on }) }

func (f *Faults) stuckTasks() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.c.StuckTasks
}

func (f *Faults) unauthorized() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.c.Unauthorized
}

type faultAction int

const (
	faultNone faultAction = iota
	faultFail
	faultDrop
)

// take decides what to do with one request, consuming counted faults.
func (f *Faults) take(p string) (latency time.Duration, hang <-chan struct{}, act faultAction, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := &f.c
	if c.Path != "" && !strings.HasPrefix(p, c.Path) {
		return 0, nil, faultNone, 0
	}
	latency = c.Latency
	if c.Hang {
		hang = f.hang
	}
	switch {
	case c.DropAll:
		act = faultDrop
	case c.DropNext > 0:
		c.DropNext--
		act = faultDrop
	case c.FailNext > 0:
		c.FailNext--
		act, status = faultFail, c.FailStatus
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
	}
	return latency, hang, act, status
}

// applyFaults runs the faults for r; it reports whether to go on serving.
func (b *BMC) applyFaults(w http.ResponseWriter, r *http.Request) bool {
	latency, hang, act, status := b.faults.take(r.URL.Path)
	ctx := r.Context()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		case <-b.ctx.Done():
			t.Stop()
			return false
		}
	}
	if hang != nil {
		select {
		case <-hang:
		case <-ctx.Done():
			return false
		case <-b.ctx.Done():
			return false
		}
	}
	switch act {
	case faultDrop:
		// HTTP/1: take the connection and close it. HTTP/2 cannot be
		// hijacked; aborting the handler resets the stream instead.
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
			return false
		}
		panic(http.ErrAbortHandler)
	case faultFail:
		w.Header().Set("OData-Version", "4.0")
		var e *rfError
		if status == http.StatusServiceUnavailable {
			e = newErr(status, "ServiceTemporarilyUnavailable", "1")
			e.retryAfter = time.Second
		} else {
			e = newErr(status, "GeneralError")
		}
		e.write(w)
		return false
	}
	return true
}
