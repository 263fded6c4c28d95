-- Sessions now reference their user, with ON DELETE CASCADE.
--
-- 0001 kept the two tables independent so that sessions could live in
-- another backend, and left it to auth to delete a user's sessions before
-- the user. Two separate steps race: a login that registered or found the
-- user could store its session after an erasure had deleted the sessions
-- and before it deleted the user, leaving a live session of an erased user.
-- When one database holds both, the database closes that race: a session
-- of a missing user cannot be inserted, and deleting a user deletes its
-- sessions in the same statement. storetest requires this of every store
-- that keeps users and sessions together.
--
-- SQLite cannot add a foreign key to a table, so the table is rebuilt.
-- Sessions of users that no longer exist are the very orphans the race
-- could leave; they are dropped, not copied. sessions is no table's parent,
-- so rebuilding it with foreign_keys on is safe.

DELETE FROM sessions WHERE user_id NOT IN (SELECT id FROM users);

CREATE TABLE sessions_new (
	id                 TEXT    NOT NULL PRIMARY KEY,
	token_hash         BLOB    NOT NULL UNIQUE, -- SHA-256 of the token; the hot-path key
	user_id            TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	app_id             TEXT    NOT NULL,
	open_id            TEXT    NOT NULL,
	union_id           TEXT    NOT NULL DEFAULT '',
	sealed_session_key BLOB,                    -- opaque AES-GCM output, never the key itself
	created_at         INTEGER NOT NULL,
	last_seen_at       INTEGER NOT NULL,
	idle_expires_at    INTEGER NOT NULL,
	expires_at         INTEGER NOT NULL,
	user_agent         TEXT    NOT NULL DEFAULT '',
	ip                 TEXT    NOT NULL DEFAULT ''
) STRICT;

INSERT INTO sessions_new SELECT id, token_hash, user_id, app_id, open_id, union_id, sealed_session_key,
	created_at, last_seen_at, idle_expires_at, expires_at, user_agent, ip FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;

-- The indexes went with the old table. sessions_user also serves the
-- cascade: SQLite finds a deleted user's sessions through it.
CREATE INDEX sessions_user ON sessions (user_id, created_at);
CREATE INDEX sessions_deadline ON sessions (min(idle_expires_at, expires_at));
