// Package simulate generates a realistic, reproducible stream of dossier
// events of one province, and the truth a correct engine must reach from
// it. It is the demo `hoso simulate` publishes to a running `hoso serve`,
// and the load of benchmarks. It knows nothing of NATS: Generate returns
// the messages; cmd/hoso encodes and publishes them.
//
// # The stream
//
// Generate plans Config.Dossiers dossiers arriving over the working hours
// of the working days of a period (Config.Start, Config.Days) at the
// province's departments and communes (Config.Agencies), through the
// definitions of a workflow.Catalog: for each dossier the definition that
// cat.Resolve gives for its procedure at its first event. The procedures
// are the shipped land registration codes DD.001–DD.003 (about 15%),
// citizen feedback PAKN (about 5%), the shipped same-day chứng thực and
// hộ tịch procedures CT.001, CT.002, HT.001, HT.002 (about a quarter: due
// the day of receipt, the next working day when received from the
// procedure's cut-off on, about a quarter of them) and some twenty-five
// procedures of the standard flow with made-up codes in the national
// format and realistic statutory times of 1 to 20 working days, for which
// the sender sets the due date at receipt (data.due): about 40% of the
// time as a date, due at the end of that day's working hours.
//
// A dossier's events follow one-stop-shop practice: online submission and
// receipt hours later (about 60%) or receipt at the counter with digitized
// inputs; assignment to a department and zero to three handoffs;
// sometimes a supplement (about one in ten of those asked for a second
// time, against the rule), a fee, or for land the cadastral data sent to
// the tax authority, its notice and the payment, which pauses the clock
// (a land supplement restarts it); the resolution with the electronic
// result and its return. Some dossiers are refused (about 2%), withdrawn
// (3%) or stopped (1%); about 7% of resolutions are planned after the due
// date, half of them with an apology and a new date made before it — some
// with less notice than the definition's apology_notice — and resolved
// after the original date all the same.
//
// Every event carries the time it happened and when the officer entered
// it (data.entered): at once, or minutes later. A few officers keep their
// handoffs to enter them with the week's others at the end of its last
// working day; the one-stop-shop records a dossier's events in order, so
// those that happen meanwhile are entered after the batch. Entered more
// than the definition's late_entry after it happened, an event is a late
// entry; many are just under. A message is sent when its event is
// entered. Every time falls inside the working hours of the catalog's
// calendar, and a dossier's event times and entry times strictly
// increase. Nothing happens after the period: the dossiers of its last
// weeks are still in progress.
//
// Config.Faults of the dossiers carry one officer's fault: a step skipped
// (rejected as invalid_transition), a resolution without the result file
// (missing_attachment, then the correct one), a wrong claimed status on an
// applied event (a correction), an event sent again without Nats-Msg-Id
// (duplicate), or an unreadable message (malformed). Every other event
// claims the status the definition gives it.
//
// Every receipt carries a lookup digest (data.lookup) of the secret the
// one-stop-shop prints on it: LookupSecret of the seed and the dossier
// code, under the simulation's public key LookupKeyHex.
//
// # The truth
//
// Truth counts what the stream must lead to: dossiers by final status;
// resolutions early, on time and late against the due date without
// apologies, as hoso's statistics judge them, and the late ones an apology
// had moved; rejections by reason; corrections and mismatches; the
// irregularities hoso records, by kind; the lookup key and each
// received dossier's lookup secret. The generator counts it from its
// own model of each dossier (state, due date and original due date, the
// clock each action pauses, resumes or restarts, same-day deadlines,
// entry times, attachments, guards, as the definitions describe them),
// not by running the engine; the package's tests walk the stream through
// workflow.Catalog.Decide and compare.
//
// # Determinism
//
// The stream is a pure function of the Config and the catalog: the same
// seed gives the same items, event ids and hashes included. Each dossier
// draws from its own random source, so the plan of one does not depend on
// the others'. Publishing the same stream twice to one hoso makes every
// second copy a duplicate: run it against a fresh data directory, or
// change the seed and the start.
//
// Generate holds the whole stream in memory (about a kilobyte per event);
// it is safe for concurrent use with distinct configs.
package simulate
