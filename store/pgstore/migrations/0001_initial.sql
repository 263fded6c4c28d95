-- Users, sessions and blobs. Times are timestamptz, which keeps
-- microseconds (what the storetest suites require).

CREATE TABLE users (
	id                 text        NOT NULL PRIMARY KEY,
	app_id             text        NOT NULL,
	open_id            text        NOT NULL,
	union_id           text        NOT NULL DEFAULT '',
	created_at         timestamptz NOT NULL,
	updated_at         timestamptz NOT NULL,
	user_info          jsonb,       -- decrypted user info, NULL when none
	phone              jsonb,       -- wxlogin.Phone, NULL when none
	nickname           text        NOT NULL DEFAULT '',
	avatar_id          text        NOT NULL DEFAULT '',
	profile_updated_at timestamptz NOT NULL,
	UNIQUE (app_id, open_id)
);

-- Admin search by unionid, oldest first; most users have none.
CREATE INDEX users_union_id ON users (union_id, created_at) WHERE union_id <> '';
CREATE INDEX users_created_at ON users (created_at, id);

-- A session references its user: a session of a missing user cannot be
-- inserted, and deleting a user deletes its sessions in the same
-- statement, so a login racing an erasure cannot leave a live session.
CREATE TABLE sessions (
	id                 text        NOT NULL PRIMARY KEY,
	token_hash         bytea       NOT NULL UNIQUE, -- SHA-256 of the token; the hot-path key
	user_id            text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	app_id             text        NOT NULL,
	open_id            text        NOT NULL,
	union_id           text        NOT NULL DEFAULT '',
	sealed_session_key bytea,                       -- opaque AES-GCM output, never the key itself
	created_at         timestamptz NOT NULL,
	last_seen_at       timestamptz NOT NULL,
	idle_expires_at    timestamptz NOT NULL,
	expires_at         timestamptz NOT NULL,
	user_agent         text        NOT NULL DEFAULT '',
	ip                 text        NOT NULL DEFAULT ''
);

-- Also serves the cascade from users.
CREATE INDEX sessions_user ON sessions (user_id, created_at, id);
-- DeleteExpiredSessions filters on exactly this expression.
CREATE INDEX sessions_deadline ON sessions (least(idle_expires_at, expires_at));

-- Avatars: several instances cannot share a folder, so with this store
-- blobs live in the database.
CREATE TABLE blobs (
	id           text        NOT NULL PRIMARY KEY,
	content_type text        NOT NULL,
	data         bytea       NOT NULL,
	created_at   timestamptz NOT NULL
);
