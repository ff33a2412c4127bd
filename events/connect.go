package events

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/nats-io/nats.go"
)

// ClientName is the connection name hoso gives NATS (shown by the server's
// connection monitoring).
const ClientName = "hoso"

// Connect connects to the NATS servers (a URL or a comma-separated list)
// the way the engine needs: named ClientName, reconnecting forever after
// the first connection succeeds, with disconnections, reconnections and
// asynchronous errors (such as a slow consumer) logged to logger (nil
// discards). The first connection is
// not retried: an unreachable server is an error now, not a silent wait.
// opts are applied after these defaults and may override them; to connect
// to an embedded Server without the network, pass servers "" and
// nats.InProcessServer(srv).
//
// Close the connection with Drain (after the consumer and relay have
// stopped) so that pending acks and publishes reach the server.
func Connect(servers string, logger *slog.Logger, opts ...nats.Option) (*nats.Conn, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	all := append([]nats.Option{
		nats.Name(ClientName),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				logger.Error("nats async error", "subject", sub.Subject, "err", err)
				return
			}
			logger.Error("nats async error", "err", err)
		}),
	}, opts...)
	nc, err := nats.Connect(servers, all...)
	if err != nil {
		return nil, fmt.Errorf("events: connect to nats %s: %w", RedactURL(servers), err)
	}
	return nc, nil
}

// RedactURL hides the passwords of NATS server URLs (one, or several
// separated by commas) for logs and error messages.
func RedactURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}

// TLSOptions returns the connection options of a client's TLS to NATS
// servers: ca, PEM certificates of the CA the servers' certificates are
// checked against ("" trusts the system's), and cert and key, a client
// certificate for servers that ask for one ("" for none). A URL of
// scheme tls:// requires TLS; these options turn it on for nats:// too.
func TLSOptions(ca, cert, key string) []nats.Option {
	var opts []nats.Option
	if ca != "" {
		opts = append(opts, nats.RootCAs(ca))
	}
	if cert != "" || key != "" {
		opts = append(opts, nats.ClientCert(cert, key))
	}
	return opts
}
