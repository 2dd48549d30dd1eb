DROP INDEX refresh_tokens_grant_idx;
ALTER TABLE refresh_tokens DROP COLUMN grant_id;
DROP TABLE authorization_codes;
DROP TABLE grants;
DROP TABLE browser_sessions;
