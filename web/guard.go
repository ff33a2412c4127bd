package web

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// What every request passes before it is routed: the headers every answer
// carries, the Host check of a server without access control, and a
// query string that parses whole.

// hstsValue is the Strict-Transport-Security of every answer over TLS:
// browsers that saw it use HTTPS for the server's name for a year. It
// names no subdomains: the server's name may be shared with other
// services.
const hstsValue = "max-age=31536000"

// secureHeaders sets the headers of every answer: no MIME sniffing, no
// storing by caches (answers hold dossiers and tokens guard them;
// handlers of public files may set their own Cache-Control), and HSTS
// over TLS.
func secureHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", hstsValue)
	}
}

// precheck returns the error to answer a request with before it is
// routed, or nil: a Host a server without access control does not
// answer, or a query string that does not parse whole.
func (s *Server) precheck(r *http.Request) *apiError {
	if s.access.Load() == nil && !hostAllowed(r.Host, s.cfg.AnyIPHost) {
		return misdirected(s.cfg.AnyIPHost)
	}
	return checkQuery(r.URL.RawQuery)
}

// misdirected returns errMisdirected, or errMisdirectedIP with anyIP.
func misdirected(anyIP bool) *apiError {
	if anyIP {
		return errMisdirectedIP
	}
	return errMisdirected
}

// errMisdirected answers a request to a server without access control
// that was addressed to a name other than a loopback one: a page of
// another site could make a browser send it after pointing its own name
// at 127.0.0.1 (DNS rebinding).
var errMisdirected = &apiError{status: http.StatusMisdirectedRequest, code: "misdirected",
	msg: "this server has no access file and answers only requests addressed to localhost, 127.0.0.0/8 or [::1] (with any port); " +
		"reach it by one of those, or give it an access file (hoso serve --access) to serve other names",
	vi: "Máy chủ chưa có tệp phân quyền nên chỉ trả lời yêu cầu gửi tới localhost, 127.0.0.0/8 hoặc [::1]; " +
		"hãy mở bằng một trong các địa chỉ đó, hoặc cấu hình tệp phân quyền (hoso serve --access)"}

// errMisdirectedIP is errMisdirected for a server that also answers IP
// addresses (Config.AnyIPHost).
var errMisdirectedIP = &apiError{status: http.StatusMisdirectedRequest, code: "misdirected",
	msg: "this server has no access file and answers only requests addressed to localhost or an IP address (with any port); " +
		"reach it by its address, or give it an access file (hoso serve --access) to serve names",
	vi: "Máy chủ chưa có tệp phân quyền nên chỉ trả lời yêu cầu gửi tới localhost hoặc một địa chỉ IP; " +
		"hãy mở bằng địa chỉ IP, hoặc cấu hình tệp phân quyền (hoso serve --access)"}

// hostAllowed reports whether a server without access control answers a
// request whose Host header is host: localhost (any case), an IPv4
// address of 127.0.0.0/8 or [::1], each with or without a port; with
// anyIP, any IP address literal too. Other names, "localhost." and
// subdomains of localhost included, are refused: a DNS rebinding needs a
// name its attacker controls, never an address literal.
func hostAllowed(host string, anyIP bool) bool {
	if h, port, err := net.SplitHostPort(host); err == nil {
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return false
		}
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	} else if strings.Contains(host, ":") {
		return false // an IPv6 address must be bracketed
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return false
	}
	return anyIP || (a.Is4() && a.As4()[0] == 127) || a == netip.IPv6Loopback()
}

// maxQueryParams is how many parameters url.ParseQuery reads before it
// gives up and returns none (Go's default of GODEBUG urlmaxqueryparams).
const maxQueryParams = 10_000

// checkQuery refuses a query string url.ParseQuery does not read whole:
// past maxQueryParams it reads nothing, and it drops a pair with a bad
// escape or a semicolon; served anyway, such a request would lose its
// filters. The message does not repeat the query.
func checkQuery(raw string) *apiError {
	if raw == "" {
		return nil
	}
	if strings.Count(raw, "&")+1 > maxQueryParams {
		return &apiError{status: http.StatusBadRequest, code: "bad_query",
			msg: sprintf("the query string has more than %d parameters", maxQueryParams),
			vi:  sprintf("chuỗi truy vấn có hơn %d tham số", maxQueryParams)}
	}
	if _, err := url.ParseQuery(raw); err != nil {
		return &apiError{status: http.StatusBadRequest, code: "bad_query",
			msg: "the query string does not parse: a malformed %-escape, or a ';' (separate parameters with '&')",
			vi:  "chuỗi truy vấn không đọc được: mã %-escape sai, hoặc có dấu ';' (các tham số cách nhau bằng '&')"}
	}
	return nil
}
