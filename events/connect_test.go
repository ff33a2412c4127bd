package events

import "testing"

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                      "nats://127.0.0.1:4222",
		"nats://hoso:s3cret@nats:4222":               "nats://hoso:xxxxx@nats:4222",
		"nats://a:s3cret@n1:4222,nats://a:s3cret@n2": "nats://a:xxxxx@n1:4222,nats://a:xxxxx@n2",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
