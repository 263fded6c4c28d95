-- Revocations, in the database every instance already reads: an instance
-- that revoked a session while it could not reach Redis still tells the
-- others, which read this log a few times a second (RevocationLog). at is
-- the server's own clock, one clock for every writer; rows older than an
-- hour are pruned, long after every reader has seen them.
CREATE TABLE revocation_log (
	id         bigserial   NOT NULL PRIMARY KEY,
	at         timestamptz NOT NULL DEFAULT clock_timestamp(),
	session_id text        NOT NULL DEFAULT '',
	user_id    text        NOT NULL DEFAULT ''
);
CREATE INDEX revocation_log_at ON revocation_log (at);
