package workflow

import (
	"fmt"
	"strconv"
)

// Status is a dossier status code of the national public-service portal
// (Cổng DVCQG, field TrangThaiHoSo). The zero Status means "none".
type Status int

// The national status codes.
const (
	StatusSubmitted  Status = 1  // Mới đăng ký
	StatusReceived   Status = 2  // Được tiếp nhận
	StatusRefused    Status = 3  // Không được tiếp nhận
	StatusProcessing Status = 4  // Đang xử lý
	StatusSupplement Status = 5  // Yêu cầu bổ sung giấy tờ
	StatusPayment    Status = 6  // Yêu cầu thực hiện nghĩa vụ tài chính
	StatusWithdrawn  Status = 7  // Công dân yêu cầu rút hồ sơ
	StatusStopped    Status = 8  // Dừng xử lý
	StatusResolved   Status = 9  // Đã xử lý xong
	StatusReturned   Status = 10 // Đã trả kết quả
)

// MaxStatus is the highest national status code.
const MaxStatus = StatusReturned

var statusNames = [...]struct{ vi, en string }{
	{"", ""},
	{"Mới đăng ký", "Submitted"},
	{"Được tiếp nhận", "Received"},
	{"Không được tiếp nhận", "Refused at intake"},
	{"Đang xử lý", "In progress"},
	{"Yêu cầu bổ sung giấy tờ", "Supplement requested"},
	{"Yêu cầu thực hiện nghĩa vụ tài chính", "Financial obligation requested"},
	{"Công dân yêu cầu rút hồ sơ", "Withdrawn by the applicant"},
	{"Dừng xử lý", "Processing stopped"},
	{"Đã xử lý xong", "Resolved"},
	{"Đã trả kết quả", "Result returned"},
}

// Valid reports whether s is one of the national codes 1–10.
func (s Status) Valid() bool { return s >= StatusSubmitted && s <= MaxStatus }

// NameVI returns the Vietnamese name of the status, or "" if s is not valid.
func (s Status) NameVI() string {
	if !s.Valid() {
		return ""
	}
	return statusNames[s].vi
}

// NameEN returns the English name of the status, or "" if s is not valid.
func (s Status) NameEN() string {
	if !s.Valid() {
		return ""
	}
	return statusNames[s].en
}

// String returns the code and the Vietnamese name, e.g. "4 Đang xử lý".
func (s Status) String() string {
	if !s.Valid() {
		return "status(" + strconv.Itoa(int(s)) + ")"
	}
	return fmt.Sprintf("%d %s", int(s), statusNames[s].vi)
}
