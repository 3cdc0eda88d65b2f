package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sort"
	"sync/atomic"
	"time"
)

// maxSessions bounds live sessions per BMC, as real BMCs do; one more
// login gets 503 SessionLimitExceeded.
const maxSessions = 64

// session is one login. lastUsed is atomic so that authenticating a request
// needs only the read lock.
type session struct {
	id, token, user, path string
	lastUsed              atomic.Int64 // unix nanos by b.now
}

func randomHex(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}

// sessionValid reports whether tok names a live session, and refreshes it.
func (b *BMC) sessionValid(tok string) bool {
	now := b.now()
	b.mu.RLock()
	s := b.sessions[tok]
	b.mu.RUnlock()
	if s == nil {
		return false
	}
	if now.Sub(time.Unix(0, s.lastUsed.Load())) > b.spec.sessionTTL {
		b.mu.Lock()
		b.dropSessionLocked(s)
		b.mu.Unlock()
		return false
	}
	s.lastUsed.Store(now.UnixNano())
	return true
}

// createSession implements POST to the Sessions collection (login).
func (b *BMC) createSession(w http.ResponseWriter, r *http.Request, params map[string]any) *rfError {
	user, uok := params["UserName"].(string)
	pass, pok := params["Password"].(string)
	if !uok || !pok {
		missing := "UserName"
		if uok {
			missing = "Password"
		}
		if _, present := params[missing]; present {
			return newErr(http.StatusBadRequest, "PropertyValueTypeError", jsonText(params[missing]), missing).withProps("/" + missing)
		}
		return newErr(http.StatusBadRequest, "PropertyMissing", missing).withProps("/" + missing)
	}
	if b.faults.unauthorized() || user != b.opts.Username || pass != b.opts.Password {
		b.log.Info("login refused", "user", user)
		return newErr(http.StatusUnauthorized, "NoValidSession")
	}
	now := b.now()
	s := &session{id: randomHex(8), token: randomHex(16), user: user}
	s.path = sessionsPath + "/" + s.id
	s.lastUsed.Store(now.UnixNano())
	b.mu.Lock()
	b.expireSessionsLocked(now)
	if len(b.sessions) >= maxSessions {
		b.mu.Unlock()
		e := newErr(http.StatusServiceUnavailable, "SessionLimitExceeded")
		e.retryAfter = time.Second
		return e
	}
	b.sessions[s.token] = s
	res := b.put(s.path, map[string]any{
		"@odata.type": "#Session.v1_7_0.Session",
		"@odata.id":   s.path,
		"Id":          s.id,
		"Name":        "User Session",
		"Description": "Manager User Session",
		"UserName":    user,
		"CreatedTime": now.UTC().Format(time.RFC3339),
		"SessionType": "Redfish",
	}, "GET, HEAD, DELETE")
	res.del = func(w http.ResponseWriter, r *http.Request) *rfError {
		b.mu.Lock()
		b.dropSessionLocked(s)
		b.mu.Unlock()
		b.log.Info("logout", "session", s.id)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	b.syncSessionsLocked()
	b.renderLocked(res)
	body, etag := res.body, res.etag
	b.mu.Unlock()
	b.log.Info("login", "user", user, "session", s.id)
	h := w.Header()
	h.Set("Location", s.path)
	h.Set("X-Auth-Token", s.token)
	h.Set("ETag", etag)
	writeJSON(w, http.StatusCreated, body)
	return nil
}

// dropSessionLocked removes s. Caller holds b.mu for writing.
func (b *BMC) dropSessionLocked(s *session) {
	if b.sessions[s.token] != s {
		return
	}
	delete(b.sessions, s.token)
	delete(b.res, s.path)
	b.syncSessionsLocked()
}

func (b *BMC) expireSessionsLocked(now time.Time) {
	for _, s := range b.sessions {
		if now.Sub(time.Unix(0, s.lastUsed.Load())) > b.spec.sessionTTL {
			b.dropSessionLocked(s)
		}
	}
}

func (b *BMC) syncSessionsLocked() {
	paths := make([]string, 0, len(b.sessions))
	for _, s := range b.sessions {
		paths = append(paths, s.path)
	}
	sort.Strings(paths)
	b.syncCollectionLocked(sessionsPath, paths)
}
