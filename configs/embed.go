// Package configs holds hoso's default configuration, embedded into the
// binary: procedure definitions under definitions/.
package configs

import "embed"

// FS holds the embedded configuration files.
//
//go:embed definitions/*.yaml
var FS embed.FS

// DefinitionsDir is the directory of the procedure definitions in FS.
const DefinitionsDir = "definitions"
