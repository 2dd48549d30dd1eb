//! Who is calling the admin API, what they may touch, and how their writes are audited.
//!
//! Platform admins (`platform_admin` in the `system` tenant) manage every tenant; a tenant
//! admin (`tenant_admin` in tenant T) manages T only. Another tenant's resources answer 404,
//! never 403, so their existence does not leak.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest};
use domain::model::{TenantRole, TenantSlug};
use domain::{ids, now_unix};
use http::{current_request_id, ApiError};
use store::repo::audit::AuditRow;
use store::repo::tenants::TenantRow;
use tokens::Bearer;

pub struct Actor {
    pub bearer: Bearer,
    pub ip: Option<String>,
}

/// Which tenants an [`Actor`] may manage, detached from the request so that the check runs on
/// the blocking thread, beside the reads it guards (see `http::run_in`).
#[derive(Debug, Clone)]
pub struct Access {
    platform_admin: bool,
    tenant_id: String,
    tenant_admin: bool,
}

impl Access {
    /// `Err(NotFound)` for a tenant the caller may not even see, `Err(Forbidden)` for its own
    /// tenant without the admin role.
    pub fn check(&self, tenant: &TenantRow) -> Result<(), ApiError> {
        if self.platform_admin {
            return Ok(());
        }
        if self.tenant_id != tenant.id {
            return Err(ApiError::NotFound("tenant".into()));
        }
        if self.tenant_admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

impl FromRequest for Actor {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Actor, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let bearer = Bearer::from_request(req, payload);
        let ip = http::peer_ip(req);
        Box::pin(async move {
            Ok(Actor {
                bearer: bearer.await?,
                ip,
            })
        })
    }
}

impl Actor {
    pub fn is_platform_admin(&self) -> bool {
        self.bearer.tenant.slug == TenantSlug::SYSTEM
            && self.bearer.has_role(TenantRole::PlatformAdmin.as_str())
    }

    /// What this caller may manage, as a value that can travel with the reads it guards.
    pub fn access(&self) -> Access {
        Access {
            platform_admin: self.is_platform_admin(),
            tenant_id: self.bearer.tenant.id.clone(),
            tenant_admin: self.bearer.has_role(TenantRole::TenantAdmin.as_str()),
        }
    }

    pub fn require_platform_admin(&self) -> Result<(), ApiError> {
        if self.is_platform_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// `client:<id>@<tenant>` or `user:<sub>@<tenant>`: stable, and never a secret.
    pub fn label(&self) -> String {
        let c = &self.bearer.claims;
        let kind = if c.sub == c.client_id {
            "client"
        } else {
            "user"
        };
        format!("{kind}:{}@{}", c.sub, c.tenant)
    }

    /// An audit event of this caller's write, for the same transaction as the write.
    pub fn audit(
        &self,
        tenant_id: &str,
        action: &str,
        target: &str,
        details: serde_json::Value,
    ) -> AuditRow {
        AuditRow {
            id: ids::new_id(),
            tenant_id: tenant_id.to_owned(),
            actor: self.label(),
            action: action.to_owned(),
            target: target.to_owned(),
            at: now_unix(),
            client_ip: self.ip.clone(),
            request_id: current_request_id(),
            details: details.to_string(),
        }
    }
}
