-- Optimistic concurrency for PATCH (ETag / If-Match): every update bumps `version` with a
-- conditional UPDATE, so two admins cannot overwrite each other silently, on any replica.
ALTER TABLE tenants ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE organizations ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE devices ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE clients ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
-- Which tenant key signed the device's current token: retiring that key invalidates it.
ALTER TABLE devices ADD COLUMN token_kid TEXT;
CREATE INDEX audit_events_tenant_actor_idx ON audit_events (tenant_id, actor);
