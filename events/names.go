package events

// EngineUser is the NATS user name hoso itself connects as when the
// embedded server has users (natsserver.ServerConfig.Users).
const EngineUser = "hoso"

// OutcomeConsumer returns the name of the durable consumer a source reads
// its outcomes through: outcomes-<source>. It is the only consumer of
// HOSO_OUTCOMES the source's user may create, bind and ack.
func OutcomeConsumer(source string) string { return "outcomes-" + source }

// InboxPrefix returns the reply-subject prefix a source's client must
// use (nats.CustomInboxPrefix): _INBOX_<source>. Its user may subscribe to
// its own inboxes only, so it cannot read the replies other clients get
// (publish acks, fetched outcomes).
func InboxPrefix(source string) string { return "_INBOX_" + source }
