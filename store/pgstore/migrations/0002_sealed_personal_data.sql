-- A user's personal data (user info, phone number) sealed by the auth
-- service with the master keys. The store keeps these bytes as they are;
-- user_info and phone stay only for rows written before sealing, until the
-- service seals them.
ALTER TABLE users ADD COLUMN sealed_personal bytea;
