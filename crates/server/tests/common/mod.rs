//! Shared set-up for the server's integration tests: a database of the selected backend, the
//! application state, tenants and clients created through the registry's own functions.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod browser;
pub mod pki;
pub mod smtp;

use base64::Engine;
use domain::model::{Environment, TenantSlug};
use domain::secrets::MasterKey;
use portcullis_server::app::AppState;
use registry::clients::NewClient;
use store::repo::clients::ClientRow;
use store::repo::tenants::TenantRow;
use store::testing::TestDb;
use store::{PoolOptions, Store};

pub const PUBLIC_URL: &str = "http://portcullis.test";
pub const MASTER: [u8; 32] = [42; 32];

pub struct Env {
    pub db: TestDb,
    pub state: AppState,
    /// A real SMTP server on loopback that the app's mail goes to.
    pub mail: smtp::MailCatcher,
}

pub fn master_key() -> MasterKey {
    MasterKey::from_bytes(&MASTER).unwrap()
}

pub fn env() -> Env {
    env_on(TestDb::new())
}

/// The set-up on a given database (whatever backend the run selected).
pub fn env_on(db: TestDb) -> Env {
    let mail = smtp::MailCatcher::start();
    let state = state_with_smtp(&db, &mail.url());
    Env { db, state, mail }
}

/// A second application instance on the same database: another replica.
pub fn state_on(db: &TestDb) -> AppState {
    state_with_smtp(db, "smtp://127.0.0.1:9")
}

/// An application instance that sends its mail to `smtp_url`.
pub fn state_with_smtp(db: &TestDb, smtp_url: &str) -> AppState {
    let mailer =
        integrations::mail::Mailer::smtp(smtp_url, "Portcullis <no-reply@portcullis.test>")
            .unwrap();
    state_with_mailer(db, mailer)
}

pub fn state_with_mailer(db: &TestDb, mailer: integrations::mail::Mailer) -> AppState {
    let store = Store::open(&db.url, PoolOptions::for_backend(db.url.backend())).unwrap();
    AppState::new(store, master_key(), PUBLIC_URL.into(), mailer)
}

impl Env {
    pub async fn tenant(&self, slug: &str, environment: Environment) -> TenantRow {
        let slug: TenantSlug = slug.parse().unwrap();
        registry::tenants::create(
            &self.state.store,
            &self.state.tokens.caches,
            &self.state.master_key,
            &slug,
            "Test",
            environment,
            &domain::tenant_settings::TenantSettings::default(),
            |_| None,
        )
        .await
        .unwrap()
    }

    pub async fn client(&self, tenant: &TenantRow, new: NewClient) -> (ClientRow, Option<String>) {
        registry::clients::create(
            &self.state.store,
            &self.state.master_key,
            &tenant.id,
            new,
            |_| None,
        )
        .await
        .unwrap()
    }
}

pub fn basic(id: &str, secret: &str) -> (&'static str, String) {
    let raw = format!("{id}:{secret}");
    (
        "authorization",
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ),
    )
}

pub fn token_url(slug: &str) -> String {
    format!("/t/{slug}/oauth2/token")
}

pub fn endpoint(slug: &str) -> String {
    format!("{PUBLIC_URL}/t/{slug}/oauth2/token")
}

/// Form-encodes pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Builds and sends one request to the app, returning status, headers and JSON body.
#[macro_export]
macro_rules! call {
    ($app:expr, $req:expr) => {{
        let resp = actix_web::test::call_service(&$app, $req.to_request()).await;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = actix_web::test::read_body(resp).await;
        let json: serde_json::Value =
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, headers, json)
    }};
}

pub fn post_form(uri: &str, body: String) -> actix_web::test::TestRequest {
    actix_web::test::TestRequest::post()
        .uri(uri)
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(body)
}

/// A client key pair for private_key_jwt, and assertions signed with it.
pub struct ClientKey {
    pub alg: &'static str,
    pub kid: String,
    signer: Box<dyn josekit::jws::JwsSigner>,
    pub public_jwk: josekit::jwk::Jwk,
}

impl ClientKey {
    pub fn rsa(alg: &'static str, kid: &str) -> ClientKey {
        let kp = josekit::jws::RS256.generate_key_pair(2048).unwrap();
        let der = kp.to_der_private_key();
        let signer: Box<dyn josekit::jws::JwsSigner> = match alg {
            "RS256" => Box::new(josekit::jws::RS256.signer_from_der(&der).unwrap()),
            "RS384" => Box::new(josekit::jws::RS384.signer_from_der(&der).unwrap()),
            "PS256" => Box::new(josekit::jws::PS256.signer_from_der(&der).unwrap()),
            other => panic!("{other}"),
        };
        let mut jwk = kp.to_jwk_public_key();
        jwk.set_key_id(kid);
        jwk.set_algorithm(alg);
        ClientKey {
            alg,
            kid: kid.into(),
            signer,
            public_jwk: jwk,
        }
    }

    pub fn ec(kid: &str) -> ClientKey {
        let kp = josekit::jws::ES256.generate_key_pair().unwrap();
        let signer = Box::new(
            josekit::jws::ES256
                .signer_from_der(kp.to_der_private_key())
                .unwrap(),
        );
        let mut jwk = kp.to_jwk_public_key();
        jwk.set_key_id(kid);
        ClientKey {
            alg: "ES256",
            kid: kid.into(),
            signer,
            public_jwk: jwk,
        }
    }

    pub fn jwks(keys: &[&ClientKey]) -> serde_json::Value {
        serde_json::json!({ "keys": keys.iter().map(|k| serde_json::to_value(k.public_jwk.as_ref()).unwrap()).collect::<Vec<_>>() })
    }

    /// Signs arbitrary claims with an arbitrary header on top of alg/kid.
    pub fn sign(&self, header_extra: serde_json::Value, claims: serde_json::Value) -> String {
        let mut header = serde_json::json!({"alg": self.alg, "kid": self.kid, "typ": "JWT"});
        if let (Some(h), Some(extra)) = (header.as_object_mut(), header_extra.as_object()) {
            for (k, v) in extra {
                h.insert(k.clone(), v.clone());
            }
        }
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let input = format!(
            "{}.{}",
            b64.encode(header.to_string()),
            b64.encode(claims.to_string())
        );
        let sig = self.signer.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", b64.encode(sig))
    }

    /// A valid RFC 7523 assertion for `client_id` at `aud`.
    pub fn assertion(&self, client_id: &str, aud: &str) -> String {
        let now = domain::now_unix();
        self.sign(
            serde_json::json!({}),
            serde_json::json!({
                "iss": client_id, "sub": client_id, "aud": aud,
                "iat": now, "exp": now + 300, "jti": domain::ids::new_id(),
            }),
        )
    }
}

pub fn assertion_form(assertion: &str) -> String {
    form(&[
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
    ])
}

/// Sends one request to the app: status, headers and JSON body (like `call!`, as a function
/// for helpers).
pub async fn send<S, B>(
    app: &S,
    req: actix_web::test::TestRequest,
) -> (u16, actix_web::http::header::HeaderMap, serde_json::Value)
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    call!(app, req)
}

/// The claims of a JWT, unverified (the tests check what the server put in).
pub fn jwt_claims(jwt: &str) -> serde_json::Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

pub fn bearer(token: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}

/// The app served over real TLS on a free loopback port (the server's certificate from a test
/// root), with the production listener's acceptor and connection hook.
pub struct TlsServer {
    pub url: String,
    pub server_root: pki::Issued,
    handle: actix_web::dev::ServerHandle,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    pub async fn start(state: &AppState) -> TlsServer {
        let server_root = pki::root("Portcullis test server CA");
        let cert = pki::server(&server_root);
        let dir = tempfile::tempdir().unwrap();
        let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert_path, cert.chain_pem()).unwrap();
        std::fs::write(&key_path, cert.key_pem()).unwrap();
        let files = portcullis_server::config::TlsFiles {
            cert: cert_path,
            key: key_path,
            client_ca: None,
            bind: "127.0.0.1:0".parse().unwrap(),
            public_url: "https://127.0.0.1".into(),
        };
        let acceptor = portcullis_server::tls::acceptor(&files).unwrap();
        let st = state.clone();
        let server = actix_web::HttpServer::new(move || portcullis_server::app::build(&st))
            .on_connect(portcullis_server::tls::on_connect)
            .workers(1)
            .bind_openssl("127.0.0.1:0", acceptor)
            .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        TlsServer {
            url: format!("https://127.0.0.1:{port}"),
            server_root,
            handle,
            _dir: dir,
        }
    }

    /// A client that trusts the server, presenting `identity` when given.
    pub fn client(&self, identity: Option<&pki::Issued>) -> reqwest::Client {
        let mut b = reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.server_root.pem().as_bytes()).unwrap(),
            )
            .min_tls_version(reqwest::tls::Version::TLS_1_2);
        if let Some(id) = identity {
            b = b.identity(id.identity());
        }
        b.build().unwrap()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// The bootstrap client's secret in tests that need the platform admin.
pub const PLATFORM_SECRET: &str = "admin-secret-admin-secret-admin-secret-00";

/// Bootstraps the system tenant (admin client secret [`PLATFORM_SECRET`]), as the server does
/// on its first start.
pub async fn bootstrap_platform(state: &AppState) {
    let cfg = portcullis_server::config::BootstrapConfig {
        admin_email: "root@example.com".into(),
        admin_password: Some("pw-pw-pw-pw".into()),
        client_secret: Some(PLATFORM_SECRET.into()),
    };
    portcullis_server::bootstrap::run(
        &state.store,
        &state.master_key,
        &cfg,
        portcullis_server::config::RunMode::Development,
    )
    .await
    .unwrap();
}

/// The app under test as actix's test helpers take it (`init_service`'s result), named once
/// instead of spelled out at every helper.
pub trait TestApp<B>:
    actix_web::dev::Service<
    actix_http::Request,
    Response = actix_web::dev::ServiceResponse<B>,
    Error = actix_web::Error,
>
{
}

impl<S, B> TestApp<B> for S where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >
{
}

/// An access token by client_credentials with HTTP Basic; panics unless issued.
pub async fn client_token<S, B>(app: &S, slug: &str, id: &str, secret: &str) -> String
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let (s, _, b) = call!(
        app,
        post_form(
            &token_url(slug),
            form(&[("grant_type", "client_credentials")])
        )
        .insert_header(basic(id, secret))
    );
    assert_eq!(s, 200, "{b}");
    b["access_token"].as_str().unwrap().to_owned()
}

/// Bootstraps the platform and returns a platform admin's access token.
pub async fn platform_token(env: &Env) -> String {
    bootstrap_platform(&env.state).await;
    let app = actix_web::test::init_service(portcullis_server::app::build(&env.state)).await;
    client_token(&app, "system", "admin", PLATFORM_SECRET).await
}
