package public

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hoso-vn/hoso/workflow"
)

// The dossier lookup: an applicant gives the dossier code and the lookup
// secret printed on the receipt, and sees where their dossier is. The
// answer for a wrong secret, for a code no dossier has and for a dossier
// received without a lookup digest is one answer, byte for byte (but the
// request id and the date), and every one of those paths does the same
// work: the two rate limits, one read of the store (Store.Lookup) and one
// HMAC compared in constant time. A match costs a second read, the
// dossier's history, which the answer is built from.

// maxLookupBody bounds the body of a lookup request: a code and a secret
// are under 200 bytes however they are sent.
const maxLookupBody = 1024

// LookupAnswer is the answer of a lookup that found the dossier, the
// allowlist of what it says: nothing about an officer, an actor, an
// event or an agency's internal ids but the names of its departments.
// Times are in Vietnam's time (+07:00); a date-only due date is the end
// of its working day.
type LookupAnswer struct {
	Code string `json:"code"`
	// Kind is "dossier" (a procedure's dossier) or "feedback" (phản
	// ánh, kiến nghị).
	Kind   string       `json:"kind"`
	Status LookupStatus `json:"status"`
	// Corrected: the one-stop-shop once claimed a status the rules did
	// not allow, and hoso's record, this answer's, is the corrected one.
	Corrected bool            `json:"corrected"`
	Procedure LookupProcedure `json:"procedure"`
	// ReceivedAt is when the dossier was received (status 2); nil before.
	ReceivedAt *time.Time `json:"received_at"`
	// Due is the due date in force (an apology's new date, if any);
	// OriginalDue the receipt's, moved only by the statutory clock's
	// pauses. Nil until set.
	Due         *time.Time `json:"due"`
	OriginalDue *time.Time `json:"original_due"`
	// Overdue: the statutory clock runs and the due date has passed, as
	// of AsOf; OverdueWorkingDays is the working days of the calendar
	// after the due date's day up to AsOf's day (0 on the due date
	// itself).
	Overdue            bool `json:"overdue"`
	OverdueWorkingDays int  `json:"overdue_working_days"`
	// Awaiting is what the applicant is asked for (a supplement, a
	// payment), nil when nothing.
	Awaiting *LookupAwaiting `json:"awaiting"`
	// Departments are the departments that handled it, in order, each
	// with when it was handed to them.
	Departments []LookupHandoff `json:"departments"`
	// Apologies are the apology letters (thư xin lỗi), each with its
	// date and the new due date it set.
	Apologies []LookupApology `json:"apologies"`
	// ResolvedAt is when processing ended (status 9), ReturnedAt when the
	// result was returned (status 10); nil before.
	ResolvedAt *time.Time `json:"resolved_at"`
	ReturnedAt *time.Time `json:"returned_at"`
	// Feedback are the steps of a feedback dossier; nil for others.
	Feedback *LookupFeedback `json:"feedback,omitempty"`
	AsOf     time.Time       `json:"as_of"`
}

// LookupStatus is a national status code with its names.
type LookupStatus struct {
	Code   int    `json:"code"`
	NameVI string `json:"name_vi"`
	NameEN string `json:"name_en"`
}

// LookupProcedure is the dossier's procedure: its code (mã TTHC) and its
// name, "" when the definitions give none.
type LookupProcedure struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// LookupAwaiting is what the applicant is asked for.
type LookupAwaiting struct {
	What   string    `json:"what"` // "supplement" or "payment"
	Since  time.Time `json:"since"`
	Reason string    `json:"reason"` // as the request gave it; "" when none
}

// LookupHandoff is a department the dossier was handed to.
type LookupHandoff struct {
	Department string    `json:"department"`
	At         time.Time `json:"at"`
}

// LookupApology is an apology letter.
type LookupApology struct {
	At     time.Time `json:"at"`
	NewDue time.Time `json:"new_due"`
}

// LookupFeedback are the steps of a feedback dossier, each nil until it
// happened.
type LookupFeedback struct {
	Received  *time.Time `json:"received"`
	Assigned  *time.Time `json:"assigned"`
	Answered  *time.Time `json:"answered"`
	Published *time.Time `json:"published"`
}

// lookupRequest is what an applicant gives.
type lookupRequest struct {
	Code   string `json:"code"`
	Secret string `json:"secret"`
}

// The answers of the lookup other than a dossier.
var (
	// errLookupOff answers every lookup route of a server without a
	// lookup key.
	errLookupOff = &Error{Status: http.StatusNotFound, Code: "lookup_not_offered",
		EN: "this server does not offer the dossier lookup", VI: "Máy chủ này không cung cấp chức năng tra cứu hồ sơ"}
	// errLookupNotFound is the one answer of a wrong secret, an unknown
	// code and a dossier without a lookup digest.
	errLookupNotFound = &Error{Status: http.StatusNotFound, Code: "lookup_not_found",
		EN: "no dossier has this code and lookup secret; check both on your receipt",
		VI: "Không tìm thấy hồ sơ có mã và mã tra cứu này; xin kiểm tra lại cả hai trên giấy tiếp nhận"}
)

// lookupLimited is the answer of a request a rate limit refused.
func lookupLimited(retry time.Duration) *Error {
	n := max(1, int((retry+time.Second-1)/time.Second))
	secs := strconv.Itoa(n)
	return &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", RetryAfter: n,
		EN: "too many lookups; try again in " + secs + " s", VI: "Tra cứu quá nhiều lần; xin thử lại sau " + secs + " giây"}
}

// lookups holds the rate limits of the lookup.
type lookups struct {
	byAddr, byCode *limiter
}

func newLookups(l LookupLimits) *lookups {
	l = l.WithDefaults()
	return &lookups{byAddr: newLimiter(l.PerAddress, l.MaxTracked), byCode: newLimiter(l.PerCode, l.MaxTracked)}
}

// lookupJSON answers POST /api/public/v1/lookup.
func (s *Server) lookupJSON(w http.ResponseWriter, r *http.Request, q *query) error {
	if s.cfg.LookupKey == nil {
		return errLookupOff
	}
	ans, err := s.lookup(r, func(body []byte) (lookupRequest, error) { return parseLookupJSON(r, body) })
	if err != nil {
		if errors.Is(err, errLookupNotFound) {
			// Without the request id the body is the same for every
			// request that finds nothing.
			writeJSON(w, http.StatusNotFound, notFoundJSON)
			return nil
		}
		return err
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}

// notFoundJSON is the body of errLookupNotFound in JSON.
var notFoundJSON = struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}{Error: struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}{errLookupNotFound.Code, errLookupNotFound.EN}}

// lookup runs a lookup request: the client's rate limit, the body read
// and checked by parse, the code's rate limit, then find; the answer, or
// an *Error (errLookupNotFound when nothing matched).
func (s *Server) lookup(r *http.Request, parse func(body []byte) (lookupRequest, error)) (*LookupAnswer, error) {
	now := s.now()
	lim := s.live.Load().limits
	if ok, retry := lim.byAddr.allow(clientKey(r.RemoteAddr), now); !ok {
		return nil, lookupLimited(retry)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxLookupBody+1))
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, Code: "bad_body", EN: "the request body could not be read", VI: "Không đọc được nội dung yêu cầu"}
	}
	if len(body) > maxLookupBody {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
			EN: fmt.Sprintf("the request body is longer than %d bytes", maxLookupBody), VI: fmt.Sprintf("Nội dung yêu cầu dài quá %d byte", maxLookupBody)}
	}
	req, err := parse(body)
	if err != nil {
		return nil, err
	}
	if err := checkLookup(&req); err != nil {
		return nil, err
	}
	if ok, retry := lim.byCode.allow(req.Code, now); !ok {
		return nil, lookupLimited(retry)
	}
	d, ok, err := s.find(r.Context(), req.Code, req.Secret)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errLookupNotFound
	}
	entries, err := s.cfg.Store.History(r.Context(), d.Code)
	if err != nil {
		return nil, err
	}
	return s.answer(&d, entries, now), nil
}

// find reads the dossier of the code and reports whether secret is its
// lookup secret. Every path does the same work: one read, one HMAC, one
// comparison in constant time, against the zero digest when the code is
// unknown or its dossier has none (an HMAC is never all zeros).
func (s *Server) find(ctx context.Context, code, secret string) (workflow.Dossier, bool, error) {
	d, found, err := s.cfg.Store.Lookup(ctx, code)
	if err != nil {
		return workflow.Dossier{}, false, fmt.Errorf("lookup: %w", err)
	}
	got := s.digest(s.cfg.LookupKey, code, secret)
	match := subtle.ConstantTimeCompare(got[:], d.Lookup[:]) == 1
	return d, match && found, nil
}

// checkLookup checks and normalizes what the applicant gave: the code
// without the white space around it, of the contract's form; the secret
// as workflow.CheckLookupSecret takes it. Neither check depends on any
// dossier.
func checkLookup(req *lookupRequest) error {
	req.Code = strings.TrimSpace(req.Code)
	if !workflow.IsDossierCode(req.Code) {
		return &Error{Status: http.StatusBadRequest, Code: "bad_parameter", Param: "code",
			EN: "code: not a dossier code (letters, digits, . _ -, up to 64, as on the receipt, e.g. 000.00.12.H57-250804-0001)",
			VI: "Mã hồ sơ không hợp lệ (chữ, số, . _ -, tối đa 64 ký tự, như trên giấy tiếp nhận, ví dụ 000.00.12.H57-250804-0001)"}
	}
	if err := workflow.CheckLookupSecret(req.Secret); err != nil {
		n := len(workflow.NormalizeLookupSecret(req.Secret))
		en := fmt.Sprintf("secret: %d to %d letters without diacritics, digits or punctuation (spaces and hyphens are ignored)", workflow.MinLookupSecret, workflow.MaxLookupSecret)
		vi := fmt.Sprintf("Mã tra cứu gồm %d đến %d chữ cái không dấu, chữ số hoặc dấu câu (bỏ qua dấu cách và gạch nối)", workflow.MinLookupSecret, workflow.MaxLookupSecret)
		if n >= workflow.MinLookupSecret && n <= workflow.MaxLookupSecret {
			en, vi = "secret: letters without diacritics, digits or punctuation only", "Mã tra cứu chỉ gồm chữ cái không dấu, chữ số hoặc dấu câu"
		}
		return &Error{Status: http.StatusBadRequest, Code: "bad_parameter", Param: "secret", EN: en, VI: vi}
	}
	return nil
}

// mediaType checks that a request's Content-Type is want (with a charset
// of utf-8 at most).
func mediaType(r *http.Request, want string) error {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	cs, hasCS := params["charset"]
	delete(params, "charset")
	if err != nil || mt != want || len(params) > 0 || (hasCS && !strings.EqualFold(cs, "utf-8")) {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "bad_content_type",
			EN: "Content-Type must be " + want, VI: "Content-Type phải là " + want}
	}
	return nil
}

// parseLookupJSON reads {"code": …, "secret": …}: both strings, each
// once, no other field, nothing after the object.
func parseLookupJSON(r *http.Request, body []byte) (lookupRequest, error) {
	var req lookupRequest
	if err := mediaType(r, "application/json"); err != nil {
		return req, err
	}
	bad := func(en, vi string) error {
		return &Error{Status: http.StatusBadRequest, Code: "bad_body", EN: en, VI: vi}
	}
	shape := bad("the body must be a JSON object {\"code\": \"…\", \"secret\": \"…\"} and nothing else",
		"Nội dung phải là đối tượng JSON {\"code\": \"…\", \"secret\": \"…\"}")
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return req, shape
	}
	fields := map[string]*string{"code": nil, "secret": nil}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return req, shape
		}
		key, _ := k.(string)
		v, known := fields[key]
		if !known {
			return req, shape
		}
		if v != nil {
			return req, bad(key+": given twice", key+": có hai lần")
		}
		t, err := dec.Token()
		val, isString := t.(string)
		if err != nil || !isString {
			return req, bad(key+": must be a string", key+": phải là chuỗi")
		}
		fields[key] = &val
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return req, shape
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, bad("the body holds more than one JSON value", "Nội dung có nhiều hơn một giá trị JSON")
	}
	if fields["code"] == nil || fields["secret"] == nil {
		return req, bad("the body must give both code and secret, as strings", "Cần có cả code và secret")
	}
	return lookupRequest{Code: *fields["code"], Secret: *fields["secret"]}, nil
}

// parseLookupForm reads the form of the lookup page: code and secret,
// each once, nothing else.
func parseLookupForm(r *http.Request, body []byte) (lookupRequest, error) {
	var req lookupRequest
	if err := mediaType(r, "application/x-www-form-urlencoded"); err != nil {
		return req, err
	}
	v, err := url.ParseQuery(string(body))
	bad := &Error{Status: http.StatusBadRequest, Code: "bad_body",
		EN: "the form must give code and secret, each once, and nothing else", VI: "Biểu mẫu chỉ gồm mã hồ sơ và mã tra cứu, mỗi trường một lần"}
	if err != nil || len(v) != 2 || len(v["code"]) != 1 || len(v["secret"]) != 1 {
		return req, bad
	}
	return lookupRequest{Code: v["code"][0], Secret: v["secret"][0]}, nil
}

// answer builds the answer for the dossier d with its history entries,
// as of now.
func (s *Server) answer(d *workflow.Dossier, entries []workflow.HistoryEntry, now time.Time) *LookupAnswer {
	cat := s.cfg.Store.Catalog()
	def := cat.Lookup(d.Definition, d.Version)
	a := &LookupAnswer{Code: d.Code, Kind: string(workflow.KindDossier),
		Status:      LookupStatus{Code: int(d.Status), NameVI: d.Status.NameVI(), NameEN: d.Status.NameEN()},
		Corrected:   d.Mismatches > 0,
		Procedure:   LookupProcedure{Code: d.Procedure},
		ReceivedAt:  timePtr(d.ReceivedAt),
		Due:         timePtr(d.Due),
		OriginalDue: timePtr(d.OriginalDue),
		ResolvedAt:  timePtr(d.ResolvedAt),
		ReturnedAt:  timePtr(d.ReturnedAt),
		Departments: []LookupHandoff{},
		Apologies:   []LookupApology{},
		AsOf:        now.In(workflow.Zone),
	}
	if def != nil {
		if def.Kind == workflow.KindFeedback {
			a.Kind = string(workflow.KindFeedback)
			a.Feedback = &LookupFeedback{}
		}
		if p, ok := cat.Procedure(d); ok && p.Code != "*" {
			a.Procedure.Name = p.Name
		}
	}
	if d.ClockRunning() && now.After(d.Due) {
		cal := cat.Calendar()
		a.Overdue = true
		a.OverdueWorkingDays = int(cal.Working(cal.EndOfDay(d.Due), cal.EndOfDay(now)) / cal.Config().Hours.Day())
	}
	dept := ""
	for i := range entries {
		e := &entries[i]
		if e.Department != "" && e.Department != dept {
			a.Departments = append(a.Departments, LookupHandoff{Department: e.Department, At: e.Time.In(workflow.Zone)})
			dept = e.Department
		}
		if def != nil {
			if act := def.Action(e.Action); act != nil && act.ExtendsDue {
				a.Apologies = append(a.Apologies, LookupApology{At: e.Time.In(workflow.Zone), NewDue: e.Due.In(workflow.Zone)})
			}
		}
		if f := a.Feedback; f != nil && e.FromStatus != e.ToStatus {
			at := timePtr(e.Time)
			switch e.ToStatus {
			case workflow.StatusReceived:
				f.Received = cmpOr(f.Received, at)
			case workflow.StatusProcessing:
				f.Assigned = cmpOr(f.Assigned, at)
			case workflow.StatusResolved:
				f.Answered = cmpOr(f.Answered, at)
			case workflow.StatusReturned:
				f.Published = cmpOr(f.Published, at)
			}
		}
	}
	if a.Feedback == nil && (d.Status == workflow.StatusSupplement || d.Status == workflow.StatusPayment) {
		what := "supplement"
		if d.Status == workflow.StatusPayment {
			what = "payment"
		}
		// The entry that put it in its status: the last one into it from
		// another.
		for i := len(entries) - 1; i >= 0; i-- {
			if e := &entries[i]; e.ToStatus == d.Status && e.FromStatus != d.Status {
				a.Awaiting = &LookupAwaiting{What: what, Since: e.Time.In(workflow.Zone), Reason: e.Reason}
				break
			}
		}
	}
	return a
}

// cmpOr returns a unless it is nil, then b.
func cmpOr(a, b *time.Time) *time.Time {
	if a != nil {
		return a
	}
	return b
}

// timePtr returns t in Vietnam's time, nil when zero.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.In(workflow.Zone)
	return &t
}
