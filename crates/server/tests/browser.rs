//! People in the browser, through the app as a browser drives it (cookies kept, forms posted
//! with the token of their page): the hosted sign-in with the emailed code, the authorization
//! code grant with PKCE, consent, connected apps, OpenID Connect. Each test names one rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;

use actix_web::test::{self, TestRequest};
use common::browser::Browser;
use common::*;
use domain::model::{AuthMethod, ClientKind, Environment, GrantType};
use portcullis_server::app::build;
use registry::clients::NewClient;
use serde_json::Value;

const EMAIL: &str = "pat@acme.example";
const PASSWORD: &str = "correct horse battery staple";
const REDIRECT: &str = "http://127.0.0.1:5555/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const SCOPE: &str = "openid email offline_access records:read";

/// A production tenant (the emailed code always), a person, and a public client of the
/// authorization code grant with a loopback redirect URI.
async fn setup(env: &Env) {
    let t = env.tenant("acme", Environment::Production).await;
    let hash = domain::password::hash_password(PASSWORD).unwrap();
    let user = store::repo::users::UserRow::new(&t.id, EMAIL.into(), hash, true, vec![], 1);
    env.state
        .store
        .run(move |c| store::repo::users::insert(c, &user))
        .await
        .unwrap();
    let mut app = NewClient::machine("Records App", &["records:read"]);
    app.client_id = Some("records".into());
    app.kind = ClientKind::Public;
    app.auth_method = AuthMethod::None;
    app.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
    app.metadata.redirect_uris = vec!["http://127.0.0.1/cb".into()];
    app.metadata.post_logout_redirect_uris = vec!["http://127.0.0.1/bye".into()];
    env.client(&t, app).await;
}

fn authorize_url(extra: &[(&str, &str)], skip: &[&str]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("response_type", "code"),
        ("client_id", "records"),
        ("redirect_uri", REDIRECT),
        ("scope", SCOPE),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ] {
        if !skip.contains(&k) {
            q.append_pair(k, v);
        }
    }
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    format!("/t/acme/oauth2/authorize?{}", q.finish())
}

/// Signs in through the pages from a redirect to the sign-in page; where it leads back.
async fn sign_in<S, B>(b: &mut Browser, app: &S, env: &Env, signin_url: &str) -> String
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let page = b.get(app, signin_url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.input("csrf");
    let return_to = page.input("return_to");
    let next = b
        .post(
            app,
            "/t/acme/signin",
            &[
                ("csrf", &csrf),
                ("email", EMAIL),
                ("password", PASSWORD),
                ("return_to", &return_to),
            ],
        )
        .await;
    assert_eq!(next.status, 303, "{}", next.body);
    let code_page = b.get(app, next.location.as_deref().unwrap()).await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    let otp = env.mail.last_code_to(EMAIL);
    let done = b
        .post(
            app,
            "/t/acme/signin/code",
            &[
                ("csrf", &code_page.input("csrf")),
                ("otp", &otp),
                ("return_to", &return_to),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    done.location.unwrap()
}

/// From the authorization request to the code at the redirect URI (signing in and consenting
/// as needed); the redirect's query.
async fn code_for<S, B>(b: &mut Browser, app: &S, env: &Env, url: &str) -> HashMap<String, String>
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let mut page = b.get(app, url).await;
    if page
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with("/t/acme/signin"))
    {
        let back = sign_in(b, app, env, page.location.as_deref().unwrap()).await;
        page = b.get(app, &back).await;
    }
    if page.status == 200 {
        page = b
            .post(
                app,
                "/t/acme/oauth2/authorize",
                &[
                    ("csrf", &page.input("csrf")),
                    ("request", &page.input("request")),
                    ("decision", "allow"),
                ],
            )
            .await;
    }
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(
        page.location.as_deref().unwrap().starts_with(REDIRECT),
        "{:?}",
        page.location
    );
    page.query()
}

fn exchange(code: &str, verifier: &str) -> TestRequest {
    post_form(
        "/t/acme/oauth2/token",
        form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "records"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ]),
    )
}

fn userinfo(token: &str) -> TestRequest {
    TestRequest::get()
        .uri("/t/acme/oauth2/userinfo")
        .insert_header(bearer(token))
}

#[actix_web::test]
async fn a_person_signs_in_with_the_code_consents_and_the_application_gets_oidc_tokens() {
    let env = env();
    setup(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let mut b = Browser::default();

    let first = b.get(&app, &authorize_url(&[], &[])).await;
    assert_eq!(first.status, 303);
    let signin = first.location.clone().unwrap();
    assert!(signin.starts_with("/t/acme/signin?"), "{signin}");
    let form_page = b.get(&app, &signin).await;
    for needle in [
        "autocomplete=\"username\"",
        "autocomplete=\"current-password\"",
        "<label for=\"email\">",
    ] {
        assert!(form_page.body.contains(needle), "{needle}");
    }
    let csp = form_page
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(form_page.headers.get("cache-control").unwrap(), "no-store");
    assert_eq!(
        form_page.headers.get("x-content-type-options").unwrap(),
        "nosniff"
    );
    assert_eq!(
        form_page.headers.get("referrer-policy").unwrap(),
        "same-origin"
    );

    let back = sign_in(&mut b, &app, &env, &signin).await;
    assert!(back.starts_with("/t/acme/oauth2/authorize?"), "{back}");
    let consent = b.get(&app, &back).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(consent.body.contains("Records App"));
    assert!(consent.body.contains("See your email address"));
    let done = b
        .post(
            &app,
            "/t/acme/oauth2/authorize",
            &[
                ("csrf", &consent.input("csrf")),
                ("request", &consent.input("request")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    let q = done.query();
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["iss"], "http://portcullis.test/t/acme");

    let (s, _, t) = call!(app, exchange(&q["code"], VERIFIER));
    assert_eq!(s, 200, "{t}");
    let id = jwt_claims(t["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["aud"], "records");
    assert_eq!(id["email"], EMAIL);
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp"]));
    assert!(id["at_hash"].as_str().unwrap().len() == 22);
    assert!(id["auth_time"].as_i64().unwrap() > 0);
    assert!(t["refresh_token"].is_string(), "offline_access: {t}");
    let access = t["access_token"].as_str().unwrap();
    let (s, _, info) = call!(app, userinfo(access));
    assert_eq!((s, &info["email"]), (200, &Value::from(EMAIL)), "{info}");

    // The refresh token rotates.
    let refresh = t["refresh_token"].as_str().unwrap();
    let (s, _, r) = call!(
        app,
        post_form(
            "/t/acme/oauth2/token",
            form(&[
                ("grant_type", "refresh_token"),
                ("client_id", "records"),
                ("refresh_token", refresh)
            ])
        )
    );
    assert_eq!(s, 200, "{r}");
    assert_ne!(r["refresh_token"].as_str().unwrap(), refresh);

    // Consent is remembered: the next request goes straight back with a code.
    let again = b.get(&app, &authorize_url(&[], &[])).await;
    assert_eq!(again.status, 303);
    assert!(again.location.unwrap().starts_with(REDIRECT));
}

#[actix_web::test]
async fn a_replayed_code_is_refused_and_revokes_what_it_gave() {
    let env = env();
    setup(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let mut b = Browser::default();
    let q = code_for(&mut b, &app, &env, &authorize_url(&[], &[])).await;
    let (s, _, t) = call!(app, exchange(&q["code"], VERIFIER));
    assert_eq!(s, 200, "{t}");
    let access = t["access_token"].as_str().unwrap().to_owned();
    let (s, _, again) = call!(app, exchange(&q["code"], VERIFIER));
    assert_eq!(
        (s, again["error"].as_str()),
        (400, Some("invalid_grant")),
        "{again}"
    );
    let (s, _, _) = call!(app, userinfo(&access));
    assert_eq!(s, 401, "the access token from a replayed code is revoked");
    let (s, _, r) = call!(
        app,
        post_form(
            "/t/acme/oauth2/token",
            form(&[
                ("grant_type", "refresh_token"),
                ("client_id", "records"),
                ("refresh_token", t["refresh_token"].as_str().unwrap())
            ])
        )
    );
    assert_eq!(s, 400, "its refresh token too: {r}");
}

#[actix_web::test]
async fn a_wrong_verifier_or_an_expired_code_is_invalid_grant() {
    let env = env();
    setup(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let mut b = Browser::default();
    let q = code_for(&mut b, &app, &env, &authorize_url(&[], &[])).await;
    let wrong = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj";
    let (s, _, e) = call!(app, exchange(&q["code"], wrong));
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );

    let q = code_for(&mut b, &app, &env, &authorize_url(&[], &[])).await;
    env.state
        .store
        .run(|c| {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query("UPDATE authorization_codes SET expires_at = 0").execute(c)?)
        })
        .await
        .unwrap();
    let (s, _, e) = call!(app, exchange(&q["code"], VERIFIER));
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
    assert!(
        e["error_description"].as_str().unwrap().contains("expired"),
        "{e}"
    );
}

#[actix_web::test]
async fn a_wrong_redirect_uri_or_unknown_client_gets_a_page_never_a_redirect() {
    let env = env();
    setup(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let mut b = Browser::default();
    for url in [
        authorize_url(
            &[("redirect_uri", "https://evil.example/cb")],
            &["redirect_uri"],
        ),
        authorize_url(
            &[("redirect_uri", "http://127.0.0.1:5555/other")],
            &["redirect_uri"],
        ),
        authorize_url(&[("client_id", "nobody")], &["client_id"]),
        authorize_url(&[], &["redirect_uri"]),
    ] {
        let page = b.get(&app, &url).await;
        assert_eq!(page.status, 400, "{url}");
        assert!(page.location.is_none(), "{url}");
        assert!(page.body.contains("<h1>"), "an HTML page: {}", page.body);
    }
}

#[actix_web::test]
async fn missing_or_plain_pkce_and_bad_requests_go_back_as_errors_with_state_and_iss() {
    let env = env();
    setup(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let mut b = Browser::default();
    for (url, error) in [
        (
            authorize_url(&[], &["code_challenge", "code_challenge_method"]),
            "invalid_request",
        ),
        (
            authorize_url(
                &[("code_challenge_method", "plain")],
                &["code_challenge_method"],
            ),
            "invalid_request",
        ),
        (
            authorize_url(&[("response_type", "token")], &["response_type"]),
            "unsupported_response_type",
        ),
        (
            authorize_url(&[("scope", "openid admin:everything")], &["scope"]),
            "invalid_scope",
        ),
        (authorize_url(&[("prompt", "none")], &[]), "login_required"),
    ] {
        let page = b.get(&app, &url).await;
        assert_eq!(page.status, 303, "{url}");
        let q = page.query();
        assert_eq!(q["error"], error, "{url}");
        assert_eq!(q["state"], "st-1");
        assert_eq!(q["iss"], "http://portcullis.test/t/acme");
    }
}

#[actix_web::test]
async fn prompt_none_without_consent_and_a_denial_go_back_as_errors() {
    let env = env();
    setup(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let mut b = Browser::default();
    let first = b.get(&app, &authorize_url(&[], &[])).await;
    let back = sign_in(&mut b, &app, &env, first.location.as_deref().unwrap()).await;
    let page = b
        .get(&app, &authorize_url(&[("prompt", "none")], &[]))
        .await;
    assert_eq!(page.query()["error"], "consent_required");
    let consent = b.get(&app, &back).await;
    let denied = b
        .post(
            &app,
            "/t/acme/oauth2/authorize",
            &[
                ("csrf", &consent.input("csrf")),
                ("request", &consent.input("request")),
                ("decision", "deny"),
            ],
        )
        .await;
    assert_eq!(denied.query()["error"], "access_denied");
}

#[actix_web::test]
async fn forms_need_their_token_and_our_origin() {
    let env = env();
    setup(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let mut b = Browser::default();
    let page = b.get(&app, "/t/acme/signin").await;
    let csrf = page.input("csrf");
    let fields = [("email", EMAIL), ("password", PASSWORD)];
    let without = b.post(&app, "/t/acme/signin", &fields).await;
    assert_eq!(without.status, 403, "no token");
    let wrong = b
        .post(
            &app,
            "/t/acme/signin",
            &[
                ("csrf", "x".repeat(43).as_str()),
                ("email", EMAIL),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status, 403, "another token");
    let cross = b
        .go(
            &app,
            TestRequest::post()
                .uri("/t/acme/signin")
                .insert_header(("origin", "https://evil.example"))
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(form(&[
                    ("csrf", &csrf),
                    ("email", EMAIL),
                    ("password", PASSWORD),
                ])),
        )
        .await;
    assert_eq!(cross.status, 403, "another site");
    assert_eq!(env.mail.count(), 0, "nothing was checked or sent");
}

#[actix_web::test]
async fn return_to_never_leads_to_another_host() {
    let env = env();
    setup(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let mut b = Browser::default();
    let back = sign_in(
        &mut b,
        &app,
        &env,
        "/t/acme/signin?return_to=https%3A%2F%2Fevil.example%2F",
    )
    .await;
    assert_eq!(back, "/t/acme/account/apps");
    let back = sign_in(
        &mut b,
        &app,
        &env,
        "/t/acme/signin?return_to=%2F%2Fevil.example%2Ft%2Facme%2F",
    )
    .await;
    assert_eq!(back, "/t/acme/account/apps");
}

#[actix_web::test]
async fn taking_back_an_app_stops_its_tokens_and_forgets_the_consent() {
    let env = env();
    setup(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let mut b = Browser::default();
    let q = code_for(&mut b, &app, &env, &authorize_url(&[], &[])).await;
    let (_, _, t) = call!(app, exchange(&q["code"], VERIFIER));
    let access = t["access_token"].as_str().unwrap().to_owned();
    let apps = b.get(&app, "/t/acme/account/apps").await;
    assert_eq!(apps.status, 200, "{}", apps.body);
    assert!(apps.body.contains("Records App"));
    let revoked = b
        .post(
            &app,
            "/t/acme/account/apps/records/revoke",
            &[("csrf", &apps.input("csrf"))],
        )
        .await;
    assert_eq!(revoked.status, 303);
    let (s, _, _) = call!(app, userinfo(&access));
    assert_eq!(s, 401, "the access token stops at once");
    let (s, _, r) = call!(
        app,
        post_form(
            "/t/acme/oauth2/token",
            form(&[
                ("grant_type", "refresh_token"),
                ("client_id", "records"),
                ("refresh_token", t["refresh_token"].as_str().unwrap())
            ])
        )
    );
    assert_eq!(
        (s, r["error"].as_str()),
        (400, Some("invalid_grant")),
        "{r}"
    );
    let ask = b.get(&app, &authorize_url(&[], &[])).await;
    assert_eq!(ask.status, 200, "consent is asked again");
}

#[actix_web::test]
async fn logout_follows_only_a_registered_uri_of_the_hinted_application() {
    let env = env();
    setup(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let mut b = Browser::default();
    let q = code_for(&mut b, &app, &env, &authorize_url(&[], &[])).await;
    let (_, _, t) = call!(app, exchange(&q["code"], VERIFIER));
    let hint = t["id_token"].as_str().unwrap();
    let url = |uri: &str| {
        format!(
            "/t/acme/oauth2/logout?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("id_token_hint", hint)
                .append_pair("post_logout_redirect_uri", uri)
                .append_pair("state", "s-9")
                .finish()
        )
    };
    let confirm = b.get(&app, &url("http://127.0.0.1/bye")).await;
    assert_eq!(confirm.status, 200, "a signed-in person confirms");
    let out = b
        .post(
            &app,
            "/t/acme/signout",
            &[
                ("csrf", &confirm.input("csrf")),
                ("id_token_hint", &confirm.input("id_token_hint")),
                (
                    "post_logout_redirect_uri",
                    &confirm.input("post_logout_redirect_uri"),
                ),
                ("state", &confirm.input("state")),
            ],
        )
        .await;
    assert_eq!(
        out.location.as_deref(),
        Some("http://127.0.0.1/bye?state=s-9")
    );
    let unregistered = b.get(&app, &url("https://evil.example/")).await;
    assert_eq!(
        unregistered.status, 200,
        "signed out: a page, not a redirect"
    );
    assert!(unregistered.location.is_none());
}

#[actix_web::test]
async fn discovery_lists_the_authorization_endpoint_and_oidc_metadata() {
    let env = env();
    setup(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let (s, _, m) = call!(
        app,
        TestRequest::get().uri("/t/acme/.well-known/openid-configuration")
    );
    assert_eq!(s, 200);
    assert_eq!(
        m["authorization_endpoint"],
        "http://portcullis.test/t/acme/oauth2/authorize"
    );
    assert_eq!(
        m["userinfo_endpoint"],
        "http://portcullis.test/t/acme/oauth2/userinfo"
    );
    assert_eq!(
        m["end_session_endpoint"],
        "http://portcullis.test/t/acme/oauth2/logout"
    );
    assert_eq!(m["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        m["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    assert!(m["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&Value::from("authorization_code")));
}

#[actix_web::test]
async fn prompt_login_and_an_old_sign_in_past_max_age_ask_to_sign_in_again() {
    let env = env();
    setup(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let mut b = Browser::default();
    code_for(&mut b, &app, &env, &authorize_url(&[], &[])).await;
    // Signed in and consented: straight back, unless the application asks otherwise.
    let login = b
        .get(&app, &authorize_url(&[("prompt", "login")], &[]))
        .await;
    assert!(
        login.location.unwrap().starts_with("/t/acme/signin?"),
        "prompt=login"
    );
    env.state
        .store
        .run(|c| {
            use diesel::RunQueryDsl;
            Ok(
                diesel::sql_query("UPDATE browser_sessions SET auth_time = auth_time - 3600")
                    .execute(c)?,
            )
        })
        .await
        .unwrap();
    let old = b
        .get(&app, &authorize_url(&[("max_age", "600")], &[]))
        .await;
    assert!(
        old.location.unwrap().starts_with("/t/acme/signin?"),
        "max_age"
    );
    let fine = b
        .get(&app, &authorize_url(&[("max_age", "7200")], &[]))
        .await;
    assert!(
        fine.location.unwrap().starts_with(REDIRECT),
        "within max_age"
    );
}

#[actix_web::test]
async fn a_first_party_application_gets_no_consent_page_and_a_code_is_bound_to_its_client() {
    let env = env();
    setup(&env).await;
    let t = env
        .state
        .tokens
        .caches
        .tenant("acme")
        .await
        .unwrap()
        .unwrap();
    let mut own = NewClient::machine("Portal Web", &["records:read"]);
    own.client_id = Some("own".into());
    own.kind = ClientKind::Public;
    own.auth_method = AuthMethod::None;
    own.grant_types = vec![GrantType::AuthorizationCode];
    own.metadata.redirect_uris = vec!["http://127.0.0.1/cb".into()];
    own.metadata.first_party = true;
    env.client(&t.row, own).await;
    let app = test::init_service(build(&env.state)).await;
    let mut b = Browser::default();
    let url = authorize_url(&[("client_id", "own")], &["client_id"]);
    let first = b.get(&app, &url).await;
    let back = sign_in(&mut b, &app, &env, first.location.as_deref().unwrap()).await;
    let page = b.get(&app, &back).await;
    assert_eq!(page.status, 303, "no consent page: {}", page.body);
    let q = page.query();
    // The code of `own` is worth nothing to `records`.
    let (s, _, e) = call!(app, exchange(&q["code"], VERIFIER));
    assert_eq!(
        (s, e["error"].as_str()),
        (400, Some("invalid_grant")),
        "{e}"
    );
}

#[actix_web::test]
async fn the_grants_api_lists_and_takes_back_what_the_person_allowed() {
    let env = env();
    setup(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let mut b = Browser::default();
    let q = code_for(&mut b, &app, &env, &authorize_url(&[], &[])).await;
    let (_, _, t) = call!(app, exchange(&q["code"], VERIFIER));
    let access = t["access_token"].as_str().unwrap().to_owned();
    let (s, _, list) = call!(
        app,
        TestRequest::get()
            .uri("/account/grants")
            .insert_header(bearer(&access))
    );
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["items"][0]["client_id"], "records");
    assert_eq!(list["items"][0]["name"], "Records App");
    assert!(list["items"][0]["last_used_at"].is_i64(), "{list}");
    let (s, _, _) = call!(
        app,
        TestRequest::delete()
            .uri("/account/grants/records")
            .insert_header(bearer(&access))
    );
    assert_eq!(s, 204);
    let (s, _, _) = call!(app, userinfo(&access));
    assert_eq!(s, 401, "the grant's token stops at once");
    let (s, _, _) = call!(
        app,
        TestRequest::delete()
            .uri("/account/grants/records")
            .insert_header(bearer(&access))
    );
    assert_eq!(s, 401, "and cannot be used to act either");
}

#[actix_web::test]
async fn session_cookies_are_httponly_lax_and_scoped_to_the_tenant_and_sessions_end_when_idle() {
    let env = env();
    setup(&env).await;
    let app = test::init_service(build(&env.state)).await;
    let mut b = Browser::default();
    let page = b.get(&app, "/t/acme/signin").await;
    let pending = b
        .post(
            &app,
            "/t/acme/signin",
            &[
                ("csrf", &page.input("csrf")),
                ("email", EMAIL),
                ("password", PASSWORD),
            ],
        )
        .await;
    let code_page = b.get(&app, pending.location.as_deref().unwrap()).await;
    let done = b
        .post(
            &app,
            "/t/acme/signin/code",
            &[
                ("csrf", &code_page.input("csrf")),
                ("otp", &env.mail.last_code_to(EMAIL)),
            ],
        )
        .await;
    let session = done
        .headers
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("pc_session="))
        .expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/t/acme/"] {
        assert!(session.contains(attr), "{attr} in {session}");
    }
    assert!(
        !session.contains("Secure"),
        "the test server's public URL is http: {session}"
    );
    let apps = b.get(&app, "/t/acme/account/apps").await;
    assert_eq!(apps.status, 200, "signed in");
    env.state
        .store
        .run(|c| {
            use diesel::RunQueryDsl;
            Ok(
                diesel::sql_query("UPDATE browser_sessions SET last_seen_at = last_seen_at - 1801")
                    .execute(c)?,
            )
        })
        .await
        .unwrap();
    let idle = b.get(&app, "/t/acme/account/apps").await;
    assert_eq!(idle.status, 303, "30 minutes idle: signed out");
    assert!(idle.location.unwrap().starts_with("/t/acme/signin"));
}
