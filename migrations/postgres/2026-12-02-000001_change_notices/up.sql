-- Every write that makes a cached entry stale announces it on channel `portcullis_changes`,
-- in its own transaction (NOTIFY is delivered at commit, and not at all on rollback), so every
-- replica drops the entry at once. Triggers rather than application code: cascaded deletes and
-- any future write path announce themselves. Payloads carry keys only (never a secret), well
-- under the 8000-byte NOTIFY limit.
CREATE FUNCTION portcullis_notify_change() RETURNS trigger AS $$
DECLARE
    r RECORD;
    payload JSON;
BEGIN
    IF TG_OP = 'DELETE' THEN
        r := OLD;
    ELSE
        r := NEW;
    END IF;
    IF TG_TABLE_NAME = 'tenants' THEN
        payload := json_build_object('t', 'tenant', 'id', r.id, 'slug', r.slug);
    ELSIF TG_TABLE_NAME IN ('signing_keys', 'trust_anchors') THEN
        payload := json_build_object('t', 'tenant', 'id', r.tenant_id);
    ELSIF TG_TABLE_NAME = 'clients' THEN
        payload := json_build_object('t', 'client', 'tenant', r.tenant_id, 'id', r.client_id);
    ELSIF TG_TABLE_NAME = 'client_secrets' THEN
        payload := json_build_object('t', 'client_pk', 'pk', r.client_pk);
    ELSIF TG_TABLE_NAME = 'devices' THEN
        IF TG_OP = 'UPDATE' THEN
            payload := json_build_object('t', 'device', 'tenant', r.tenant_id, 'id', r.id,
                'certs', json_build_array(OLD.cert_thumbprint, NEW.cert_thumbprint));
        ELSE
            payload := json_build_object('t', 'device', 'tenant', r.tenant_id, 'id', r.id,
                'certs', json_build_array(r.cert_thumbprint));
        END IF;
    ELSIF TG_TABLE_NAME = 'users' THEN
        payload := json_build_object('t', 'person', 'tenant', r.tenant_id, 'id', r.id);
    ELSIF TG_TABLE_NAME = 'grants' THEN
        payload := json_build_object('t', 'grant', 'tenant', r.tenant_id, 'id', r.id);
    ELSIF TG_TABLE_NAME = 'enrollments' THEN
        payload := json_build_object('t', 'enrollment', 'vendor', r.vendor_id,
            'department', r.department_id);
    ELSIF TG_TABLE_NAME IN ('trusted_issuers', 'trusted_audiences') THEN
        payload := json_build_object('t', 'issuer', 'iss', r.issuer);
    ELSIF TG_TABLE_NAME = 'revoked_tokens' THEN
        payload := json_build_object('t', 'revoked', 'jti', r.jti, 'exp', r.expires_at);
    END IF;
    PERFORM pg_notify('portcullis_changes', payload::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tenants_notify AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION portcullis_notify_change();
CREATE TRIGGER signing_keys_notify AFTER INSERT OR UPDATE OR DELETE ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION portcullis_notify_change();
CREATE TRIGGER trust_anchors_notify AFTER INSERT OR UPDATE OR DELETE ON trust_anchors
    FOR EACH ROW EXECUTE FUNCTION portcullis_notify_change();
CREATE TRIGGER clients_notify AFTER INSERT OR UPDATE OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION portcullis_notify_change();
CREATE TRIGGER client_secrets_notify AFTER INSERT OR UPDATE OR DELETE ON client_secrets
    FOR EACH ROW EXECUTE FUNCTION portcullis_notify_change();
CREATE TRIGGER devices_notify AFTER INSERT OR UPDATE OR DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION portcullis_notify_change();
CREATE TRIGGER users_notify AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION portcullis_notify_change();
CREATE TRIGGER grants_notify AFTER INSERT OR UPDATE OR DELETE ON grants
    FOR EACH ROW EXECUTE FUNCTION portcullis_notify_change();
CREATE TRIGGER enrollments_notify AFTER INSERT OR UPDATE OR DELETE ON enrollments
    FOR EACH ROW EXECUTE FUNCTION portcullis_notify_change();
CREATE TRIGGER trusted_issuers_notify AFTER INSERT OR UPDATE OR DELETE ON trusted_issuers
    FOR EACH ROW EXECUTE FUNCTION portcullis_notify_change();
CREATE TRIGGER trusted_audiences_notify AFTER INSERT OR UPDATE OR DELETE ON trusted_audiences
    FOR EACH ROW EXECUTE FUNCTION portcullis_notify_change();
CREATE TRIGGER revoked_tokens_notify AFTER INSERT ON revoked_tokens
    FOR EACH ROW EXECUTE FUNCTION portcullis_notify_change();
