package workflow

// Reason is the stable code of a rejection. Reason codes are part of the
// integration contract: senders match on them, so they never change meaning.
type Reason string

// The reason codes hoso produces.
const (
	// ReasonMalformed: the message is not a well-formed CloudEvent of the
	// contract (invalid JSON, missing or invalid fields, oversized).
	ReasonMalformed Reason = "malformed"
	// ReasonTokenMismatch: the subject's source or dossier token does not match
	// the payload.
	ReasonTokenMismatch Reason = "token_mismatch"
	// ReasonUnknownProcedure: no definition covers the procedure code.
	ReasonUnknownProcedure Reason = "unknown_procedure"
	// ReasonUnknownAction: the event type names no action of the dossier's definition.
	ReasonUnknownAction Reason = "unknown_action"
	// ReasonInvalidTransition: the action is not allowed from the dossier's state.
	ReasonInvalidTransition Reason = "invalid_transition"
	// ReasonMissingAttachment: a required attachment kind is absent.
	ReasonMissingAttachment Reason = "missing_attachment"
	// ReasonMissingField: a required data field is absent.
	ReasonMissingField Reason = "missing_field"
	// ReasonDuplicate: an event with the same id was already decided.
	ReasonDuplicate Reason = "duplicate"
	// ReasonOutOfOrder: the event's time is before the dossier's last accepted event.
	ReasonOutOfOrder Reason = "out_of_order"
	// ReasonProcedureMismatch: the event names another procedure than the dossier's.
	ReasonProcedureMismatch Reason = "procedure_mismatch"
	// ReasonStatusMismatch: the status the sender claims differs from the
	// authoritative one. It marks corrections and recorded mismatches.
	ReasonStatusMismatch Reason = "status_mismatch"
	// ReasonDeadlinePassed: an apology came after the due date it would move.
	ReasonDeadlinePassed Reason = "deadline_passed"
	// ReasonApologyLimit: the definition's limit of apologies is reached.
	ReasonApologyLimit Reason = "apology_limit"
	// ReasonInvalidDue: a new due date that is not later than the current one,
	// or an apology for a dossier without a due date.
	ReasonInvalidDue Reason = "invalid_due"
	// ReasonStaleDeadline: a deadline event for a due date the dossier no
	// longer has, or a dossier whose clock does not run.
	ReasonStaleDeadline Reason = "stale_deadline"
	// ReasonInternal: hoso failed to decide the event (a bug); the message
	// is recorded so the stream goes on, and can be replayed once fixed.
	ReasonInternal Reason = "internal_error"
)

var reasonTexts = map[Reason]struct{ vi, en string }{
	ReasonMalformed:         {"Thông điệp không đúng định dạng", "Malformed message"},
	ReasonTokenMismatch:     {"Chủ đề NATS không khớp với nội dung", "Subject does not match the payload"},
	ReasonUnknownProcedure:  {"Thủ tục hành chính chưa được khai báo", "Unknown procedure"},
	ReasonUnknownAction:     {"Thao tác không có trong quy trình", "Unknown action"},
	ReasonInvalidTransition: {"Chuyển trạng thái không hợp lệ", "Invalid transition"},
	ReasonMissingAttachment: {"Thiếu tệp đính kèm bắt buộc", "Missing required attachment"},
	ReasonMissingField:      {"Thiếu thông tin bắt buộc", "Missing required field"},
	ReasonDuplicate:         {"Sự kiện đã được xử lý trước đó", "Duplicate event"},
	ReasonOutOfOrder:        {"Sự kiện có thời điểm trước sự kiện đã ghi nhận", "Event is older than the dossier's last event"},
	ReasonProcedureMismatch: {"Mã thủ tục không khớp với hồ sơ", "Procedure does not match the dossier"},
	ReasonStatusMismatch:    {"Trạng thái báo cáo không đúng với trạng thái hợp lệ", "Claimed status differs from the authoritative status"},
	ReasonDeadlinePassed:    {"Đã quá hạn giải quyết, không thể xin lỗi và gia hạn", "The due date has passed: too late to apologize and extend it"},
	ReasonApologyLimit:      {"Đã hết số lần được gia hạn", "No more apologies allowed"},
	ReasonInvalidDue:        {"Hạn mới không hợp lệ", "Invalid new due date"},
	ReasonStaleDeadline:     {"Cảnh báo hạn không còn phù hợp", "Deadline event no longer applies"},
	ReasonInternal:          {"Lỗi nội bộ khi xử lý sự kiện", "Internal error deciding the event"},
}

// Reasons lists every reason code, in a stable order.
func Reasons() []Reason {
	return []Reason{
		ReasonMalformed, ReasonTokenMismatch, ReasonUnknownProcedure, ReasonUnknownAction,
		ReasonInvalidTransition, ReasonMissingAttachment, ReasonMissingField, ReasonDuplicate,
		ReasonOutOfOrder, ReasonProcedureMismatch, ReasonStatusMismatch, ReasonDeadlinePassed,
		ReasonApologyLimit, ReasonInvalidDue, ReasonStaleDeadline, ReasonInternal,
	}
}

// Known reports whether r is one of the reason codes hoso produces.
func (r Reason) Known() bool { _, ok := reasonTexts[r]; return ok }

// TextVI returns the Vietnamese description of the reason.
func (r Reason) TextVI() string { return reasonTexts[r].vi }

// TextEN returns the English description of the reason.
func (r Reason) TextEN() string { return reasonTexts[r].en }
