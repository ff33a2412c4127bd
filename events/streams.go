package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamDifference is a setting of a stream (or of the replicas' bucket)
// that differs from what hoso would set: an operator's choice (more
// replicas, a longer age) or an older hoso's configuration.
type StreamDifference struct {
	Field  string // e.g. "replicas", "max_age"
	Server string // what the stream has
	Hoso   string // what hoso would set
	// Required: hoso cannot run on the stream as it is (it does not
	// capture hoso's subjects, does not keep what it takes, or is kept in
	// memory); Setup fails unless StreamConfig.UpdateStreams.
	Required bool
}

func (d StreamDifference) String() string {
	return fmt.Sprintf("%s %s (hoso sets %s)", d.Field, d.Server, d.Hoso)
}

// DefaultClusterReplicas is StreamConfig.Replicas when the NATS server is
// part of a cluster: the stream survives the loss of any one server.
const DefaultClusterReplicas = 3

// replicas returns the replica count of cfg for the server js is
// connected to.
func (c *StreamConfig) replicas(js jetstream.JetStream) int {
	if c.Replicas > 0 {
		return c.Replicas
	}
	if nc := js.Conn(); nc != nil && nc.ConnectedClusterName() != "" {
		return DefaultClusterReplicas
	}
	return 1
}

// ensureStream creates the stream want, or compares an existing one with
// it: the differences are reported (StreamConfig.OnDifference) and kept,
// unless cfg.UpdateStreams, which sets hoso's configuration; a required
// difference kept is an error.
func ensureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig, cfg *StreamConfig) error {
	for range 2 { // a second look when another engine created it meanwhile
		st, err := js.Stream(ctx, want.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			_, err = js.CreateStream(ctx, want)
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				continue
			}
			return placementError(want.Name, want.Replicas, err)
		}
		if err != nil {
			return err
		}
		diffs := streamDiffs(want, st.CachedInfo().Config)
		if len(diffs) == 0 {
			return nil
		}
		if cfg.UpdateStreams {
			if _, err := js.UpdateStream(ctx, want); err != nil {
				return placementError(want.Name, want.Replicas, err)
			}
			cfg.report(want.Name, diffs, true)
			return nil
		}
		cfg.report(want.Name, diffs, false)
		if i := slices.IndexFunc(diffs, func(d StreamDifference) bool { return d.Required }); i >= 0 {
			return fmt.Errorf("%s has %s: hoso cannot run on it as it is; change it, or start with --update-streams to let hoso set its configuration", want.Name, diffs[i])
		}
		return nil
	}
	return fmt.Errorf("%s: created and deleted again while hoso set it up", want.Name)
}

// report hands the differences of a stream to OnDifference.
func (c *StreamConfig) report(stream string, diffs []StreamDifference, updated bool) {
	if c.OnDifference != nil {
		c.OnDifference(stream, diffs, updated)
	}
}

// placementError explains a stream the cluster cannot place.
func placementError(name string, replicas int, err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case jsErrCodeReplicasNotSupported, jsErrCodeNoPeers, jsErrCodeInsufficientResources:
			return fmt.Errorf("%s with %d replicas: the NATS deployment cannot hold them (%v); give a replica count of at most its number of JetStream servers (--stream-replicas)", name, replicas, err)
		}
	}
	return err
}

// JetStream error codes placementError explains.
const (
	jsErrCodeNoPeers               jetstream.ErrorCode = 10005 // no suitable peers for placement
	jsErrCodeInsufficientResources jetstream.ErrorCode = 10023
	jsErrCodeReplicasNotSupported  jetstream.ErrorCode = 10074 // replicas > 1 on a server alone
)

// streamDiffs lists the settings hoso gives a stream in which have
// differs from want.
func streamDiffs(want, have jetstream.StreamConfig) []StreamDifference {
	var out []StreamDifference
	add := func(field string, required bool, h, w string) {
		if h != w {
			out = append(out, StreamDifference{Field: field, Server: h, Hoso: w, Required: required})
		}
	}
	for _, s := range want.Subjects {
		if !slices.Contains(have.Subjects, s) {
			add("subjects", true, fmt.Sprint(have.Subjects), fmt.Sprint(want.Subjects))
			break
		}
	}
	add("retention", true, have.Retention.String(), want.Retention.String())
	add("storage", true, have.Storage.String(), want.Storage.String())
	add("replicas", false, strconv.Itoa(have.Replicas), strconv.Itoa(want.Replicas))
	add("max_age", false, age(have.MaxAge), age(want.MaxAge))
	add("max_bytes", false, limit(have.MaxBytes), limit(want.MaxBytes))
	add("max_msg_size", false, limit(int64(have.MaxMsgSize)), limit(int64(want.MaxMsgSize)))
	add("max_msgs_per_subject", false, limit(have.MaxMsgsPerSubject), limit(want.MaxMsgsPerSubject))
	add("discard", false, have.Discard.String(), want.Discard.String())
	add("discard_new_per_subject", false, strconv.FormatBool(have.DiscardNewPerSubject), strconv.FormatBool(want.DiscardNewPerSubject))
	if want.Duplicates > 0 {
		add("duplicate_window", false, have.Duplicates.String(), want.Duplicates.String())
	}
	return out
}

// age shows a MaxAge: 0 keeps forever.
func age(d time.Duration) string {
	if d <= 0 {
		return "unlimited"
	}
	return d.String()
}

// limit shows a count or size limit: 0 and -1 are none.
func limit(n int64) string {
	if n <= 0 {
		return "unlimited"
	}
	return strconv.FormatInt(n, 10)
}
