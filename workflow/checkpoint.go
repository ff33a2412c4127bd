package workflow

// Checkpoint summarises a store as of a stream sequence: what a signed
// checkpoint published outside the store file commits to, and what an
// auditor recomputes from the file later to prove that nothing applied at
// or before that sequence was rewritten since. The store computes it
// (store.DB.Checkpoint, store.DB.CheckpointsAt), which documents the
// exact recipe of HeadsRoot and RejectionsDigest.
type Checkpoint struct {
	// Seq is the stream sequence the checkpoint is taken at: every message
	// up to it is applied.
	Seq uint64 `json:"seq"`
	// Schema is the store schema version the checkpoint is computed
	// under. A new schema can decide the same events anew (schema 6 did),
	// so checkpoints of different schemas are not comparable: a store
	// rebuilt under another schema legitimately differs from them.
	Schema int `json:"schema"`
	// StateHash is the store's state hash at Seq (store.DB.StateHash). It
	// is known only while the store has applied exactly Seq: zero when
	// recomputed from a store that has applied more since.
	StateHash Hash `json:"state_hash"`
	// Dossiers is the number of dossiers with at least one history entry
	// applied at or before Seq: the leaves of HeadsRoot.
	Dossiers int `json:"dossiers"`
	// HeadsRoot is the Merkle root (RFC 6962) over the chain heads as of
	// Seq of every dossier, in code order.
	HeadsRoot Hash `json:"heads_root"`
	// RejectionsDigest is a running SHA-256 over the rejections and status
	// mismatches recorded at or before Seq, in sequence order.
	RejectionsDigest Hash `json:"rejections_digest"`
}
