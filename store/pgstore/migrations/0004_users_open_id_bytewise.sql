-- The users of an app whose openid begins with a prefix, in bytewise order:
-- the members of one WeCom corp in a suite app ("corpid/…"), whose sessions
-- end when the corp uninstalls the app (SessionHoldersWithOpenIDPrefix).
-- The unique (app_id, open_id) index follows the database's collation,
-- under which a prefix need not be one contiguous range; this one is
-- bytewise, so each page of the walk is a range scan that stops at the
-- prefix's end.
CREATE INDEX users_app_open_id_bytewise ON users (app_id, open_id COLLATE "C");
