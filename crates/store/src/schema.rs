//! The diesel schema, one definition for both dialects (see migrations/{sqlite,postgres}).

diesel::table! {
    tenants (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        environment -> Text,
        settings -> Text,
        disabled -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    organizations (id) {
        id -> Text,
        tenant_id -> Text,
        kind -> Text,
        name -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    devices (id) {
        id -> Text,
        tenant_id -> Text,
        organization_id -> Text,
        name -> Text,
        secret_hash -> Nullable<Binary>,
        cert_thumbprint -> Nullable<Text>,
        token_version -> BigInt,
        disabled -> Bool,
        failed_auth_count -> Integer,
        locked_until -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        version -> BigInt,
        token_kid -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        tenant_id -> Text,
        email -> Text,
        password_hash -> Text,
        mfa_enabled -> Bool,
        tenant_roles -> Text,
        disabled -> Bool,
        failed_logins -> Integer,
        locked_until -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        version -> BigInt,
        code_sends -> Integer,
        code_window_start -> BigInt,
    }
}

diesel::table! {
    memberships (user_id, organization_id) {
        user_id -> Text,
        organization_id -> Text,
        role -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        tenant_id -> Text,
        client_id -> Text,
        kind -> Text,
        name -> Text,
        organization_id -> Nullable<Text>,
        auth_method -> Text,
        grant_types -> Text,
        scopes -> Text,
        default_scopes -> Text,
        tenant_roles -> Text,
        access_token_ttl -> Nullable<BigInt>,
        access_token_alg -> Text,
        jwks -> Nullable<Text>,
        jwks_uri -> Nullable<Text>,
        metadata -> Text,
        disabled -> Bool,
        failed_auth_count -> Integer,
        locked_until -> Nullable<BigInt>,
        created_by -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    client_secrets (id) {
        id -> Text,
        client_pk -> Text,
        secret_hash -> Binary,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    signing_keys (id) {
        id -> Text,
        tenant_id -> Text,
        alg -> Text,
        state -> Text,
        public_jwk -> Text,
        private_key_sealed -> Binary,
        created_at -> BigInt,
        activated_at -> Nullable<BigInt>,
        retired_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    trust_anchors (id) {
        id -> Text,
        tenant_id -> Text,
        subject -> Text,
        issuer -> Text,
        not_before -> BigInt,
        not_after -> BigInt,
        thumbprint -> Text,
        pem -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    enrollments (id) {
        id -> Text,
        tenant_id -> Text,
        vendor_id -> Text,
        department_id -> Text,
        status -> Text,
        requested_by -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        tenant_id -> Text,
        family_id -> Text,
        token_hash -> Binary,
        client_pk -> Text,
        user_id -> Nullable<Text>,
        scope -> Text,
        claims -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        grant_id -> Nullable<Text>,
    }
}

diesel::table! {
    used_jtis (client_pk, jti) {
        client_pk -> Text,
        jti -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        tenant_id -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    mfa_challenges (id) {
        id -> Text,
        tenant_id -> Text,
        user_id -> Text,
        client_pk -> Text,
        token_hash -> Binary,
        code_hash -> Binary,
        scope -> Text,
        attempts -> Integer,
        sends -> Integer,
        created_at -> BigInt,
        expires_at -> BigInt,
        consumed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        tenant_id -> Text,
        actor -> Text,
        action -> Text,
        target -> Text,
        at -> BigInt,
        client_ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    browser_sessions (id_hash) {
        id_hash -> Binary,
        tenant_id -> Text,
        user_id -> Text,
        amr -> Text,
        auth_time -> BigInt,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    grants (id) {
        id -> Text,
        tenant_id -> Text,
        user_id -> Text,
        client_pk -> Text,
        scopes -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    authorization_codes (code_hash) {
        code_hash -> Binary,
        tenant_id -> Text,
        client_pk -> Text,
        user_id -> Text,
        grant_id -> Text,
        redirect_uri -> Text,
        code_challenge -> Text,
        nonce -> Nullable<Text>,
        scope -> Text,
        amr -> Text,
        auth_time -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        issued_jti -> Nullable<Text>,
        issued_exp -> Nullable<BigInt>,
        issued_family -> Nullable<Text>,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        token_hash -> Binary,
        tenant_id -> Text,
        organization_id -> Text,
        email -> Text,
        role -> Text,
        invited_by -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    trusted_issuers (id) {
        id -> Text,
        tenant_id -> Text,
        issuer -> Text,
        jwks_uri -> Nullable<Text>,
        max_lifetime -> BigInt,
        algorithms -> Text,
        rules -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        version -> BigInt,
    }
}

diesel::table! {
    trusted_audiences (issuer, audience) {
        issuer -> Text,
        audience -> Text,
        trusted_issuer_id -> Text,
    }
}

diesel::joinable!(trusted_audiences -> trusted_issuers (trusted_issuer_id));
diesel::joinable!(grants -> clients (client_pk));
diesel::joinable!(organizations -> tenants (tenant_id));
diesel::joinable!(devices -> organizations (organization_id));
diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(memberships -> organizations (organization_id));
diesel::joinable!(clients -> tenants (tenant_id));
diesel::joinable!(client_secrets -> clients (client_pk));
diesel::joinable!(signing_keys -> tenants (tenant_id));
diesel::joinable!(trust_anchors -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    organizations,
    devices,
    users,
    memberships,
    clients,
    client_secrets,
    signing_keys,
    trust_anchors,
    enrollments,
    refresh_tokens,
    used_jtis,
    revoked_tokens,
    mfa_challenges,
    audit_events,
    browser_sessions,
    grants,
    authorization_codes,
    invitations,
    trusted_issuers,
    trusted_audiences
);
