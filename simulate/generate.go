package simulate

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// Item is one message of a generated stream.
type Item struct {
	Time    time.Time       // when it is sent: when the event was entered (Event.Entered), later for a repeat
	Subject string          // NATS subject: hoso.events.<source>.<dossier-token>
	MsgID   string          // Nats-Msg-Id header: the event id; "" for a repeat or an unreadable message, sent without one
	Event   *workflow.Event // nil for a deliberately unreadable message, whose payload is Raw
	Raw     []byte          // the payload of an unreadable message; nil otherwise
}

// Realism knobs: shares of dossiers, or of their steps, in the plan.
const (
	shareOnline      = 0.60 // submitted online (submit, then receive); the rest at the counter
	shareOnlineScan  = 0.70 // online dossiers whose files the desk still digitizes at receipt
	shareOnlineFull  = 0.30 // online dossiers whose submission says online_full (the others give no channel: online in part)
	sharePost        = 0.10 // counter receipts that say post (the others give no channel: at the desk)
	sharePaidOnline  = 0.40 // payments made online (the others at the counter)
	shareRated       = 0.50 // returns on which the applicant gives a score 1–5
	shareRefused     = 0.02 // refused at intake
	shareWithdrawn   = 0.03 // withdrawn by the applicant
	shareStopped     = 0.01 // handling stopped
	shareSupplement  = 0.10 // a supplement requested
	shareNoAnswer    = 0.10 // of those, never supplemented
	sharePayment     = 0.15 // standard flow: a fee requested
	shareUnpaid      = 0.05 // of the payments, never paid
	shareLate        = 0.07 // resolutions planned after the due date (late, apology or not)
	shareApology     = 0.50 // of those, with an apology before the due date
	shareNotReturned = 0.05 // results not yet returned
	shareUnanswered  = 0.15 // feedback never answered
	shareFbRefused   = 0.04 // feedback refused
	minGap           = 5 * time.Minute

	// shareLateApology is the share of the apologies made with less notice
	// than the definition's apology_notice where there was time for more
	// (when less time is left, every apology is late).
	shareLateApology = 0.30
	// shareResupplement is the share of answered supplement requests
	// followed by a second one, against the rule to ask once.
	shareResupplement = 0.12
	// shareDateOnly is the share of the standard flow's receipts whose
	// data.due is a date ("2025-09-15": due at the end of its working
	// day) rather than an instant.
	shareDateOnly = 0.40
	// shareEnteredLater is the share of events the officer enters minutes
	// after they happen; the rest are entered at once.
	shareEnteredLater = 0.30
	// shareBatchers is the share of officers who keep handoffs (assign,
	// transfer) to enter them with the week's others at the end of its
	// last working day, and shareBatched the share of their handoffs they
	// keep: some become late entries, some fall just under the limit.
	shareBatchers = 0.05
	shareBatched  = 0.20
	// sameDayCutOff is the cut-off of a same-day procedure whose
	// definition gives none: received from 15:00 on, it is due the next
	// working day (Nghị định 23/2015/NĐ-CP, Điều 21).
	sameDayCutOff = 15 * time.Hour
)

// Kinds of officer's fault, one per faulty dossier.
type fault int

const (
	faultNone       fault = iota
	faultSkip             // resolve (answer) straight after receipt: invalid_transition
	faultNoResult         // resolve without the result file: missing_attachment, then resolved correctly
	faultWrongClaim       // a wrong claimed_status on an applied event: a correction
	faultRepeat           // an event sent again without Nats-Msg-Id: duplicate
	faultUnreadable       // a garbled copy of an event before the good one: malformed
)

// Generate plans cfg.Dossiers dossiers through the definitions of cat and
// returns their messages sorted by Time (stably: messages of one dossier
// keep their order, and their times strictly increase), with the Truth a
// correct engine must reach from them. It is deterministic: the same
// config and catalog give the same items.
//
// Each procedure's definition is the one cat.Resolve gives at the
// dossier's first event. Generate returns an error if a definition lacks
// an action the generator needs, or would refuse an event the generator
// plans as correct: the shipped definitions and the generator disagree.
func Generate(cfg Config, cat *workflow.Catalog) ([]Item, *Truth, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if cat == nil {
		return nil, nil, errors.New("simulate: no catalog")
	}
	g := newGen(cfg, cat)
	arrivals, err := g.arrivals()
	if err != nil {
		return nil, nil, err
	}
	truth := newTruth()
	items := make([]Item, 0, len(arrivals)*11)
	p := &planner{g: g, pcg: rand.NewPCG(0, 0), fpcg: rand.NewPCG(0, 0)}
	p.rng, p.facts = rand.New(p.pcg), rand.New(p.fpcg)
	for i := range arrivals {
		steps, err := p.plan(&arrivals[i], i)
		if err != nil {
			return nil, nil, err
		}
		items = g.record(truth, &arrivals[i], steps, items)
	}
	truth.Events = len(items)
	return sortItems(items), truth, nil
}

// gen is what every dossier of one Generate call shares.
type gen struct {
	cfg        Config
	cat        *workflow.Catalog
	cal        *workflow.Calendar
	hours      workflow.WorkingHours
	day        time.Duration // a working day
	start, end time.Time
	depts      []*agency
	comms      []*agency
	all        []*agency
	sourceURI  string
	prefix     string // subject prefix: hoso.events.<source>.
	mix        uint64 // a hash of the config, in each dossier's seed
	flows      [3][]*procedure
	checked    map[checked]bool
	batchers   map[string]bool // officers who enter handoffs at the end of the week
	lookupKey  []byte          // LookupKey
}

// checked is a definition checked for the actions of a flow.
type checked struct {
	def  *workflow.Definition
	flow flow
}

func newGen(cfg Config, cat *workflow.Catalog) *gen {
	cal := cat.Calendar()
	g := &gen{
		cfg:       cfg,
		cat:       cat,
		cal:       cal,
		hours:     cal.Config().Hours,
		day:       cal.Config().Hours.Day(),
		start:     cfg.Start.In(workflow.Zone),
		sourceURI: "/motcua/" + cfg.Source,
		lookupKey: LookupKey(),
		prefix:    "hoso.events." + cfg.Source + ".",
		checked:   make(map[checked]bool),
	}
	g.end = g.start.AddDate(0, 0, cfg.Days)
	// Dossiers draw from sources seeded by the whole config, not the seed
	// alone, so that two configs with one seed never share event ids: a
	// second run would be dropped as repeats.
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%d|%d|%d|%d|%s|%v", cfg.Seed, cfg.Dossiers, g.start.UnixNano(), cfg.Days, cfg.Agencies, cfg.Source, cfg.Faults)
	g.mix = h.Sum64()
	g.depts, g.comms = newAgencies(cfg.Agencies)
	g.all = slices.Concat(g.depts, g.comms)
	r := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x656e7472)) // "entr"
	g.batchers = make(map[string]bool)
	for _, a := range g.all {
		for _, o := range a.actors {
			if r.Float64() < shareBatchers {
				g.batchers[o] = true
			}
		}
	}
	for i := range procedures {
		p := &procedures[i]
		g.flows[p.flow] = append(g.flows[p.flow], p)
	}
	return g
}

// arrival is a dossier's first event, planned before its code is known.
type arrival struct {
	proc   *procedure
	agency *agency
	first  time.Time
	online bool
	code   string
	def    *workflow.Definition
}

// workingSpan is the working time of one day of the period.
type workingSpan struct {
	from time.Time
	cum  time.Duration // working time of the period before from
}

// arrivals picks each dossier's procedure, agency and first event,
// uniformly over the working time of the period, and numbers the dossier
// codes per agency and day in order of arrival.
func (g *gen) arrivals() ([]arrival, error) {
	var spans []workingSpan
	var total time.Duration
	y, m, d := g.start.Date()
	for day := time.Date(y, m, d, 0, 0, 0, 0, workflow.Zone); day.Before(g.end); day = day.AddDate(0, 0, 1) {
		if !g.cal.IsWorkingDay(day) {
			continue
		}
		from := day.Add(g.hours.MorningStart)
		if from.Before(g.start) {
			from = g.start
		}
		to := day.Add(g.hours.AfternoonEnd)
		if to.After(g.end) {
			to = g.end
		}
		if w := g.cal.Working(from, to); w > time.Minute {
			spans = append(spans, workingSpan{from: from, cum: total})
			total += w - time.Minute
		}
	}
	if total <= 0 {
		return nil, fmt.Errorf("simulate: no working time from %s over %d days", g.start.Format(time.DateTime), g.cfg.Days)
	}
	rng := rand.New(rand.NewPCG(uint64(g.cfg.Seed), 0x686f736f)) // "hoso"
	out := make([]arrival, g.cfg.Dossiers)
	for i := range out {
		a := &out[i]
		f := flowStandard
		switch x := rng.Float64(); {
		case x < shareLand:
			f = flowLand
		case x < shareLand+shareFeedback:
			f = flowFeedback
		}
		a.proc = pickProcedure(rng, g.flows[f])
		switch a.proc.level {
		case levelProvince:
			a.agency = g.depts[a.proc.unit%len(g.depts)]
		case levelCommune:
			a.agency = g.comms[rng.IntN(len(g.comms))]
		default:
			a.agency = g.all[rng.IntN(len(g.all))]
		}
		x := time.Duration(rng.Int64N(int64(total/time.Second))) * time.Second
		k := sort.Search(len(spans), func(j int) bool { return spans[j].cum > x }) - 1
		a.first = g.at(spans[k].from, x-spans[k].cum)
		a.online = f != flowFeedback && rng.Float64() < shareOnline
	}
	slices.SortStableFunc(out, func(a, b arrival) int { return a.first.Compare(b.first) })
	seq := make(map[string]int)
	for i := range out {
		a := &out[i]
		key := a.agency.ident + "-" + a.first.Format("060102")
		seq[key]++
		a.code = key + "-" + fmt.Sprintf("%04d", seq[key])
		a.def = g.cat.Resolve(a.proc.code, a.first)
		if a.def == nil {
			return nil, fmt.Errorf("simulate: no definition covers procedure %s on %s", a.proc.code, a.first.Format(time.DateOnly))
		}
		if err := g.check(a.def, a.proc.flow); err != nil {
			return nil, fmt.Errorf("simulate: procedure %s on %s falls under definition %s (%s), %w",
				a.proc.code, a.first.Format(time.DateOnly), a.def.Key(), a.def.File, err)
		}
	}
	return out, nil
}

func pickProcedure(rng *rand.Rand, ps []*procedure) *procedure {
	total := 0
	for _, p := range ps {
		total += p.weight
	}
	x := rng.IntN(total)
	for _, p := range ps {
		if x < p.weight {
			return p
		}
		x -= p.weight
	}
	return ps[len(ps)-1]
}

// check reports whether def has every action the flow needs.
// Its error completes a sentence naming the definition.
func (g *gen) check(def *workflow.Definition, f flow) error {
	if g.checked[checked{def, f}] {
		return nil
	}
	var missing []string
	for _, name := range actionsOf[f] {
		if def.Action(name) == nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("which has no action %q the simulated %s flow needs", missing, f)
	}
	g.checked[checked{def, f}] = true
	return nil
}

// at returns the instant d of working time after t, inside a working
// period: an instant the calendar puts at the end of a period moves one
// second back.
func (g *gen) at(t time.Time, d time.Duration) time.Time {
	r := g.cal.AddWorking(t, d)
	y, m, dd := r.Date()
	off := r.Sub(time.Date(y, m, dd, 0, 0, 0, 0, workflow.Zone))
	if off == g.hours.MorningEnd || off == g.hours.AfternoonEnd {
		r = r.Add(-time.Second)
	}
	return r
}

// step is one planned message and what hoso must make of it.
type step struct {
	item       Item
	ok         bool                        // applied
	reason     workflow.Reason             // why not, when not applied
	mismatch   bool                        // hoso records a status mismatch
	correction bool                        // applied with a wrong claimed status
	irregular  []workflow.IrregularityKind // what the applied event broke
	fate       fate                        // the dossier after the message
}

// planner plans one dossier at a time, keeping the model of what hoso
// holds of it: state, due date, clock, attachments.
type planner struct {
	g   *gen
	pcg *rand.PCG
	rng *rand.Rand
	// facts draws what events say that never changes a decision (the
	// channel, the payment method, the applicant's score) from a source
	// of its own, so that they leave the rest of the plan as it was.
	fpcg  *rand.PCG
	facts *rand.Rand

	a       *arrival
	def     *workflow.Definition
	sla     workflow.SLA  // the definition's statutory time for the procedure; zero: the sender's data.due
	statute time.Duration // the statutory time the plan paces itself by
	// lateEntry and notice are the definition's late_entry and
	// apology_notice as working time; zero: not checked.
	lateEntry, notice time.Duration
	subject           string
	citizen           string
	noResult          bool
	fault             fault

	state       string
	status      workflow.Status
	due         time.Time // in force
	originalDue time.Time // without apologies: lateness is judged against it
	dueDay      bool      // the sender gave data.due as a date
	resolvedAt  time.Time // first entry into status 9
	pausedAt    time.Time
	apologies   int
	supplements int      // entries into status 5
	kinds       []string // sorted kinds of the accepted attachments
	fate        fate
	unit        string // department handling the dossier now

	t     time.Time // time of the last event
	sent  time.Time // when the last message was entered and sent
	steps []step
	err   error
}

// plan plans the i-th dossier.
func (p *planner) plan(a *arrival, i int) ([]step, error) {
	g := p.g
	p.pcg.Seed(uint64(g.cfg.Seed), g.mix^uint64(i+1))
	p.fpcg.Seed(uint64(g.cfg.Seed)^0x6661637473, g.mix^uint64(i+1)) // "facts"
	*p = planner{g: g, pcg: p.pcg, rng: p.rng, fpcg: p.fpcg, facts: p.facts, steps: p.steps[:0], kinds: p.kinds[:0]}
	p.a, p.def = a, a.def
	pr := a.def.Procedure(a.proc.code)
	p.sla, p.noResult = pr.SLA, pr.NoResult
	p.lateEntry, p.notice = a.def.LateEntry.Working(g.day), a.def.ApologyNotice.Working(g.day)
	p.statute = pr.SLA.Working(g.day)
	switch {
	case a.proc.sla > 0:
		p.statute = time.Duration(a.proc.sla) * g.day
	case a.proc.sameDay || pr.SLA.SameDay:
		p.statute = g.day / 2
	}
	if p.statute <= 0 {
		p.statute = 10 * g.day
	}
	p.subject = g.prefix + workflow.DossierToken(a.code)
	p.citizen = "cd-" + strconv.FormatInt(1e11+p.rng.Int64N(9e11), 10)
	p.state = workflow.StartState
	if p.rng.Float64() < g.cfg.Faults {
		switch x := p.rng.Float64(); {
		case x < 0.25:
			p.fault = faultSkip
		case x < 0.50:
			p.fault = faultNoResult
		case x < 0.75:
			p.fault = faultWrongClaim
		case x < 0.92:
			p.fault = faultRepeat
		default:
			p.fault = faultUnreadable
		}
	}
	if a.proc.flow == flowFeedback {
		p.feedback()
	} else {
		p.dossier()
	}
	p.afterFaults()
	if p.err != nil {
		return nil, p.err
	}
	return p.steps, nil
}

// Endings of a dossier other than a resolution.
type ending int

const (
	endResolve ending = iota
	endRefuse
	endWithdraw
	endStop
)

// score draws an applicant's score 1–5, mostly satisfied: 5, 5, 15, 35
// and 40 in a hundred.
func score(r *rand.Rand) int {
	switch x := r.IntN(100); {
	case x < 5:
		return 1
	case x < 10:
		return 2
	case x < 25:
		return 3
	case x < 60:
		return 4
	}
	return 5
}

// dossier plans a dossier of the standard or the land flow.
func (p *planner) dossier() {
	r, a, g := p.rng, p.a, p.g
	end := endResolve
	switch x := r.Float64(); {
	case x < shareRefused:
		end = endRefuse
	case x < shareRefused+shareWithdrawn:
		end = endWithdraw
	case x < shareRefused+shareWithdrawn+shareStopped:
		end = endStop
	}
	// Where a withdrawal or a stop happens: 1 after receipt, 2 after the
	// handoffs, 3 before the resolution. A stop needs the dossier in hand.
	checkpoint := 0
	switch end {
	case endWithdraw:
		checkpoint = 1 + r.IntN(3)
	case endStop:
		checkpoint = 2 + r.IntN(2)
	}

	var receiveAt time.Time
	if a.online {
		sub := p.event("submit", p.citizen)
		if p.facts.Float64() < shareOnlineFull {
			sub.Channel = workflow.ChannelOnlineFull
		}
		p.send(a.first, sub)
		switch {
		case end == endRefuse && r.Float64() < 0.6:
			p.refuse(p.later(p.dur(time.Hour, 12*time.Hour)))
			return
		case end == endWithdraw && r.Float64() < 0.2:
			p.withdraw(p.later(p.dur(time.Hour, 3*g.day)))
			return
		}
		receiveAt = p.later(p.dur(time.Hour, 16*time.Hour))
	} else {
		if end == endRefuse && r.Float64() < 0.3 {
			p.refuse(a.first) // at the counter: the dossier is never received
			return
		}
		receiveAt = a.first
	}
	ev := p.event("receive", p.officer())
	ev.Department = a.agency.desk
	if !a.online && p.facts.Float64() < sharePost {
		ev.Channel = workflow.ChannelPost
	}
	if !a.online || r.Float64() < shareOnlineScan {
		p.attachInputs(ev)
	}
	if a.proc.flow == flowStandard {
		p.sendDue(ev, receiveAt)
	}
	p.receipt(ev)
	p.send(receiveAt, ev)
	if end == endRefuse {
		p.refuse(p.later(p.dur(30*time.Minute, 8*time.Hour)))
		return
	}
	if p.fault == faultSkip {
		bad := p.event("resolve", p.officer())
		p.attach(bad, workflow.AttachmentResultElectronic, "ket-qua.pdf")
		if p.expect(p.later(p.dur(5*time.Minute, 90*time.Minute)), bad, workflow.ReasonInvalidTransition) {
			p.fault = faultNone
		}
	}
	if checkpoint == 1 {
		p.withdraw(p.later(p.dur(time.Hour, 2*g.day)))
		return
	}

	p.handoffs()
	if checkpoint == 2 {
		p.endWith(end)
		return
	}
	if r.Float64() < shareSupplement {
		if !p.supplement(end) {
			return
		}
		if r.Float64() < shareResupplement && !p.supplement(end) {
			return
		}
	}
	if !p.payment() {
		return
	}
	if checkpoint == 3 {
		p.endWith(end)
		return
	}
	p.resolve("resolve", workflow.AttachmentResultElectronic, "ket-qua-"+workflow.DossierToken(a.code)+".pdf")
	if r.Float64() >= shareNotReturned {
		ev := p.event("return", p.officer())
		if p.facts.Float64() < shareRated {
			ev.Satisfaction = score(p.facts)
		}
		p.send(p.later(p.dur(time.Hour, 3*g.day)), ev)
	}
}

// sendDue sets the data.due the one-stop-shop sends at receipt: the
// procedure's days counted from the receipt, or for a same-day procedure
// the end of the day (of the next working day from 15:00 on); for some
// receipts as a date, due at the end of its working day.
func (p *planner) sendDue(ev *workflow.Event, at time.Time) {
	g := p.g
	due := g.cal.AddWorkingDays(at, p.a.proc.sla)
	if p.a.proc.sameDay {
		due = g.sameDayDue(at, sameDayCutOff)
	}
	if p.rng.Float64() < shareDateOnly {
		ev.Due, ev.DueDay = midnight(due), true
		p.dueDay = true
		return
	}
	ev.Due = due
}

// supplement plans a supplement request and, mostly, the applicant's
// answer. It reports whether the dossier goes on.
func (p *planner) supplement(end ending) bool {
	r, g := p.rng, p.g
	ev := p.event("request_supplement", p.officer())
	p.attach(ev, workflow.AttachmentSupplementRequest, "phieu-yeu-cau-bo-sung.pdf")
	ev.Note = pick(r, supplementNotes)
	p.send(p.later(p.frac(0.03, 0.12)), ev)
	switch {
	case end == endStop && r.Float64() < 0.5:
		p.stop(p.later(p.dur(3*g.day, 10*g.day)))
		return false
	case r.Float64() < shareNoAnswer:
		return false // waits for the applicant to the end
	}
	ev = p.event("supplement", p.citizen)
	p.attachInputs(ev)
	p.send(p.later(p.dur(g.day, 10*g.day)), ev)
	return true
}

// handoffs assigns the dossier to a department and hands it on 0–3 times.
func (p *planner) handoffs() {
	r := p.rng
	ev := p.event("assign", p.officer())
	p.unit = pick(r, p.a.agency.units[:len(p.a.agency.units)-2])
	ev.Department = p.unit
	p.send(p.later(p.frac(0.02, 0.08)), ev)
	n := 0
	switch x := r.Float64(); {
	case x < 0.35:
	case x < 0.70:
		n = 1
	case x < 0.90:
		n = 2
	default:
		n = 3
	}
	for range n {
		p.transfer(p.frac(0.03, 0.10))
	}
}

func (p *planner) transfer(gap time.Duration) {
	units := p.a.agency.units
	next := p.unit
	for next == p.unit {
		next = pick(p.rng, units)
	}
	p.unit = next
	ev := p.event("transfer", p.officer())
	ev.Department = next
	if next == units[len(units)-2] { // the leadership
		ev.Note = "Trình lãnh đạo ký duyệt"
	}
	p.send(p.later(gap), ev)
}

// payment plans the financial obligation: the land flow's tax step, or a
// fee in the standard flow. It reports whether the dossier goes on.
func (p *planner) payment() bool {
	r, g := p.rng, p.g
	switch {
	case p.a.proc.flow == flowLand && r.Float64() < p.a.proc.tax:
		ev := p.event("send_to_tax", p.officer())
		p.attach(ev, "cadastral_data", "phieu-chuyen-thong-tin-dia-chinh.pdf")
		p.send(p.later(p.frac(0.05, 0.12)), ev)
		ev = p.event("request_payment", "cqt-"+strconv.Itoa(1000+r.IntN(40)))
		p.attach(ev, "tax_notice", "thong-bao-nop-thue.pdf")
		p.send(p.later(p.frac(0.10, 0.22)), ev)
	case p.a.proc.flow == flowStandard && !p.a.proc.sameDay && r.Float64() < sharePayment:
		// A same-day procedure's fee is paid at the desk with the request.
		p.send(p.later(p.frac(0.03, 0.10)), p.event("request_payment", p.officer()))
	default:
		return true
	}
	if r.Float64() < shareUnpaid {
		return false
	}
	ev := p.event("pay", p.citizen)
	p.attach(ev, "payment_receipt", "bien-lai-nop-tien.pdf")
	ev.Payment = workflow.PaymentCounter
	if p.facts.Float64() < sharePaidOnline {
		ev.Payment = workflow.PaymentOnline
	}
	p.send(p.later(p.dur(2*time.Hour, 8*g.day)), ev)
	return true
}

// resolve plans the resolution (the answer, for feedback) against the due
// date: most before it, some after, about half of those with an apology
// and a new date while there is still time.
func (p *planner) resolve(action, kind, name string) {
	r, g := p.rng, p.g
	late := r.Float64() < shareLate
	w := g.cal.Working(p.t, p.due)
	var at time.Time
	switch {
	case p.due.IsZero():
		at = p.later(p.frac(0.1, 0.5))
	case !late && w > 10*time.Minute:
		at = p.later(scale(w, r, 0.05, 0.95))
	case late && w > 30*time.Minute && p.apologies < p.def.ApologyLimit && r.Float64() < shareApology:
		// The apology gives the working time notice before the due time:
		// mostly the definition's apology_notice or more, some less (a late
		// apology), all less when less is left.
		due := p.due
		lo, hi := 10*time.Minute, w-minGap
		if p.notice > 0 && w > p.notice+minGap {
			if r.Float64() < shareLateApology {
				hi = p.notice - time.Minute
			} else {
				lo = p.notice
			}
		}
		ap := g.at(p.t, w-p.dur(lo, hi))
		if !ap.Before(due) {
			at = p.later(p.dur(g.day/2, g.day+p.statute/2))
			break
		}
		n := 3 + r.IntN(8)
		if p.statute <= g.day {
			n = 1 + r.IntN(2)
		}
		ev := p.event("apologize", p.officer())
		p.attach(ev, workflow.AttachmentApologyLetter, "thu-xin-loi-hen-lai.pdf")
		ev.NewDue = g.cal.AddWorkingDays(due, n)
		if p.dueDay {
			ev.NewDue, ev.NewDueDay = midnight(ev.NewDue), true
		}
		ev.Reason = pick(r, apologyReasons)
		p.send(ap, ev)
		// Resolved after the original due date: late, with an apology.
		at = g.at(due, scale(time.Duration(n)*g.day, r, 0.1, 1.15))
	default:
		from := p.t
		if p.due.After(from) {
			from = p.due
		}
		at = g.at(from, p.dur(g.day/2, g.day+p.statute/2))
	}
	if p.fault == faultNoResult {
		bad := p.event(action, p.officer())
		if p.expect(at, bad, workflow.ReasonMissingAttachment) {
			p.fault = faultNone
			at = p.later(p.dur(10*time.Minute, 4*time.Hour))
		}
	}
	ev := p.event(action, p.officer())
	p.attach(ev, kind, name)
	p.send(at, ev)
}

// endWith withdraws or stops the dossier.
func (p *planner) endWith(end ending) {
	at := p.later(p.dur(time.Hour, 3*p.g.day))
	if end == endStop {
		p.stop(at)
		return
	}
	p.withdraw(at)
}

func (p *planner) refuse(at time.Time) {
	ev := p.event("refuse", p.officer())
	p.attach(ev, workflow.AttachmentRefusalNotice, "phieu-tu-choi.pdf")
	ev.Reason = pick(p.rng, refusalReasons)
	p.send(at, ev)
}

func (p *planner) withdraw(at time.Time) {
	ev := p.event("withdraw", p.citizen)
	ev.Reason = pick(p.rng, withdrawReasons)
	p.send(at, ev)
}

func (p *planner) stop(at time.Time) {
	ev := p.event("stop", p.officer())
	p.attach(ev, workflow.AttachmentStopNotice, "thong-bao-dung-xu-ly.pdf")
	ev.Reason = pick(p.rng, stopReasons)
	p.send(at, ev)
}

// feedback plans a citizen's feedback: received, assigned, answered,
// published; some refused, some never answered.
func (p *planner) feedback() {
	r, g := p.rng, p.g
	recv := p.event("receive", p.officer())
	p.receipt(recv)
	p.send(p.a.first, recv)
	if r.Float64() < shareFbRefused {
		ev := p.event("refuse", p.officer())
		ev.Reason = pick(r, feedbackRefusals)
		p.send(p.later(p.dur(time.Hour, 3*g.day)), ev)
		return
	}
	if p.fault == faultSkip {
		bad := p.event("answer", p.officer())
		p.attach(bad, "answer_document", "van-ban-tra-loi.pdf")
		if p.expect(p.later(p.dur(5*time.Minute, 90*time.Minute)), bad, workflow.ReasonInvalidTransition) {
			p.fault = faultNone
		}
	}
	ev := p.event("assign", p.officer())
	p.unit = pick(r, p.a.agency.units[:len(p.a.agency.units)-2])
	ev.Department = p.unit
	p.send(p.later(p.frac(0.02, 0.10)), ev)
	if r.Float64() < 0.3 {
		p.transfer(p.frac(0.05, 0.15))
	}
	if r.Float64() < shareUnanswered {
		return
	}
	p.resolve("answer", "answer_document", "van-ban-tra-loi.pdf")
	if r.Float64() >= 0.1 {
		p.send(p.later(p.dur(time.Hour, 2*g.day)), p.event("publish", p.officer()))
	}
}

// afterFaults injects the faults that copy or alter a planned message, and
// the wrong claim any fault falls back to when it found no place.
func (p *planner) afterFaults() {
	if p.err != nil || p.fault == faultNone {
		return
	}
	r := p.rng
	switch p.fault {
	case faultRepeat:
		i := p.randomApplied()
		at, ok := p.between(i)
		if !ok {
			break
		}
		s := p.steps[i]
		rep := step{
			item:   Item{Time: at, Subject: s.item.Subject, Event: s.item.Event},
			reason: workflow.ReasonDuplicate,
			fate:   s.fate,
		}
		p.steps = slices.Insert(p.steps, i+1, rep)
		return
	case faultUnreadable:
		if len(p.steps) < 2 {
			break
		}
		i := 1 + r.IntN(len(p.steps)-1)
		at, ok := p.between(i - 1)
		if !ok {
			break
		}
		bad := step{
			item:   Item{Time: at, Subject: p.subject, Raw: garble(r, p.steps[i].item.Event, p.a)},
			reason: workflow.ReasonMalformed,
			fate:   p.steps[i-1].fate,
		}
		p.steps = slices.Insert(p.steps, i, bad)
		return
	}
	// A wrong status: the sender's system lags a step behind.
	s := &p.steps[p.randomApplied()]
	s.item.Event.ClaimedStatus = lagging[s.fate.status]
	s.correction, s.mismatch = true, true
}

// lagging is the status a one-stop-shop's system wrongly shows for each
// status: the one before it, as when an officer did not update the record.
var lagging = [...]workflow.Status{
	workflow.StatusSubmitted:  workflow.StatusReceived,
	workflow.StatusReceived:   workflow.StatusSubmitted,
	workflow.StatusRefused:    workflow.StatusSubmitted,
	workflow.StatusProcessing: workflow.StatusReceived,
	workflow.StatusSupplement: workflow.StatusProcessing,
	workflow.StatusPayment:    workflow.StatusProcessing,
	workflow.StatusWithdrawn:  workflow.StatusProcessing,
	workflow.StatusStopped:    workflow.StatusProcessing,
	workflow.StatusResolved:   workflow.StatusProcessing,
	workflow.StatusReturned:   workflow.StatusResolved,
}

// randomApplied returns the index of a random applied step.
func (p *planner) randomApplied() int {
	for {
		if i := p.rng.IntN(len(p.steps)); p.steps[i].ok {
			return i
		}
	}
}

// between returns a time inside working hours after step i and before
// step i+1, or a little after step i when it is the last.
func (p *planner) between(i int) (time.Time, bool) {
	a := p.steps[i].item.Time
	if i+1 == len(p.steps) {
		return p.g.at(a, p.dur(time.Minute, 30*time.Minute)), true
	}
	w := p.g.cal.Working(a, p.steps[i+1].item.Time)
	if w < 10*time.Second {
		return time.Time{}, false
	}
	x := 2*time.Second + time.Duration(p.rng.Int64N(int64((w-4*time.Second)/time.Second)))*time.Second
	return p.g.at(a, x), true
}

// event returns a new event of the dossier with the claimed status the
// sender's system shows after the action.
func (p *planner) event(action, actor string) *workflow.Event {
	a := p.a
	ev := &workflow.Event{
		ID:        p.id(),
		SourceURI: p.g.sourceURI,
		Source:    p.g.cfg.Source,
		Action:    action,
		Dossier:   a.code,
		Procedure: a.proc.code,
		Agency:    a.agency.code,
		Actor:     actor,
	}
	act := p.def.Action(action)
	if act == nil {
		p.failf("definition %s (%s) has no action %q", p.def.Key(), p.def.File, action)
		return ev
	}
	to := act.To
	if act.Stay {
		to = p.state
	}
	if s := p.def.State(to); s != nil {
		ev.ClaimedStatus = s.Status
	}
	return ev
}

// send plans the event at the time, as a correct one: hoso must apply it.
func (p *planner) send(at time.Time, ev *workflow.Event) {
	if reason := p.add(at, ev); reason != "" && p.err == nil {
		p.failf("definition %s (%s) rejects the generator's %s of dossier %s in state %q: %s",
			p.def.Key(), p.def.File, ev.Action, ev.Dossier, p.state, reason)
	}
}

// expect plans a faulty event if hoso must reject it with the reason, and
// reports whether it did; else it plans nothing.
func (p *planner) expect(at time.Time, ev *workflow.Event, want workflow.Reason) bool {
	if p.judge(ev) != want {
		return false
	}
	p.add(at, ev)
	return true
}

// add plans the event at the time, applies it to the model if hoso
// accepts it, and returns the reason if not.
func (p *planner) add(at time.Time, ev *workflow.Event) workflow.Reason {
	if p.err != nil {
		return ""
	}
	if !at.After(p.t) {
		p.failf("dossier %s: %s at %s is not after the previous event at %s", ev.Dossier, ev.Action, at, p.t)
		return ""
	}
	ev.Time = at
	ev.Entered = p.entered(at, ev)
	if !ev.Entered.After(p.sent) {
		// The record of the dossier waits for the one before: entered
		// right after it.
		ev.Entered = p.g.at(p.sent, p.dur(time.Minute, 10*time.Minute))
	}
	s := step{item: Item{Time: ev.Entered, Subject: p.subject, MsgID: ev.ID, Event: ev}}
	s.reason = p.judge(ev)
	if s.reason == "" {
		s.ok = true
		s.irregular = p.apply(ev)
		s.correction = ev.ClaimedStatus != 0 && ev.ClaimedStatus != p.status
		s.mismatch = s.correction
	} else {
		s.mismatch = p.state != workflow.StartState && ev.ClaimedStatus != 0 && ev.ClaimedStatus != p.status
	}
	s.fate = p.fate
	p.t, p.sent = at, ev.Entered
	p.steps = append(p.steps, s)
	return s.reason
}

// entered returns when the officer entered the event that happened at at
// into the one-stop-shop (data.entered): at once, or minutes later; an
// officer who keeps handoffs for the end of the week enters them then.
// The dossier goes on meanwhile, but the one-stop-shop records its events
// in order: those that happen before the batch are entered after it.
func (p *planner) entered(at time.Time, ev *workflow.Event) time.Time {
	r, g := p.rng, p.g
	if (ev.Action == "assign" || ev.Action == "transfer") && g.batchers[ev.Actor] && r.Float64() < shareBatched {
		if b := g.weekEnd(at, r); b.After(at) {
			return b
		}
	}
	if r.Float64() < shareEnteredLater {
		return g.at(at, p.dur(time.Minute, 20*time.Minute))
	}
	return at
}

// judge returns why hoso must reject the event in the dossier's present
// state, or "" if it must apply it: the action's from states, the apology
// rules and the guards of the definition.
func (p *planner) judge(ev *workflow.Event) workflow.Reason {
	act := p.def.Action(ev.Action)
	switch {
	case act == nil:
		return workflow.ReasonUnknownAction
	case !slices.Contains(act.From, p.state):
		return workflow.ReasonInvalidTransition
	}
	if r := p.guards(act, ev); r != "" {
		return r
	}
	switch {
	case act.ExtendsDue:
		switch {
		case p.due.IsZero():
			return workflow.ReasonInvalidDue
		case !ev.Time.IsZero() && !ev.Time.Before(p.due):
			return workflow.ReasonDeadlinePassed
		case p.apologies >= p.def.ApologyLimit:
			return workflow.ReasonApologyLimit
		case !ev.NewDue.IsZero() && !p.g.dueAt(ev.NewDue, ev.NewDueDay).After(p.due):
			return workflow.ReasonInvalidDue
		}
	case act.SetsDue && p.sla.IsZero() && !ev.Due.IsZero() && !ev.Time.IsZero() && !p.g.dueAt(ev.Due, ev.DueDay).After(ev.Time):
		// The sender's appointment is not after the receipt.
		return workflow.ReasonInvalidDue
	}
	return ""
}

// guards returns why the definition's guards of the action refuse the
// event, or "".
func (p *planner) guards(act *workflow.Action, ev *workflow.Event) workflow.Reason {
	for _, g := range act.Guards {
		if len(g.From) > 0 && !slices.Contains(g.From, p.state) {
			continue
		}
		for _, k := range g.Attachments {
			if !ev.HasAttachment(k) {
				return workflow.ReasonMissingAttachment
			}
		}
		for _, k := range g.Recorded {
			if !ev.HasAttachment(k) && !p.has(k) {
				return workflow.ReasonMissingAttachment
			}
		}
		if g.Result && !p.noResult && !ev.HasAttachment(workflow.AttachmentResultElectronic) && !p.has(workflow.AttachmentResultElectronic) {
			return workflow.ReasonMissingAttachment
		}
		for _, f := range g.Fields {
			if !ev.Field(f) {
				return workflow.ReasonMissingField
			}
		}
	}
	return ""
}

// apply moves the model as hoso moves the dossier for an applied event,
// and returns the irregularities hoso records for it.
func (p *planner) apply(ev *workflow.Event) []workflow.IrregularityKind {
	act := p.def.Action(ev.Action)
	to := p.def.State(p.state)
	if !act.Stay {
		to = p.def.State(act.To)
	}
	if p.state == workflow.StartState {
		p.fate.online = to.Status == workflow.StatusSubmitted
	}
	switch {
	case to.Status == workflow.StatusReceived:
		p.fate.received = true
	case to.Status == workflow.StatusResolved && !p.fate.resolved:
		p.fate.resolved = true
		p.resolvedAt = ev.Time
	}
	irr := p.irregularities(act, to, ev)
	p.state, p.status = to.Name, to.Status
	p.fate.status = to.Status
	p.clock(act, ev)
	if p.fate.resolved {
		// Reports judge the end of processing against the original due
		// date as it stands.
		p.fate.timing = timing(p.resolvedAt, p.originalDue)
	}
	for _, at := range ev.Attachments {
		if i, ok := slices.BinarySearch(p.kinds, at.Kind); !ok {
			p.kinds = slices.Insert(p.kinds, i, at.Kind)
		}
		switch at.Kind {
		case workflow.AttachmentInputDigitized:
			p.fate.digitized = true
		case workflow.AttachmentResultElectronic:
			p.fate.result = true
		}
	}
	return irr
}

// irregularities returns the rules of practice the event breaks, moving
// the dossier from its present state to to: entered more than late_entry
// working time after it happened; an apology with less than
// apology_notice working time before the due time it moves; a second
// entry into status 5 (a supplement is asked for once).
func (p *planner) irregularities(act *workflow.Action, to *workflow.State, ev *workflow.Event) []workflow.IrregularityKind {
	var out []workflow.IrregularityKind
	cal := p.g.cal
	if p.lateEntry > 0 && cal.Working(ev.Time, ev.Entered) > p.lateEntry {
		out = append(out, workflow.IrregularLateEntry)
	}
	if act.ExtendsDue && p.notice > 0 && cal.Working(ev.Time, p.due) < p.notice {
		out = append(out, workflow.IrregularLateApology)
	}
	if to.Status == workflow.StatusSupplement && p.status != workflow.StatusSupplement {
		p.supplements++
		if p.supplements > 1 {
			out = append(out, workflow.IrregularRepeatedSupplement)
		}
	}
	return out
}

// timing says when a resolution at at was against the due instant: after
// it late; on its date in workflow.Zone on time; on an earlier date early.
// Without a due date it is on time, as hoso's statistics count it.
func timing(at, due time.Time) workflow.Timing {
	switch {
	case due.IsZero():
		return workflow.TimingOnTime
	case at.After(due):
		return workflow.TimingLate
	case midnight(at).Before(midnight(due)):
		return workflow.TimingEarly
	}
	return workflow.TimingOnTime
}

// clock moves the due date as the definition says hoso counts it: set at
// receipt (the statutory time, or the sender's date: a date is due at the
// end of its working day), moved by an apology (the original due date
// stays), and stopped while waiting for the applicant, then moved by the
// working time waited or, where the action or the definition says
// restart, set again in full.
func (p *planner) clock(act *workflow.Action, ev *workflow.Event) {
	cal := p.g.cal
	switch {
	case act.SetsDue && !p.sla.IsZero():
		p.due = p.statutoryDue(ev.Time)
		p.originalDue = p.due
	case act.SetsDue && !ev.Due.IsZero():
		p.due = p.g.dueAt(ev.Due, ev.DueDay)
		p.originalDue = p.due
	case act.ExtendsDue:
		p.due = p.g.dueAt(ev.NewDue, ev.NewDueDay)
		p.apologies++
		p.fate.apologies = true
	}
	switch act.Clock {
	case workflow.ClockStop:
		if p.pausedAt.IsZero() {
			p.pausedAt = ev.Time
		}
	case workflow.ClockResume, workflow.ClockRestartAll:
		restart := act.Clock == workflow.ClockRestartAll || p.def.Clock == workflow.ClockRestart
		switch {
		case p.pausedAt.IsZero() || p.due.IsZero():
		case restart && !p.sla.IsZero():
			p.due = p.statutoryDue(ev.Time)
			p.originalDue = p.due
		default:
			waited := cal.Working(p.pausedAt, ev.Time)
			p.due = cal.AddWorking(p.due, waited)
			p.originalDue = cal.AddWorking(p.originalDue, waited)
		}
		p.pausedAt = time.Time{}
	}
}

// statutoryDue returns the due instant of the procedure's statutory time
// counted from t: for a same-day procedure the end of t's working day, or
// of the next working day when t is from the procedure's cut-off on or on
// a day off; otherwise that much working time after t.
func (p *planner) statutoryDue(t time.Time) time.Time {
	if p.sla.SameDay {
		cut := p.sla.CutOff
		if cut == 0 {
			cut = sameDayCutOff
		}
		return p.g.sameDayDue(t, cut)
	}
	return p.g.cal.AddWorking(t, p.sla.Working(p.g.day))
}

// sameDayDue returns the end of the working hours of t's day, or of the
// next working day when t is from cutOff (an offset from midnight) on or
// on a day off.
func (g *gen) sameDayDue(t time.Time, cutOff time.Duration) time.Time {
	day := midnight(t)
	if !g.cal.IsWorkingDay(day) || t.Sub(day) >= cutOff {
		day = day.AddDate(0, 0, 1)
		for !g.cal.IsWorkingDay(day) {
			day = day.AddDate(0, 0, 1)
		}
	}
	return day.Add(g.hours.AfternoonEnd)
}

// dueAt returns the instant a due date an event gives falls due: t, or
// when it was a date (day) the end of that day's working hours — "hẹn trả
// ngày 15/9" means during 15/9.
func (g *gen) dueAt(t time.Time, day bool) time.Time {
	if day && !t.IsZero() {
		return midnight(t).Add(g.hours.AfternoonEnd)
	}
	return t
}

// weekEnd returns a time in the last hour and a half of working time of
// the last working day of at's week (Monday to Sunday).
func (g *gen) weekEnd(at time.Time, r *rand.Rand) time.Time {
	day := midnight(at)
	last := day
	for d, wd := day, (int(day.Weekday())+6)%7; wd < 7; d, wd = d.AddDate(0, 0, 1), wd+1 {
		if g.cal.IsWorkingDay(d) {
			last = d
		}
	}
	from := last.Add(g.hours.MorningStart)
	return g.at(from, g.day-90*time.Minute+time.Duration(r.Int64N(int64(89*time.Minute/time.Second)))*time.Second)
}

// midnight returns the start of t's day in workflow.Zone.
func midnight(t time.Time) time.Time {
	y, m, d := t.In(workflow.Zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, workflow.Zone)
}

func (p *planner) has(kind string) bool {
	_, ok := slices.BinarySearch(p.kinds, kind)
	return ok
}

func (p *planner) failf(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("simulate: "+format, args...)
	}
}

// later returns the instant d of working time after the last message.
func (p *planner) later(d time.Duration) time.Time {
	return p.g.at(p.t, max(d, time.Minute))
}

// dur returns a random duration from lo to hi, in whole seconds.
func (p *planner) dur(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo.Truncate(time.Second)
	}
	return lo.Truncate(time.Second) + time.Duration(p.rng.Int64N(int64((hi-lo)/time.Second)+1))*time.Second
}

// frac returns a random share from lo to hi of the statutory time, at
// least minGap.
func (p *planner) frac(lo, hi float64) time.Duration {
	return max(scale(p.statute, p.rng, lo, hi), minGap)
}

func scale(d time.Duration, r *rand.Rand, lo, hi float64) time.Duration {
	return time.Duration(float64(d) * (lo + (hi-lo)*r.Float64())).Truncate(time.Second)
}

func (p *planner) officer() string { return pick(p.rng, p.a.agency.actors) }

// attach adds an attachment with a random but reproducible hash.
func (p *planner) attach(ev *workflow.Event, kind, name string) {
	var b [32]byte
	for i := 0; i < 32; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], p.rng.Uint64())
	}
	ev.Attachments = append(ev.Attachments, workflow.Attachment{Kind: kind, Name: name, SHA256: hex.EncodeToString(b[:])})
}

// attachInputs adds one to three digitized input documents.
func (p *planner) attachInputs(ev *workflow.Event) {
	n := 1 + p.rng.IntN(3)
	off := p.rng.IntN(len(inputNames))
	for i := range n {
		p.attach(ev, workflow.AttachmentInputDigitized, inputNames[(off+i)%len(inputNames)])
	}
}

// id returns a random but reproducible UUID (version 4 layout).
func (p *planner) id() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], p.rng.Uint64())
	binary.LittleEndian.PutUint64(b[8:], p.rng.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// garble returns an unreadable copy of the event: cut off in transit, or
// sent by a misconfigured connector in the national portal's XML sync
// format.
func garble(r *rand.Rand, ev *workflow.Event, a *arrival) []byte {
	if r.Float64() < 0.3 {
		return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?><HoSo><MaHoSo>%s</MaHoSo><MaTTHC>%s</MaTTHC><DonViXuLy>%s</DonViXuLy><TrangThaiHoSo>%d</TrangThaiHoSo><NgayCapNhat>%s</NgayCapNhat></HoSo>`,
			a.code, a.proc.code, a.agency.code, ev.ClaimedStatus, ev.Time.Format("20060102150405"))
	}
	type data struct {
		Procedure     string `json:"procedure"`
		Agency        string `json:"agency"`
		Actor         string `json:"actor"`
		ClaimedStatus int    `json:"claimed_status,omitempty"`
	}
	b, _ := json.Marshal(struct {
		SpecVersion string `json:"specversion"`
		ID          string `json:"id"`
		Source      string `json:"source"`
		Type        string `json:"type"`
		Subject     string `json:"subject"`
		Time        string `json:"time"`
		Data        data   `json:"data"`
	}{"1.0", ev.ID, ev.SourceURI, workflow.TypePrefix + ev.Action, ev.Dossier, ev.Time.Format(time.RFC3339),
		data{ev.Procedure, ev.Agency, ev.Actor, int(ev.ClaimedStatus)}})
	return b[:len(b)*3/10+r.IntN(len(b)*6/10)]
}

// record cuts the dossier's steps at the end of the period, counts what
// remains into the truth and appends its items.
func (g *gen) record(t *Truth, a *arrival, steps []step, items []Item) []Item {
	n := sort.Search(len(steps), func(i int) bool { return !steps[i].item.Time.Before(g.end) })
	if n == 0 {
		return items
	}
	steps = steps[:n]
	agency, proc := t.counts(t.ByAgency, a.agency.code), t.counts(t.ByProcedure, a.proc.code)
	for i := range steps {
		s := &steps[i]
		items = append(items, s.item)
		for _, k := range s.irregular {
			t.Total.irregular(k)
			agency.irregular(k)
			proc.irregular(k)
		}
		switch {
		case s.ok:
			t.Accepted++
			if s.item.Event.Lookup != [32]byte{} {
				t.Lookups[a.code] = LookupSecret(g.cfg.Seed, a.code)
			}
		case s.reason == workflow.ReasonMalformed:
			t.Total.reject(s.reason)
		default:
			t.Total.reject(s.reason)
			agency.reject(s.reason)
			proc.reject(s.reason)
		}
		if s.correction {
			t.Corrections++
		}
		if s.mismatch {
			t.Mismatches++
		}
	}
	f := &steps[n-1].fate
	t.Dossiers++
	t.ByStatus[f.status]++
	t.Total.addFate(f)
	agency.addFate(f)
	proc.addFate(f)
	return items
}

// sortItems returns the items sorted by time, stably.
func sortItems(items []Item) []Item {
	type key struct {
		t int64
		i int
	}
	keys := make([]key, len(items))
	for i := range items {
		keys[i] = key{items[i].Time.UnixNano(), i}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.t != b.t {
			if a.t < b.t {
				return -1
			}
			return 1
		}
		return a.i - b.i
	})
	out := make([]Item, len(items))
	for j, k := range keys {
		out[j] = items[k.i]
	}
	return out
}
