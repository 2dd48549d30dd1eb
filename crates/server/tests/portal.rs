//! The vendor portal through the app as a browser drives it: integrations made, revealed once,
//! rotated and deleted; the step-up code; enrollments decided on both sides; what a member may
//! not do; another entity's pages. Each test names one behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test;
use common::browser::{Browser, Page};
use common::*;
use domain::model::{Environment, MembershipRole, OrganizationKind};
use portcullis_server::app::build;
use store::repo::memberships::MembershipRow;
use store::repo::organizations::OrganizationRow;

const PASSWORD: &str = "correct horse battery staple";
const OWNER: &str = "olga@vendor.example";
const MEMBER: &str = "max@vendor.example";
const DEPT: &str = "dora@fd.example";

struct World {
    env: Env,
    vendor: String,
    department: String,
}

async fn world() -> World {
    let env = env();
    let t = env.tenant("acme", Environment::Production).await;
    let org = |kind: OrganizationKind, prefix: &str, name: &str| OrganizationRow {
        id: format!("{prefix}{}", domain::ids::new_id()),
        tenant_id: t.id.clone(),
        kind,
        name: name.into(),
        created_at: 1,
        updated_at: 1,
        version: 1,
    };
    let vendor = org(OrganizationKind::Vendor, "VN", "Acme Reporting");
    let department = org(OrganizationKind::Department, "FD", "Springfield FD");
    let hash = domain::password::hash_password(PASSWORD).unwrap();
    let people = [
        (OWNER, &vendor, MembershipRole::Owner),
        (MEMBER, &vendor, MembershipRole::Member),
        (DEPT, &department, MembershipRole::Owner),
    ];
    let (v, d) = (vendor.clone(), department.clone());
    let tid = t.id.clone();
    let rows: Vec<_> = people
        .iter()
        .map(|(email, o, role)| {
            let user = store::repo::users::UserRow::new(
                &tid,
                email.to_string(),
                hash.clone(),
                true,
                vec![],
                1,
            );
            let m = MembershipRow {
                user_id: user.id.clone(),
                organization_id: o.id.clone(),
                role: *role,
                created_at: 1,
            };
            (user, m)
        })
        .collect();
    env.state
        .store
        .transaction(move |c| {
            store::repo::organizations::insert(c, &v)?;
            store::repo::organizations::insert(c, &d)?;
            for (u, m) in &rows {
                store::repo::users::insert(c, u)?;
                store::repo::memberships::replace(c, &u.id, std::slice::from_ref(m))?;
            }
            Ok(())
        })
        .await
        .unwrap();
    World {
        env,
        vendor: vendor.id,
        department: department.id,
    }
}

/// Signs `email` in through the pages (password, then the emailed code).
async fn sign_in<S, B>(b: &mut Browser, app: &S, env: &Env, email: &str)
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let page = b
        .get(app, "/t/acme/signin?return_to=%2Ft%2Facme%2Fportal%2F")
        .await;
    let next = b
        .post(
            app,
            "/t/acme/signin",
            &[
                ("csrf", &page.input("csrf")),
                ("email", email),
                ("password", PASSWORD),
                ("return_to", "/t/acme/portal/"),
            ],
        )
        .await;
    let code = b.get(app, next.location.as_deref().unwrap()).await;
    let done = b
        .post(
            app,
            "/t/acme/signin/code",
            &[
                ("csrf", &code.input("csrf")),
                ("otp", &env.mail.last_code_to(email)),
                ("return_to", "/t/acme/portal/"),
            ],
        )
        .await;
    assert_eq!(
        done.location.as_deref(),
        Some("/t/acme/portal/"),
        "{}",
        done.body
    );
}

/// The text of the reveal page's textarea.
fn revealed(page: &Page) -> String {
    let start = page.body.find("readonly").unwrap();
    let open = page.body[start..].find('>').unwrap() + start + 1;
    let close = page.body[open..].find("</textarea>").unwrap() + open;
    page.body[open..close]
        .replace("&#43;", "+")
        .replace("&#61;", "=")
        .replace("&#47;", "/")
}

async fn create<S, B>(b: &mut Browser, app: &S, entity: &str, fields: &[(&str, &str)]) -> Page
where
    S: TestApp<B>,
    B: actix_web::body::MessageBody,
{
    let page = b.get(app, &format!("/t/acme/portal/e/{entity}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut all = vec![("csrf", page.input("csrf"))];
    all.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(
        app,
        &format!("/t/acme/portal/e/{entity}/integrations"),
        &refs,
    )
    .await
}

fn client_credentials(
    id: &str,
    secret: &str,
    extra: &[(&str, &str)],
) -> actix_web::test::TestRequest {
    let mut pairs = vec![("grant_type", "client_credentials")];
    pairs.extend_from_slice(extra);
    post_form("/t/acme/oauth2/token", form(&pairs)).insert_header(basic(id, secret))
}

#[actix_web::test]
async fn an_owner_creates_a_secret_integration_and_sees_the_secret_exactly_once() {
    let w = world().await;
    let app = test::init_service(build(&w.env.state)).await;
    let mut b = Browser::default();
    sign_in(&mut b, &app, &w.env, OWNER).await;
    let home = b.get(&app, "/t/acme/portal/").await;
    assert!(
        home.body.contains("Acme Reporting") && home.body.contains("owner"),
        "{}",
        home.body
    );
    let entity = b.get(&app, &format!("/t/acme/portal/e/{}", w.vendor)).await;
    assert!(
        entity.body.contains("No integrations yet"),
        "an empty state"
    );
    let made = create(
        &mut b,
        &app,
        &w.vendor,
        &[
            ("name", "CAD connector"),
            ("scopes", "reports:write"),
            ("credential", "secret"),
        ],
    )
    .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let reveal_url = made.location.unwrap();
    assert!(!reveal_url.contains('?'), "nothing of it in the URL");
    let shown = b.get(&app, &reveal_url).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.headers.get("cache-control").unwrap(), "no-store");
    assert!(shown.body.contains("will not be shown again"));
    let secret = revealed(&shown);
    let client_id = shown
        .body
        .split("id=\"client-id\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let (s, _, t) = call!(app, client_credentials(&client_id, &secret, &[]));
    assert_eq!(s, 200, "the revealed secret works: {t}");
    let again = b.get(&app, &reveal_url).await;
    assert!(
        again.body.contains("Nothing to show"),
        "a reload shows nothing"
    );
    assert!(!again.body.contains(&secret));
    let later = b.get(&app, &format!("/t/acme/portal/e/{}", w.vendor)).await;
    assert!(later.body.contains("CAD connector") && !later.body.contains(&secret));
    let activity = b
        .get(&app, &format!("/t/acme/portal/e/{}/activity", w.vendor))
        .await;
    assert!(
        activity.body.contains("integration.create"),
        "{}",
        activity.body
    );
}

#[actix_web::test]
async fn rotating_keeps_the_old_secret_for_the_chosen_overlap_only() {
    let w = world().await;
    let app = test::init_service(build(&w.env.state)).await;
    let mut b = Browser::default();
    sign_in(&mut b, &app, &w.env, OWNER).await;
    let made = create(
        &mut b,
        &app,
        &w.vendor,
        &[("name", "svc"), ("scopes", "reports:write")],
    )
    .await;
    let shown = b.get(&app, made.location.as_deref().unwrap()).await;
    let first = revealed(&shown);
    let client_id = shown
        .body
        .split("id=\"client-id\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let rotate = |overlap: &'static str| {
        let url = format!(
            "/t/acme/portal/e/{}/integrations/{client_id}/rotate",
            w.vendor
        );
        (url, overlap)
    };
    let page = b.get(&app, &format!("/t/acme/portal/e/{}", w.vendor)).await;
    let (url, overlap) = rotate("3600");
    let r = b
        .post(
            &app,
            &url,
            &[("csrf", &page.input("csrf")), ("overlap", overlap)],
        )
        .await;
    let second = revealed(&b.get(&app, r.location.as_deref().unwrap()).await);
    for s in [&first, &second] {
        let (status, _, t) = call!(app, client_credentials(&client_id, s, &[]));
        assert_eq!(status, 200, "both work during the overlap: {t}");
    }
    let (url, overlap) = rotate("0");
    let r = b
        .post(
            &app,
            &url,
            &[("csrf", &page.input("csrf")), ("overlap", overlap)],
        )
        .await;
    let third = revealed(&b.get(&app, r.location.as_deref().unwrap()).await);
    let (s, _, _) = call!(app, client_credentials(&client_id, &second, &[]));
    assert_eq!(s, 401, "no overlap: the old one is refused");
    let (s, _, _) = call!(app, client_credentials(&client_id, &third, &[]));
    assert_eq!(s, 200);
}

#[actix_web::test]
async fn a_generated_key_pair_is_shown_once_and_signs_assertions() {
    let w = world().await;
    let app = test::init_service(build(&w.env.state)).await;
    let mut b = Browser::default();
    sign_in(&mut b, &app, &w.env, OWNER).await;
    let made = create(
        &mut b,
        &app,
        &w.vendor,
        &[
            ("name", "jwt svc"),
            ("scopes", "reports:write"),
            ("credential", "generate"),
        ],
    )
    .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let shown = b.get(&app, made.location.as_deref().unwrap()).await;
    assert!(
        shown.body.contains("download=")
            && shown.body.contains("data:application/x-pem-file;base64,")
    );
    let pem = revealed(&shown).replace("&#10;", "\n");
    let client_id = shown
        .body
        .split("id=\"client-id\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let signer = josekit::jws::ES256
        .signer_from_pem(pem.as_bytes())
        .expect("the PEM is a private key");
    let mut header = josekit::jws::JwsHeader::new();
    header.set_token_type("JWT");
    let mut claims = josekit::jwt::JwtPayload::new();
    let aud = "http://portcullis.test/t/acme/oauth2/token";
    claims.set_issuer(&client_id);
    claims.set_subject(&client_id);
    claims.set_audience(vec![aud]);
    claims.set_jwt_id(domain::ids::new_id());
    let now = std::time::SystemTime::now();
    claims.set_issued_at(&now);
    claims.set_expires_at(&(now + std::time::Duration::from_secs(60)));
    let assertion = josekit::jwt::encode_with_signer(&claims, &header, &signer).unwrap();
    let (s, _, t) = call!(
        app,
        post_form("/t/acme/oauth2/token", assertion_form(&assertion))
    );
    assert_eq!(s, 200, "{t}");
    assert!(b
        .get(&app, made.location.as_deref().unwrap())
        .await
        .body
        .contains("Nothing to show"));
}

#[actix_web::test]
async fn an_old_code_asks_for_a_new_one_then_carries_on() {
    let w = world().await;
    let app = test::init_service(build(&w.env.state)).await;
    let mut b = Browser::default();
    sign_in(&mut b, &app, &w.env, OWNER).await;
    w.env
        .state
        .store
        .run(|c| {
            use diesel::RunQueryDsl;
            Ok(
                diesel::sql_query("UPDATE browser_sessions SET auth_time = auth_time - 700")
                    .execute(c)?,
            )
        })
        .await
        .unwrap();
    let sent = w.env.mail.count();
    let asked = create(
        &mut b,
        &app,
        &w.vendor,
        &[("name", "later"), ("scopes", "reports:write")],
    )
    .await;
    assert_eq!(asked.status, 200, "the code page, not the integration");
    assert!(asked.body.contains("autocomplete=\"one-time-code\""));
    assert_eq!(w.env.mail.count(), sent + 1, "a fresh code was mailed");
    let done = b
        .post(
            &app,
            "/t/acme/portal/step-up",
            &[
                ("csrf", &asked.input("csrf")),
                ("pending", &asked.input("pending")),
                ("otp", &w.env.mail.last_code_to(OWNER)),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let shown = b.get(&app, done.location.as_deref().unwrap()).await;
    assert!(
        shown.body.contains("Your client secret"),
        "carried on, nothing re-typed"
    );
}

#[actix_web::test]
async fn a_member_gets_no_controls_and_a_forged_form_is_403_and_another_entity_404() {
    let w = world().await;
    let app = test::init_service(build(&w.env.state)).await;
    let mut b = Browser::default();
    sign_in(&mut b, &app, &w.env, MEMBER).await;
    let page = b.get(&app, &format!("/t/acme/portal/e/{}", w.vendor)).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Create an integration") && !page.body.contains("Rotate secret"));
    let forged = b
        .post(
            &app,
            &format!("/t/acme/portal/e/{}/integrations", w.vendor),
            &[
                ("csrf", &page.input("csrf")),
                ("name", "x"),
                ("scopes", "a"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    let other = b
        .get(&app, &format!("/t/acme/portal/e/{}", w.department))
        .await;
    assert_eq!(other.status, 404);
    let no_token = b
        .post(
            &app,
            &format!("/t/acme/portal/e/{}/integrations", w.vendor),
            &[("name", "x")],
        )
        .await;
    assert_eq!(no_token.status, 403, "no CSRF token");
}

#[actix_web::test]
async fn the_department_approves_and_revokes_and_the_on_behalf_of_token_follows() {
    let w = world().await;
    let app = test::init_service(build(&w.env.state)).await;
    let mut vendor = Browser::default();
    sign_in(&mut vendor, &app, &w.env, OWNER).await;
    let made = create(
        &mut vendor,
        &app,
        &w.vendor,
        &[("name", "obo"), ("scopes", "reports:write")],
    )
    .await;
    let shown = vendor.get(&app, made.location.as_deref().unwrap()).await;
    let secret = revealed(&shown);
    let client_id = shown
        .body
        .split("id=\"client-id\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let page = vendor
        .get(&app, &format!("/t/acme/portal/e/{}", w.vendor))
        .await;
    let asked = vendor
        .post(
            &app,
            &format!("/t/acme/portal/e/{}/enrollments", w.vendor),
            &[
                ("csrf", &page.input("csrf")),
                ("department_id", &w.department),
            ],
        )
        .await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    let obo = [("on_behalf_of", w.department.as_str())];
    let (s, _, _) = call!(app, client_credentials(&client_id, &secret, &obo));
    assert_eq!(s, 400, "not yet approved");

    let mut dept = Browser::default();
    sign_in(&mut dept, &app, &w.env, DEPT).await;
    let page = dept
        .get(&app, &format!("/t/acme/portal/e/{}", w.department))
        .await;
    assert!(page.body.contains("Approve"), "{}", page.body);
    let approve = page
        .body
        .split("action=\"")
        .filter_map(|s| s.split('"').next())
        .find(|a| a.ends_with("/approve"))
        .unwrap()
        .to_owned();
    let done = dept
        .post(&app, &approve, &[("csrf", &page.input("csrf"))])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let (s, _, t) = call!(app, client_credentials(&client_id, &secret, &obo));
    assert_eq!(s, 200, "{t}");
    let token = t["access_token"].as_str().unwrap().to_owned();
    let page = dept
        .get(&app, &format!("/t/acme/portal/e/{}", w.department))
        .await;
    let revoke = page
        .body
        .split("action=\"")
        .filter_map(|s| s.split('"').next())
        .find(|a| a.ends_with("/revoke"))
        .unwrap()
        .to_owned();
    dept.post(&app, &revoke, &[("csrf", &page.input("csrf"))])
        .await;
    let (s, _, _) = call!(
        app,
        actix_web::test::TestRequest::get()
            .uri("/t/acme/whoami")
            .insert_header(bearer(&token))
    );
    assert_eq!(s, 401, "the on_behalf_of token stops with the enrollment");
}

#[actix_web::test]
async fn deleting_asks_first_and_kills_the_tokens() {
    let w = world().await;
    let app = test::init_service(build(&w.env.state)).await;
    let mut b = Browser::default();
    sign_in(&mut b, &app, &w.env, OWNER).await;
    let made = create(
        &mut b,
        &app,
        &w.vendor,
        &[("name", "gone"), ("scopes", "reports:write")],
    )
    .await;
    let shown = b.get(&app, made.location.as_deref().unwrap()).await;
    let secret = revealed(&shown);
    let client_id = shown
        .body
        .split("id=\"client-id\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let (_, _, t) = call!(app, client_credentials(&client_id, &secret, &[]));
    let token = t["access_token"].as_str().unwrap().to_owned();
    let url = format!(
        "/t/acme/portal/e/{}/integrations/{client_id}/delete",
        w.vendor
    );
    let confirm = b.get(&app, &url).await;
    assert!(
        confirm.body.contains("cannot be undone"),
        "a confirmation page"
    );
    let done = b
        .post(&app, &url, &[("csrf", &confirm.input("csrf"))])
        .await;
    assert_eq!(done.status, 303);
    let (s, _, _) = call!(
        app,
        actix_web::test::TestRequest::get()
            .uri("/t/acme/whoami")
            .insert_header(bearer(&token))
    );
    assert_eq!(s, 401);
}

/// The invitation link in the last mail to `to`.
fn invitation_link(env: &Env, to: &str) -> String {
    let mail = (1..=env.mail.count())
        .rev()
        .map(|i| env.mail.nth(i))
        .find(|m| m.to.iter().any(|t| t.contains(to)))
        .expect("a mail to the invited person");
    let text = mail.data.replace("=\r\n", "").replace("=3D", "=");
    let start = text.find("http://portcullis.test").unwrap() + "http://portcullis.test".len();
    let end = text[start..].find(char::is_whitespace).unwrap() + start;
    text[start..end].to_owned()
}

#[actix_web::test]
async fn an_owner_invites_a_person_who_sets_a_password_and_signs_in_with_the_code() {
    let w = world().await;
    let app = test::init_service(build(&w.env.state)).await;
    let mut owner = Browser::default();
    sign_in(&mut owner, &app, &w.env, OWNER).await;
    let members = owner
        .get(&app, &format!("/t/acme/portal/e/{}/members", w.vendor))
        .await;
    assert!(members.body.contains(MEMBER) && members.body.contains("Send invitation"));
    let sent = owner
        .post(
            &app,
            &format!("/t/acme/portal/e/{}/members/invite", w.vendor),
            &[
                ("csrf", &members.input("csrf")),
                ("email", "nina@vendor.example"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let link = invitation_link(&w.env, "nina@vendor.example");
    assert!(link.starts_with("/t/acme/portal/invite?token="), "{link}");

    let mut nina = Browser::default();
    let page = nina.get(&app, &link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("autocomplete=\"new-password\""));
    let short = nina
        .post(
            &app,
            "/t/acme/portal/invite",
            &[
                ("csrf", &page.input("csrf")),
                ("token", &page.input("token")),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(
        short.status, 422,
        "a short password is refused, the link still works"
    );
    let accepted = nina
        .post(
            &app,
            "/t/acme/portal/invite",
            &[
                ("csrf", &page.input("csrf")),
                ("token", &page.input("token")),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    assert!(accepted.location.unwrap().starts_with("/t/acme/signin"));
    sign_in(&mut nina, &app, &w.env, "nina@vendor.example").await;
    let home = nina.get(&app, "/t/acme/portal/").await;
    assert!(
        home.body.contains("Acme Reporting") && home.body.contains("admin"),
        "{}",
        home.body
    );

    let again = Browser::default().get(&app, &link).await;
    assert_eq!(again.status, 410, "a used invitation is refused");
    assert!(again.body.contains("used already or has expired"));
}

#[actix_web::test]
async fn an_expired_invitation_is_refused() {
    let w = world().await;
    let app = test::init_service(build(&w.env.state)).await;
    let mut owner = Browser::default();
    sign_in(&mut owner, &app, &w.env, OWNER).await;
    let members = owner
        .get(&app, &format!("/t/acme/portal/e/{}/members", w.vendor))
        .await;
    owner
        .post(
            &app,
            &format!("/t/acme/portal/e/{}/members/invite", w.vendor),
            &[
                ("csrf", &members.input("csrf")),
                ("email", "late@vendor.example"),
                ("role", "member"),
            ],
        )
        .await;
    w.env
        .state
        .store
        .run(|c| {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query("UPDATE invitations SET expires_at = 0").execute(c)?)
        })
        .await
        .unwrap();
    let page = Browser::default()
        .get(&app, &invitation_link(&w.env, "late@vendor.example"))
        .await;
    assert_eq!(page.status, 410);
}

#[actix_web::test]
async fn the_last_owner_stays_and_only_owners_manage_members() {
    let w = world().await;
    let app = test::init_service(build(&w.env.state)).await;
    let mut owner = Browser::default();
    sign_in(&mut owner, &app, &w.env, OWNER).await;
    let page = owner
        .get(&app, &format!("/t/acme/portal/e/{}/members", w.vendor))
        .await;
    let actions: Vec<String> = page
        .body
        .split("action=\"")
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .collect();
    // The owner is listed first (by email: max… < olga…); find the owner's own actions.
    let own_remove = actions
        .iter()
        .find(|a| a.ends_with("/remove") && !a.contains("invite"))
        .cloned();
    let members = w
        .env
        .state
        .store
        .run({
            let v = w.vendor.clone();
            move |c| store::repo::invitations::members_of(c, &v)
        })
        .await
        .unwrap();
    let owner_id = members
        .iter()
        .find(|(_, e, _)| e == OWNER)
        .unwrap()
        .0
        .clone();
    let member_id = members
        .iter()
        .find(|(_, e, _)| e == MEMBER)
        .unwrap()
        .0
        .clone();
    assert!(own_remove.is_some());
    let remove_self = owner
        .post(
            &app,
            &format!("/t/acme/portal/e/{}/members/{owner_id}/remove", w.vendor),
            &[("csrf", &page.input("csrf"))],
        )
        .await;
    assert_eq!(remove_self.status, 409, "the last owner cannot leave");
    assert!(remove_self.body.contains("at least one owner"));
    let demote = owner
        .post(
            &app,
            &format!("/t/acme/portal/e/{}/members/{owner_id}/role", w.vendor),
            &[("csrf", &page.input("csrf")), ("role", "member")],
        )
        .await;
    assert_eq!(demote.status, 409);
    let promote = owner
        .post(
            &app,
            &format!("/t/acme/portal/e/{}/members/{member_id}/role", w.vendor),
            &[("csrf", &page.input("csrf")), ("role", "admin")],
        )
        .await;
    assert_eq!(promote.status, 303);

    let mut admin = Browser::default();
    sign_in(&mut admin, &app, &w.env, MEMBER).await;
    let theirs = admin
        .get(&app, &format!("/t/acme/portal/e/{}/members", w.vendor))
        .await;
    assert!(
        !theirs.body.contains("Send invitation"),
        "only owners invite"
    );
    let forged = admin
        .post(
            &app,
            &format!("/t/acme/portal/e/{}/members/invite", w.vendor),
            &[
                ("csrf", &theirs.input("csrf")),
                ("email", "x@vendor.example"),
                ("role", "owner"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
}
