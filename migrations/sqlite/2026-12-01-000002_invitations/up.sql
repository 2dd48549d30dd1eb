-- An entity's owners invite people by email: a single-use link, valid 24 hours. Only a keyed
-- hash of the link's token is stored.
CREATE TABLE invitations (
    id              TEXT NOT NULL PRIMARY KEY,
    token_hash      BLOB NOT NULL UNIQUE,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    role            TEXT NOT NULL,
    invited_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);
CREATE INDEX invitations_organization_idx ON invitations (organization_id);
