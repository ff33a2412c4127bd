package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"
)

// sessionCookie holds the id of the dashboard's session after login.
const sessionCookie = "hoso_session"

// maxSessions caps the sessions a server holds; beyond it a login ends
// the least recently used one. Only a valid token opens a session, so the
// cap is reached only by a user logging in again and again.
const maxSessions = 10000

// session is a dashboard login: whose it is, bound to the token it was
// opened with, and when it was opened and last used.
type session struct {
	name      string
	tokenHash [sha256.Size]byte
	role      Role
	agencies  []string
	created   time.Time
	lastUsed  time.Time
}

// sessions are the dashboard's sessions, held in memory: a restart ends
// them all. The cookie holds a random id; the map is keyed by its SHA-256,
// so that what the server holds cannot be replayed as a cookie.
type sessions struct {
	idle, lifetime time.Duration

	mu   sync.Mutex                     // guards byID
	byID map[[sha256.Size]byte]*session // by SHA-256 of the id
}

func newSessions(l Limits) *sessions {
	return &sessions{idle: l.SessionIdle, lifetime: l.SessionLifetime, byID: map[[sha256.Size]byte]*session{}}
}

// open starts a session for the user and returns its id, 32 random bytes
// in hex.
func (ss *sessions) open(u *User, now time.Time) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new session: %w", err)
	}
	id := hex.EncodeToString(b[:])
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.byID) >= maxSessions {
		ss.sweep(now)
	}
	if len(ss.byID) >= maxSessions {
		var oldest [sha256.Size]byte
		var at time.Time
		for k, s := range ss.byID {
			if at.IsZero() || s.lastUsed.Before(at) {
				oldest, at = k, s.lastUsed
			}
		}
		delete(ss.byID, oldest)
	}
	ss.byID[sha256.Sum256([]byte(id))] = &session{name: u.Name, tokenHash: u.tokenHash, role: u.Role,
		agencies: slices.Clone(u.Agencies), created: now, lastUsed: now}
	return id, nil
}

// user returns the user of the session with the id in the access now in
// force, and, when touch, counts the request as the session's use. A
// session past its idle time or lifetime, or whose user the access no
// longer has as it was at login (removed, another role, other agencies,
// another token), has ended: it is deleted and ok is false.
func (ss *sessions) user(id string, a *Access, now time.Time, touch bool) (*User, bool) {
	if id == "" || a == nil {
		return nil, false
	}
	key := sha256.Sum256([]byte(id))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byID[key]
	if !ok {
		return nil, false
	}
	u := s.current(a)
	if u == nil || !s.live(now, ss.idle, ss.lifetime) {
		delete(ss.byID, key)
		return nil, false
	}
	if touch {
		s.lastUsed = now
	}
	return u, true
}

// close ends the session with the id, if there is one.
func (ss *sessions) close(id string) {
	key := sha256.Sum256([]byte(id))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, key)
}

// retain ends the sessions whose user the access no longer has as it was
// at login, and those that have expired.
func (ss *sessions) retain(a *Access, now time.Time) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, s := range ss.byID {
		if s.current(a) == nil || !s.live(now, ss.idle, ss.lifetime) {
			delete(ss.byID, k)
		}
	}
}

// len returns how many sessions the server holds.
func (ss *sessions) len() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.byID)
}

// sweep deletes the sessions that have expired. ss.mu is held.
func (ss *sessions) sweep(now time.Time) {
	for k, s := range ss.byID {
		if !s.live(now, ss.idle, ss.lifetime) {
			delete(ss.byID, k)
		}
	}
}

// live reports whether the session is within its idle time and lifetime.
func (s *session) live(now time.Time, idle, lifetime time.Duration) bool {
	return now.Sub(s.lastUsed) < idle && now.Sub(s.created) < lifetime
}

// current returns the access's user with the session's token, if it has
// the session's name, role and agencies; nil otherwise.
func (s *session) current(a *Access) *User {
	u := a.byHash(s.tokenHash)
	if u == nil || u.Name != s.name || u.Role != s.role || !slices.Equal(u.Agencies, s.agencies) {
		return nil
	}
	return u
}
