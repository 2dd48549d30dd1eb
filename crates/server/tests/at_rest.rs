//! Nothing secret is stored in clear: after a run that creates tenants, keys, clients, secrets
//! and refresh tokens, a dump of every table holds no secret, no token and no private key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::test;
use common::*;
use diesel::prelude::*;
use diesel::sql_types::Text;
use domain::model::{Environment, GrantType};
use portcullis_server::app::build;
use registry::clients::NewClient;
use store::{DatabaseUrl, DbConnection};

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Every byte the database holds: the SQLite files, or every row of every PostgreSQL table as
/// JSON (bytea shows as hex there).
async fn dump(env: &Env) -> Vec<u8> {
    match &env.db.url {
        DatabaseUrl::Sqlite(path) => {
            env.state
                .store
                .run(|c| {
                    use diesel::connection::SimpleConnection;
                    c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")?;
                    Ok(())
                })
                .await
                .unwrap();
            let mut bytes = std::fs::read(path).unwrap();
            if let Ok(wal) = std::fs::read(path.with_extension("db-wal")) {
                bytes.extend(wal);
            }
            bytes
        }
        DatabaseUrl::Postgres(_) => env
            .state
            .store
            .run(|c| {
                let DbConnection::Postgres(pg) = c else { unreachable!() };
                let tables: Vec<Line> = diesel::sql_query(
                    "SELECT table_name::text AS line FROM information_schema.tables WHERE table_schema = current_schema()",
                )
                .load(pg)?;
                let mut out = Vec::new();
                for t in tables {
                    let rows: Vec<Line> = diesel::sql_query(format!("SELECT row_to_json(t)::text AS line FROM {} t", t.line)).load(pg)?;
                    for r in rows {
                        out.extend(r.line.into_bytes());
                        out.push(b'\n');
                    }
                }
                Ok(out)
            })
            .await
            .unwrap(),
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[actix_web::test]
async fn a_dump_of_every_table_holds_no_secret_in_clear() {
    let env = env();
    let t = env.tenant("acme", Environment::Production).await;
    let mut new = NewClient::machine("svc", &["read"]);
    new.grant_types = vec![GrantType::ClientCredentials, GrantType::RefreshToken];
    let (c, secret) = env.client(&t, new).await;
    let secret = secret.unwrap();
    let app = test::init_service(build(&env.state)).await;
    let (s, _, body) = call!(
        app,
        post_form(
            &token_url("acme"),
            form(&[("grant_type", "client_credentials")])
        )
        .insert_header(basic(&c.client_id, &secret))
    );
    assert_eq!(s, 200);
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();

    // Everything the admin API reveals once: device secret and token, a user's password, a
    // generated private key, a rotated client secret.
    let admin_secret = "at-rest-admin-secret-at-rest-admin-secret";
    let cfg = portcullis_server::config::BootstrapConfig {
        admin_email: "root@example.com".into(),
        admin_password: Some("root password root password".into()),
        client_secret: Some(admin_secret.into()),
    };
    portcullis_server::bootstrap::run(
        &env.state.store,
        &env.state.master_key,
        &cfg,
        portcullis_server::config::RunMode::Development,
    )
    .await
    .unwrap();
    let (_, _, tok) = call!(
        app,
        post_form(
            &token_url("system"),
            form(&[("grant_type", "client_credentials")])
        )
        .insert_header(basic("admin", admin_secret))
    );
    let auth = (
        "authorization",
        format!("Bearer {}", tok["access_token"].as_str().unwrap()),
    );
    let api = |m: actix_web::test::TestRequest, path: String, body: serde_json::Value| {
        m.uri(&path).insert_header(auth.clone()).set_json(body)
    };
    let base = format!("/admin/v1/tenants/{}", t.id);
    let (_, _, org) = call!(
        app,
        api(
            actix_web::test::TestRequest::post(),
            format!("{base}/organizations"),
            serde_json::json!({"kind": "vendor", "name": "V"})
        )
    );
    let (s, _, dev) = call!(
        app,
        api(
            actix_web::test::TestRequest::post(),
            format!(
                "{base}/organizations/{}/devices",
                org["id"].as_str().unwrap()
            ),
            serde_json::json!({"name": "d", "thumbprint": "Ek9UBDDe8Gg1Qo3f9fzAp8uVqMGDy0AM4qRYdD2pDEk"})
        )
    );
    assert_eq!(s, 201, "{dev}");
    let password = "a long user password, never stored";
    let (s, _, _) = call!(
        app,
        api(
            actix_web::test::TestRequest::post(),
            format!("{base}/users"),
            serde_json::json!({"email": "u@example.com", "password": password})
        )
    );
    assert_eq!(s, 201);
    let (s, _, _) = call!(
        app,
        api(
            actix_web::test::TestRequest::post(),
            format!("{base}/clients"),
            serde_json::json!({"name": "k", "client_id": "keyed", "auth_method": "private_key_jwt", "grant_types": ["client_credentials"], "scopes": []})
        )
    );
    assert_eq!(s, 201);
    let (s, _, pair) = call!(
        app,
        api(
            actix_web::test::TestRequest::post(),
            format!("{base}/clients/keyed/keys"),
            serde_json::json!({"alg": "ES256"})
        )
    );
    assert_eq!(s, 201, "{pair}");
    let (s, _, rotated) = call!(
        app,
        api(
            actix_web::test::TestRequest::post(),
            format!("{base}/clients/{}/secrets", c.client_id),
            serde_json::json!({})
        )
    );
    assert_eq!(s, 201);
    let pem_body: String = pair["private_key_pem"]
        .as_str()
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let once: Vec<(&str, String)> = vec![
        (
            "device secret",
            dev["device_secret"].as_str().unwrap().to_owned(),
        ),
        (
            "device token signature",
            dev["device_token"]
                .as_str()
                .unwrap()
                .rsplit('.')
                .next()
                .unwrap()
                .to_owned(),
        ),
        ("user password", password.to_owned()),
        ("admin password", "root password root password".to_owned()),
        ("admin client secret", admin_secret.to_owned()),
        (
            "generated private key (PEM body)",
            pem_body[..40].to_owned(),
        ),
        (
            "generated private key (JWK d)",
            pair["private_jwk"]["d"].as_str().unwrap().to_owned(),
        ),
        (
            "rotated secret",
            rotated["client_secret"].as_str().unwrap().to_owned(),
        ),
    ];

    let dump = dump(&env).await;
    for (what, plain) in &once {
        assert!(!contains(&dump, plain.as_bytes()), "{what} stored in clear");
    }
    assert!(dump.len() > 1000, "the dump has the data");
    assert!(
        contains(&dump, c.client_id.as_bytes()),
        "the dump is readable: it holds the client id"
    );
    for (what, plain) in [("client secret", &secret), ("refresh token", &refresh)] {
        assert!(!contains(&dump, plain.as_bytes()), "{what} stored in clear");
    }
    assert!(!contains(&dump, b"PRIVATE KEY"), "PEM private key stored");

    // The private keys, unsealed with the master key, appear nowhere in any encoding.
    let tid = t.id.clone();
    let keys = env
        .state
        .store
        .run(move |c| store::repo::signing_keys::of_tenant(c, &tid))
        .await
        .unwrap();
    assert_eq!(keys.len(), 2);
    for k in keys {
        let der = env
            .state
            .master_key
            .open(&k.private_key_sealed, k.id.as_bytes())
            .unwrap();
        assert!(der.len() > 100);
        assert!(!contains(&dump, &der), "private key DER in clear");
        assert!(
            !contains(&dump, hex(&der).as_bytes()),
            "private key DER (hex) in clear"
        );
        let jwk: serde_json::Value = serde_json::from_str(&k.public_jwk).unwrap();
        assert!(jwk.get("d").is_none(), "the stored JWK is public only");
    }
}
