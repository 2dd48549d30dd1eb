//! People and their integration accounts, over HTTP only: password sign-in with the code read
//! from a real SMTP server, step-up, integrations with rotating refresh tokens, enrollments and
//! `on_behalf_of`, and every way those can be refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test::{self, TestRequest};
use common::*;
use portcullis_server::app::build;
use portcullis_server::bootstrap;
use portcullis_server::config::{BootstrapConfig, RunMode};
use serde_json::{json, Value};

const ADMIN_SECRET: &str = "admin-secret-admin-secret-admin-secret-00";
const PASSWORD: &str = "correct horse battery staple";
const MFA_GRANT: &str = "urn:portcullis:params:oauth:grant-type:mfa-otp";

/// A production tenant `neris` with a vendor, a second vendor, a department, and people, all
/// made through the admin API.
struct World {
    env: Env,
    platform: String,
    tenant_id: String,
    vendor: String,
    other_vendor: String,
    department: String,
}

const ADA: &str = "ada@acme.example"; // owner of the vendor
const BOB: &str = "bob@acme.example"; // member of the vendor
const DANA: &str = "dana@fd.example"; // owner of the department
const EVE: &str = "eve@other.example"; // owner of the other vendor

macro_rules! app {
    ($w:expr) => {
        test::init_service(build(&$w.env.state)).await
    };
}

async fn world() -> World {
    let env = env();
    let cfg = BootstrapConfig {
        admin_email: "root@example.com".into(),
        admin_password: Some("pw-pw-pw-pw-pw".into()),
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
    let app = test::init_service(build(&env.state)).await;
    let (s, _, b) = send(
        &app,
        post_form(
            &token_url("system"),
            form(&[("grant_type", "client_credentials")]),
        )
        .insert_header(basic("admin", ADMIN_SECRET)),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let platform = b["access_token"].as_str().unwrap().to_owned();
    let admin = |req: TestRequest| req.insert_header(bearer(&platform));
    let (s, _, t) = send(
        &app,
        admin(TestRequest::post().uri("/admin/v1/tenants"))
            .set_json(json!({"slug": "neris", "name": "NERIS", "environment": "production"})),
    )
    .await;
    assert_eq!(s, 201, "{t}");
    let tenant_id = t["id"].as_str().unwrap().to_owned();
    let org = |kind: &'static str, name: &'static str| {
        let req =
            admin(TestRequest::post().uri(&format!("/admin/v1/tenants/{tenant_id}/organizations")))
                .set_json(json!({"kind": kind, "name": name}));
        let app = &app;
        async move {
            let (s, _, o) = send(app, req).await;
            assert_eq!(s, 201, "{o}");
            o["id"].as_str().unwrap().to_owned()
        }
    };
    let vendor = org("vendor", "Acme Reporting").await;
    let other_vendor = org("vendor", "Other Vendor").await;
    let department = org("department", "Springfield FD").await;
    for (email, orgs) in [
        (ADA, vec![(&vendor, "owner")]),
        (BOB, vec![(&vendor, "member")]),
        (DANA, vec![(&department, "owner")]),
        (EVE, vec![(&other_vendor, "owner")]),
    ] {
        let memberships: Vec<Value> = orgs
            .iter()
            .map(|(o, r)| json!({"organization_id": o, "role": r}))
            .collect();
        let (s, _, u) = send(
            &app,
            admin(TestRequest::post().uri(&format!("/admin/v1/tenants/{tenant_id}/users")))
                .set_json(
                    json!({"email": email, "password": PASSWORD, "mfa_enabled": true,
                    "memberships": memberships}),
                ),
        )
        .await;
        assert_eq!(s, 201, "{u}");
    }
    World {
        env,
        platform,
        tenant_id,
        vendor,
        other_vendor,
        department,
    }
}

fn password_form(email: &str, password: &str) -> String {
    form(&[
        ("grant_type", "password"),
        ("client_id", "portal"),
        ("username", email),
        ("password", password),
    ])
}

/// Password, then the code from the mail: the tokens of a person.
async fn sign_in<S, B>(app: &S, w: &World, email: &str) -> Value
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let (s, h, b) = send(
        app,
        post_form(&token_url("neris"), password_form(email, PASSWORD))
            .peer_addr(PERSON_ADDR.parse().unwrap()),
    )
    .await;
    assert_eq!(s, 403, "{b}");
    assert_eq!(b["error"], "mfa_required");
    assert_eq!(h.get("cache-control").unwrap(), "no-store");
    let mfa_token = b["mfa_token"].as_str().unwrap().to_owned();
    let code = w.env.mail.last_code_to(email);
    let (s, _, b) = send(
        app,
        post_form(
            &token_url("neris"),
            form(&[
                ("grant_type", MFA_GRANT),
                ("client_id", "portal"),
                ("mfa_token", &mfa_token),
                ("otp", &code),
            ]),
        )
        .peer_addr(PERSON_ADDR.parse().unwrap()),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    b
}

/// Where the people of these tests sign in from (the audit log records it).
const PERSON_ADDR: &str = "10.0.0.5:40000";

fn client_form(extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![("grant_type", "client_credentials")];
    pairs.extend_from_slice(extra);
    form(&pairs)
}

/// Ada, the vendor's owner, signed in: her token response and access token.
async fn ada<S, B>(app: &S, w: &World) -> (Value, String)
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let ada = sign_in(app, w, ADA).await;
    let at = ada["access_token"].as_str().unwrap().to_owned();
    (ada, at)
}

/// An integration Ada creates for her vendor: its client id and secret (shown once).
async fn integration<S, B>(app: &S, w: &World, ada_at: &str) -> (String, String)
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let (s, _, created) = send(
        app,
        TestRequest::post()
            .uri(&format!("/account/integration/{}", w.vendor))
            .insert_header(bearer(ada_at))
            .set_json(json!({"name": "CAD connector", "scopes": ["reports:write"]})),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    (id, secret)
}

/// Ada asks for her vendor to act for the department; the pending enrollment's id.
async fn request_enrollment<S, B>(app: &S, w: &World, ada_at: &str) -> String
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let (s, _, e) = send(
        app,
        TestRequest::post()
            .uri("/account/enrollments")
            .insert_header(bearer(ada_at))
            .set_json(json!({"vendor_id": w.vendor, "department_id": w.department})),
    )
    .await;
    assert_eq!(s, 201, "{e}");
    assert_eq!(e["status"], "pending");
    e["id"].as_str().unwrap().to_owned()
}

/// Dana, the department's owner, takes `decision` on the enrollment; her access token.
async fn department_decides<S, B>(app: &S, w: &World, enrollment: &str, decision: &str) -> String
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let dana = sign_in(app, w, DANA).await;
    let dana_at = dana["access_token"].as_str().unwrap().to_owned();
    let (s, _, e) = send(
        app,
        TestRequest::post()
            .uri(&format!("/account/enrollments/{enrollment}/{decision}"))
            .insert_header(bearer(&dana_at)),
    )
    .await;
    assert_eq!(s, 200, "{e}");
    dana_at
}

fn introspect(token: &str, creds: &(&'static str, String)) -> TestRequest {
    post_form("/t/neris/oauth2/introspect", form(&[("token", token)])).insert_header(creds.clone())
}

#[actix_web::test]
async fn a_person_signs_in_with_the_emailed_code_and_sees_their_entities() {
    let w = world().await;
    let app = app!(w);
    // A person signs in: password, code by SMTP, tokens with amr and auth_time.
    let ada = sign_in(&app, &w, ADA).await;
    let ada_at = ada["access_token"].as_str().unwrap().to_owned();
    let claims = jwt_claims(&ada_at);
    assert_eq!(claims["amr"], json!(["pwd", "otp"]));
    assert!(claims["auth_time"].as_i64().unwrap() > 0);
    assert_eq!(claims["client_id"], "portal");
    assert!(ada["refresh_token"].is_string());
    let mail = w.env.mail.nth(1);
    assert!(mail.from.contains("no-reply@portcullis.test"), "{mail:?}");

    let (s, _, me) = send(
        &app,
        TestRequest::get()
            .uri("/account/me")
            .insert_header(bearer(&ada_at)),
    )
    .await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["email"], ADA);
    assert_eq!(me["tenant"], "neris");
    let (s, _, ents) = send(
        &app,
        TestRequest::get()
            .uri("/account/entities")
            .insert_header(bearer(&ada_at)),
    )
    .await;
    assert_eq!(s, 200, "{ents}");
    assert_eq!(
        ents["items"],
        json!([{"id": w.vendor, "kind": "vendor", "name": "Acme Reporting", "role": "owner"}])
    );
}

#[actix_web::test]
async fn an_integration_secret_is_shown_once() {
    let w = world().await;
    let app = app!(w);
    let (_, ada_at) = ada(&app, &w).await;
    // She creates an integration for her vendor; the secret is shown once.
    let (s, h, created) = send(
        &app,
        TestRequest::post()
            .uri(&format!("/account/integration/{}", w.vendor))
            .insert_header(bearer(&ada_at))
            .set_json(json!({"name": "CAD connector", "scopes": ["reports:write"]})),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(created["entity_id"], w.vendor.as_str());
    assert!(h.get("location").is_some());
    let (s, _, got) = send(
        &app,
        TestRequest::get()
            .uri(&format!("/account/integration/{}/{client_id}", w.vendor))
            .insert_header(bearer(&ada_at)),
    )
    .await;
    assert_eq!(s, 200, "{got}");
    assert!(got.get("client_secret").is_none(), "shown once only: {got}");
    assert!(!got.to_string().contains(&secret), "{got}");
}

#[actix_web::test]
async fn integration_refresh_tokens_rotate_and_a_spent_one_ends_the_family() {
    let w = world().await;
    let app = app!(w);
    let (_, ada_at) = ada(&app, &w).await;
    let (client_id, secret) = integration(&app, &w, &ada_at).await;
    // The integration gets tokens and refreshes them, rotating, again and again.
    let creds = basic(&client_id, &secret);
    let (s, _, t) = send(
        &app,
        post_form(&token_url("neris"), client_form(&[])).insert_header(creds.clone()),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let c = jwt_claims(t["access_token"].as_str().unwrap());
    assert_eq!(c["org"], w.vendor.as_str());
    assert_eq!(c["scope"], "reports:write");
    let mut refresh = t["refresh_token"].as_str().unwrap().to_owned();
    let first_refresh = refresh.clone();
    for _ in 0..4 {
        let (s, _, r) = send(
            &app,
            post_form(
                &token_url("neris"),
                form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]),
            )
            .insert_header(creds.clone()),
        )
        .await;
        assert_eq!(s, 200, "{r}");
        let next = r["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(next, refresh, "integrations rotate their refresh tokens");
        assert!(r["access_token"].is_string());
        refresh = next;
    }
    // A replayed (spent) refresh token kills the family: the live one stops too.
    let (s, _, r) = send(
        &app,
        post_form(
            &token_url("neris"),
            form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &first_refresh),
            ]),
        )
        .insert_header(creds.clone()),
    )
    .await;
    assert_eq!(
        (s, r["error"].as_str()),
        (400, Some("invalid_grant")),
        "{r}"
    );
    let (s, _, r) = send(
        &app,
        post_form(
            &token_url("neris"),
            form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]),
        )
        .insert_header(creds.clone()),
    )
    .await;
    assert_eq!(
        (s, r["error"].as_str()),
        (400, Some("invalid_grant")),
        "{r}"
    );
}

#[actix_web::test]
async fn acting_for_a_department_needs_an_enrollment_the_department_approves() {
    let w = world().await;
    let app = app!(w);
    let (_, ada_at) = ada(&app, &w).await;
    let (client_id, secret) = integration(&app, &w, &ada_at).await;
    let creds = basic(&client_id, &secret);
    // Acting for a department needs an active enrollment.
    let obo = [("on_behalf_of", w.department.as_str())];
    let (s, _, r) = send(
        &app,
        post_form(&token_url("neris"), client_form(&obo)).insert_header(creds.clone()),
    )
    .await;
    assert_eq!(
        (s, r["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{r}"
    );
    let enrollment = request_enrollment(&app, &w, &ada_at).await;
    // The vendor cannot approve its own request.
    let (s, _, r) = send(
        &app,
        TestRequest::post()
            .uri(&format!("/account/enrollments/{enrollment}/approve"))
            .insert_header(bearer(&ada_at)),
    )
    .await;
    assert_eq!(s, 403, "{r}");
    department_decides(&app, &w, &enrollment, "approve").await;

    let (s, _, t) = send(
        &app,
        post_form(&token_url("neris"), client_form(&obo)).insert_header(creds.clone()),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let obo_token = t["access_token"].as_str().unwrap().to_owned();
    let c = jwt_claims(&obo_token);
    assert_eq!(c["on_behalf_of"], w.department.as_str());
    assert_eq!(c["org"], w.vendor.as_str());
    let (s, _, i) = send(&app, introspect(&obo_token, &creds)).await;
    assert_eq!((s, &i["active"]), (200, &json!(true)), "{i}");
    assert_eq!(i["on_behalf_of"], w.department.as_str());
}

#[actix_web::test]
async fn revoking_the_enrollment_stops_its_tokens_at_once() {
    let w = world().await;
    let app = app!(w);
    let (_, ada_at) = ada(&app, &w).await;
    let (client_id, secret) = integration(&app, &w, &ada_at).await;
    let creds = basic(&client_id, &secret);
    let obo = [("on_behalf_of", w.department.as_str())];
    let enrollment = request_enrollment(&app, &w, &ada_at).await;
    let dana_at = department_decides(&app, &w, &enrollment, "approve").await;
    let (s, _, t) = send(
        &app,
        post_form(&token_url("neris"), client_form(&obo)).insert_header(creds.clone()),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let obo_token = t["access_token"].as_str().unwrap().to_owned();
    let obo_refresh = t["refresh_token"].as_str().unwrap().to_owned();
    // The department revokes: the token stops at once, and no new one is granted.
    let (s, _, e) = send(
        &app,
        TestRequest::post()
            .uri(&format!("/account/enrollments/{enrollment}/revoke"))
            .insert_header(bearer(&dana_at)),
    )
    .await;
    assert_eq!((s, &e["status"]), (200, &json!("revoked")), "{e}");
    let (s, _, i) = send(&app, introspect(&obo_token, &creds)).await;
    assert_eq!((s, &i["active"]), (200, &json!(false)), "{i}");
    let (s, h, _) = send(
        &app,
        TestRequest::get()
            .uri("/t/neris/whoami")
            .insert_header(bearer(&obo_token)),
    )
    .await;
    assert_eq!(s, 401);
    assert!(h
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let (s, _, r) = send(
        &app,
        post_form(&token_url("neris"), client_form(&obo)).insert_header(creds.clone()),
    )
    .await;
    assert_eq!(
        (s, r["error"].as_str()),
        (400, Some("unauthorized_client")),
        "{r}"
    );
    let (s, _, r) = send(
        &app,
        post_form(
            &token_url("neris"),
            form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &obo_refresh),
            ]),
        )
        .insert_header(creds.clone()),
    )
    .await;
    assert_eq!(
        s, 400,
        "a family acting for the department ends with it: {r}"
    );
}

#[actix_web::test]
async fn a_persons_refresh_token_is_not_rotated_and_keeps_the_sign_in_time() {
    let w = world().await;
    let app = app!(w);
    let (ada, _) = ada(&app, &w).await;
    let claims = jwt_claims(ada["access_token"].as_str().unwrap());
    // A person's refresh token is not rotated: it gives access tokens only, repeatedly, with
    // the sign-in's auth_time.
    let ada_refresh = ada["refresh_token"].as_str().unwrap();
    for _ in 0..2 {
        let (s, _, r) = send(
            &app,
            post_form(
                &token_url("neris"),
                form(&[
                    ("grant_type", "refresh_token"),
                    ("client_id", "portal"),
                    ("refresh_token", ada_refresh),
                ]),
            ),
        )
        .await;
        assert_eq!(s, 200, "{r}");
        assert!(r.get("refresh_token").is_none(), "not rotated: {r}");
        let c = jwt_claims(r["access_token"].as_str().unwrap());
        assert_eq!(c["auth_time"], claims["auth_time"]);
        assert_eq!(c["amr"], json!(["pwd", "otp"]));
    }
}

#[actix_web::test]
async fn deleting_an_integration_kills_its_tokens_at_once() {
    let w = world().await;
    let app = app!(w);
    let (_, ada_at) = ada(&app, &w).await;
    let (client_id, secret) = integration(&app, &w, &ada_at).await;
    let creds = basic(&client_id, &secret);
    // Deleting the integration: its tokens are inactive at once, it cannot authenticate.
    let (s, _, t) = send(
        &app,
        post_form(&token_url("neris"), client_form(&[])).insert_header(creds.clone()),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let live = t["access_token"].as_str().unwrap().to_owned();
    let (s, _, _) = send(
        &app,
        TestRequest::delete()
            .uri(&format!("/account/integration/{}/{client_id}", w.vendor))
            .insert_header(bearer(&ada_at)),
    )
    .await;
    assert_eq!(s, 204);
    let (s, _, _) = send(
        &app,
        TestRequest::get()
            .uri("/t/neris/whoami")
            .insert_header(bearer(&live)),
    )
    .await;
    assert_eq!(s, 401, "a deleted integration's token is dead");
    let (s, _, _) = send(
        &app,
        post_form(&token_url("neris"), client_form(&[])).insert_header(creds.clone()),
    )
    .await;
    assert_eq!(s, 401);
}

#[actix_web::test]
async fn every_account_action_is_audited_under_one_actor_and_without_secrets() {
    let w = world().await;
    let app = app!(w);
    let (ada, ada_at) = ada(&app, &w).await;
    let claims = jwt_claims(ada["access_token"].as_str().unwrap());
    let (client_id, secret) = integration(&app, &w, &ada_at).await;
    let enrollment = request_enrollment(&app, &w, &ada_at).await;
    department_decides(&app, &w, &enrollment, "approve").await;
    department_decides(&app, &w, &enrollment, "revoke").await;
    let (s, _, _) = send(
        &app,
        TestRequest::delete()
            .uri(&format!("/account/integration/{}/{client_id}", w.vendor))
            .insert_header(bearer(&ada_at)),
    )
    .await;
    assert_eq!(s, 204);
    // Every account action is in the audit log.
    let (s, _, log) = send(
        &app,
        TestRequest::get()
            .uri(&format!(
                "/admin/v1/tenants/{}/audit-events?limit=200",
                w.tenant_id
            ))
            .insert_header(bearer(&w.platform)),
    )
    .await;
    assert_eq!(s, 200, "{log}");
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "user.mfa.code_sent",
        "user.sign_in",
        "integration.create",
        "enrollment.request",
        "enrollment.approve",
        "enrollment.revoke",
        "integration.delete",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let text = log.to_string();
    assert!(!text.contains(&secret), "no secret in the audit log");
    // A person's sign-ins and account actions share one actor name: one filter finds them all.
    let ada_id = claims["sub"].as_str().unwrap();
    let (s, _, mine) = send(
        &app,
        TestRequest::get()
            .uri(&format!(
                "/admin/v1/tenants/{}/audit-events?actor=user:{ada_id}@neris",
                w.tenant_id
            ))
            .insert_header(bearer(&w.platform)),
    )
    .await;
    assert_eq!(s, 200, "{mine}");
    let mine: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        mine.contains(&"user.sign_in") && mine.contains(&"integration.create"),
        "{mine:?}"
    );
    let (_, _, sign_ins) = send(
        &app,
        TestRequest::get()
            .uri(&format!(
                "/admin/v1/tenants/{}/audit-events?action=user.sign_in",
                w.tenant_id
            ))
            .insert_header(bearer(&w.platform)),
    )
    .await;
    let first = &sign_ins["items"][0];
    assert_eq!(first["client_ip"], "10.0.0.5", "from where: {first}");
    assert_eq!(first["details"]["amr"], json!(["pwd", "otp"]));
}

async fn start_sign_in<S, B>(app: &S, email: &str) -> String
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let (s, _, b) = send(
        app,
        post_form(&token_url("neris"), password_form(email, PASSWORD)),
    )
    .await;
    assert_eq!(s, 403, "{b}");
    b["mfa_token"].as_str().unwrap().to_owned()
}

fn otp_form(mfa_token: &str, otp: &str) -> String {
    form(&[
        ("grant_type", MFA_GRANT),
        ("client_id", "portal"),
        ("mfa_token", mfa_token),
        ("otp", otp),
    ])
}

#[actix_web::test]
async fn codes_are_limited_single_use_and_expire() {
    let w = world().await;
    let app = app!(w);

    // Five wrong codes use the challenge up; the right one is refused after that.
    let mfa = start_sign_in(&app, ADA).await;
    let code = w.env.mail.last_code_to(ADA);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (0..5).rev() {
        let (s, _, b) = send(&app, post_form(&token_url("neris"), otp_form(&mfa, wrong))).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (400, Some("invalid_grant")),
            "{b}"
        );
        assert!(
            b["error_description"]
                .as_str()
                .unwrap()
                .contains(&format!("{left} attempt")),
            "{b}"
        );
    }
    let (s, _, b) = send(&app, post_form(&token_url("neris"), otp_form(&mfa, &code))).await;
    assert_eq!(s, 400, "{b}");
    assert!(b["error_description"]
        .as_str()
        .unwrap()
        .contains("too many"));

    // A code works once.
    let mfa = start_sign_in(&app, ADA).await;
    let code = w.env.mail.last_code_to(ADA);
    let (s, _, b) = send(&app, post_form(&token_url("neris"), otp_form(&mfa, &code))).await;
    assert_eq!(s, 200, "{b}");
    let (s, _, b) = send(&app, post_form(&token_url("neris"), otp_form(&mfa, &code))).await;
    assert_eq!(s, 400, "{b}");
    assert!(b["error_description"]
        .as_str()
        .unwrap()
        .contains("already used"));

    // An expired code is refused (its expiry moved 5 minutes back in the database).
    let mfa = start_sign_in(&app, ADA).await;
    let code = w.env.mail.last_code_to(ADA);
    expire_challenges(&w).await;
    let (s, _, b) = send(&app, post_form(&token_url("neris"), otp_form(&mfa, &code))).await;
    assert_eq!(s, 400, "{b}");
    assert!(b["error_description"].as_str().unwrap().contains("expired"));

    // Only the newest code works; the codes are never stored.
    let old = start_sign_in(&app, BOB).await;
    let old_code = w.env.mail.last_code_to(BOB);
    let new = start_sign_in(&app, BOB).await;
    let new_code = w.env.mail.last_code_to(BOB);
    let (s, _, _) = send(
        &app,
        post_form(&token_url("neris"), otp_form(&old, &old_code)),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _, b) = send(
        &app,
        post_form(&token_url("neris"), otp_form(&new, &new_code)),
    )
    .await;
    assert_eq!(s, 200, "{b}");

    // Sends are limited: the sixth code within 15 minutes is refused with Retry-After.
    for _ in 0..3 {
        start_sign_in(&app, BOB).await;
    }
    let (s, h, b) = send(
        &app,
        post_form(&token_url("neris"), password_form(BOB, PASSWORD)),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (429, Some("slow_down")), "{b}");
    assert!(h.get("retry-after").is_some());
}

async fn expire_challenges(w: &World) {
    use diesel::prelude::*;
    use store::schema::mfa_challenges;
    w.env
        .state
        .store
        .run(|c| {
            diesel::update(mfa_challenges::table)
                .set(mfa_challenges::expires_at.eq(mfa_challenges::expires_at - 301))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
}

#[actix_web::test]
async fn passwords_lock_out_and_do_not_tell_which_accounts_exist() {
    let w = world().await;
    let app = app!(w);
    let (s, _, unknown) = send(
        &app,
        post_form(
            &token_url("neris"),
            password_form("nobody@x.example", PASSWORD),
        ),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _, wrong) = send(
        &app,
        post_form(&token_url("neris"), password_form(ADA, "wrong password!")),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        unknown, wrong,
        "same answer for an unknown email and a wrong password"
    );
    for _ in 0..4 {
        send(
            &app,
            post_form(&token_url("neris"), password_form(ADA, "wrong password!")),
        )
        .await;
    }
    // Locked: the right password is refused too, with the same answer.
    let (s, _, b) = send(
        &app,
        post_form(&token_url("neris"), password_form(ADA, PASSWORD)),
    )
    .await;
    assert_eq!((s, &b), (400, &wrong));
    assert_eq!(w.env.mail.count(), 0, "no code for a locked account");
    // Only the portal (a public client) signs people in; a confidential client without its
    // credentials is refused.
    let (s, _, b) = send(
        &app,
        post_form(
            &token_url("neris"),
            form(&[
                ("grant_type", "password"),
                ("client_id", "admin"),
                ("username", BOB),
                ("password", PASSWORD),
            ]),
        ),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid_client")),
        "{b}"
    );
}

#[actix_web::test]
async fn only_managers_with_a_recent_code_sign_in_issue_secrets() {
    let w = world().await;
    let app = app!(w);
    let create = |entity: &str, token: &str| {
        TestRequest::post()
            .uri(&format!("/account/integration/{entity}"))
            .insert_header(bearer(token))
            .set_json(json!({"name": "x", "scopes": ["reports:write"]}))
    };

    // A member without the admin role.
    let bob = sign_in(&app, &w, BOB).await;
    let bob_at = bob["access_token"].as_str().unwrap();
    let (s, _, b) = send(&app, create(&w.vendor, bob_at)).await;
    assert_eq!(s, 403, "{b}");
    assert!(b["detail"].as_str().unwrap().contains("member"));
    // Another entity's id: not found, whatever the caller's roles elsewhere.
    let ada = sign_in(&app, &w, ADA).await;
    let ada_at = ada["access_token"].as_str().unwrap().to_owned();
    let (s, _, b) = send(&app, create(&w.other_vendor, &ada_at)).await;
    assert_eq!(s, 404, "{b}");
    let (s, _, _) = send(
        &app,
        TestRequest::get()
            .uri(&format!("/account/integration/{}", w.other_vendor))
            .insert_header(bearer(&ada_at)),
    )
    .await;
    assert_eq!(s, 404);
    // Eve's integration is not reachable through Ada's vendor either.
    let eve = sign_in(&app, &w, EVE).await;
    let (s, _, eve_int) = send(
        &app,
        create(&w.other_vendor, eve["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(s, 201, "{eve_int}");
    let (s, _, _) = send(
        &app,
        TestRequest::get()
            .uri(&format!(
                "/account/integration/{}/{}",
                w.vendor,
                eve_int["client_id"].as_str().unwrap()
            ))
            .insert_header(bearer(&ada_at)),
    )
    .await;
    assert_eq!(s, 404);

    // A client's token is not a person's.
    let (s, _, b) = send(&app, create(&w.vendor, &w.platform)).await;
    assert!(s == 403 || s == 404, "{s} {b}");

    // A stale sign-in (11 minutes old) must step up: RFC 9470.
    let (s, _, created) = send(&app, create(&w.vendor, &ada_at)).await;
    assert_eq!(s, 201, "{created}");
    let cid = created["client_id"].as_str().unwrap().to_owned();
    age_sign_ins(&w, 11 * 60).await;
    let (s, _, r) = send(
        &app,
        post_form(
            &token_url("neris"),
            form(&[
                ("grant_type", "refresh_token"),
                ("client_id", "portal"),
                ("refresh_token", ada["refresh_token"].as_str().unwrap()),
            ]),
        ),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let stale = r["access_token"].as_str().unwrap().to_owned();
    for req in [
        create(&w.vendor, &stale),
        TestRequest::post()
            .uri(&format!("/account/integration/{}/{cid}/secret", w.vendor))
            .insert_header(bearer(&stale)),
    ] {
        let (s, h, b) = send(&app, req).await;
        assert_eq!(s, 401, "{b}");
        let challenge = h.get("www-authenticate").unwrap().to_str().unwrap();
        assert!(
            challenge.contains("error=\"insufficient_user_authentication\"")
                && challenge.contains("max_age=\"600\""),
            "{challenge}"
        );
        assert_eq!(
            b["type"],
            "urn:portcullis:problem:insufficient-user-authentication"
        );
    }
    // Reading still works with the older sign-in; rotating works after a fresh one, and the
    // old secret stops when asked.
    let (s, _, _) = send(
        &app,
        TestRequest::get()
            .uri(&format!("/account/integration/{}", w.vendor))
            .insert_header(bearer(&stale)),
    )
    .await;
    assert_eq!(s, 200);
    let fresh = sign_in(&app, &w, ADA).await;
    let (s, _, rotated) = send(
        &app,
        TestRequest::post()
            .uri(&format!("/account/integration/{}/{cid}/secret", w.vendor))
            .insert_header(bearer(fresh["access_token"].as_str().unwrap()))
            .set_json(json!({"previous_expires_in": 0})),
    )
    .await;
    assert_eq!(s, 201, "{rotated}");
    let (s, _, _) = send(
        &app,
        post_form(&token_url("neris"), client_form(&[]))
            .insert_header(basic(&cid, created["client_secret"].as_str().unwrap())),
    )
    .await;
    assert_eq!(s, 401, "the old secret ended");
    let (s, _, b) = send(
        &app,
        post_form(&token_url("neris"), client_form(&[]))
            .insert_header(basic(&cid, rotated["client_secret"].as_str().unwrap())),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    // No body at all is fine too (the default overlap).
    let (s, _, b) = send(
        &app,
        TestRequest::post()
            .uri(&format!("/account/integration/{}/{cid}/secret", w.vendor))
            .insert_header(bearer(fresh["access_token"].as_str().unwrap())),
    )
    .await;
    assert_eq!(s, 201, "{b}");
}

/// Moves every person's sign-in `secs` into the past, as their refresh tokens remember it.
async fn age_sign_ins(w: &World, secs: i64) {
    use diesel::prelude::*;
    use store::schema::refresh_tokens;
    w.env
        .state
        .store
        .run(move |c| {
            let rows: Vec<(String, String)> = refresh_tokens::table
                .filter(refresh_tokens::user_id.is_not_null())
                .select((refresh_tokens::id, refresh_tokens::claims))
                .load(c)?;
            for (id, claims) in rows {
                let mut v: Value = serde_json::from_str(&claims).unwrap();
                v["auth_time"] = json!(v["auth_time"].as_i64().unwrap() - secs);
                diesel::update(refresh_tokens::table.filter(refresh_tokens::id.eq(id)))
                    .set(refresh_tokens::claims.eq(v.to_string()))
                    .execute(c)?;
            }
            Ok(())
        })
        .await
        .unwrap();
}

#[actix_web::test]
async fn two_replicas_refreshing_one_token_at_once_have_one_winner() {
    let w = world().await;
    let app = app!(w);
    let ada = sign_in(&app, &w, ADA).await;
    let (s, _, created) = send(
        &app,
        TestRequest::post()
            .uri(&format!("/account/integration/{}", w.vendor))
            .insert_header(bearer(ada["access_token"].as_str().unwrap()))
            .set_json(json!({"name": "x", "scopes": ["a"]})),
    )
    .await;
    assert_eq!(s, 201);
    let creds = basic(
        created["client_id"].as_str().unwrap(),
        created["client_secret"].as_str().unwrap(),
    );
    let replica = state_on(&w.env.db);
    let other = test::init_service(build(&replica)).await;
    for _ in 0..5 {
        let (s, _, t) = send(
            &app,
            post_form(&token_url("neris"), client_form(&[])).insert_header(creds.clone()),
        )
        .await;
        assert_eq!(s, 200);
        let body = form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ]);
        let (a, b) = futures_util::future::join(
            test::call_service(
                &app,
                post_form(&token_url("neris"), body.clone())
                    .insert_header(creds.clone())
                    .to_request(),
            ),
            test::call_service(
                &other,
                post_form(&token_url("neris"), body.clone())
                    .insert_header(creds.clone())
                    .to_request(),
            ),
        )
        .await;
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 400], "exactly one refresh wins");
    }
}

#[actix_web::test]
async fn smtp_down_answers_503_and_leaves_nothing_behind() {
    let w = world().await;
    // Same database, but mail goes to a port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let state = state_with_smtp(&w.env.db, &url);
    let app = test::init_service(build(&state)).await;
    let (s, h, b) = send(
        &app,
        post_form(&token_url("neris"), password_form(ADA, PASSWORD)),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (503, Some("temporarily_unavailable")),
        "{b}"
    );
    assert!(b["error_description"].as_str().unwrap().contains("email"));
    assert_eq!(h.get("cache-control").unwrap(), "no-store");
    let left: i64 = state
        .store
        .run(|c| {
            use diesel::prelude::*;
            Ok(store::schema::mfa_challenges::table.count().get_result(c)?)
        })
        .await
        .unwrap();
    assert_eq!(left, 0, "no challenge without its mail");
    // An outage does not use up the person's code sends: once mail works, sign-in does.
    for _ in 0..6 {
        let (s, _, _) = send(
            &app,
            post_form(&token_url("neris"), password_form(ADA, PASSWORD)),
        )
        .await;
        assert_eq!(s, 503);
    }
    let working = test::init_service(build(&w.env.state)).await;
    start_sign_in(&working, ADA).await;
}

#[actix_web::test]
async fn sandbox_people_without_mfa_sign_in_with_the_password_but_cannot_step_up() {
    let w = world().await;
    let app = app!(w);
    let admin = |req: TestRequest| req.insert_header(bearer(&w.platform));
    let (s, _, t) = send(
        &app,
        admin(TestRequest::post().uri("/admin/v1/tenants"))
            .set_json(json!({"slug": "sandy", "name": "Sandbox", "environment": "sandbox"})),
    )
    .await;
    assert_eq!(s, 201, "{t}");
    let tid = t["id"].as_str().unwrap();
    let (_, _, o) = send(
        &app,
        admin(TestRequest::post().uri(&format!("/admin/v1/tenants/{tid}/organizations")))
            .set_json(json!({"kind": "vendor", "name": "V"})),
    )
    .await;
    let (s, _, u) = send(
        &app,
        admin(TestRequest::post().uri(&format!("/admin/v1/tenants/{tid}/users"))).set_json(
            json!({"email": "sam@x.example", "password": PASSWORD, "mfa_enabled": false,
                "memberships": [{"organization_id": o["id"], "role": "owner"}]}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{u}");
    let (s, _, b) = send(
        &app,
        post_form(
            &token_url("sandy"),
            password_form("SAM@x.example", PASSWORD),
        ),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        jwt_claims(b["access_token"].as_str().unwrap())["amr"],
        json!(["pwd"])
    );
    // A person's refresh token ends 90 minutes after the sign-in.
    let auth_time = jwt_claims(b["access_token"].as_str().unwrap())["auth_time"]
        .as_i64()
        .unwrap();
    let expires_at: i64 = w
        .env
        .state
        .store
        .run(|c| {
            use diesel::prelude::*;
            use store::schema::refresh_tokens as rt;
            Ok(rt::table
                .filter(rt::user_id.is_not_null())
                .select(rt::expires_at)
                .first(c)?)
        })
        .await
        .unwrap();
    assert_eq!(expires_at - auth_time, 90 * 60);
    let (s, _, _) = send(
        &app,
        TestRequest::post()
            .uri(&format!(
                "/account/integration/{}",
                o["id"].as_str().unwrap()
            ))
            .insert_header(bearer(b["access_token"].as_str().unwrap()))
            .set_json(json!({"name": "x", "scopes": ["a"]})),
    )
    .await;
    assert_eq!(s, 401, "no code, no secrets");
    // Disabling the person ends their refresh token and their access token.
    let uid = u["id"].as_str().unwrap();
    let (_, h, _) = send(
        &app,
        admin(TestRequest::get().uri(&format!("/admin/v1/tenants/{tid}/users/{uid}"))),
    )
    .await;
    let etag = h.get("etag").unwrap().to_str().unwrap().to_owned();
    let (s, _, _) = send(
        &app,
        admin(TestRequest::patch().uri(&format!("/admin/v1/tenants/{tid}/users/{uid}")))
            .insert_header(("if-match", etag))
            .set_json(json!({"disabled": true})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, _) = send(
        &app,
        TestRequest::get()
            .uri("/account/me")
            .insert_header(bearer(b["access_token"].as_str().unwrap())),
    )
    .await;
    assert_eq!(s, 401);
    let (s, _, r) = send(
        &app,
        post_form(
            &token_url("sandy"),
            form(&[
                ("grant_type", "refresh_token"),
                ("client_id", "portal"),
                ("refresh_token", b["refresh_token"].as_str().unwrap()),
            ]),
        ),
    )
    .await;
    assert_eq!(s, 400, "{r}");
}

#[actix_web::test]
async fn tls_required_refuses_a_server_without_starttls() {
    let w = world().await;
    // The catcher offers no STARTTLS: with `tls=required` the code must not go in clear.
    let state = state_with_smtp(&w.env.db, &format!("{}?tls=required", w.env.mail.url()));
    let app = test::init_service(build(&state)).await;
    let (s, _, b) = send(
        &app,
        post_form(&token_url("neris"), password_form(ADA, PASSWORD)),
    )
    .await;
    assert_eq!(s, 503, "{b}");
    assert_eq!(w.env.mail.count(), 0);
}

#[actix_web::test]
async fn without_smtp_the_codes_go_to_the_outbox_as_eml_files() {
    let w = world().await;
    let outbox = tempfile::tempdir().unwrap();
    let mailer = integrations::mail::Mailer::outbox(
        outbox.path().to_owned(),
        "Portcullis <no-reply@portcullis.test>",
    )
    .unwrap();
    let state = state_with_mailer(&w.env.db, mailer);
    let app = test::init_service(build(&state)).await;
    let mfa = start_sign_in(&app, ADA).await;
    let files: Vec<_> = std::fs::read_dir(outbox.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().unwrap(), "eml");
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    let code = smtp::Delivered {
        from: String::new(),
        to: Vec::new(),
        data: eml,
    }
    .subject_code()
    .unwrap();
    let (s, _, b) = send(&app, post_form(&token_url("neris"), otp_form(&mfa, &code))).await;
    assert_eq!(s, 200, "{b}");
}

#[actix_web::test]
async fn tenant_admins_decide_enrollments_and_members_only_see_theirs() {
    let w = world().await;
    let app = app!(w);
    let (s, _, u) = send(
        &app,
        TestRequest::post()
            .uri(&format!("/admin/v1/tenants/{}/users", w.tenant_id))
            .insert_header(bearer(&w.platform))
            .set_json(json!({"email": "tom@neris.example", "password": PASSWORD,
                "mfa_enabled": true, "tenant_roles": ["tenant_admin"]})),
    )
    .await;
    assert_eq!(s, 201, "{u}");
    let ada = sign_in(&app, &w, ADA).await;
    let (s, _, e) = send(
        &app,
        TestRequest::post()
            .uri("/account/enrollments")
            .insert_header(bearer(ada["access_token"].as_str().unwrap()))
            .set_json(json!({"vendor_id": w.vendor, "department_id": w.department})),
    )
    .await;
    assert_eq!(s, 201, "{e}");
    let id = e["id"].as_str().unwrap();
    // Asking twice while pending is a conflict.
    let (s, _, _) = send(
        &app,
        TestRequest::post()
            .uri("/account/enrollments")
            .insert_header(bearer(ada["access_token"].as_str().unwrap()))
            .set_json(json!({"vendor_id": w.vendor, "department_id": w.department})),
    )
    .await;
    assert_eq!(s, 409);
    // Eve (another vendor) does not see it, and cannot touch it.
    let eve = sign_in(&app, &w, EVE).await;
    let eve_at = eve["access_token"].as_str().unwrap();
    let (s, _, list) = send(
        &app,
        TestRequest::get()
            .uri("/account/enrollments")
            .insert_header(bearer(eve_at)),
    )
    .await;
    assert_eq!(
        (s, list["items"].as_array().unwrap().len()),
        (200, 0),
        "{list}"
    );
    let (s, _, _) = send(
        &app,
        TestRequest::post()
            .uri(&format!("/account/enrollments/{id}/revoke"))
            .insert_header(bearer(eve_at)),
    )
    .await;
    assert_eq!(s, 404);
    // The tenant admin sees every enrollment and refuses this one.
    let tom = sign_in(&app, &w, "tom@neris.example").await;
    let tom_at = tom["access_token"].as_str().unwrap();
    let (s, _, list) = send(
        &app,
        TestRequest::get()
            .uri("/account/enrollments")
            .insert_header(bearer(tom_at)),
    )
    .await;
    assert_eq!(
        (s, list["items"].as_array().unwrap().len()),
        (200, 1),
        "{list}"
    );
    let (s, _, e) = send(
        &app,
        TestRequest::post()
            .uri(&format!("/account/enrollments/{id}/refuse"))
            .insert_header(bearer(tom_at)),
    )
    .await;
    assert_eq!((s, &e["status"]), (200, &json!("refused")), "{e}");
    // Refused cannot be approved; the vendor may ask again.
    let (s, _, _) = send(
        &app,
        TestRequest::post()
            .uri(&format!("/account/enrollments/{id}/approve"))
            .insert_header(bearer(tom_at)),
    )
    .await;
    assert_eq!(s, 409);
    let (s, _, again) = send(
        &app,
        TestRequest::post()
            .uri("/account/enrollments")
            .insert_header(bearer(ada["access_token"].as_str().unwrap()))
            .set_json(json!({"vendor_id": w.vendor, "department_id": w.department})),
    )
    .await;
    assert_eq!(
        (s, &again["status"], &again["id"]),
        (201, &json!("pending"), &json!(id))
    );
    // Only vendors enroll, only with departments.
    let (s, _, b) = send(
        &app,
        TestRequest::post()
            .uri("/account/enrollments")
            .insert_header(bearer(ada["access_token"].as_str().unwrap()))
            .set_json(json!({"vendor_id": w.vendor, "department_id": w.other_vendor})),
    )
    .await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["errors"][0]["field"], "department_id");
}

#[actix_web::test]
async fn a_vendor_registers_its_app_for_people_with_https_redirect_uris_in_production() {
    let w = world().await;
    let app = app!(w);
    let (_, ada_at) = ada(&app, &w).await;
    let create = |uris: Value| {
        TestRequest::post()
            .uri(&format!("/account/integration/{}", w.vendor))
            .insert_header(bearer(&ada_at))
            .set_json(
                json!({"name": "Acme app", "scopes": ["reports:write"], "redirect_uris": uris}),
            )
    };
    let (s, _, e) = send(&app, create(json!(["http://app.acme.example/cb"]))).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["errors"][0]["field"], "redirect_uris", "{e}");
    let (s, _, c) = send(&app, create(json!(["https://app.acme.example/cb"]))).await;
    assert_eq!(s, 201, "{c}");
    // Its people land on the consent page of the tenant (after signing in).
    let url = format!(
        "/t/neris/oauth2/authorize?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.acme.example%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        c["client_id"].as_str().unwrap()
    );
    let (s, h, _) = call!(app, TestRequest::get().uri(&url));
    assert_eq!(s, 303);
    assert!(h
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("/t/neris/signin"));
}

#[actix_web::test]
async fn an_owner_invites_by_the_api_and_a_member_may_not() {
    let w = world().await;
    let app = app!(w);
    let (_, ada_at) = ada(&app, &w).await;
    let invite = |token: &str| {
        TestRequest::post()
            .uri("/account/invitations")
            .insert_header(bearer(token))
            .set_json(
                json!({"organization_id": w.vendor, "email": "new@acme.example", "role": "admin"}),
            )
    };
    let sent = w.env.mail.count();
    let (s, _, b) = send(&app, invite(&ada_at)).await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(w.env.mail.count(), sent + 1);
    let mail = w.env.mail.nth(sent + 1);
    assert!(mail.to.iter().any(|t| t.contains("new@acme.example")));
    assert!(
        mail.data
            .replace("=\r\n", "")
            .contains("/t/neris/portal/invite?token"),
        "{}",
        mail.data
    );
    let bob = sign_in(&app, &w, BOB).await;
    let (s, _, b) = send(&app, invite(bob["access_token"].as_str().unwrap())).await;
    assert_eq!(s, 403, "{b}");
}
