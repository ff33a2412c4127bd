// A one-stop-shop source system written in Node.js, as a vendor would
// write it: the official NATS client (npm nats) and the CloudEvents
// JavaScript SDK (npm cloudevents), following docs/contract.md.
//
// It connects as its source's NATS user under hoso's access control,
// publishes the events below with JetStream (structured-mode CloudEvents
// JSON, Nats-Msg-Id set to the event id), then reads its own outcomes
// through the durable pull consumer outcomes-<source> of HOSO_OUTCOMES,
// acking each, until every event the stream stored has its outcome.
//
// Environment: NATS_URL, HOSO_SOURCE (the source token), NATS_USER,
// NATS_PASSWORD. Output on stdout, one JSON object a line:
//
//	{"publish": step, "id", "subject", "seq", "duplicate"}  each publish
//	{"outcome": {...}, "subject"}                           each outcome
//	{"done": true, "stored": n, "outcomes": n}              at the end
//
// conformance/node_test.go runs it and checks the outcomes against the
// contract. Run `npm ci` in this directory first.

import { connect, AckPolicy, DeliverPolicy } from "nats";
import { CloudEvent } from "cloudevents";

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`source.js: set ${name}`);
    process.exit(2);
  }
  return v;
};
const natsURL = env("NATS_URL");
const source = env("HOSO_SOURCE");
const user = env("NATS_USER");
const pass = env("NATS_PASSWORD");

const stream = "HOSO_OUTCOMES";
const consumer = `outcomes-${source}`;
const filter = `hoso.outcomes.*.${source}.>`;

// Two dossiers, received now: due dates a month ahead, so that no
// deadline event of hoso's answers on our subjects while this runs, and
// every event's time is at most minutes before its arrival (no late entry).
const dossiers = {
  a: "000.00.12.H57-NODE-0001",
  b: "000.00.12.H57-NODE-0002",
};
const token = (code) => code.replaceAll(".", "_");
const base = Date.now() - 10 * 60 * 1000;
const at = (minutes) => new Date(base + minutes * 60 * 1000).toISOString();
const due = new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString().slice(0, 10);
const common = { procedure: "1.004227", agency: "H57", actor: "cb-0142" };

// event builds a CloudEvent with the SDK. id and time are set by the
// caller except in the retry steps, which show what the SDK does without
// them.
const event = (action, code, data, extra = {}) =>
  new CloudEvent({
    specversion: "1.0",
    source: `/motcua/${source}`,
    type: `vn.gov.hoso.${action}`,
    subject: code,
    datacontenttype: "application/json",
    data,
    ...extra,
  });

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const nc = await connect({
  servers: natsURL.split(","),
  user,
  pass,
  // The source's user may receive replies only on _INBOX_<source>.>:
  // without this prefix no publish acknowledgement would reach us.
  inboxPrefix: `_INBOX_${source}`,
  name: `hoso-conformance-node-${source}`,
});
const js = nc.jetstream();

const stored = new Set();
// publish sends ce in structured mode: the CloudEvent's JSON as the
// payload, its id as Nats-Msg-Id.
const publish = async (step, ce) => {
  const subject = `hoso.events.${source}.${token(ce.subject)}`;
  const ack = await js.publish(subject, new TextEncoder().encode(ce.toString()), { msgID: ce.id });
  if (!ack.duplicate) stored.add(ack.seq);
  out({ publish: step, id: ce.id, time: ce.time, subject, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate });
  return ack;
};

// 1. A receive at the counter, claiming status 2: accepted, status 2.
const receive = event("receive", dossiers.a, {
  ...common,
  claimed_status: 2,
  due,
  attachments: [{ kind: "input_digitized", name: "don-de-nghi.pdf" }],
}, { id: "node-a-receive", time: at(0) });
await publish("receive", receive);

// 2. The same event again, same bytes and Nats-Msg-Id, within the
// stream's duplicate window: JetStream acknowledges it as a duplicate of
// the first copy and stores nothing, so no second outcome.
await publish("receive-repeat", receive);

// 3. An assign claiming status 9: applied (→ 4), answered correction.
await publish("assign-wrong-status", event("assign", dossiers.a,
  { ...common, department: "phong-tu-phap", claimed_status: 9 },
  { id: "node-a-assign", time: at(1) }));

// 4. A return from status 4 (return needs 9): rejected, invalid_transition.
await publish("return-invalid", event("return", dossiers.a,
  { ...common, claimed_status: 10 },
  { id: "node-a-return", time: at(2) }));

// 5. A payload without data.actor, a required field: rejected, malformed.
await publish("missing-actor", event("transfer", dossiers.a,
  { procedure: common.procedure, agency: common.agency, department: "phong-noi-vu" },
  { id: "node-a-no-actor", time: at(3) }));

// 6. The retry the contract warns about: "the same" transfer built twice
// by the SDK without id and time. Each build gets a new UUID and the
// current time, so hoso sees two events: both applied, two handoffs.
const transfer = { ...common, department: "phong-noi-vu", claimed_status: 4 };
await publish("transfer-build-1", event("transfer", dossiers.a, transfer));
await publish("transfer-build-2", event("transfer", dossiers.a, transfer));

// 7. The same with an action that is valid once: on a second dossier, an
// assign built twice without id and time. The second is a new event,
// rejected for the state the first left (invalid_transition in 4).
await publish("b-receive", event("receive", dossiers.b, {
  ...common,
  claimed_status: 2,
  due,
  attachments: [{ kind: "input_digitized", name: "don.pdf" }],
}, { id: "node-b-receive", time: at(4) }));
const assign = { ...common, department: "phong-tu-phap", claimed_status: 4 };
await publish("assign-build-1", event("assign", dossiers.b, assign));
await publish("assign-build-2", event("assign", dossiers.b, assign));

// Outcomes: the durable consumer the source's user may create (its
// filter is part of the create subject), read until every stored event
// has its outcome.
const jsm = await nc.jetstreamManager();
await jsm.consumers.add(stream, {
  durable_name: consumer,
  filter_subject: filter,
  ack_policy: AckPolicy.Explicit,
  deliver_policy: DeliverPolicy.All,
});
const c = await js.consumers.get(stream, consumer);
const answered = new Set();
let outcomes = 0;
const giveUp = Date.now() + 60 * 1000;
while ([...stored].some((s) => !answered.has(s))) {
  if (Date.now() > giveUp) {
    console.error(`source.js: no outcome within 60 s for stored sequences ${[...stored].filter((s) => !answered.has(s))}`);
    process.exit(1);
  }
  const batch = await c.fetch({ max_messages: 20, expires: 2000 });
  for await (const m of batch) {
    const o = m.json();
    answered.add(o.seq);
    outcomes++;
    out({ outcome: o, subject: m.subject });
    // ackAck: the server confirms the ack, so the test's look at the
    // consumer afterwards finds nothing pending.
    await m.ackAck();
  }
}
out({ done: true, stored: stored.size, outcomes });
await nc.drain();
