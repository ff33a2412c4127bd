package natsserver

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/hoso-vn/hoso/events"

	"github.com/nats-io/nats-server/v2/server"
	"go.yaml.in/yaml/v3"

	"github.com/hoso-vn/hoso/internal/yamlfile"
)

// User is a NATS user of the embedded server: a source system, limited to
// its own subjects, or the supervisors' read-only user.
type User struct {
	Name string
	// Password is the password, or its bcrypt hash ("$2a$…", made with
	// `nats server passwd`); exactly one of Password and NKey is set.
	Password string
	// NKey is the user's public nkey ("U…"): the client signs with the seed.
	NKey string
	// Source is the source system this user speaks for; "" for a
	// supervisor.
	Source string
	// Supervisor marks the read-only user of supervisors: it reads every
	// stream and publishes nothing.
	Supervisor bool
}

// Permissions returns what the user may publish and subscribe to.
func (u *User) Permissions() *server.Permissions {
	if u.Supervisor {
		return SupervisorPermissions(u.Name)
	}
	return SourcePermissions(u.Source)
}

// SourcePermissions returns the permissions of a source system's user:
//   - publish its own events, hoso.events.<source>.>, and nothing else
//     outside the JetStream API calls of its outcome consumer;
//   - read the information of HOSO_EVENTS and of HOSO_OUTCOMES, and look
//     a stream up by subject (the stream names), as client libraries do
//     before they publish or consume (the CloudEvents Go SDK's sender
//     creates the stream when it cannot read it) — never create, change
//     or delete a stream;
//   - create (with its own filter), look up and pull from the durable
//     consumer outcomes-<source> of HOSO_OUTCOMES, and ack its messages;
//   - subscribe to its own outcomes, hoso.outcomes.*.<source>.>, and to
//     its own inboxes, _INBOX_<source>.>.
//
// Docs/operations.md ("Access control") lists them for an external
// server; configs/nats/ has the same in the server's format.
func SourcePermissions(source string) *server.Permissions {
	stream, cons := events.OutcomesStream, events.OutcomeConsumer(source)
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			events.EventsPrefix + source + ".>",
			"$JS.API.INFO",
			"$JS.API.STREAM.NAMES",
			"$JS.API.STREAM.INFO." + events.EventsStream,
			"$JS.API.STREAM.INFO." + stream,
			"$JS.API.CONSUMER.CREATE." + stream + "." + cons + "." + events.OutcomesPrefix + "*." + source + ".>",
			"$JS.API.CONSUMER.INFO." + stream + "." + cons,
			"$JS.API.CONSUMER.MSG.NEXT." + stream + "." + cons,
			"$JS.ACK." + stream + "." + cons + ".>",
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{
			events.OutcomesPrefix + "*." + source + ".>",
			events.InboxPrefix(source) + ".>",
		}},
	}
}

// BlockedSourcePermissions returns the permissions of a source's user
// while the source is over its quota (Quota): those of SourcePermissions
// without the publishing of events. It still reads its outcomes.
func BlockedSourcePermissions(source string) *server.Permissions {
	p := SourcePermissions(source)
	p.Publish.Allow = slices.DeleteFunc(p.Publish.Allow, func(s string) bool { return s == events.EventsPrefix+source+".>" })
	return p
}

// SupervisorPermissions returns the permissions of the supervisors'
// read-only user: it reads the streams' information and their messages by
// sequence or subject (message get, direct get), looks up consumers, and
// subscribes to events, outcomes and dead letters as they are published.
// It publishes no event or outcome and creates, changes, pulls from or
// acks no consumer, its own included: a NATS permission sees only the
// request's subject, and the older API subjects carry a consumer's name
// and configuration in the request body
// ($JS.API.CONSUMER.CREATE.<stream>), so no allow list can let a user
// create consumers without letting it take over the engine's (or a
// source's) by name; and a push consumer delivers to any subject its
// creator names, whatever the creator may publish to.
func SupervisorPermissions(name string) *server.Permissions {
	return &server.Permissions{
		Publish: &server.SubjectPermission{
			Allow: []string{
				"$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST",
				"$JS.API.STREAM.INFO.*", "$JS.API.STREAM.MSG.GET.*", "$JS.API.DIRECT.GET.>",
				"$JS.API.CONSUMER.INFO.*.*", "$JS.API.CONSUMER.NAMES.*", "$JS.API.CONSUMER.LIST.*",
			},
		},
		Subscribe: &server.SubjectPermission{Allow: []string{
			events.EventsSubject, events.OutcomesSubject, events.DeadLetterFilter, events.InboxPrefix(name) + ".>",
		}},
	}
}

var (
	userKeys   = []string{"name", "password", "nkey", "source", "supervisor"}
	sourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	nkeyUser   = regexp.MustCompile(`^U[A-Z2-7]{55}$`)
)

// ParseUsers reads a NATS users file for the embedded server (hoso serve
// --nats-users):
//
//	users:
//	  - name: tayninh-dvc
//	    password: $2a$11$…     # bcrypt (nats server passwd), or plain
//	    source: tayninh
//	  - name: hanoi-dvc
//	    nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4
//	    source: hanoi
//	  - name: supervisors
//	    password: $2a$11$…
//	    supervisor: true
//
// Decoding is strict and every problem is reported with name and line,
// joined.
func ParseUsers(r io.Reader, name string) ([]User, error) {
	root, err := yamlfile.Read(r, name)
	if errors.Is(err, yamlfile.ErrEmpty) {
		return nil, fmt.Errorf("%s: empty users file: it needs a users list", name)
	}
	if err != nil {
		return nil, err
	}
	probs := &yamlfile.Problems{File: name}
	list := probs.List(root, "users")
	if list == nil {
		return nil, probs.Err()
	}
	type rawUser struct {
		Name       string `yaml:"name"`
		Password   string `yaml:"password"`
		NKey       string `yaml:"nkey"`
		Source     string `yaml:"source"`
		Supervisor bool   `yaml:"supervisor"`
	}
	var users []User
	names := map[string]int{events.EngineUser: -1}
	yamlfile.Items(probs, list, "a user", userKeys, func(n *yaml.Node, raw rawUser) {
		bad := func(format string, args ...any) { probs.Addf(n.Line, format, args...) }
		u := User{Name: raw.Name, Password: raw.Password, NKey: raw.NKey, Source: raw.Source, Supervisor: raw.Supervisor}
		switch line := names[u.Name]; {
		case !sourceName.MatchString(u.Name):
			bad("name %q: must be 1–64 of a-z, 0-9, - and _", u.Name)
		case line == -1:
			bad("name %q: reserved for the engine's own user", u.Name)
		case line != 0:
			bad("name %q: already used on line %d", u.Name, line)
		default:
			names[u.Name] = n.Line
		}
		switch {
		case (u.Password == "") == (u.NKey == ""):
			bad("give exactly one of password and nkey")
		case u.NKey != "" && !nkeyUser.MatchString(u.NKey):
			bad("nkey: must be a user's public nkey (U and 55 base32 characters), not its seed")
		case u.Password != "" && len(u.Password) < 12 && !strings.HasPrefix(u.Password, "$2"):
			bad("password: must be at least 12 characters, or a bcrypt hash")
		}
		switch {
		case u.Supervisor && u.Source != "":
			bad("a supervisor reads every source: give no source")
		case u.Source == "hoso":
			bad("source hoso is reserved for the engine's own events")
		case !u.Supervisor && !sourceName.MatchString(u.Source):
			bad("source %q: must be the source's subject token (a-z, 0-9, - and _), or supervisor: true", u.Source)
		}
		users = append(users, u)
	})
	if err := probs.Err(); err != nil {
		return nil, err
	}
	return users, nil
}
