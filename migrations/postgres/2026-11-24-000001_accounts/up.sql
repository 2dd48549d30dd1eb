-- Accounts: every tenant has the first-party public client `portal` through which people sign
-- in (password, then the emailed code). New tenants get it at creation; this adds it to the
-- tenants that existed before.
INSERT INTO clients (id, tenant_id, client_id, kind, name, auth_method, grant_types, scopes,
                     default_scopes, access_token_alg, created_at, updated_at)
SELECT 'portal-' || t.id, t.id, 'portal', 'public', 'Portal (people sign-in)', 'none',
       '["password","urn:portcullis:params:oauth:grant-type:mfa-otp","refresh_token"]',
       '["openid","account"]', '["account"]', 'RS256', t.created_at, t.created_at
FROM tenants t
WHERE NOT EXISTS (SELECT 1 FROM clients c WHERE c.tenant_id = t.id AND c.client_id = 'portal');

-- Emailed codes are limited per person per window. The counter lives on the user row so that
-- one conditional UPDATE decides, on every replica.
ALTER TABLE users ADD COLUMN code_sends INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN code_window_start BIGINT NOT NULL DEFAULT 0;
-- Signing a person out everywhere (disabled, locked) finds their refresh tokens by user.
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
