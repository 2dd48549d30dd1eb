-- People in the browser: hosted sign-in sessions, authorization codes (RFC 6749 §4.1 with
-- PKCE) and the grants (consents) people give applications and can take back.

-- A browser session. The cookie holds a random id; only its keyed hash is stored.
CREATE TABLE browser_sessions (
    id_hash      BYTEA NOT NULL PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amr          TEXT NOT NULL,
    auth_time    BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX browser_sessions_user_idx ON browser_sessions (user_id);

-- What a person allowed an application; one per person and application.
CREATE TABLE grants (
    id           TEXT NOT NULL PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_pk    TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    UNIQUE (user_id, client_pk)
);

-- An authorization code: single use, short-lived, bound to its request. Only a keyed hash of
-- the code is stored; what was issued from it is kept to revoke it if the code is replayed.
CREATE TABLE authorization_codes (
    code_hash      BYTEA NOT NULL PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client_pk      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    grant_id       TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    nonce          TEXT,
    scope          TEXT NOT NULL,
    amr            TEXT NOT NULL,
    auth_time      BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    issued_jti     TEXT,
    issued_exp     BIGINT,
    issued_family  TEXT
);

-- Refresh tokens issued under a grant end with it.
ALTER TABLE refresh_tokens ADD COLUMN grant_id TEXT;
CREATE INDEX refresh_tokens_grant_idx ON refresh_tokens (grant_id);
