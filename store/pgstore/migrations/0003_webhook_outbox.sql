-- The webhook outbox: one row per event and endpoint, written in the
-- transaction of the change that caused the event, so a crash can neither
-- lose an event nor send one for a change that never happened. Several
-- instances claim due rows with FOR UPDATE SKIP LOCKED and a lease
-- (lease_until), so each attempt is made by one of them. Rows are kept
-- after delivery, for GET /v1/admin/webhooks.
CREATE TABLE webhook_deliveries (
	id              text        NOT NULL PRIMARY KEY,
	event_id        text        NOT NULL,
	event           text        NOT NULL,
	url             text        NOT NULL,
	payload         bytea       NOT NULL,
	state           text        NOT NULL, -- pending, delivered, failed
	attempts        integer     NOT NULL DEFAULT 0, -- counted when claimed
	created_at      timestamptz NOT NULL,
	next_attempt_at timestamptz NOT NULL,
	give_up_at      timestamptz NOT NULL,
	lease_until     timestamptz,          -- NULL: not claimed
	last_attempt_at timestamptz,
	last_status     integer     NOT NULL DEFAULT 0,
	last_error      text        NOT NULL DEFAULT ''
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at, id);
