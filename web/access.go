package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hoso-vn/hoso/internal/yamlfile"
)

// Role is what an authenticated user may do. Each role includes the ones
// below it.
type Role int

// The roles, weakest first. RoleNone marks the routes anyone may call.
const (
	RoleNone    Role = iota // no authentication: /healthz, /readyz, /static
	RoleViewer              // read dossiers, lists, statistics, the dashboard
	RoleAuditor             // viewer + audit verify, reconcile without publish, live feed
	RoleAdmin               // everything: reconcile with publish, admin routes, metrics
)

var roleNames = map[string]Role{"viewer": RoleViewer, "auditor": RoleAuditor, "admin": RoleAdmin}

// String returns the role's name as written in the access file.
func (r Role) String() string {
	for n, v := range roleNames {
		if v == r {
			return n
		}
	}
	if r == RoleNone {
		return "anyone"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// User is one entry of the access file. Only a SHA-256 of the token is
// kept; the token itself is never stored or logged.
type User struct {
	Name string
	Role Role
	// Agencies scopes the user to these agency codes: dossiers of other
	// agencies answer 404, lists and statistics are filtered. Empty means
	// every agency.
	Agencies []string

	tokenHash [sha256.Size]byte
}

// Scoped reports whether the user sees only some agencies.
func (u *User) Scoped() bool { return len(u.Agencies) > 0 }

// sees reports whether the user may see the agency's dossiers.
func (u *User) sees(agency string) bool { return !u.Scoped() || slices.Contains(u.Agencies, agency) }

// Access is the parsed access file: who may call the HTTP API and the
// dashboard, and with which role. It is immutable and safe for
// concurrent use.
type Access struct {
	users []User
}

// tokenPrefix marks tokens made by NewToken, so that a leaked one is easy
// to recognise in a scan.
const tokenPrefix = "hoso_"

// NewToken returns a new random token (256 bits) and the SHA-256 to write
// in the access file.
func NewToken() (token, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("new token: %w", err)
	}
	token = tokenPrefix + hex.EncodeToString(b[:])
	return token, HashToken(token), nil
}

// HashToken returns the hex SHA-256 of a token, as written in the access
// file's token_sha256.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Authenticate returns the user whose token this is. It compares every
// entry in constant time, so its duration does not depend on which entry
// matched, or whether one did.
func (a *Access) Authenticate(token string) (*User, bool) {
	if token == "" {
		return nil, false
	}
	u := a.byHash(sha256.Sum256([]byte(token)))
	return u, u != nil
}

// byHash returns the user whose token has the SHA-256 h, nil when none,
// comparing every entry in constant time.
func (a *Access) byHash(h [sha256.Size]byte) *User {
	var found *User
	for i := range a.users {
		if subtle.ConstantTimeCompare(h[:], a.users[i].tokenHash[:]) == 1 {
			found = &a.users[i]
		}
	}
	return found
}

// Users returns the users, in file order.
func (a *Access) Users() []User { return slices.Clone(a.users) }

var userKeys = []string{"name", "token_sha256", "role", "agencies"}

// ParseAccess reads an access file:
//
//	users:
//	  - name: an-operator
//	    token_sha256: 3f1c…          # hoso access hash-token
//	    role: admin                  # viewer, auditor or admin
//	  - name: supervisor-sotp
//	    token_sha256: 9a0b…
//	    role: viewer
//	    agencies: [SO-TP]            # optional: only these agencies
//
// Decoding is strict (unknown fields are errors) and every problem is
// reported with name and line, joined.
func ParseAccess(r io.Reader, name string) (*Access, error) {
	root, err := yamlfile.Read(r, name)
	if errors.Is(err, yamlfile.ErrEmpty) {
		return nil, fmt.Errorf("%s: empty access file: it needs a users list", name)
	}
	if err != nil {
		return nil, err
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the access file is a mapping with a users list", name, root.Line)
	}
	probs := &yamlfile.Problems{File: name}
	users := probs.List(root, "users")
	if users == nil {
		return nil, probs.Err()
	}
	type rawUser struct {
		Name     string   `yaml:"name"`
		Token    string   `yaml:"token_sha256"`
		Role     string   `yaml:"role"`
		Agencies []string `yaml:"agencies"`
	}
	a := &Access{}
	names, hashes := map[string]int{}, map[string]int{}
	yamlfile.Items(probs, users, "a user", userKeys, func(n *yaml.Node, raw rawUser) {
		bad := func(format string, args ...any) { probs.Addf(n.Line, format, args...) }
		u := User{Name: raw.Name, Agencies: raw.Agencies}
		switch {
		case raw.Name == "":
			bad("name: must not be empty")
		case names[raw.Name] != 0:
			bad("name %q: already used on line %d", raw.Name, names[raw.Name])
		default:
			names[raw.Name] = n.Line
		}
		if h, err := hex.DecodeString(raw.Token); err != nil || len(h) != sha256.Size {
			bad("token_sha256: must be 64 hex digits, the SHA-256 of the token (hoso access hash-token); never the token itself")
		} else if hashes[strings.ToLower(raw.Token)] != 0 {
			bad("token_sha256: the same token as the user on line %d", hashes[strings.ToLower(raw.Token)])
		} else {
			hashes[strings.ToLower(raw.Token)] = n.Line
			copy(u.tokenHash[:], h)
		}
		if u.Role = roleNames[raw.Role]; u.Role == RoleNone {
			bad("role %q: must be viewer, auditor or admin", raw.Role)
		}
		for i, ag := range raw.Agencies {
			if strings.TrimSpace(ag) == "" || slices.Contains(raw.Agencies[:i], ag) {
				bad("agencies: %q is empty or repeated", ag)
			}
		}
		a.users = append(a.users, u)
	})
	if err := probs.Err(); err != nil {
		return nil, err
	}
	return a, nil
}
