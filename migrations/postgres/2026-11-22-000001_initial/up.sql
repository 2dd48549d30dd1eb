-- Portcullis schema, PostgreSQL dialect. migrations/sqlite holds the same schema; a test
-- (store/tests/dialects.rs) keeps tables, columns, nullability, uniques and indexes identical.
-- Ids are text; timestamps are BIGINT seconds since the Unix epoch.

CREATE TABLE tenants (
    id          TEXT NOT NULL PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    environment TEXT NOT NULL,
    settings    TEXT NOT NULL,
    disabled    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE organizations (
    id         TEXT NOT NULL PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX organizations_tenant_idx ON organizations (tenant_id, id);

CREATE TABLE devices (
    id                TEXT NOT NULL PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    organization_id   TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    secret_hash       BYTEA,
    cert_thumbprint   TEXT,
    token_version     BIGINT NOT NULL DEFAULT 1,
    disabled          BOOLEAN NOT NULL DEFAULT FALSE,
    failed_auth_count INTEGER NOT NULL DEFAULT 0,
    locked_until      BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX devices_organization_idx ON devices (organization_id, id);
CREATE INDEX devices_thumbprint_idx ON devices (tenant_id, cert_thumbprint);

CREATE TABLE users (
    id            TEXT NOT NULL PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    mfa_enabled   BOOLEAN NOT NULL DEFAULT TRUE,
    tenant_roles  TEXT NOT NULL DEFAULT '[]',
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (tenant_id, email)
);

CREATE TABLE memberships (
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (user_id, organization_id)
);
CREATE INDEX memberships_organization_idx ON memberships (organization_id);

CREATE TABLE clients (
    id                TEXT NOT NULL PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client_id         TEXT NOT NULL,
    kind              TEXT NOT NULL,
    name              TEXT NOT NULL,
    organization_id   TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    auth_method       TEXT NOT NULL,
    grant_types       TEXT NOT NULL,
    scopes            TEXT NOT NULL,
    default_scopes    TEXT NOT NULL,
    tenant_roles      TEXT NOT NULL DEFAULT '[]',
    access_token_ttl  BIGINT,
    access_token_alg  TEXT NOT NULL,
    jwks              TEXT,
    jwks_uri          TEXT,
    metadata          TEXT NOT NULL DEFAULT '{}',
    disabled          BOOLEAN NOT NULL DEFAULT FALSE,
    failed_auth_count INTEGER NOT NULL DEFAULT 0,
    locked_until      BIGINT,
    created_by        TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (tenant_id, client_id)
);
CREATE INDEX clients_organization_idx ON clients (organization_id);

CREATE TABLE client_secrets (
    id          TEXT NOT NULL PRIMARY KEY,
    client_pk   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    secret_hash BYTEA NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT
);
CREATE INDEX client_secrets_client_idx ON client_secrets (client_pk);

CREATE TABLE signing_keys (
    id                 TEXT NOT NULL PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    alg                TEXT NOT NULL,
    state              TEXT NOT NULL,
    public_jwk         TEXT NOT NULL,
    private_key_sealed BYTEA NOT NULL,
    created_at         BIGINT NOT NULL,
    activated_at       BIGINT,
    retired_at         BIGINT
);
CREATE INDEX signing_keys_tenant_idx ON signing_keys (tenant_id, state);

CREATE TABLE trust_anchors (
    id         TEXT NOT NULL PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    subject    TEXT NOT NULL,
    issuer     TEXT NOT NULL,
    not_before BIGINT NOT NULL,
    not_after  BIGINT NOT NULL,
    thumbprint TEXT NOT NULL,
    pem        TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, thumbprint)
);

CREATE TABLE enrollments (
    id            TEXT NOT NULL PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    vendor_id     TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    department_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    status        TEXT NOT NULL,
    requested_by  TEXT,
    decided_by    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (vendor_id, department_id)
);
CREATE INDEX enrollments_department_idx ON enrollments (department_id);

CREATE TABLE refresh_tokens (
    id         TEXT NOT NULL PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    family_id  TEXT NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    client_pk  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    claims     TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_client_idx ON refresh_tokens (client_pk);

-- private_key_jwt assertion ids, single-use until they expire; the primary key decides a
-- replay even across replicas.
CREATE TABLE used_jtis (
    client_pk  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_pk, jti)
);
CREATE INDEX used_jtis_expiry_idx ON used_jtis (expires_at);

-- Access tokens revoked before their expiry (RFC 7009), by jti.
CREATE TABLE revoked_tokens (
    jti        TEXT NOT NULL PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expiry_idx ON revoked_tokens (expires_at);

CREATE TABLE mfa_challenges (
    id          TEXT NOT NULL PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_pk   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    token_hash  BYTEA NOT NULL UNIQUE,
    code_hash   BYTEA NOT NULL,
    scope       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    sends       INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX mfa_challenges_user_idx ON mfa_challenges (user_id);

CREATE TABLE audit_events (
    id         TEXT NOT NULL PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    at         BIGINT NOT NULL,
    client_ip  TEXT,
    request_id TEXT,
    details    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_tenant_idx ON audit_events (tenant_id, at);
