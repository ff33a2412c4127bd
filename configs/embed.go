// Package configs holds hoso's default configuration, embedded into the
// binary: procedure definitions under definitions/ and the working-day
// calendar's year files under calendar/.
package configs

import "embed"

// FS holds the embedded configuration files.
//
//go:embed definitions/*.yaml calendar/*.yaml
var FS embed.FS

// DefinitionsDir is the directory of the procedure definitions in FS.
const DefinitionsDir = "definitions"

// CalendarDir is the directory of the calendar's year files in FS, one per
// year with an announced schedule (workflow.LoadCalendar).
const CalendarDir = "calendar"
