-- Users and sessions. Times are INTEGER Unix microseconds in UTC (what the
-- storetest suites require and what PostgreSQL keeps); integers compare and
-- index faster than text timestamps and cannot be misparsed.
--
-- There is no foreign key from sessions to users: the two stores may live in
-- different backends (users in SQLite, sessions in Redis), so auth deletes a
-- user's sessions itself, and the session store must not depend on a users
-- table.

CREATE TABLE users (
	id                 TEXT    NOT NULL PRIMARY KEY,
	app_id             TEXT    NOT NULL,
	open_id            TEXT    NOT NULL,
	union_id           TEXT    NOT NULL DEFAULT '',
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL,
	user_info          TEXT,    -- decrypted user info JSON, NULL when none
	phone              TEXT,    -- wxlogin.Phone as JSON, NULL when none
	nickname           TEXT    NOT NULL DEFAULT '',
	avatar_id          TEXT    NOT NULL DEFAULT '',
	profile_updated_at INTEGER NOT NULL,
	UNIQUE (app_id, open_id)
) STRICT;

-- Admin search by unionid, oldest first; most users have none.
CREATE INDEX users_union_id ON users (union_id, created_at) WHERE union_id <> '';
CREATE INDEX users_created_at ON users (created_at);

CREATE TABLE sessions (
	id                 TEXT    NOT NULL PRIMARY KEY,
	token_hash         BLOB    NOT NULL UNIQUE, -- SHA-256 of the token; the hot-path key
	user_id            TEXT    NOT NULL,
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

CREATE INDEX sessions_user ON sessions (user_id, created_at);
-- DeleteExpiredSessions filters on exactly this expression, so the sweep is
-- a range scan instead of a full table scan.
CREATE INDEX sessions_deadline ON sessions (min(idle_expires_at, expires_at));
