-- The webhook outbox: one row per event and endpoint. Rows are written in
-- the transaction of the change that caused the event (a registration, an
-- erasure, a revocation, a phone number bound), so a crash can neither lose
-- an event nor send one for a change that never happened. Rows are kept
-- after delivery, for GET /v1/admin/webhooks.
CREATE TABLE webhook_deliveries (
	id              TEXT    NOT NULL PRIMARY KEY,
	event_id        TEXT    NOT NULL,
	event           TEXT    NOT NULL,
	url             TEXT    NOT NULL,
	payload         BLOB    NOT NULL,
	state           TEXT    NOT NULL,            -- pending, delivered, failed
	attempts        INTEGER NOT NULL DEFAULT 0,  -- counted when claimed
	created_at      INTEGER NOT NULL,            -- Unix microseconds, as everywhere
	next_attempt_at INTEGER NOT NULL,
	give_up_at      INTEGER NOT NULL,
	lease_until     INTEGER NOT NULL DEFAULT 0,  -- a claim holds the row until then
	last_attempt_at INTEGER NOT NULL DEFAULT 0,
	last_status     INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT ''
) STRICT;

-- The sender's claim: pending rows by due time.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
-- The admin list, newest first.
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at, id);
