//! The admin API: who may call what (the role matrix), tenants, key rotation, audit log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test::{self, TestRequest};
use common::*;
use domain::model::Environment;
use portcullis_server::app::build;
use portcullis_server::bootstrap;
use portcullis_server::config::{BootstrapConfig, RunMode};
use registry::clients::NewClient;
use serde_json::{json, Value};

const ADMIN_SECRET: &str = "admin-secret-admin-secret-admin-secret-00";

struct World {
    env: Env,
    platform: String,
    admin_a: String,
    admin_b: String,
    plain_a: String,
    expired: String,
    a_id: String,
    b_id: String,
}

async fn world() -> World {
    let env = env();
    let cfg = BootstrapConfig {
        admin_email: "root@example.com".into(),
        admin_password: Some("pw-pw-pw-pw".into()),
        client_secret: Some(ADMIN_SECRET.into()),
    };
    bootstrap::run(
        &env.state.store,
        &env.state.master_key,
        &cfg,
        RunMode::Development,
    )
    .await
    .unwrap();
    let a = env.tenant("alpha", Environment::Sandbox).await;
    let b = env.tenant("bravo", Environment::Production).await;
    let mut admin = NewClient::machine("ops", &[]);
    admin.tenant_roles = vec![domain::model::TenantRole::TenantAdmin];
    let (aa, aas) = env.client(&a, admin.clone()).await;
    let (ba, bas) = env.client(&b, admin).await;
    let (pa, pas) = env.client(&a, NewClient::machine("app", &["read"])).await;
    let app = test::init_service(build(&env.state)).await;
    let platform = client_token(&app, "system", "admin", ADMIN_SECRET).await;
    let admin_a = client_token(&app, "alpha", &aa.client_id, &aas.unwrap()).await;
    let admin_b = client_token(&app, "bravo", &ba.client_id, &bas.unwrap()).await;
    let plain_a = client_token(&app, "alpha", &pa.client_id, &pas.unwrap()).await;
    // An expired platform-admin token, signed with the system tenant's real key.
    let system = env
        .state
        .tokens
        .caches
        .tenant("system")
        .await
        .unwrap()
        .unwrap();
    let mut claims: domain::claims::AccessClaims =
        serde_json::from_value(decode_claims(&platform)).unwrap();
    claims.iat -= 1000;
    claims.exp = Some(claims.iat + 300);
    claims.jti = "expired".into();
    let expired =
        tokens::mint::sign_access(&system, tokens::keys::SigningAlg::Rs256, &claims).unwrap();
    World {
        env,
        platform,
        admin_a,
        admin_b,
        plain_a,
        expired,
        a_id: a.id,
        b_id: b.id,
    }
}

fn decode_claims(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

fn bearer(req: TestRequest, token: Option<&str>) -> TestRequest {
    match token {
        Some(t) => req.insert_header(("authorization", format!("Bearer {t}"))),
        None => req,
    }
}

#[actix_web::test]
async fn role_matrix_over_every_endpoint_family() {
    let w = world().await;
    let app = test::init_service(build(&w.env.state)).await;
    let a = w.a_id.as_str();
    // (method, path of tenant A's resources, body)
    let endpoints: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/admin/v1/tenants/{a}"), None),
        ("GET", format!("/admin/v1/tenants/{a}/keys"), None),
        (
            "POST",
            format!("/admin/v1/tenants/{a}/keys"),
            Some(json!({"alg": "ES256"})),
        ),
        ("GET", format!("/admin/v1/tenants/{a}/audit-events"), None),
    ];
    let callers: Vec<(&str, Option<&str>, u16)> = vec![
        ("platform admin", Some(&w.platform), 2),
        ("admin of A", Some(&w.admin_a), 2),
        ("admin of B", Some(&w.admin_b), 404),
        ("plain client of A", Some(&w.plain_a), 403),
        ("anonymous", None, 401),
        ("expired", Some(&w.expired), 401),
    ];
    for (method, path, body) in &endpoints {
        for (who, token, want) in &callers {
            let mut req = match *method {
                "GET" => TestRequest::get(),
                _ => TestRequest::post(),
            }
            .uri(path);
            if let Some(b) = body {
                req = req.set_json(b);
            }
            let (status, headers, resp) = call!(app, bearer(req, *token));
            if *want == 2 {
                assert!(
                    (200..300).contains(&status),
                    "{who} {method} {path}: {status} {resp}"
                );
            } else {
                assert_eq!(status, *want, "{who} {method} {path}: {resp}");
                assert_eq!(
                    headers.get("content-type").unwrap(),
                    "application/problem+json"
                );
                assert!(resp["request_id"].is_string(), "{resp}");
            }
            if *want == 401 {
                assert!(headers
                    .get("www-authenticate")
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .starts_with("Bearer"));
            }
        }
    }
    // Creating tenants is for platform admins only.
    for (who, token, want) in [
        ("admin of A", Some(&w.admin_a), 403),
        ("plain", Some(&w.plain_a), 403),
        ("anonymous", None, 401),
    ] {
        let req = TestRequest::post()
            .uri("/admin/v1/tenants")
            .set_json(json!({"slug": "new-one", "name": "N", "environment": "sandbox"}));
        let (status, _, _) = call!(app, bearer(req, token.map(String::as_str)));
        assert_eq!(status, want, "{who}");
    }
    // Listing: everything for the platform admin, its own tenant for a tenant admin.
    let (_, _, all) = call!(
        app,
        bearer(
            TestRequest::get().uri("/admin/v1/tenants"),
            Some(&w.platform)
        )
    );
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    let (_, _, mine) = call!(
        app,
        bearer(
            TestRequest::get().uri("/admin/v1/tenants"),
            Some(&w.admin_b)
        )
    );
    let ids: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![w.b_id.as_str()]);
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::get().uri("/admin/v1/tenants"),
            Some(&w.plain_a)
        )
    );
    assert_eq!(status, 403);
    // A tenant unknown to everyone is a 404 as well, so a 404 says nothing.
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::get().uri("/admin/v1/tenants/nope-nope"),
            Some(&w.admin_b)
        )
    );
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn tenants_crud_with_validation_etags_pagination_and_audit() {
    let w = world().await;
    let app = test::init_service(build(&w.env.state)).await;
    let p = Some(w.platform.as_str());

    // Validation lists every invalid field.
    let req = TestRequest::post().uri("/admin/v1/tenants").set_json(json!({"slug": "Bad Slug", "name": "", "environment": "sandbox", "settings": {"access_token_lifetime": 5, "allowed_algorithms": ["HS256"]}}));
    let (status, _, body) = call!(app, bearer(req, p));
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "name",
            "settings.access_token_lifetime",
            "settings.allowed_algorithms",
            "slug"
        ]
    );
    let req = TestRequest::post()
        .uri("/admin/v1/tenants")
        .set_json(json!({"slug": "ok-slug", "name": "x", "environment": "staging"}));
    let (status, _, body) = call!(app, bearer(req, p));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "environment", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("sandbox"),
        "{body}"
    );
    let req = TestRequest::post()
        .uri("/admin/v1/tenants")
        .insert_header(("content-type", "application/json"))
        .set_payload("{\"slug\": ");
    let (status, _, body) = call!(app, bearer(req, p));
    assert_eq!(status, 400, "{body}");

    // Create.
    let req = TestRequest::post().uri("/admin/v1/tenants").set_json(json!({"slug": "charlie", "name": "Charlie", "environment": "production", "settings": {"access_token_lifetime": 120}}));
    let (status, headers, t) = call!(app, bearer(req, p));
    assert_eq!(status, 201, "{t}");
    assert_eq!(t["issuer"], format!("{PUBLIC_URL}/t/charlie"));
    assert_eq!(t["settings"]["access_token_lifetime"], 120);
    let etag = headers.get("etag").unwrap().to_str().unwrap().to_owned();
    let id = t["id"].as_str().unwrap().to_owned();
    assert_eq!(
        headers.get("location").unwrap().to_str().unwrap(),
        format!("/admin/v1/tenants/{id}")
    );
    // Its keys exist and its tokens use the tenant's lifetime.
    let (_, _, jwks) = call!(app, TestRequest::get().uri("/t/charlie/oauth2/jwks"));
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    let charlie = w
        .env
        .state
        .store
        .run(move |c| store::repo::tenants::find_by_slug(c, "charlie"))
        .await
        .unwrap()
        .unwrap();
    let (cl, cs) = w
        .env
        .client(&charlie, NewClient::machine("svc", &["read"]))
        .await;
    let charlie_token = client_token(&app, "charlie", &cl.client_id, &cs.unwrap()).await;
    let c = decode_claims(&charlie_token);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 120);
    // Duplicate slug.
    let req = TestRequest::post()
        .uri("/admin/v1/tenants")
        .set_json(json!({"slug": "charlie", "name": "Again", "environment": "sandbox"}));
    let (status, _, _) = call!(app, bearer(req, p));
    assert_eq!(status, 409);

    // PATCH needs If-Match; a stale one is refused; the right one wins once.
    let patch = |m: Option<&str>| {
        let req = TestRequest::patch()
            .uri(&format!("/admin/v1/tenants/{id}"))
            .set_json(json!({"name": "Charlie Corp"}));
        match m {
            Some(m) => req.insert_header(("if-match", m.to_owned())),
            None => req,
        }
    };
    let (status, _, _) = call!(app, bearer(patch(None), p));
    assert_eq!(status, 428);
    let (status, headers, body) = call!(app, bearer(patch(Some(&etag)), p));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Charlie Corp");
    assert_ne!(headers.get("etag").unwrap().to_str().unwrap(), etag);
    let (status, _, _) = call!(app, bearer(patch(Some(&etag)), p));
    assert_eq!(status, 412, "the second writer with the old ETag loses");

    // Pagination walks every tenant exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let uri = match &cursor {
            Some(c) => format!("/admin/v1/tenants?limit=2&cursor={c}"),
            None => "/admin/v1/tenants?limit=2".to_owned(),
        };
        let (status, _, page) = call!(app, bearer(TestRequest::get().uri(&uri), p));
        assert_eq!(status, 200);
        for t in page["items"].as_array().unwrap() {
            seen.push(t["slug"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, vec!["alpha", "bravo", "charlie", "system"]);
    let (status, _, _) = call!(
        app,
        bearer(TestRequest::get().uri("/admin/v1/tenants?limit=0"), p)
    );
    assert_eq!(status, 422);
    let (status, _, _) = call!(
        app,
        bearer(TestRequest::get().uri("/admin/v1/tenants?cursor=%%%"), p)
    );
    assert_eq!(status, 400);

    // DELETE disables: the tenant's tokens stop validating at once.
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::delete().uri(&format!("/admin/v1/tenants/{id}")),
            p
        )
    );
    assert_eq!(status, 204);
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::get().uri("/t/charlie/whoami"),
            Some(&charlie_token)
        )
    );
    assert_eq!(status, 401);
    let (status, _, _) = call!(
        app,
        post_form(
            &token_url("charlie"),
            form(&[("grant_type", "client_credentials")])
        )
        .insert_header(basic(&cl.client_id, "x"))
    );
    assert_eq!(status, 404);
    let (status, _, _) = call!(
        app,
        bearer(TestRequest::delete().uri("/admin/v1/tenants/system"), p)
    );
    assert_eq!(status, 409);

    // The audit log has each write, with who, from where and which request, and no secret.
    let (status, _, log) = call!(
        app,
        bearer(
            TestRequest::get().uri(&format!("/admin/v1/tenants/{id}/audit-events")),
            p
        )
    );
    assert_eq!(status, 200);
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec!["tenant.create", "tenant.update", "tenant.disable"]
    );
    for e in log["items"].as_array().unwrap() {
        assert_eq!(e["actor"], "client:admin@system");
        assert!(e["request_id"].is_string() && e["at"].is_i64());
        assert_eq!(e["target"], format!("tenant:{id}"));
    }
    assert!(!log.to_string().contains(ADMIN_SECRET));
    let (_, _, filtered) = call!(
        app,
        bearer(
            TestRequest::get().uri(&format!(
                "/admin/v1/tenants/{id}/audit-events?action=tenant.update"
            )),
            p
        )
    );
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
    let (_, _, none) = call!(
        app,
        bearer(
            TestRequest::get().uri(&format!(
                "/admin/v1/tenants/{id}/audit-events?actor=someone"
            )),
            p
        )
    );
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn key_rotation_through_the_api_keeps_old_tokens_valid() {
    let w = world().await;
    let app = test::init_service(build(&w.env.state)).await;
    let a = w.a_id.as_str();
    let adm = Some(w.admin_a.as_str());
    let before = w.plain_a.clone();
    let old_kid = {
        use base64::Engine;
        let h: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(before.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        h["kid"].as_str().unwrap().to_owned()
    };
    let req = TestRequest::post()
        .uri(&format!("/admin/v1/tenants/{a}/keys"))
        .set_json(json!({"alg": "RS256"}));
    let (status, _, key) = call!(app, bearer(req, adm));
    assert_eq!(status, 201, "{key}");
    assert_eq!(key["state"], "next");
    assert!(key["public_jwk"].get("d").is_none());
    let kid = key["kid"].as_str().unwrap().to_owned();
    // Published before it signs anything.
    let (_, _, jwks) = call!(app, TestRequest::get().uri("/t/alpha/oauth2/jwks"));
    assert!(jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == kid.as_str()));

    let (status, _, bad) = call!(
        app,
        bearer(
            TestRequest::post()
                .uri(&format!("/admin/v1/tenants/{a}/keys"))
                .set_json(json!({"alg": "HS256"})),
            adm
        )
    );
    assert_eq!(status, 422, "{bad}");

    let (status, _, promoted) = call!(
        app,
        bearer(
            TestRequest::post().uri(&format!("/admin/v1/tenants/{a}/keys/{kid}/promote")),
            adm
        )
    );
    assert_eq!(status, 200, "{promoted}");
    assert_eq!(
        promoted,
        json!({"kid": kid, "state": "active", "invalidated_device_tokens": 0})
    );
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::post().uri(&format!("/admin/v1/tenants/{a}/keys/{kid}/promote")),
            adm
        )
    );
    assert_eq!(status, 409, "only next keys are promoted");

    // The token signed by the now retired key still validates.
    let (status, _, _) = call!(
        app,
        bearer(TestRequest::get().uri("/t/alpha/whoami"), Some(&before))
    );
    assert_eq!(status, 200);
    let (_, _, keys) = call!(
        app,
        bearer(
            TestRequest::get().uri(&format!("/admin/v1/tenants/{a}/keys")),
            adm
        )
    );
    let state_of = |k: &str| {
        keys["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["kid"] == k)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state_of(&old_kid), "retired");
    assert_eq!(state_of(&kid), "active");

    // Only retired keys can be deleted; then the old token stops validating.
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::delete().uri(&format!("/admin/v1/tenants/{a}/keys/{kid}")),
            adm
        )
    );
    assert_eq!(status, 409);
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::delete().uri(&format!("/admin/v1/tenants/{a}/keys/{old_kid}")),
            adm
        )
    );
    assert_eq!(status, 204);
    let (status, _, _) = call!(
        app,
        bearer(TestRequest::get().uri("/t/alpha/whoami"), Some(&before))
    );
    assert_eq!(status, 401);
    // So does the admin's own token, signed by that key too; the platform admin carries on.
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::get().uri(&format!("/admin/v1/tenants/{a}/keys")),
            adm
        )
    );
    assert_eq!(status, 401);
    let p = Some(w.platform.as_str());
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::delete().uri(&format!("/admin/v1/tenants/{a}/keys/nope")),
            p
        )
    );
    assert_eq!(status, 404);
    // Admin of B cannot see A's keys at all.
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::get().uri(&format!("/admin/v1/tenants/{a}/keys")),
            Some(&w.admin_b)
        )
    );
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn device_token_life_cycle() {
    let w = world().await;
    let app = test::init_service(build(&w.env.state)).await;
    let a = w.a_id.as_str();
    let p = Some(w.platform.as_str());
    let whoami = |t: &str| bearer(TestRequest::get().uri("/t/alpha/whoami"), Some(t));

    let (status, _, org) = call!(
        app,
        bearer(
            TestRequest::post()
                .uri(&format!("/admin/v1/tenants/{a}/organizations"))
                .set_json(json!({"kind": "department", "name": "Ward 3"})),
            p
        )
    );
    assert_eq!(status, 201, "{org}");
    let oid = org["id"].as_str().unwrap().to_owned();
    assert!(oid.starts_with("FD"));
    let devices = format!("/admin/v1/tenants/{a}/organizations/{oid}/devices");

    let (status, headers, dev) = call!(
        app,
        bearer(
            TestRequest::post()
                .uri(&devices)
                .set_json(json!({"name": "terminal"})),
            p
        )
    );
    assert_eq!(status, 201, "{dev}");
    let did = dev["id"].as_str().unwrap().to_owned();
    let first = dev["device_token"].as_str().unwrap().to_owned();
    assert_eq!(dev["device_secret"].as_str().unwrap().len(), 43);
    let claims = decode_claims(&first);
    assert!(
        claims.get("exp").is_none(),
        "device tokens do not expire: {claims}"
    );
    assert_eq!(claims["tenant"], "alpha");
    assert_eq!(claims["org"], oid.as_str());
    assert_eq!(claims["device"], did.as_str());
    assert_eq!(claims["ver"], 1);
    let (status, _, me) = call!(app, whoami(&first));
    assert_eq!(status, 200, "{me}");
    // Reading the device never shows its secret or token again.
    let dev_url = format!("{devices}/{did}");
    let (_, _, read) = call!(app, bearer(TestRequest::get().uri(&dev_url), p));
    assert!(read.get("device_secret").is_none() && read.get("device_token").is_none());

    // Changes that must not invalidate it: a rename, a next key, another device.
    let etag = headers.get("etag").unwrap().to_str().unwrap().to_owned();
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::patch()
                .uri(&dev_url)
                .insert_header(("if-match", etag))
                .set_json(json!({"name": "terminal 2"})),
            p
        )
    );
    assert_eq!(status, 200);
    let (status, _, next_key) = call!(
        app,
        bearer(
            TestRequest::post()
                .uri(&format!("/admin/v1/tenants/{a}/keys"))
                .set_json(json!({"alg": "RS256"})),
            p
        )
    );
    assert_eq!(status, 201);
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::post()
                .uri(&devices)
                .set_json(json!({"name": "other"})),
            p
        )
    );
    assert_eq!(status, 201);
    let (status, _, _) = call!(app, whoami(&first));
    assert_eq!(status, 200, "still valid after unrelated changes");

    // Re-issue: the old token dies, the new one lives.
    let (status, _, re) = call!(
        app,
        bearer(TestRequest::post().uri(&format!("{dev_url}/token")), p)
    );
    assert_eq!(status, 200, "{re}");
    let second = re["device_token"].as_str().unwrap().to_owned();
    assert_eq!(decode_claims(&second)["ver"], 2);
    assert_eq!(call!(app, whoami(&first)).0, 401);
    assert_eq!(call!(app, whoami(&second)).0, 200);

    // Certificate change: bound to the new thumbprint; the previous token dies.
    let thumb = "qUqP5cyxm6YcTAhz05Hph5gvu9M";
    let (status, _, bad) = call!(
        app,
        bearer(
            TestRequest::put()
                .uri(&format!("{dev_url}/certificate"))
                .set_json(json!({"thumbprint": thumb})),
            p
        )
    );
    assert_eq!(status, 422, "a thumbprint is 32 bytes: {bad}");
    let thumb = "Ek9UBDDe8Gg1Qo3f9fzAp8uVqMGDy0AM4qRYdD2pDEk";
    let (status, _, re) = call!(
        app,
        bearer(
            TestRequest::put()
                .uri(&format!("{dev_url}/certificate"))
                .set_json(json!({"thumbprint": thumb})),
            p
        )
    );
    assert_eq!(status, 200, "{re}");
    let third = re["device_token"].as_str().unwrap().to_owned();
    assert_eq!(decode_claims(&third)["cnf"]["x5t#S256"], thumb);
    assert_eq!(call!(app, whoami(&second)).0, 401);
    // Now bound: without its certificate (none here) the bearer guard refuses it; whether it
    // is alive is introspection's to say (RFC 8705 §3.2), below.
    assert_eq!(call!(app, whoami(&third)).0, 401);

    // Introspection agrees.
    let (rs, rs_secret) = {
        let alpha = w
            .env
            .state
            .store
            .run(|c| store::repo::tenants::find_by_slug(c, "alpha"))
            .await
            .unwrap()
            .unwrap();
        let (c, s) = w.env.client(&alpha, NewClient::machine("rs", &[])).await;
        (c.client_id, s.unwrap())
    };
    let introspect = |t: &str| {
        post_form("/t/alpha/oauth2/introspect", form(&[("token", t)]))
            .insert_header(basic(&rs, &rs_secret))
    };
    assert_eq!(call!(app, introspect(&third)).2["active"], true);
    assert_eq!(call!(app, introspect(&second)).2["active"], false);

    // Retiring the key that signed it kills it, and the promotion says so.
    let kid = next_key["kid"].as_str().unwrap();
    let (status, _, promoted) = call!(
        app,
        bearer(
            TestRequest::post().uri(&format!("/admin/v1/tenants/{a}/keys/{kid}/promote")),
            p
        )
    );
    assert_eq!(status, 200);
    assert_eq!(
        promoted["invalidated_device_tokens"], 2,
        "both devices' tokens were signed by the old key"
    );
    assert_eq!(call!(app, whoami(&third)).0, 401);
    assert_eq!(call!(app, introspect(&third)).2["active"], false);

    // A fresh token under the new key; then disabling, and deleting, each kill it.
    let (_, _, re) = call!(
        app,
        bearer(TestRequest::post().uri(&format!("{dev_url}/token")), p)
    );
    let fourth = re["device_token"].as_str().unwrap().to_owned();
    assert_eq!(call!(app, introspect(&fourth)).2["active"], true);
    let (_, headers, _) = call!(app, bearer(TestRequest::get().uri(&dev_url), p));
    let etag = headers.get("etag").unwrap().to_str().unwrap().to_owned();
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::patch()
                .uri(&dev_url)
                .insert_header(("if-match", etag))
                .set_json(json!({"disabled": true})),
            p
        )
    );
    assert_eq!(status, 200);
    assert_eq!(call!(app, introspect(&fourth)).2["active"], false);
    let (_, headers, _) = call!(app, bearer(TestRequest::get().uri(&dev_url), p));
    let etag = headers.get("etag").unwrap().to_str().unwrap().to_owned();
    call!(
        app,
        bearer(
            TestRequest::patch()
                .uri(&dev_url)
                .insert_header(("if-match", etag))
                .set_json(json!({"disabled": false})),
            p
        )
    );
    assert_eq!(
        call!(app, introspect(&fourth)).2["active"],
        true,
        "re-enabled"
    );
    let (status, _, _) = call!(app, bearer(TestRequest::delete().uri(&dev_url), p));
    assert_eq!(status, 204);
    assert_eq!(call!(app, introspect(&fourth)).2["active"], false);
    assert_eq!(
        call!(app, bearer(TestRequest::get().uri(&dev_url), p)).0,
        404
    );

    // Admin of B sees none of it.
    let (status, _, _) = call!(
        app,
        bearer(TestRequest::get().uri(&devices), Some(&w.admin_b))
    );
    assert_eq!(status, 404);
    // Every step is in the audit log.
    let (_, _, log) = call!(
        app,
        bearer(
            TestRequest::get().uri(&format!(
                "/admin/v1/tenants/{a}/audit-events?target=device:{did}"
            )),
            p
        )
    );
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "device.create",
            "device.update",
            "device.token",
            "device.certificate",
            "device.token",
            "device.update",
            "device.update",
            "device.delete"
        ]
    );
    assert!(
        !log.to_string().contains(&first[first.len() - 20..]),
        "no token in the audit log"
    );
}

#[actix_web::test]
async fn clients_secrets_rotation_and_generated_keys() {
    let w = world().await;
    let app = test::init_service(build(&w.env.state)).await;
    let b = w.b_id.as_str();
    let adm = Some(w.admin_b.as_str());
    let clients = format!("/admin/v1/tenants/{b}/clients");

    // Validation: scopes, default ⊆ scopes, algorithm, http jwks_uri in a production tenant.
    let req = TestRequest::post().uri(&clients).set_json(json!({"name": "x", "auth_method": "client_secret_basic", "grant_types": ["client_credentials"], "scopes": ["ok", "bad scope"], "access_token_ttl": 1}));
    let (status, _, body) = call!(app, bearer(req, adm));
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["access_token_ttl", "scopes"]);
    let req = TestRequest::post().uri(&clients).set_json(json!({"name": "x", "auth_method": "private_key_jwt", "grant_types": ["client_credentials"], "scopes": ["a"], "jwks_uri": "http://keys.example/jwks"}));
    let (status, _, body) = call!(app, bearer(req, adm));
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("jwks_uri")),
        "{body}"
    );
    let req = TestRequest::post().uri(&clients).set_json(json!({"name": "x", "auth_method": "client_secret_basic", "grant_types": ["client_credentials"], "scopes": ["a"], "default_scopes": ["b"]}));
    assert_eq!(call!(app, bearer(req, adm)).0, 422);

    // Create: the secret once; reading never shows it.
    let req = TestRequest::post().uri(&clients).set_json(json!({"name": "svc", "client_id": "svc-1", "auth_method": "client_secret_basic", "grant_types": ["client_credentials"], "scopes": ["read", "write"], "access_token_alg": "ES256"}));
    let (status, _, created) = call!(app, bearer(req, adm));
    assert_eq!(status, 201, "{created}");
    let first = created["client_secret"].as_str().unwrap().to_owned();
    let (_, _, read) = call!(
        app,
        bearer(TestRequest::get().uri(&format!("{clients}/svc-1")), adm)
    );
    assert!(read.get("client_secret").is_none());
    assert!(!read.to_string().contains(&first));
    let req = TestRequest::post().uri(&clients).set_json(json!({"name": "dup", "client_id": "svc-1", "auth_method": "client_secret_basic", "grant_types": ["client_credentials"], "scopes": []}));
    assert_eq!(call!(app, bearer(req, adm)).0, 409);
    let cc = |secret: &str| {
        post_form(
            &token_url("bravo"),
            form(&[("grant_type", "client_credentials")]),
        )
        .insert_header(basic("svc-1", secret))
    };
    assert_eq!(call!(app, cc(&first)).0, 200);

    // Rotation with overlap: both work; then rotation ending the old at once.
    let (status, _, rotated) = call!(
        app,
        bearer(
            TestRequest::post()
                .uri(&format!("{clients}/svc-1/secrets"))
                .set_json(json!({"previous_expires_in": 3600})),
            adm
        )
    );
    assert_eq!(status, 201, "{rotated}");
    let second = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        call!(app, cc(&first)).0,
        200,
        "the previous secret works during the overlap"
    );
    assert_eq!(call!(app, cc(&second)).0, 200);
    let (_, _, rotated) = call!(
        app,
        bearer(
            TestRequest::post()
                .uri(&format!("{clients}/svc-1/secrets"))
                .set_json(json!({"previous_expires_in": 0})),
            adm
        )
    );
    let third = rotated["client_secret"].as_str().unwrap().to_owned();
    let third_id = rotated["id"].as_str().unwrap().to_owned();
    assert_eq!(call!(app, cc(&first)).0, 401);
    assert_eq!(call!(app, cc(&second)).0, 401);
    assert_eq!(call!(app, cc(&third)).0, 200);
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::delete().uri(&format!("{clients}/svc-1/secrets/{third_id}")),
            adm
        )
    );
    assert_eq!(status, 204);
    assert_eq!(call!(app, cc(&third)).0, 401);

    // A server-generated key pair for private_key_jwt: the private half once, and it works.
    let req = TestRequest::post().uri(&clients).set_json(json!({"name": "redox", "client_id": "redox-1", "auth_method": "private_key_jwt", "grant_types": ["client_credentials"], "scopes": ["fhir"]}));
    let (status, _, created) = call!(app, bearer(req, adm));
    assert_eq!(status, 201, "{created}");
    assert!(created.get("client_secret").is_none());
    let (status, _, pair) = call!(
        app,
        bearer(
            TestRequest::post()
                .uri(&format!("{clients}/redox-1/keys"))
                .set_json(json!({"alg": "RS384"})),
            adm
        )
    );
    assert_eq!(status, 201, "{pair}");
    assert!(pair["private_key_pem"]
        .as_str()
        .unwrap()
        .contains("PRIVATE KEY"));
    let kid = pair["kid"].as_str().unwrap();
    let (_, _, read) = call!(
        app,
        bearer(TestRequest::get().uri(&format!("{clients}/redox-1")), adm)
    );
    assert_eq!(read["jwks"]["keys"][0]["kid"], kid);
    assert!(
        read["jwks"]["keys"][0].get("d").is_none(),
        "only the public key is kept"
    );
    let signer = josekit::jws::RS384
        .signer_from_pem(pair["private_key_pem"].as_str().unwrap())
        .unwrap();
    let mut header = josekit::jws::JwsHeader::new();
    header.set_key_id(kid);
    header.set_token_type("JWT");
    let mut payload = josekit::jwt::JwtPayload::new();
    let now = std::time::SystemTime::now();
    payload.set_issuer("redox-1");
    payload.set_subject("redox-1");
    payload.set_audience(vec![endpoint("bravo")]);
    payload.set_issued_at(&now);
    payload.set_expires_at(&(now + std::time::Duration::from_secs(240)));
    payload.set_jwt_id("generated-key-1");
    let assertion = josekit::jwt::encode_with_signer(&payload, &header, &signer).unwrap();
    let (status, _, tok) = call!(
        app,
        post_form(&token_url("bravo"), assertion_form(&assertion))
    );
    assert_eq!(status, 200, "{tok}");

    // Disabling the client refuses it and makes its outstanding tokens inactive.
    let token = tok["access_token"].as_str().unwrap().to_owned();
    let (_, headers, _) = call!(
        app,
        bearer(TestRequest::get().uri(&format!("{clients}/redox-1")), adm)
    );
    let etag = headers.get("etag").unwrap().to_str().unwrap().to_owned();
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::patch()
                .uri(&format!("{clients}/redox-1"))
                .insert_header(("if-match", etag))
                .set_json(json!({"disabled": true})),
            adm
        )
    );
    assert_eq!(status, 200);
    assert_eq!(
        call!(
            app,
            bearer(TestRequest::get().uri("/t/bravo/whoami"), Some(&token))
        )
        .0,
        401
    );
    // Another tenant's admin cannot reach these clients; the admin client of the platform is kept.
    assert_eq!(
        call!(
            app,
            bearer(
                TestRequest::get().uri(&format!("{clients}/svc-1")),
                Some(&w.admin_a)
            )
        )
        .0,
        404
    );
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::delete().uri("/admin/v1/tenants/system/clients/admin"),
            Some(&w.platform)
        )
    );
    assert_eq!(status, 409);
    let (status, _, _) = call!(
        app,
        bearer(TestRequest::delete().uri(&format!("{clients}/svc-1")), adm)
    );
    assert_eq!(status, 204);
    // No secret in the audit log.
    let (_, _, log) = call!(
        app,
        bearer(
            TestRequest::get().uri(&format!("/admin/v1/tenants/{b}/audit-events")),
            adm
        )
    );
    for s in [&first, &second, &third] {
        assert!(!log.to_string().contains(s.as_str()));
    }
    for action in [
        "client.create",
        "client.secret.rotate",
        "client.key.create",
        "client.update",
        "client.delete",
    ] {
        let found = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == action);
        assert!(found, "{action} audited");
    }
}

/// A certificate signed by `issuer` (self-signed when `None`), CA or not, valid for `days`
/// from `from_days` (negative: in the past).
fn cert(
    cn: &str,
    ca: bool,
    issuer: Option<(
        &openssl::x509::X509,
        &openssl::pkey::PKey<openssl::pkey::Private>,
    )>,
    from_days: i64,
    days: u32,
) -> (
    openssl::x509::X509,
    openssl::pkey::PKey<openssl::pkey::Private>,
) {
    use openssl::x509::extension::BasicConstraints;
    let key = openssl::pkey::PKey::from_ec_key(
        openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = openssl::x509::X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(
        &openssl::bn::BigNum::from_u32(rand_serial())
            .unwrap()
            .to_asn1_integer()
            .unwrap(),
    )
    .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map(|(c, _)| c.subject_name()).unwrap_or(&name))
        .unwrap();
    let start = domain::now_unix() + from_days * 86400;
    b.set_not_before(&openssl::asn1::Asn1Time::from_unix(start).unwrap())
        .unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::from_unix(start + days as i64 * 86400).unwrap())
        .unwrap();
    b.set_pubkey(&key).unwrap();
    let bc = if ca {
        BasicConstraints::new().critical().ca().build()
    } else {
        BasicConstraints::new().build()
    };
    b.append_extension(bc.unwrap()).unwrap();
    b.sign(
        issuer.map(|(_, k)| k).unwrap_or(&key),
        openssl::hash::MessageDigest::sha256(),
    )
    .unwrap();
    (b.build(), key)
}

fn rand_serial() -> u32 {
    let mut b = [0u8; 4];
    openssl::rand::rand_bytes(&mut b).unwrap();
    u32::from_le_bytes(b) >> 1
}

fn pem(c: &openssl::x509::X509) -> String {
    String::from_utf8(c.to_pem().unwrap()).unwrap()
}

#[actix_web::test]
async fn trust_anchors_and_users() {
    let w = world().await;
    let app = test::init_service(build(&w.env.state)).await;
    let b = w.b_id.as_str();
    let adm = Some(w.admin_b.as_str());
    let anchors = format!("/admin/v1/tenants/{b}/trust-anchors");

    let (root, root_key) = cert("Bravo Root CA", true, None, -1, 3650);
    let (inter, _) = cert("Bravo Issuing CA", true, Some((&root, &root_key)), -1, 365);
    let (leaf, _) = cert("device-1", false, Some((&root, &root_key)), -1, 30);
    let (old, _) = cert("Old CA", true, None, -400, 30);
    let chain = format!("{}{}", pem(&root), pem(&inter));
    let (status, _, up) = call!(
        app,
        bearer(
            TestRequest::post()
                .uri(&anchors)
                .set_json(json!({"pem": chain})),
            adm
        )
    );
    assert_eq!(status, 201, "{up}");
    let items = up["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["subject"], "CN=Bravo Root CA");
    assert_eq!(items[1]["issuer"], "CN=Bravo Root CA");
    assert_eq!(
        items[0]["thumbprint"],
        domain::certs::thumbprint_of_der(&root.to_der().unwrap())
    );
    assert!(items[0]["not_after"].as_i64().unwrap() > domain::now_unix());
    for (what, bad) in [
        ("a leaf", pem(&leaf)),
        ("an expired CA", pem(&old)),
        (
            "garbage",
            "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----".into(),
        ),
    ] {
        let (status, _, body) = call!(
            app,
            bearer(
                TestRequest::post()
                    .uri(&anchors)
                    .set_json(json!({"pem": bad})),
                adm
            )
        );
        assert_eq!(
            (status, body["errors"][0]["field"].as_str()),
            (422, Some("pem")),
            "{what}: {body}"
        );
    }
    let (status, _, _) = call!(
        app,
        bearer(
            TestRequest::post()
                .uri(&anchors)
                .set_json(json!({"pem": pem(&root)})),
            adm
        )
    );
    assert_eq!(status, 409, "already an anchor");
    let (_, _, list) = call!(app, bearer(TestRequest::get().uri(&anchors), adm));
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let aid = list["items"][1]["id"].as_str().unwrap();
    assert_eq!(
        call!(
            app,
            bearer(TestRequest::delete().uri(&format!("{anchors}/{aid}")), adm)
        )
        .0,
        204
    );
    assert_eq!(
        call!(
            app,
            bearer(TestRequest::delete().uri(&format!("{anchors}/{aid}")), adm)
        )
        .0,
        404
    );
    assert_eq!(
        call!(
            app,
            bearer(TestRequest::get().uri(&anchors), Some(&w.admin_a))
        )
        .0,
        404
    );

    // Users: production tenants require MFA; platform_admin only in system; memberships checked.
    let users = format!("/admin/v1/tenants/{b}/users");
    let (_, _, org) = call!(
        app,
        bearer(
            TestRequest::post()
                .uri(&format!("/admin/v1/tenants/{b}/organizations"))
                .set_json(json!({"kind": "vendor", "name": "Acme"})),
            adm
        )
    );
    let oid = org["id"].as_str().unwrap();
    let new = |extra: Value| {
        let mut v =
            json!({"email": "Ada@Acme.example", "password": "correct horse battery staple"});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        TestRequest::post().uri(&users).set_json(v)
    };
    let (status, _, body) = call!(app, bearer(new(json!({"mfa_enabled": false})), adm));
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("mfa_enabled"))
    );
    let (status, _, body) = call!(
        app,
        bearer(new(json!({"tenant_roles": ["platform_admin"]})), adm)
    );
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("tenant_roles"))
    );
    let (status, _, body) = call!(
        app,
        bearer(new(json!({"password": "short", "email": "nope"})), adm)
    );
    assert_eq!(status, 422);
    assert_eq!(body["errors"].as_array().unwrap().len(), 2, "{body}");
    let (status, _, body) = call!(
        app,
        bearer(
            new(json!({"memberships": [{"organization_id": "VNnot-here", "role": "owner"}]})),
            adm
        )
    );
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("memberships")),
        "{body}"
    );
    let (status, headers, user) = call!(
        app,
        bearer(
            new(
                json!({"memberships": [{"organization_id": oid, "role": "owner"}], "tenant_roles": ["tenant_admin"]})
            ),
            adm
        )
    );
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["email"], "ada@acme.example");
    assert_eq!(
        user["memberships"],
        json!([{"organization_id": oid, "role": "owner"}])
    );
    assert!(user.get("password").is_none() && !user.to_string().contains("argon2"));
    assert_eq!(
        call!(app, bearer(new(json!({})), adm)).0,
        409,
        "email taken"
    );
    let uid = user["id"].as_str().unwrap();
    let etag = headers.get("etag").unwrap().to_str().unwrap().to_owned();
    let (status, _, upd) = call!(
        app,
        bearer(
            TestRequest::patch()
                .uri(&format!("{users}/{uid}"))
                .insert_header(("if-match", etag))
                .set_json(json!({"disabled": true, "memberships": []})),
            adm
        )
    );
    assert_eq!(status, 200, "{upd}");
    assert_eq!(upd["disabled"], true);
    assert_eq!(upd["memberships"], json!([]));
    let (_, _, list) = call!(app, bearer(TestRequest::get().uri(&users), adm));
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // A page lists each person with their own memberships (read for the page in one query).
    let (status, _, _) = call!(
        app,
        bearer(
            new(
                json!({"email": "grace@acme.example", "memberships": [{"organization_id": oid, "role": "member"}]})
            ),
            adm
        )
    );
    assert_eq!(status, 201);
    let (_, _, list) = call!(app, bearer(TestRequest::get().uri(&users), adm));
    let memberships: Vec<(String, Value)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["email"].as_str().unwrap().to_owned(),
                u["memberships"].clone(),
            )
        })
        .collect();
    assert!(
        memberships.contains(&("ada@acme.example".into(), json!([]))),
        "{list}"
    );
    assert!(
        memberships.contains(&(
            "grace@acme.example".into(),
            json!([{"organization_id": oid, "role": "member"}])
        )),
        "{list}"
    );
    assert_eq!(
        call!(
            app,
            bearer(
                TestRequest::get().uri(&format!("{users}/{uid}")),
                Some(&w.admin_a)
            )
        )
        .0,
        404
    );
}

/// A deletion applies on the replica that made it at once: the organization's clients and
/// device tokens stop working in the same instant, not when their cache entries expire.
#[actix_web::test]
async fn deleting_an_organization_stops_its_clients_and_devices_at_once() {
    let env = env();
    let platform = platform_token(&env).await;
    let acme = env.tenant("acme", Environment::Sandbox).await;
    let app = test::init_service(build(&env.state)).await;
    let admin = |req: TestRequest| bearer(req, Some(&platform));
    let (s, _, org) = send(
        &app,
        admin(TestRequest::post().uri("/admin/v1/tenants/acme/organizations"))
            .set_json(json!({"kind": "vendor", "name": "Vendor"})),
    )
    .await;
    assert_eq!(s, 201, "{org}");
    let oid = org["id"].as_str().unwrap().to_owned();
    let (s, _, device) = send(
        &app,
        admin(TestRequest::post().uri(&format!(
            "/admin/v1/tenants/acme/organizations/{oid}/devices"
        )))
        .set_json(json!({"name": "terminal"})),
    )
    .await;
    assert_eq!(s, 201, "{device}");
    let device_token = device["device_token"].as_str().unwrap().to_owned();
    let mut new = NewClient::machine("connector", &["read"]);
    new.organization_id = Some(oid.clone());
    let (client, secret) = env.client(&acme, new).await;
    let secret = secret.unwrap();
    let whoami = || {
        bearer(
            TestRequest::get().uri("/t/acme/whoami"),
            Some(&device_token),
        )
    };
    // Both in use, so both are cached.
    client_token(&app, "acme", &client.client_id, &secret).await;
    let (s, _, b) = send(&app, whoami()).await;
    assert_eq!(s, 200, "{b}");

    let (s, _, b) = send(
        &app,
        admin(TestRequest::delete().uri(&format!("/admin/v1/tenants/acme/organizations/{oid}"))),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, _, b) = send(
        &app,
        post_form(
            &token_url("acme"),
            form(&[("grant_type", "client_credentials")]),
        )
        .insert_header(basic(&client.client_id, &secret)),
    )
    .await;
    assert_eq!(s, 401, "the deleted organization's client: {b}");
    let (s, _, b) = send(&app, whoami()).await;
    assert_eq!(s, 401, "the deleted organization's device: {b}");
}
