package simulate

import "github.com/hoso-vn/hoso/workflow"

// Truth is what a correct engine makes of a generated stream, counted by
// the generator from its own plan as it emitted each event, not by running
// the engine.
type Truth struct {
	Dossiers int `json:"dossiers"` // dossiers with at least one event in the stream
	Events   int `json:"events"`   // messages in the stream, repeats and unreadable ones included
	// Accepted is the number of events applied, corrections included.
	Accepted int `json:"accepted"`
	// Corrections is the number of applied events whose claimed status is
	// wrong: hoso answers each with a correction.
	Corrections int `json:"corrections"`
	// Mismatches is the number of status mismatches hoso records: the
	// corrections, and the rejected events (repeats excepted) whose claimed
	// status is not the dossier's.
	Mismatches int `json:"mismatches"`
	// ByStatus counts dossiers by their status at the end of the stream.
	ByStatus    map[workflow.Status]int `json:"by_status"`
	ByAgency    map[string]*Counts      `json:"by_agency"`    // by agency code
	ByProcedure map[string]*Counts      `json:"by_procedure"` // by procedure code
	Total       Counts                  `json:"total"`
	// LookupKey is the lookup key the receipts' digests are made with
	// (LookupKeyHex), and Lookups the lookup secret printed on the
	// receipt of each dossier an accepted receipt gave a digest, by code
	// (LookupSecret): with them a test of the public lookup finds
	// simulated dossiers.
	LookupKey string            `json:"lookup_key"`
	Lookups   map[string]string `json:"lookups"`
}

// Counts are the figures of a report for a set of dossiers: every dossier
// in the stream is counted once, by its state at the end of the stream.
type Counts struct {
	Received  int `json:"received"`  // dossiers accepted at the one-stop desk (reached status 2)
	Resolved  int `json:"resolved"`  // dossiers whose handling ended (reached status 9; answered, for feedback); returned ones included
	Returned  int `json:"returned"`  // dossiers ending at status 10 (result returned; feedback answer published)
	Withdrawn int `json:"withdrawn"` // ending at status 7
	Refused   int `json:"refused"`   // ending at status 3
	Stopped   int `json:"stopped"`   // ending at status 8
	// InProgress counts dossiers ending at status 1, 2 or 4: submitted,
	// received or being handled, without a resolution yet.
	InProgress int `json:"in_progress"`
	// Paused counts dossiers ending at status 5 or 6, waiting for the
	// applicant's supplement or payment.
	Paused             int `json:"paused"`
	WithDigitizedInput int `json:"with_digitized_input"` // dossiers with an accepted input_digitized attachment
	// ReceivedOnline counts the received dossiers submitted online: their
	// first applied event put them in status 1.
	ReceivedOnline int `json:"received_online"`
	WithResultFile int `json:"with_result_file"` // dossiers with an accepted result_electronic attachment
	// ResolvedEarly, ResolvedOnTime and ResolvedLate split the resolved
	// dossiers as hoso's statistics do: the resolution against the due
	// date without apologies (form 01's, moved only by the working time a
	// paused clock waited, or set again by a restart). After the due
	// instant is late; before it on its date in workflow.Zone on time; on
	// an earlier date early. A date-only due date is due at the end of
	// its day's working hours; a dossier without a due date is on time.
	ResolvedEarly  int `json:"resolved_early"`
	ResolvedOnTime int `json:"resolved_on_time"`
	ResolvedLate   int `json:"resolved_late"`
	// ResolvedLateApology counts the late ones an apology had given a new
	// date (quá hạn đã có thư xin lỗi); the others are late without one.
	ResolvedLateApology int `json:"resolved_late_apology"`
	// Irregularities counts the irregularities hoso records on applied
	// events, by kind: late entries (data.entered more than the
	// definition's late_entry working time after the event's time), late
	// apologies (less than its apology_notice before the due time they
	// move) and repeated supplement requests. In ByAgency they count under
	// the dossier's agency.
	Irregularities map[workflow.IrregularityKind]int `json:"irregularities,omitempty"`
	// Rejected counts the rejections the injected faults cause, by reason.
	// In ByAgency and ByProcedure only those hoso can attribute are
	// counted: unreadable messages (malformed) name no dossier and appear
	// in Total only.
	Rejected map[workflow.Reason]int `json:"rejected,omitempty"`
}

// fate is the end of one dossier, counted into Counts.
type fate struct {
	status    workflow.Status
	received  bool
	resolved  bool
	digitized bool
	result    bool
	online    bool            // the first applied event put it in status 1
	timing    workflow.Timing // of the resolution, once resolved
	apologies bool            // an apology moved the due date
}

func (c *Counts) addFate(f *fate) {
	switch f.status {
	case workflow.StatusReturned:
		c.Returned++
	case workflow.StatusWithdrawn:
		c.Withdrawn++
	case workflow.StatusRefused:
		c.Refused++
	case workflow.StatusStopped:
		c.Stopped++
	case workflow.StatusSubmitted, workflow.StatusReceived, workflow.StatusProcessing:
		c.InProgress++
	case workflow.StatusSupplement, workflow.StatusPayment:
		c.Paused++
	}
	if f.received {
		c.Received++
		if f.online {
			c.ReceivedOnline++
		}
	}
	if f.resolved {
		c.Resolved++
	}
	if f.digitized {
		c.WithDigitizedInput++
	}
	if f.result {
		c.WithResultFile++
	}
	switch f.timing {
	case workflow.TimingEarly:
		c.ResolvedEarly++
	case workflow.TimingOnTime:
		c.ResolvedOnTime++
	case workflow.TimingLate:
		c.ResolvedLate++
		if f.apologies {
			c.ResolvedLateApology++
		}
	}
}

func (c *Counts) irregular(k workflow.IrregularityKind) {
	if c.Irregularities == nil {
		c.Irregularities = make(map[workflow.IrregularityKind]int)
	}
	c.Irregularities[k]++
}

func (c *Counts) reject(r workflow.Reason) {
	if c.Rejected == nil {
		c.Rejected = make(map[workflow.Reason]int)
	}
	c.Rejected[r]++
}

func newTruth() *Truth {
	return &Truth{
		ByStatus:    make(map[workflow.Status]int),
		ByAgency:    make(map[string]*Counts),
		ByProcedure: make(map[string]*Counts),
		LookupKey:   LookupKeyHex,
		Lookups:     make(map[string]string),
	}
}

func (t *Truth) counts(m map[string]*Counts, key string) *Counts {
	c := m[key]
	if c == nil {
		c = &Counts{}
		m[key] = c
	}
	return c
}
