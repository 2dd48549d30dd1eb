DROP INDEX refresh_tokens_user_idx;
ALTER TABLE users DROP COLUMN code_window_start;
ALTER TABLE users DROP COLUMN code_sends;
DELETE FROM clients WHERE client_id = 'portal' AND kind = 'public';
