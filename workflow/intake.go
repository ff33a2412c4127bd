package workflow

import "fmt"

// Channel is how a dossier was submitted (hình thức nộp hồ sơ): Decision
// 766/QĐ-TTg and the provinces' report forms count the dossiers received
// by it. The sender gives it as data.channel on the event that creates or
// receives a dossier; the dossier keeps the first one given.
type Channel string

// The channels.
const (
	ChannelDesk          Channel = "desk"           // trực tiếp, at the one-stop desk
	ChannelPost          Channel = "post"           // qua dịch vụ bưu chính công ích
	ChannelOnlineFull    Channel = "online_full"    // trực tuyến toàn trình
	ChannelOnlinePartial Channel = "online_partial" // trực tuyến một phần
)

// Channels lists the channels in report order.
var Channels = []Channel{ChannelDesk, ChannelPost, ChannelOnlineFull, ChannelOnlinePartial}

// Valid reports whether c is one of the channels.
func (c Channel) Valid() bool {
	switch c {
	case ChannelDesk, ChannelPost, ChannelOnlineFull, ChannelOnlinePartial:
		return true
	}
	return false
}

// ParseChannel reads a channel of data.channel.
func ParseChannel(s string) (Channel, error) {
	if c := Channel(s); c.Valid() {
		return c, nil
	}
	return "", fmt.Errorf("%q is not one of desk, post, online_full, online_partial", s)
}

// IntakeChannel returns the channel the dossier was submitted by: the
// one given (Channel), else online_partial when it was submitted online
// (its first event put it in status 1: a sender that does not say
// whether the whole procedure ran online is not credited with it), else
// desk.
func (d *Dossier) IntakeChannel() Channel {
	switch {
	case d.Channel != "":
		return d.Channel
	case d.Online:
		return ChannelOnlinePartial
	}
	return ChannelDesk
}

// Payment is how a fee or financial obligation was paid, as data.payment
// of the event that records the payment says: Decision 766/QĐ-TTg scores
// the share paid online (thanh toán trực tuyến).
type Payment string

// The payment methods.
const (
	PaymentOnline  Payment = "online"  // thanh toán trực tuyến
	PaymentCounter Payment = "counter" // at the counter, in cash or by card
)

// ParsePayment reads a payment method of data.payment.
func ParsePayment(s string) (Payment, error) {
	switch p := Payment(s); p {
	case PaymentOnline, PaymentCounter:
		return p, nil
	}
	return "", fmt.Errorf("%q is not online or counter", s)
}

// The satisfaction scores of data.satisfaction: 1 (very dissatisfied) to
// 5 (very satisfied); SatisfiedFrom and above count as satisfied.
const (
	MinSatisfaction = 1
	MaxSatisfaction = 5
	SatisfiedFrom   = 4
)

// Level is the level of local government a procedure belongs to in the
// national catalogue of procedures: since 1 July 2025 there are two,
// province and commune (the district level was abolished). Definitions
// give it per procedure, with a default for the rest; statistics break
// down by it (ByLevel).
type Level string

// The levels.
const (
	LevelProvince Level = "province" // cấp tỉnh
	LevelCommune  Level = "commune"  // cấp xã
	// LevelOther is the level of the procedures no definition gives one:
	// reports list them under this name.
	LevelOther Level = "(khác)"
)

// ParseLevel reads a level of a definition file.
func ParseLevel(s string) (Level, error) {
	switch l := Level(s); l {
	case LevelProvince, LevelCommune:
		return l, nil
	}
	return "", fmt.Errorf("level %q: must be province or commune", s)
}
