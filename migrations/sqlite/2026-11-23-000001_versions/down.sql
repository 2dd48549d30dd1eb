DROP INDEX audit_events_tenant_actor_idx;
ALTER TABLE devices DROP COLUMN token_kid;
ALTER TABLE users DROP COLUMN version;
ALTER TABLE clients DROP COLUMN version;
ALTER TABLE devices DROP COLUMN version;
ALTER TABLE organizations DROP COLUMN version;
ALTER TABLE tenants DROP COLUMN version;
