//! Mutual TLS over real handshakes (RFC 8705): the SanteDB-style device session, the
//! tenant-service production story with CA-issued certificates, `tls_client_auth` and
//! `self_signed_tls_client_auth`, certificate-bound tokens, forwarded certificates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test::{self, TestRequest};
use base64::Engine;
use common::pki::{self, Issued};
use common::*;
use portcullis_server::app::build;
use serde_json::{json, Value};

/// The platform admin's token, from a bootstrapped system tenant.
/// Admin API calls over the in-process app (set-up, not under test).
struct Admin<'a> {
    env: &'a Env,
    token: String,
}

impl Admin<'_> {
    async fn post(&self, path: &str, body: Value) -> Value {
        let app = test::init_service(build(&self.env.state)).await;
        let (s, _, b) = send(
            &app,
            TestRequest::post()
                .uri(path)
                .insert_header(bearer(&self.token))
                .set_json(body),
        )
        .await;
        assert!(s == 201 || s == 200, "{path}: {s} {b}");
        b
    }

    async fn post_status(&self, path: &str, body: Value) -> (u16, Value) {
        let app = test::init_service(build(&self.env.state)).await;
        let (s, _, b) = send(
            &app,
            TestRequest::post()
                .uri(path)
                .insert_header(bearer(&self.token))
                .set_json(body),
        )
        .await;
        (s, b)
    }
}

async fn tenant(admin: &Admin<'_>, slug: &str, environment: &str) -> String {
    let t = admin
        .post(
            "/admin/v1/tenants",
            json!({"slug": slug, "name": slug, "environment": environment}),
        )
        .await;
    t["id"].as_str().unwrap().to_owned()
}

fn device_header(id: &str, secret: &str) -> (&'static str, String) {
    let raw = format!("{id}:{secret}");
    (
        "X-Device-Authorization",
        format!(
            "BASIC {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ),
    )
}

async fn json_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[actix_web::test]
async fn santedb_style_session_with_device_header_over_tls() {
    let env = env();
    let admin = Admin {
        token: platform_token(&env).await,
        env: &env,
    };
    let tid = tenant(&admin, "sante", "sandbox").await;
    let org = admin
        .post(
            &format!("/admin/v1/tenants/{tid}/organizations"),
            json!({"kind": "department", "name": "Clinic"}),
        )
        .await;
    let oid = org["id"].as_str().unwrap();
    let device = admin
        .post(
            &format!("/admin/v1/tenants/{tid}/organizations/{oid}/devices"),
            json!({"name": "tablet-7"}),
        )
        .await;
    let (did, dsecret) = (
        device["id"].as_str().unwrap(),
        device["device_secret"].as_str().unwrap(),
    );
    let client = admin
        .post(
            &format!("/admin/v1/tenants/{tid}/clients"),
            json!({"name": "santedb app", "auth_method": "client_secret_post",
                "grant_types": ["client_credentials", "refresh_token"],
                "scopes": ["openid", "read", "write"], "require_device_auth": true}),
        )
        .await;
    assert_eq!(client["require_device_auth"], true, "{client}");
    let (cid, csecret) = (
        client["client_id"].as_str().unwrap().to_owned(),
        client["client_secret"].as_str().unwrap().to_owned(),
    );
    let server = TlsServer::start(&env.state).await;
    let http = server.client(None);
    let token_url = format!("{}/t/sante/oauth2/token", server.url);
    let santedb_form = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &cid),
        ("client_secret", &csecret),
        ("scope", "*"),
    ]);

    // The SanteDB request: secret in the form, scope=*, the device in a header.
    let (s, b) = json_of(
        http.post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header(device_header(did, dsecret).0, device_header(did, dsecret).1)
            .body(santedb_form.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    for field in [
        "access_token",
        "id_token",
        "token_type",
        "expires_in",
        "refresh_token",
    ] {
        assert!(b.get(field).is_some(), "{field} missing: {b}");
    }
    let claims = jwt_claims(b["access_token"].as_str().unwrap());
    assert_eq!(claims["device"], did);
    assert_eq!(claims["org"], oid);
    assert_eq!(claims["scope"], "openid read write");
    assert!(claims.get("cnf").is_none(), "no certificate, no binding");
    let id = jwt_claims(b["id_token"].as_str().unwrap());
    assert_eq!(id["device"], did);
    assert_eq!(id["policies"], json!(["openid", "read", "write"]));

    // Without the device, a client that requires one is refused.
    let (s, b) = json_of(
        http.post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(santedb_form.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid_client")),
        "{b}"
    );
    assert!(b["error_description"]
        .as_str()
        .unwrap()
        .contains("X-Device-Authorization"));

    // The device by its certificate instead (self-signed is fine in a sandbox tenant): the
    // token carries the device and is bound to the certificate.
    let cert = pki::self_signed("tablet-8");
    let d2 = admin
        .post(
            &format!("/admin/v1/tenants/{tid}/organizations/{oid}/devices"),
            json!({"name": "tablet-8", "certificate": cert.pem()}),
        )
        .await;
    let with_cert = server.client(Some(&cert));
    let (s, b) = json_of(
        with_cert
            .post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(santedb_form.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let bound = b["access_token"].as_str().unwrap().to_owned();
    let claims = jwt_claims(&bound);
    assert_eq!(claims["device"], d2["id"]);
    assert_eq!(claims["cnf"]["x5t#S256"], cert.thumbprint());
    // The bound token works only with its certificate.
    let whoami = format!("{}/t/sante/whoami", server.url);
    let (s, _) = json_of(
        with_cert
            .get(&whoami)
            .bearer_auth(&bound)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    let resp = http.get(&whoami).bearer_auth(&bound).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("mutual TLS"));

    // Wrong device secrets count towards the client's lockout: after 10 the right ones fail.
    for _ in 0..10 {
        let (s, b) = json_of(
            http.post(&token_url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("X-Device-Authorization", device_header(did, "wrong").1)
                .body(santedb_form.clone())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (s, b["error"].as_str()),
            (401, Some("invalid_client")),
            "{b}"
        );
    }
    let (s, b) = json_of(
        http.post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header(device_header(did, dsecret).0, device_header(did, dsecret).1)
            .body(santedb_form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 401, "{b}");
    // Locked, but the answer does not say so: it would tell that the client id exists.
    assert_eq!(
        b["error_description"], "client authentication failed",
        "{b}"
    );
}

/// The tenant-service production story: CA → intermediate → device certificates.
#[actix_web::test]
async fn production_device_tokens_need_their_ca_issued_certificate() {
    let env = env();
    let admin = Admin {
        token: platform_token(&env).await,
        env: &env,
    };
    let tid = tenant(&admin, "onerecord", "production").await;
    let root = pki::root("OneRecord Root");
    let inter = pki::intermediate("OneRecord Devices", &root);
    let a = pki::leaf("device-a", &inter);
    let b = pki::leaf("device-b", &inter);
    let self_signed = pki::self_signed("device-a");
    let expired = pki::expired_leaf("device-a", &inter);
    let foreign = pki::leaf(
        "device-a",
        &pki::intermediate("Elsewhere", &pki::root("Other")),
    );
    admin
        .post(
            &format!("/admin/v1/tenants/{tid}/trust-anchors"),
            json!({"pem": format!("{}{}", root.pem(), inter.pem())}),
        )
        .await;
    let org = admin
        .post(
            &format!("/admin/v1/tenants/{tid}/organizations"),
            json!({"kind": "other", "name": "Lab"}),
        )
        .await;
    let oid = org["id"].as_str().unwrap();
    let devices = format!("/admin/v1/tenants/{tid}/organizations/{oid}/devices");
    // Production devices must be bound to a certificate.
    let (s, body) = admin
        .post_status(&devices, json!({"name": "unbound"}))
        .await;
    assert_eq!(s, 422, "{body}");
    let dev_a = admin
        .post(&devices, json!({"name": "a", "certificate": a.pem()}))
        .await;
    admin
        .post(&devices, json!({"name": "b", "certificate": b.pem()}))
        .await;
    let token_a = dev_a["device_token"].as_str().unwrap().to_owned();
    assert_eq!(
        jwt_claims(&token_a)["cnf"]["x5t#S256"],
        a.thumbprint(),
        "the device token is bound"
    );

    let server = TlsServer::start(&env.state).await;
    let whoami = format!("{}/t/onerecord/whoami", server.url);
    let call = |identity: Option<&Issued>| {
        let client = server.client(identity);
        let (url, token) = (whoami.clone(), token_a.clone());
        async move {
            let resp = client.get(&url).bearer_auth(&token).send().await.unwrap();
            let status = resp.status().as_u16();
            let challenge = resp
                .headers()
                .get("www-authenticate")
                .map(|h| h.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (status, challenge)
        }
    };
    // CA-chained certificate + device token: accepted.
    let (s, _) = call(Some(&a)).await;
    assert_eq!(s, 200);
    // The same token without the certificate, with a self-signed one, with another device's,
    // with an expired one, with one of a foreign CA: refused, each saying why.
    for (identity, why) in [
        (None, "present it over mutual TLS"),
        (Some(&self_signed), "self-signed"),
        (Some(&b), "bound to another client certificate"),
        (Some(&expired), "expired"),
        (Some(&foreign), "does not chain"),
    ] {
        let (s, challenge) = call(identity).await;
        assert_eq!(s, 401, "{why}");
        assert!(challenge.contains("invalid_token"), "{challenge}");
        assert!(challenge.contains(why), "{why}: {challenge}");
    }

    // The token endpoint over mTLS: a client of the tenant, the device known by its
    // certificate, the token bound to it; introspection shows the binding.
    let client = admin
        .post(
            &format!("/admin/v1/tenants/{tid}/clients"),
            json!({"name": "lab app", "auth_method": "client_secret_basic",
                "grant_types": ["client_credentials"], "scopes": ["read"],
                "require_device_auth": true}),
        )
        .await;
    let creds = (
        client["client_id"].as_str().unwrap().to_owned(),
        client["client_secret"].as_str().unwrap().to_owned(),
    );
    let token_url = format!("{}/t/onerecord/oauth2/token", server.url);
    let request = |identity: Option<&Issued>| {
        server
            .client(identity)
            .post(&token_url)
            .basic_auth(&creds.0, Some(&creds.1))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
    };
    let (s, t) = json_of(request(Some(&a)).send().await.unwrap()).await;
    assert_eq!(s, 200, "{t}");
    let access = t["access_token"].as_str().unwrap().to_owned();
    let claims = jwt_claims(&access);
    assert_eq!(claims["device"], dev_a["id"]);
    assert_eq!(claims["cnf"]["x5t#S256"], a.thumbprint());
    for (identity, why) in [
        (Some(&self_signed), "self-signed"),
        (Some(&expired), "expired"),
        (Some(&foreign), "does not chain"),
    ] {
        let (s, b) = json_of(request(identity).send().await.unwrap()).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (401, Some("invalid_client")),
            "{why}: {b}"
        );
        assert!(
            b["error_description"].as_str().unwrap().contains(why),
            "{why}: {b}"
        );
    }
    let (s, i) = json_of(
        server
            .client(None)
            .post(format!("{}/t/onerecord/oauth2/introspect", server.url))
            .basic_auth(&creds.0, Some(&creds.1))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("token", &access)]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, &i["active"]), (200, &json!(true)), "{i}");
    assert_eq!(i["cnf"]["x5t#S256"], a.thumbprint());

    // The SanteDB request in this production tenant: secret in the form, scope=*, the device
    // header — over mTLS with the device's CA-issued certificate it works and is bound; with a
    // self-signed certificate it does not.
    let sante = admin
        .post(
            &format!("/admin/v1/tenants/{tid}/clients"),
            json!({"name": "santedb", "auth_method": "client_secret_post",
                "grant_types": ["client_credentials"], "scopes": ["openid", "read"],
                "require_device_auth": true}),
        )
        .await;
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", sante["client_id"].as_str().unwrap()),
        ("client_secret", sante["client_secret"].as_str().unwrap()),
        ("scope", "*"),
    ]);
    let (did, dsecret) = (
        dev_a["id"].as_str().unwrap(),
        dev_a["device_secret"].as_str().unwrap(),
    );
    let santedb = |identity: Option<&Issued>| {
        server
            .client(identity)
            .post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("X-Device-Authorization", device_header(did, dsecret).1)
            .body(body.clone())
    };
    let (s, t) = json_of(santedb(Some(&a)).send().await.unwrap()).await;
    assert_eq!(s, 200, "{t}");
    let claims = jwt_claims(t["access_token"].as_str().unwrap());
    assert_eq!(claims["device"], did);
    assert_eq!(claims["cnf"]["x5t#S256"], a.thumbprint());
    assert!(t["id_token"].is_string());
    let (s, b) = json_of(santedb(Some(&self_signed)).send().await.unwrap()).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid_client")),
        "{b}"
    );
}

#[actix_web::test]
async fn tls_client_auth_and_self_signed_clients() {
    let env = env();
    let admin = Admin {
        token: platform_token(&env).await,
        env: &env,
    };
    let tid = tenant(&admin, "pki", "sandbox").await;
    let prod = tenant(&admin, "pkiprod", "production").await;
    let root = pki::root("Services Root");
    let inter = pki::intermediate("Services Issuing", &root);
    admin
        .post(
            &format!("/admin/v1/tenants/{tid}/trust-anchors"),
            json!({"pem": root.pem()}),
        )
        .await;
    let svc_cert = pki::leaf("svc-1", &inter);
    let other_cert = pki::leaf("svc-2", &inter);
    let c = admin
        .post(
            &format!("/admin/v1/tenants/{tid}/clients"),
            json!({"name": "svc", "auth_method": "tls_client_auth",
                "tls_client_auth_subject_dn": "CN=svc-1,O=Acme,C=US",
                "grant_types": ["client_credentials"], "scopes": ["read"]}),
        )
        .await;
    assert!(c.get("client_secret").is_none(), "no secret for mTLS: {c}");
    let cid = c["client_id"].as_str().unwrap().to_owned();
    let server = TlsServer::start(&env.state).await;
    let token_url = format!("{}/t/pki/oauth2/token", server.url);
    let body = form(&[("grant_type", "client_credentials"), ("client_id", &cid)]);
    let request = |identity: Option<&Issued>| {
        server
            .client(identity)
            .post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
    };
    let (s, t) = json_of(request(Some(&svc_cert)).send().await.unwrap()).await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(
        jwt_claims(t["access_token"].as_str().unwrap())["cnf"]["x5t#S256"],
        svc_cert.thumbprint()
    );
    for (identity, why) in [
        (Some(&other_cert), "subject or SAN"),
        (None, "present the client certificate"),
        (Some(&pki::self_signed("svc-1")), "self-signed"),
    ] {
        let (s, b) = json_of(request(identity).send().await.unwrap()).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (401, Some("invalid_client")),
            "{b}"
        );
        assert!(
            b["error_description"].as_str().unwrap().contains(why),
            "{why}: {b}"
        );
    }

    // PATCH moves the identity to svc-2's subject (If-Match as always): then only svc-2 gets in.
    let app = test::init_service(build(&env.state)).await;
    let url = format!("/admin/v1/tenants/{tid}/clients/{cid}");
    let (_, h, _) = send(
        &app,
        TestRequest::get()
            .uri(&url)
            .insert_header(bearer(&admin.token)),
    )
    .await;
    let (s, _, patched) = send(
        &app,
        TestRequest::patch()
            .uri(&url)
            .insert_header(bearer(&admin.token))
            .insert_header(("if-match", h.get("etag").unwrap().to_str().unwrap()))
            .set_json(json!({"tls_client_auth_subject_dn": "CN=svc-2,O=Acme,C=US"})),
    )
    .await;
    assert_eq!(s, 200, "{patched}");
    assert_eq!(
        patched["tls_client_auth_subject_dn"],
        "CN=svc-2,O=Acme,C=US"
    );
    let (s, _) = json_of(request(Some(&other_cert)).send().await.unwrap()).await;
    assert_eq!(s, 200);
    let (s, _) = json_of(request(Some(&svc_cert)).send().await.unwrap()).await;
    assert_eq!(s, 401);
    // A certificate client has no secret to rotate.
    let (s, _, b) = send(
        &app,
        TestRequest::post()
            .uri(&format!("{url}/secrets"))
            .insert_header(bearer(&admin.token)),
    )
    .await;
    assert_eq!(s, 409, "{b}");
    assert!(b["detail"]
        .as_str()
        .unwrap()
        .contains("tls_client_auth, not a secret"));

    // self_signed_tls_client_auth: the certificate registered as x5c, sandbox only.
    let mine = pki::self_signed("robot");
    let x5c = base64::engine::general_purpose::STANDARD.encode(mine.cert.to_der().unwrap());
    let pair = josekit::jwk::alg::ec::EcKeyPair::from_pem(mine.key_pem().as_bytes(), None).unwrap();
    let jwk: Value = serde_json::from_str(&pair.to_jwk_public_key().to_string()).unwrap();
    let mut jwk = jwk;
    jwk["x5c"] = json!([x5c]);
    let new = json!({"name": "robot", "auth_method": "self_signed_tls_client_auth",
        "jwks": {"keys": [jwk]}, "grant_types": ["client_credentials"], "scopes": ["read"]});
    let (s, b) = admin
        .post_status(&format!("/admin/v1/tenants/{prod}/clients"), new.clone())
        .await;
    assert_eq!(s, 422, "refused in production: {b}");
    let robot = admin
        .post(&format!("/admin/v1/tenants/{tid}/clients"), new)
        .await;
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", robot["client_id"].as_str().unwrap()),
    ]);
    let (s, t) = json_of(
        server
            .client(Some(&mine))
            .post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let (s, _) = json_of(
        server
            .client(Some(&pki::self_signed("robot")))
            .post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 401, "another self-signed certificate with the same name");

    // Discovery tells clients about binding and the mTLS aliases.
    env.state.tokens.set_mtls_url(server.url.clone());
    let (s, d) = json_of(
        server
            .client(None)
            .get(format!(
                "{}/t/pki/.well-known/openid-configuration",
                server.url
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(d["tls_client_certificate_bound_access_tokens"], true);
    assert_eq!(
        d["mtls_endpoint_aliases"]["token_endpoint"],
        format!("{}/t/pki/oauth2/token", server.url)
    );
    assert_eq!(
        d["token_endpoint"],
        format!("{PUBLIC_URL}/t/pki/oauth2/token")
    );
}

#[actix_web::test]
async fn forwarded_certificates_count_only_from_trusted_proxies() {
    let env = env();
    let admin = Admin {
        token: platform_token(&env).await,
        env: &env,
    };
    let tid = tenant(&admin, "edge", "sandbox").await;
    let c = admin
        .post(
            &format!("/admin/v1/tenants/{tid}/clients"),
            json!({"name": "app", "auth_method": "client_secret_basic",
                "grant_types": ["client_credentials"], "scopes": ["read"]}),
        )
        .await;
    let creds = basic(
        c["client_id"].as_str().unwrap(),
        c["client_secret"].as_str().unwrap(),
    );
    let mut state = env.state.clone();
    state.proxy = tokens::mtls::ProxyTrust {
        proxies: vec!["10.1.1.1".parse().unwrap()],
        header: Some(actix_web::http::header::HeaderName::from_static(
            "x-client-cert",
        )),
    };
    let app = test::init_service(build(&state)).await;
    let cert = pki::self_signed("behind-proxy");
    let escaped: String = cert
        .pem()
        .replace(' ', "%20")
        .replace('\n', "%0A")
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let request = |peer: &str| {
        post_form(
            &token_url("edge"),
            form(&[("grant_type", "client_credentials")]),
        )
        .insert_header(creds.clone())
        .insert_header(("x-client-cert", escaped.clone()))
        .peer_addr(format!("{peer}:5000").parse().unwrap())
    };
    let (s, _, t) = send(&app, request("10.1.1.1")).await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(
        jwt_claims(t["access_token"].as_str().unwrap())["cnf"]["x5t#S256"],
        cert.thumbprint()
    );
    let (s, _, t) = send(&app, request("10.9.9.9")).await;
    assert_eq!(s, 200, "{t}");
    assert!(
        jwt_claims(t["access_token"].as_str().unwrap())
            .get("cnf")
            .is_none(),
        "a header from an untrusted peer is ignored"
    );

    // A client registered for bound tokens only gets them over mutual TLS.
    let bound = admin
        .post(
            &format!("/admin/v1/tenants/{tid}/clients"),
            json!({"name": "bound", "auth_method": "client_secret_basic",
                "grant_types": ["client_credentials"], "scopes": ["read"],
                "tls_client_certificate_bound_access_tokens": true}),
        )
        .await;
    let bound_creds = basic(
        bound["client_id"].as_str().unwrap(),
        bound["client_secret"].as_str().unwrap(),
    );
    let request = |peer: &str| {
        post_form(
            &token_url("edge"),
            form(&[("grant_type", "client_credentials")]),
        )
        .insert_header(bound_creds.clone())
        .insert_header(("x-client-cert", escaped.clone()))
        .peer_addr(format!("{peer}:5000").parse().unwrap())
    };
    let (s, _, b) = send(&app, request("10.9.9.9")).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_request")),
        "{b}"
    );
    let (s, _, t) = send(&app, request("10.1.1.1")).await;
    assert_eq!(s, 200, "{t}");
    assert!(jwt_claims(t["access_token"].as_str().unwrap())["cnf"].is_object());
}
