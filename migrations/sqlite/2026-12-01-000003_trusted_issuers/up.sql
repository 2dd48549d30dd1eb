-- Issuers whose tokens a tenant accepts, with the rules that say as whom.
CREATE TABLE trusted_issuers (
    id           TEXT NOT NULL PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    issuer       TEXT NOT NULL,
    jwks_uri     TEXT,
    max_lifetime BIGINT NOT NULL,
    algorithms   TEXT NOT NULL,
    rules        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    version      BIGINT NOT NULL
);
CREATE INDEX trusted_issuers_tenant_idx ON trusted_issuers (tenant_id);
-- An issuer and audience pair belongs to one tenant: it is how a token finds its tenant.
CREATE TABLE trusted_audiences (
    issuer            TEXT NOT NULL,
    audience          TEXT NOT NULL,
    trusted_issuer_id TEXT NOT NULL REFERENCES trusted_issuers (id) ON DELETE CASCADE,
    PRIMARY KEY (issuer, audience)
);
CREATE INDEX trusted_audiences_issuer_idx ON trusted_audiences (trusted_issuer_id);
