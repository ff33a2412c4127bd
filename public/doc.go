// Package public serves hoso's public surface: what a citizen or the
// province's portal may read without a login, on a listener of its own
// (hoso serve --public-addr). It shares nothing with package web's
// server but the look (web's stylesheet, charts, number formats and CSV
// writer) and the store it reads.
//
// Publicity is an allowlist. Every answer is built from Columns, the
// open data's fixed list of aggregate figures; nothing about a single
// dossier, officer or event is ever read into an answer (the store is
// asked only for statistics, without the oldest dossier waiting for
// return). Settings, read from the public file, withhold agencies and
// indicators: a withheld agency's statistics are subtracted from the
// totals and from every row, so its dossiers are in no figure; a withheld
// indicator's columns are absent from pages, JSON, CSV and the
// embeddable view.
//
// The routes are a table (table): each says its query parameters, what
// it answers with (a page, JSON, CSV, an asset), whether its answer is a
// cacheable aggregate and whether it may be framed. ServeHTTP sets the
// headers every answer carries; serveRoute takes GET and HEAD only (405
// with Allow otherwise), refuses unknown, repeated, long or malformed
// parameters (400) and more than Config.MaxInFlight requests at once
// (503); writeError is the one place that maps errors to answers, as
// JSON for the API and as a page in the request's language for pages.
// A second set of routes (the dossier lookup) is added to the table.
//
// Pages are in Vietnamese, or English by ?lang=en or Accept-Language;
// no cookie is set. They carry a Content-Security-Policy without any
// script or inline style, and refuse framing except the embeddable view,
// whose frame-ancestors are Settings.Embed's.
//
// A Server is an http.Handler and safe for concurrent use.
package public
