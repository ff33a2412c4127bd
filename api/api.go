package api

import (
	"math"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// Page is the envelope of every list response.
type Page[T any] struct {
	Items []T `json:"items"` // never null: an empty page is []
	// NextCursor is the cursor parameter that reads the page after this
	// one; "" (absent) after the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// Status is a national status code with its names.
type Status struct {
	Code   workflow.Status `json:"code"`    // 1–10
	NameVI string          `json:"name_vi"` // the name in Vietnamese
	NameEN string          `json:"name_en"` // the name in English
}

// NewStatus returns the status s with its names, or nil when s is not a
// status code (the zero Status of a state without one).
func NewStatus(s workflow.Status) *Status {
	if !s.Valid() {
		return nil
	}
	return &Status{Code: s, NameVI: s.NameVI(), NameEN: s.NameEN()}
}

// DefinitionRef names a workflow definition and its version.
type DefinitionRef struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
}

// Dossier is a dossier as GET /api/v1/dossiers lists it and, with
// History and Problems, as GET /api/v1/dossiers/{code} shows it. The
// times are RFC 3339; a time the dossier does not have yet is null.
type Dossier struct {
	Code        string        `json:"code"`
	Procedure   string        `json:"procedure"`
	Agency      string        `json:"agency"`
	Source      string        `json:"source"`
	Definition  DefinitionRef `json:"definition"`
	State       string        `json:"state"`
	Status      *Status       `json:"status"` // null in a state without a status code
	Terminal    bool          `json:"terminal"`
	Department  string        `json:"department,omitempty"`
	Due         *time.Time    `json:"due"`          // in force: an apology's new date once one moved it
	OriginalDue *time.Time    `json:"original_due"` // without apologies: lateness is judged against it
	ReceivedAt  *time.Time    `json:"received_at"`
	ResolvedAt  *time.Time    `json:"resolved_at"`
	ReturnedAt  *time.Time    `json:"returned_at"`
	PausedAt    *time.Time    `json:"paused_at"`
	Apologies   int           `json:"apologies"`
	Supplements int           `json:"supplements"`  // supplement requests; the second is an irregularity
	LateEntries int           `json:"late_entries"` // accepted events recorded as late entries
	Warned      bool          `json:"warned"`
	Overdue     bool          `json:"overdue"`
	Online      bool          `json:"online"`
	// Channel is how the dossier was submitted: the channel given
	// (data.channel), else online_partial when submitted online, else
	// desk (workflow.Dossier.IntakeChannel); ChannelGiven says whether
	// one was given.
	Channel      workflow.Channel `json:"channel"`
	ChannelGiven bool             `json:"channel_given"`
	// Level is the level of government of the dossier's procedure in the
	// catalogue (workflow.Catalog.Level), province, commune or "(khác)"
	// when no definition gives one; set by the server, which knows the
	// catalog.
	Level workflow.Level `json:"level"`
	// PaidOnline and PaidCounter: an event recorded a payment online, at
	// the counter (data.payment); Satisfaction is the applicant's last
	// score (data.satisfaction, 1–5), 0 when none.
	PaidOnline   bool          `json:"paid_online"`
	PaidCounter  bool          `json:"paid_counter"`
	Satisfaction int           `json:"satisfaction"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	Attachments  []string      `json:"attachments"` // never null
	Rejections   int           `json:"rejections"`
	Mismatches   int           `json:"mismatches"`
	Entries      int           `json:"history_length"`
	Head         workflow.Hash `json:"head"` // hash of the last history entry
	// History is the dossier's control sheet, in index order; only
	// GET /api/v1/dossiers/{code} sends it.
	History []HistoryEntry `json:"history,omitempty"`
	// Problems are the dossier's latest rejections, mismatches and
	// irregularities; only GET /api/v1/dossiers/{code} sends them.
	Problems *Problems `json:"problems,omitempty"`
}

// NewDossier returns the API's view of d, without history or problems.
func NewDossier(d *workflow.Dossier) Dossier {
	att := d.Attachments
	if att == nil {
		att = []string{}
	}
	return Dossier{
		Code: d.Code, Procedure: d.Procedure, Agency: d.Agency, Source: d.Source,
		Definition: DefinitionRef{d.Definition, d.Version}, State: d.State, Status: NewStatus(d.Status),
		Terminal: d.Terminal, Department: d.Department, Due: optTime(d.Due), OriginalDue: optTime(d.OriginalDue), ReceivedAt: optTime(d.ReceivedAt),
		ResolvedAt: optTime(d.ResolvedAt), ReturnedAt: optTime(d.ReturnedAt), PausedAt: optTime(d.PausedAt),
		Apologies: d.Apologies, Supplements: d.Supplements, LateEntries: d.LateEntries, Warned: d.Warned, Overdue: d.Overdue, Online: d.Online,
		Channel: d.IntakeChannel(), ChannelGiven: d.Channel != "",
		PaidOnline: d.PaidOnline, PaidCounter: d.PaidCounter, Satisfaction: d.Satisfaction,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Attachments: att, Rejections: d.Rejections,
		Mismatches: d.Mismatches, Entries: d.History, Head: d.Head,
	}
}

// Problems are the latest rejections, mismatches and irregularities of a
// dossier (at most 100 of each, newest first).
type Problems struct {
	Rejections     []Rejection    `json:"rejections"`     // never null
	Mismatches     []Mismatch     `json:"mismatches"`     // never null
	Irregularities []Irregularity `json:"irregularities"` // never null
}

// HistoryEntry is one accepted transition of a dossier: a line of its
// control sheet.
type HistoryEntry struct {
	Index       int                   `json:"index"` // 0 for the first entry
	Seq         uint64                `json:"seq"`   // stream sequence of the event
	EventID     string                `json:"event_id"`
	Source      string                `json:"source"`
	Action      string                `json:"action"`
	From        string                `json:"from"`
	To          string                `json:"to"`
	FromStatus  *Status               `json:"from_status"`
	ToStatus    *Status               `json:"to_status"`
	Time        time.Time             `json:"time"`
	Actor       string                `json:"actor"`
	Agency      string                `json:"agency"`
	Department  string                `json:"department,omitempty"`
	Reason      string                `json:"reason,omitempty"`
	Note        string                `json:"note,omitempty"`
	Due         *time.Time            `json:"due"` // the due date in force after the entry; null when none
	Timing      workflow.Timing       `json:"timing,omitempty"`
	Attachments []workflow.Attachment `json:"attachments"` // never null
	// Channel is the data.channel the entry recorded (on the event that
	// created or received the dossier); absent otherwise. Part of the
	// hash when present.
	Channel workflow.Channel `json:"channel,omitempty"`
	// Payment and Satisfaction are the data.payment and data.satisfaction
	// the entry recorded; absent when none. Part of the hash when present.
	Payment      workflow.Payment `json:"payment,omitempty"`
	Satisfaction int              `json:"satisfaction,omitempty"`
	PrevHash     workflow.Hash    `json:"prev_hash"`
	Hash         workflow.Hash    `json:"hash"`
}

// NewHistoryEntry returns the API's view of e.
func NewHistoryEntry(e *workflow.HistoryEntry) HistoryEntry {
	att := e.Attachments
	if att == nil {
		att = []workflow.Attachment{}
	}
	return HistoryEntry{
		Index: e.Index, Seq: e.Seq, EventID: e.EventID, Source: e.Source, Action: e.Action,
		From: e.From, To: e.To, FromStatus: NewStatus(e.FromStatus), ToStatus: NewStatus(e.ToStatus),
		Time: e.Time, Actor: e.Actor, Agency: e.Agency, Department: e.Department, Reason: e.Reason,
		Note: e.Note, Due: optTime(e.Due), Timing: e.Timing, Attachments: att, Channel: e.Channel, Payment: e.Payment, Satisfaction: e.Satisfaction, PrevHash: e.PrevHash, Hash: e.Hash,
	}
}

// optTime returns nil for the zero time, so that it encodes as null.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Rejection is a rejected event, as GET /api/v1/rejections lists it.
type Rejection = workflow.Rejection

// Mismatch is an event whose claimed status differed from hoso's, as
// GET /api/v1/mismatches lists it.
type Mismatch = workflow.Mismatch

// Irregularity is a rule of practice an accepted event broke (a late
// entry, a late apology, a repeated supplement request), as
// GET /api/v1/irregularities lists it. The event was applied; this is
// the supervisors' record of it.
type Irregularity struct {
	Seq     uint64                    `json:"seq"` // stream sequence of the event
	EventID string                    `json:"event_id"`
	Source  string                    `json:"source"`
	Dossier string                    `json:"dossier"`
	Action  string                    `json:"action"`
	Agency  string                    `json:"agency"` // the dossier's agency
	Actor   string                    `json:"actor"`  // the officer the event names
	Kind    workflow.IrregularityKind `json:"kind"`
	Time    time.Time                 `json:"time"` // the event's time: when the action happened, as the sender says
	// Entered is when the event was entered: its data.entered, or its
	// arrival on the stream when it gives none.
	Entered time.Time `json:"entered"`
	// DelayHours is working hours, to two decimals: for a late entry,
	// from Time to Entered; for a late apology, the notice it gave before
	// the due time; 0 for a repeated supplement request.
	DelayHours float64 `json:"delay_hours"`
	Detail     string  `json:"detail"`    // in English
	DetailVI   string  `json:"detail_vi"` // in Vietnamese
}

// NewIrregularity returns the API's view of ir.
func NewIrregularity(ir *workflow.Irregularity) Irregularity {
	return Irregularity{
		Seq: ir.Seq, EventID: ir.EventID, Source: ir.Source, Dossier: ir.Dossier, Action: ir.Action,
		Agency: ir.Agency, Actor: ir.Actor, Kind: ir.Kind, Time: ir.Time, Entered: ir.Entered,
		DelayHours: Hours(ir.Delay), Detail: ir.Detail, DetailVI: ir.DetailVI,
	}
}

// Hours returns a working time in hours, rounded to two decimals.
func Hours(d time.Duration) float64 { return math.Round(d.Hours()*100) / 100 }

// ChainReport is the answer of GET /api/v1/dossiers/{code}/verify, and
// an item of AuditPage.
type ChainReport = workflow.ChainReport

// Finding is one thing a verification found wrong.
type Finding = workflow.Finding

// AuditPage is the answer of GET /api/v1/audit/verify: a page of a
// whole-store audit.
type AuditPage struct {
	Items   []ChainReport `json:"items"`   // the dossiers found wrong among those checked; never null
	Checked int           `json:"checked"` // dossiers this page verified
	Total   int           `json:"total"`   // dossiers in the store (its counter), for a client's progress
	// Store is what the first page (no cursor) found wrong in the
	// indexes, counters and rows; absent on the other pages and when
	// nothing was found.
	Store      []Finding `json:"store,omitempty"`
	NextCursor string    `json:"next_cursor,omitempty"` // "" (absent) after the last page
}

// Definition is a workflow definition as GET /api/v1/definitions lists it.
type Definition struct {
	ID         string   `json:"id"`
	Version    int      `json:"version"`
	NameVI     string   `json:"name_vi"`
	NameEN     string   `json:"name_en,omitempty"`
	Effective  string   `json:"effective"`   // YYYY-MM-DD
	LegalBasis []string `json:"legal_basis"` // never null
	Procedures []string `json:"procedures"`
	States     []State  `json:"states"`
	Actions    []Action `json:"actions"`
}

// State is a state of a Definition.
type State struct {
	Name     string  `json:"name"`
	Status   *Status `json:"status"` // null for a state without a status code
	Terminal bool    `json:"terminal"`
}

// Action is an action of a Definition: the states it leaves and the one
// it enters.
type Action struct {
	Name    string   `json:"name"`
	From    []string `json:"from"`
	To      string   `json:"to,omitempty"`
	Stay    bool     `json:"stay,omitempty"` // the action keeps the state
	SetsDue bool     `json:"sets_due,omitempty"`
	Guards  []Guard  `json:"guards,omitempty"`
}

// Guard is a condition an Action's event must meet (workflow.Guard).
type Guard struct {
	Attachments []string `json:"attachments,omitempty"`
	Recorded    []string `json:"recorded,omitempty"`
	Fields      []string `json:"fields,omitempty"`
	Result      bool     `json:"result,omitempty"`
	From        []string `json:"from,omitempty"`
}

// Stats is the answer of GET /api/v1/stats.
type Stats struct {
	Period  StatsPeriod     `json:"period"`
	Filters StatsFilters    `json:"filters"`
	Total   workflow.Report `json:"total"`
	// ReturnWait is how long the dossiers of Total resolved and not yet
	// returned (Total.AwaitingReturn) have waited, at the time of the
	// answer, in working days: read from the dossiers in status 9.
	ReturnWait    *workflow.ReturnWait `json:"return_wait"`
	Rows          []StatsRow           `json:"rows"`           // one per key with by=; never null
	GeneratedFrom string               `json:"generated_from"` // always "counters": no dossier was scanned
}

// StatsPeriod is the months the flows cover (YYYY-MM): those asked, or
// the first and last with statistics; "" when there are none.
type StatsPeriod struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// StatsFilters are the filters a Stats answer applied.
type StatsFilters struct {
	Agency    string            `json:"agency,omitempty"`
	Procedure string            `json:"procedure,omitempty"`
	Sector    string            `json:"sector,omitempty"`
	Kind      workflow.Kind     `json:"kind"`
	By        string            `json:"by,omitempty"`
	Late      workflow.LateRule `json:"late"`
}

// StatsRow is the report of one agency, procedure, month or sector.
type StatsRow struct {
	Key    string          `json:"key"`
	Report workflow.Report `json:"report"`
}

// FeedItem is one event of GET /api/v1/feed (Server-Sent Events, each
// in JSON with the stream sequence as its id): a rejected event or a
// status mismatch, as the feed page shows it too.
type FeedItem struct {
	Seq           uint64          `json:"seq"`
	Kind          string          `json:"kind"` // "rejected" or "mismatch"
	Time          time.Time       `json:"time"`
	Dossier       string          `json:"dossier,omitempty"`
	Agency        string          `json:"agency,omitempty"`
	Action        string          `json:"action,omitempty"`
	Source        string          `json:"source,omitempty"`
	Reason        workflow.Reason `json:"reason"`
	MessageVI     string          `json:"message_vi"`
	MessageEN     string          `json:"message_en"`
	Status        *Status         `json:"status"`
	ClaimedStatus *Status         `json:"claimed_status"`
	Applied       bool            `json:"applied,omitempty"` // mismatches: the action was applied (a correction)
	// TimeText is Time as the page shows it, so the page's script does no
	// date formatting of its own.
	TimeText string `json:"time_text"`
}

// ErrorResponse is the body of every error answer of the API, whatever
// its status code.
type ErrorResponse struct {
	Error Error `json:"error"`
}

// Error says what went wrong with a request.
type Error struct {
	// Allowed lists the parameters the endpoint takes, when the request
	// gave one unknown to it ([] for an endpoint that takes none); absent
	// otherwise.
	Allowed []string `json:"allowed,omitzero"`
	Code    string   `json:"code"`    // stable, e.g. "bad_parameter", "not_found", "internal"
	Message string   `json:"message"` // in English; "internal error" for a failure of the server
	// Parameter is the query parameter that was malformed, if any.
	Parameter string `json:"parameter,omitempty"`
	RequestID string `json:"request_id"` // also in the server's log and the X-Request-Id header
}

// EngineState is the answer of GET /api/v1/admin/state.
type EngineState struct {
	AppliedSeq uint64 `json:"applied_seq"` // stream sequence of the last message applied; 0 when none
	StateHash  string `json:"state_hash"`  // hex SHA-256 of the state, outbox excluded
	// Replica is the engine's name among replicas ("" for one alone), and
	// Leader whether it leads: publishes outcomes, runs the scheduler
	// (always for one alone).
	Replica string `json:"replica,omitempty"`
	Leader  bool   `json:"leader"`
}

// Checkpoints is the answer of GET /api/v1/audit/checkpoint.
type Checkpoints struct {
	// AppliedSeq is the sequence the store has applied: a checkpoint's
	// state hash is recomputed only at it (all zeros before it).
	AppliedSeq uint64                `json:"applied_seq"`
	Items      []workflow.Checkpoint `json:"items"` // in the order of the seq parameter
}
