package emulator

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// maxTasks bounds the task list; the oldest finished tasks are dropped.
const maxTasks = 64

// task is a long-running operation (an asynchronous media insert).
type task struct {
	id, path, monitor string
	state, status     string
	percent           int
	start, end        time.Time
	result            *rfError // set when the task failed
	cancel            context.CancelFunc

	// held is the outcome of a finished fetch that the stuck-tasks fault
	// keeps from being applied.
	held *heldResult
}

type heldResult struct {
	result *rfError
	apply  func()
}

func (b *BMC) newTaskLocked(name string, cancel context.CancelFunc) *task {
	b.nextID++
	id := strconv.Itoa(b.nextID)
	t := &task{
		id: id, path: tasksPath + "/" + id, monitor: monitorsPath + "/" + id,
		state: "Running", status: "OK", start: b.now(), cancel: cancel,
	}
	b.put(t.path, map[string]any{
		"@odata.type": "#Task.v1_7_4.Task",
		"@odata.id":   t.path,
		"Id":          id,
		"Name":        name,
		"TaskMonitor": t.monitor,
		"StartTime":   t.start.UTC().Format(time.RFC3339),
	}, "")
	mon := b.put(t.monitor, map[string]any{}, "GET, HEAD, DELETE")
	mon.get = func(w http.ResponseWriter, r *http.Request, _ []byte) { b.serveMonitor(w, t) }
	mon.del = func(w http.ResponseWriter, r *http.Request) *rfError {
		b.mu.Lock()
		running := t.state == "Running"
		b.mu.Unlock()
		if running {
			t.cancel()
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	b.tasks = append(b.tasks, t)
	for len(b.tasks) > maxTasks {
		i := 0
		for i < len(b.tasks) && b.tasks[i].state == "Running" {
			i++
		}
		if i == len(b.tasks) {
			break
		}
		old := b.tasks[i]
		delete(b.res, old.path)
		delete(b.res, old.monitor)
		b.tasks = append(b.tasks[:i], b.tasks[i+1:]...)
	}
	b.syncTaskLocked(t)
	paths := make([]string, len(b.tasks))
	for i, t := range b.tasks {
		paths[i] = t.path
	}
	b.syncCollectionLocked(tasksPath, paths)
	return t
}

func (b *BMC) syncTaskLocked(t *task) {
	r := b.res[t.path]
	if r == nil {
		return
	}
	d := r.doc
	d["TaskState"], d["TaskStatus"], d["PercentComplete"] = t.state, t.status, t.percent
	msgs := []any{}
	if t.result != nil {
		for _, m := range t.result.msgs {
			msgs = append(msgs, m)
		}
	} else if t.state == "Completed" {
		msgs = append(msgs, baseMessage("Success"))
	}
	d["Messages"] = msgs
	if !t.end.IsZero() {
		d["EndTime"] = t.end.UTC().Format(time.RFC3339)
	}
	b.touch(t.path)
}

func (b *BMC) taskProgress(t *task, n, total int64) {
	if total <= 0 {
		return
	}
	pct := int(n * 100 / total)
	if pct > 99 {
		pct = 99
	}
	b.mu.Lock()
	if t.state == "Running" && pct != t.percent {
		t.percent = pct
		b.syncTaskLocked(t)
	}
	b.mu.Unlock()
}

// finishTask records the outcome; apply (if set) runs the side effect. With
// the stuck-tasks fault on, both are held back until the fault clears.
func (b *BMC) finishTask(t *task, result *rfError, apply func()) {
	if b.faults.stuckTasks() {
		b.mu.Lock()
		t.held = &heldResult{result: result, apply: apply}
		b.mu.Unlock()
		b.pendingFinal.Add(1)
		return
	}
	b.completeTask(t, result, apply)
}

func (b *BMC) completeTask(t *task, result *rfError, apply func()) {
	if apply != nil {
		apply()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t.end = b.now()
	t.result = result
	if result != nil {
		t.state, t.status = "Exception", "Critical"
	} else {
		t.state, t.status, t.percent = "Completed", "OK", 100
	}
	b.syncTaskLocked(t)
}

// writeTaskAccepted answers 202 with the task monitor.
func (b *BMC) writeTaskAccepted(w http.ResponseWriter, t *task) {
	_, _, body := b.render(t.path)
	h := w.Header()
	h.Set("Location", t.monitor)
	h.Set("Retry-After", "1")
	writeJSON(w, http.StatusAccepted, body)
}

// serveMonitor answers a task monitor: 202 with the task while it runs,
// then 200 with the task when it completed, or the operation's error.
func (b *BMC) serveMonitor(w http.ResponseWriter, t *task) {
	b.mu.RLock()
	state, result := t.state, t.result
	b.mu.RUnlock()
	_, _, body := b.render(t.path)
	switch {
	case state == "Running":
		w.Header().Set("Location", t.monitor)
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusAccepted, body)
	case result != nil:
		result.write(w)
	default:
		writeJSON(w, http.StatusOK, body)
	}
}

// scheduleLocked records a deadline at which advance must run.
func (b *BMC) scheduleLocked(at time.Time) {
	n := at.UnixNano()
	if d := b.due.Load(); d == 0 || n < d {
		b.due.Store(n)
	}
}

// advance applies time-driven changes (settled media, held task results)
// before a request is served. It costs two atomic loads when idle.
func (b *BMC) advance() {
	due := b.due.Load()
	held := b.pendingFinal.Load()
	if (due == 0 || b.now().UnixNano() < due) && (held == 0 || b.faults.stuckTasks()) {
		return
	}
	var release []*task
	b.mu.Lock()
	now := b.now()
	if due != 0 && now.UnixNano() >= due {
		b.due.Store(0)
		for _, s := range b.slots {
			if s.settleUntil.IsZero() {
				continue
			}
			if now.Before(s.settleUntil) {
				b.scheduleLocked(s.settleUntil)
				continue
			}
			s.settleUntil = time.Time{}
			b.syncSlotLocked(s)
		}
	}
	if held > 0 && !b.faults.stuckTasks() {
		for _, t := range b.tasks {
			if t.held != nil {
				release = append(release, t)
			}
		}
	}
	held2 := make([]*heldResult, len(release))
	for i, t := range release {
		held2[i], t.held = t.held, nil
	}
	b.mu.Unlock()
	for i, t := range release {
		b.pendingFinal.Add(-1)
		b.completeTask(t, held2[i].result, held2[i].apply)
	}
}
