//! The actix application: every crate's routes, the shared middleware and limits.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{web, App};
use domain::secrets::MasterKey;
use http::{body_limits, edge, query_config, request_context, Edge};
use integrations::mail::Mailer;
use integrations::signin::People;
use store::Store;
use tokens::cache::CacheLimits;
use tokens::password_gate::PasswordGate;
use tokens::TokenService;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::Config;
use crate::{openapi, ops};
use actix_web::http::header::HeaderName;
use tokens::mtls::ProxyTrust;

/// What every worker shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub master_key: Arc<MasterKey>,
    pub public_url: String,
    pub spec: Arc<utoipa::openapi::OpenApi>,
    pub tokens: web::Data<TokenService>,
    /// Which proxies may forward client certificates (none by default).
    pub proxy: ProxyTrust,
    /// Bounds the argon2 work of sign-ins and user creation.
    pub password_gate: web::Data<PasswordGate>,
    /// Body deadline and size limits, enforced before any handler (and by the extractors).
    pub edge: Edge,
    /// Mail to people (codes, invitations).
    pub mailer: Arc<Mailer>,
    /// Whether other replicas' changes are pushed here (PostgreSQL), for `/readyz`.
    pub changes: ops::ChangeFeed,
}

impl AppState {
    pub fn new(store: Store, master_key: MasterKey, public_url: String, mailer: Mailer) -> Self {
        Self::with_gate(
            store,
            master_key,
            public_url,
            mailer,
            PasswordGate::per_core(),
            CacheLimits::default(),
        )
    }

    pub fn with_gate(
        store: Store,
        master_key: MasterKey,
        public_url: String,
        mailer: Mailer,
        gate: PasswordGate,
        cache: CacheLimits,
    ) -> Self {
        let master_key = Arc::new(master_key);
        let password_gate = web::Data::new(gate);
        let mailer = Arc::new(mailer);
        // The token endpoint reaches people's accounts through the trait; this is the plug.
        let people = People::new(
            store.clone(),
            master_key.clone(),
            mailer.clone(),
            password_gate.clone().into_inner(),
        );
        let tokens = web::Data::new(
            TokenService::new(store.clone(), master_key.clone(), public_url.clone(), cache)
                .with_accounts(Arc::new(people)),
        );
        AppState {
            store,
            master_key,
            public_url,
            spec: Arc::new(openapi::spec()),
            tokens,
            proxy: ProxyTrust::default(),
            password_gate,
            mailer,
            edge: Edge {
                classify: crate::routes::classify,
                ..Edge::default()
            },
            changes: ops::ChangeFeed::default(),
        }
    }

    /// On PostgreSQL, listens for other replicas' changes and applies them to this one's caches
    /// (call inside the actix runtime). SQLite: nothing to listen to.
    pub fn listen_for_changes(&mut self) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let Some(health) = self.store.listen(move |event| {
            // Only fails once the applier is gone, that is at shutdown.
            let _ = tx.send(event);
        }) else {
            return;
        };
        let tokens = self.tokens.clone();
        actix_web::rt::spawn(async move {
            while let Some(event) = rx.recv().await {
                tokens.apply_change(&event).await;
            }
        });
        self.changes = ops::ChangeFeed(Some(health));
    }

    /// Mutual TLS settings: the listener's URL (for discovery) and the trusted proxies.
    pub fn with_mtls(mut self, config: &Config) -> Self {
        if let Some(tls) = &config.tls {
            self.tokens.set_mtls_url(tls.public_url.clone());
        }
        self.proxy = ProxyTrust {
            proxies: config.proxy.trusted.clone(),
            header: HeaderName::from_bytes(config.proxy.header.as_bytes()).ok(),
        };
        self
    }
}

pub fn build(
    state: &AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (json, form, payload) = body_limits(state.edge.limits);
    App::new()
        .app_data(web::Data::new(state.store.clone()))
        .app_data(web::Data::from(state.master_key.clone()))
        .app_data(state.tokens.clone())
        .app_data(web::Data::from(state.tokens.caches.clone()))
        .app_data(state.proxy.clone())
        .app_data(state.password_gate.clone())
        .app_data(web::Data::from(state.mailer.clone()))
        .app_data(web::Data::new(state.edge))
        .app_data(web::Data::new(state.changes.clone()))
        .app_data(json)
        .app_data(form)
        .app_data(payload)
        .app_data(query_config())
        .wrap(from_fn(edge))
        .wrap(from_fn(request_context))
        .service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .configure(tokens::configure)
        .configure(registry::configure)
        .configure(integrations::configure)
        .configure(::web::configure)
        .service(web::redirect("/swagger-ui", "/swagger-ui/"))
        .service(SwaggerUi::new("/swagger-ui/{_:.*}").url("/openapi.json", (*state.spec).clone()))
}
