package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hoso-vn/hoso/api"
	"github.com/hoso-vn/hoso/workflow"
)

// DefaultFeedBuffer is how many outcomes a feed client may fall behind by
// before the feed drops it, when NewFeed is given 0.
const DefaultFeedBuffer = 256

// feedKeepAlive is how often an idle event stream gets a comment line, so
// that proxies and browsers keep it open.
const feedKeepAlive = 15 * time.Second

// Feed broadcasts the rejections and status corrections of applied
// batches to the dashboard's live feed (GET /api/v1/feed, server-sent
// events). The engine calls Publish after each committed batch; each
// client has a buffered channel, and a client that falls behind by more
// than its buffer is dropped (its browser reconnects), so Publish never
// waits for a client.
//
// A Feed is safe for concurrent use. Close ends every client's stream, so
// that an HTTP server's Shutdown does not wait for them.
type Feed struct {
	buffer int

	mu      sync.Mutex                     // guards clients and closed
	clients map[chan workflow.Outcome]bool // value unused
	closed  bool
	dropped int // clients dropped for falling behind
}

// NewFeed returns a Feed whose clients may fall behind by buffer outcomes
// (DefaultFeedBuffer when 0).
func NewFeed(buffer int) *Feed {
	if buffer <= 0 {
		buffer = DefaultFeedBuffer
	}
	return &Feed{buffer: buffer, clients: map[chan workflow.Outcome]bool{}}
}

// Publish hands the batch's rejections and corrections to every client
// without blocking: a client whose buffer is full is dropped.
func (f *Feed) Publish(r workflow.BatchResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.clients) == 0 {
		return
	}
	for _, o := range r.Outcomes {
		if o.Kind != workflow.OutcomeRejected && o.Kind != workflow.OutcomeCorrection {
			continue
		}
		for ch := range f.clients {
			select {
			case ch <- o:
			default:
				delete(f.clients, ch)
				close(ch)
				f.dropped++
			}
		}
	}
}

// Close ends every client's stream and refuses new ones.
func (f *Feed) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for ch := range f.clients {
		delete(f.clients, ch)
		close(ch)
	}
}

// subscribe returns a new client's channel, closed when the client is
// dropped or the feed closes, and the function that unsubscribes it.
func (f *Feed) subscribe() (<-chan workflow.Outcome, func()) {
	ch := make(chan workflow.Outcome, f.buffer)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		close(ch)
		return ch, func() {}
	}
	f.clients[ch] = true
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.clients[ch] {
			delete(f.clients, ch)
			close(ch)
		}
	}
}

const (
	feedRejected = "rejected"
	feedMismatch = "mismatch"
)

func rejectionItem(r *workflow.Rejection) api.FeedItem {
	return api.FeedItem{Seq: r.Seq, Kind: feedRejected, Time: r.Time, TimeText: formatTime(r.Time), Dossier: r.Dossier,
		Agency: r.Agency, Action: r.Action, Source: r.Source, Reason: r.Reason,
		MessageVI: r.MessageVI(), MessageEN: r.MessageEN(), Status: viewStatus(r.Status), ClaimedStatus: viewStatus(r.ClaimedStatus)}
}

func mismatchItem(m *workflow.Mismatch) api.FeedItem {
	return api.FeedItem{Seq: m.Seq, Kind: feedMismatch, Time: m.Time, TimeText: formatTime(m.Time), Dossier: m.Dossier,
		Agency: m.Agency, Action: m.Action, Source: m.Source, Reason: workflow.ReasonStatusMismatch,
		MessageVI: fmt.Sprintf("%s: báo %s, đúng là %s", workflow.ReasonStatusMismatch.TextVI(), statusName(langVI, m.ClaimedStatus), statusName(langVI, m.Status)),
		MessageEN: fmt.Sprintf("%s: claimed %s, authoritative %s", workflow.ReasonStatusMismatch.TextEN(), statusName(langEN, m.ClaimedStatus), statusName(langEN, m.Status)),
		Status:    viewStatus(m.Status), ClaimedStatus: viewStatus(m.ClaimedStatus), Applied: m.Applied}
}

// feedFilter is the agency and reason a feed client asked for.
type feedFilter struct {
	agency string
	reason workflow.Reason
}

func (f feedFilter) match(it *api.FeedItem) bool {
	return (f.agency == "" || it.Agency == f.agency) && (f.reason == "" || it.Reason == f.reason)
}

// item reads the record of an outcome from the store: the rejection, or
// for a correction the mismatch, recorded at its sequence. ok is false
// when there is none (a rejection the store did not keep).
func (s *Server) feedOutcome(r *http.Request, o workflow.Outcome) (it api.FeedItem, ok bool, err error) {
	if o.Kind == workflow.OutcomeCorrection {
		list, _, err := s.cfg.Store.Mismatches(r.Context(), workflow.MismatchQuery{Before: o.Seq + 1, Limit: 1})
		if err != nil || len(list) == 0 || list[0].Seq != o.Seq {
			return it, false, err
		}
		return mismatchItem(&list[0]), true, nil
	}
	list, _, err := s.cfg.Store.Rejections(r.Context(), workflow.RejectionQuery{Before: o.Seq + 1, Limit: 1})
	if err != nil || len(list) == 0 || list[0].Seq != o.Seq {
		return it, false, err
	}
	return rejectionItem(&list[0]), true, nil
}

// feedStream answers GET /api/v1/feed?agency=&reason= with a stream of
// server-sent events: one "problem" event per rejection or status
// mismatch applied from now on that matches the filters, its data a
// api.FeedItem in JSON and its id the stream sequence.
func (s *Server) feedStream(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r.URL.Query(), "agency", "reason")
	if err != nil {
		return err
	}
	filter := feedFilter{agency: q.str("agency"), reason: q.reason("reason")}
	if q.err != nil {
		return q.err
	}
	if s.cfg.Feed == nil {
		return &apiError{status: http.StatusNotImplemented, code: "not_implemented", msg: "the live feed is not available on this server"}
	}
	release, err := s.feedSlot(w, r) // a user's streams are capped (Limits.FeedStreams)
	if err != nil {
		return err
	}
	defer release()
	// A stream outlives the access file it was authorized under: it is
	// checked again whenever the file is replaced (and once now, in case
	// that happened since the request was authorized).
	accessChanged := s.accessWatch()
	if !s.stillAllowed(r, filter.agency) {
		return errUnauthenticated
	}
	rc := http.NewResponseController(w)
	ch, cancel := s.cfg.Feed.subscribe()
	defer cancel()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n: connected\n\n")
	if err := rc.Flush(); err != nil {
		return nil // the connection cannot stream; the client sees the headers only
	}
	tick := time.NewTicker(feedKeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-accessChanged:
			accessChanged = s.accessWatch()
			if !s.stillAllowed(r, filter.agency) {
				s.log.Info("feed: stream ended, its user may no longer see it", "request_id", requestID(r))
				return nil
			}
			if _, err := fmt.Fprint(w, ": access reloaded\n\n"); err != nil {
				return nil
			}
			_ = rc.Flush()
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			_ = rc.Flush()
		case o, open := <-ch:
			if !open {
				return nil // dropped or shutting down: the browser reconnects
			}
			if filter.reason != "" && o.Reason != filter.reason {
				continue
			}
			it, ok, err := s.feedOutcome(r, o)
			if err != nil {
				s.log.Warn("feed: read outcome record", "seq", o.Seq, "err", err, "request_id", requestID(r))
				continue
			}
			if !ok || !filter.match(&it) {
				continue
			}
			data, err := json.Marshal(it)
			if err != nil {
				return nil
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: problem\ndata: %s\n\n", it.Seq, data); err != nil {
				return nil
			}
			_ = rc.Flush()
		}
	}
}
