// Package web serves hoso's JSON API under /api/v1, the health and
// readiness probes, and (when given) the Prometheus metrics handler.
//
// The API reads the store through the small Store interface defined here;
// it never writes. POST /api/v1/reconcile compares an uploaded status
// export with the store (package reconcile) and, asked to, publishes the
// resulting corrections through the Publisher interface defined here. Every error reaches the client as a JSON body
// {"error":{"code":..., "message":..., "request_id":...}} built in one place
// (writeError); internal errors are logged with the request id and answered
// as "internal error". Query parameters are validated strictly: a
// repeated parameter or a malformed value is a 400 naming the parameter,
// an unknown one a 400 listing the route's parameters (never repeating the
// name given), and a query string url.ParseQuery does not read whole (over
// 10,000 parameters, a bad escape) a 400 before any route.
//
// Every answer says X-Content-Type-Options: nosniff and, but for static
// files, Cache-Control: no-store; over TLS, Strict-Transport-Security.
// Without access control the server answers only requests addressed to a
// loopback name (Config.Access), so that DNS rebinding cannot make a
// browser read it for another site's page.
//
// Routes lists every route the Server answers. Route.Params gives the
// query parameters an /api/v1 route takes: the list in queryParams that
// its handler validates against (Server.query). docs/openapi.json
// documents exactly those routes and parameters and is served at
// /api/v1/openapi.json; TestOpenAPIAgreesWithRoutes keeps the two in
// step, so a new route or parameter needs its line in queryParams and in
// the document.
//
// The supervisors' dashboard is served from the same Server: pages at /,
// /overdue, /dossiers/{code}, /feed, /irregularities and /definitions rendered with
// html/template from embedded templates, in Vietnamese or (lang=en,
// remembered in a cookie) English, every label in one table (i18n.go).
// Charts and state diagrams are SVG computed on the server (svg.go). The
// pages read indexes and counters only (Store.Deadlines, Store.Totals,
// Store.Stats, Store.IrregularityTallies), never every dossier. Errors of page requests go through
// the same writeError, which renders them as a page in the page's
// language. Pages carry a Content-Security-Policy without inline script
// or style; the only script (static/app.js) binds the print buttons and
// the live feed.
//
// The live feed is a Feed the engine publishes each applied batch to; it
// streams rejections and status mismatches as server-sent events
// (/api/v1/feed). Publish never blocks: a client that falls behind its
// buffer is dropped and its browser reconnects. Close ends every stream,
// so that http.Server.Shutdown is not held up by them.
//
// Access control is off when Config.Access is nil (a first run on
// loopback). With an Access (ParseAccess: users, SHA-256 of their
// tokens, a Role, optional agencies), every route passes one check before
// its handler: accessRules gives its least Role and how it is scoped to a
// user's agencies (the agency argument set, another agency's dossier a
// 404, or refused when it spans every agency); a route missing from it
// needs RoleAdmin. Tokens come from the Authorization header (bearer),
// are compared in constant time as hashes, and are never logged. The
// dashboard signs in at /login: the token opens a session held in memory
// (session.go), and the cookie holds only the session's random id. A
// session ends at logout, after Limits.SessionIdle without a request,
// Limits.SessionLifetime after its login, and as soon as the access file
// no longer has its user with the same token, role and agencies.
// Server.SetAccess replaces the users while the server runs (hoso serve
// does on SIGHUP); the sessions and feed streams open then are checked
// again and end if their users may no longer see them.
//
// Limits bounds what clients hold (throttle.go): a client address that
// fails to authenticate Limits.AuthFailures times within AuthWindow (a
// wrong token at /login or as a bearer token) is answered 429 with
// Retry-After, without its tokens being checked, until a window has
// passed; a user holds at most Limits.FeedStreams feed streams (429
// beyond); at most Limits.Reconciles reconciliations run at once (503
// beyond), each taking its place before it reads the upload. Each
// refusal of the access check is logged with the client address
// (r.RemoteAddr; X-Forwarded-For is never read).
//
// A Server is an http.Handler and safe for concurrent use.
package web
