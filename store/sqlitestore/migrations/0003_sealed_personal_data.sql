-- Personal data at rest: the auth service seals a user's user info and
-- phone number together under the master keys and the store keeps the
-- opaque result here. The clear columns stay for rows written before; the
-- service seals those on start-up and on key rotation and then clears them
-- (SQL cannot seal: it has no key).
ALTER TABLE users ADD COLUMN sealed_personal BLOB;
