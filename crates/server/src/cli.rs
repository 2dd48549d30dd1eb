//! Operator commands that work without the HTTP API (first set-up, automation, benchmarks).

use domain::model::{AuthMethod, GrantType};
use registry::clients::NewClient;

use crate::config::Config;

const CLIENT_USAGE: &str = "usage: portcullis client add --tenant SLUG [--client-id ID] [--name NAME] \
[--scopes \"a b\"] [--alg RS256|ES256] [--auth client_secret_basic|client_secret_post|private_key_jwt] \
[--jwks-file FILE | --jwks-uri URL] [--grant-types \"client_credentials refresh_token\"]";

/// `portcullis client add …`: creates a client and prints it as JSON, with its secret (once).
pub fn client(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) != Some("add") {
        return Err(CLIENT_USAGE.to_owned());
    }
    let mut opts = std::collections::HashMap::new();
    let mut it = args[1..].iter();
    while let Some(flag) = it.next() {
        let name = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected `{flag}`\n{CLIENT_USAGE}"))?;
        let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
        opts.insert(name.to_owned(), value.clone());
    }
    let tenant_slug = opts
        .remove("tenant")
        .ok_or_else(|| format!("--tenant is required\n{CLIENT_USAGE}"))?;
    let scopes = opts.remove("scopes").unwrap_or_default();
    let scope_list: Vec<&str> = scopes.split(' ').filter(|s| !s.is_empty()).collect();
    let mut new = NewClient::machine(
        &opts.remove("name").unwrap_or_else(|| "cli".into()),
        &scope_list,
    );
    new.client_id = opts.remove("client-id");
    if let Some(alg) = opts.remove("alg") {
        new.access_token_alg = alg
            .parse()
            .map_err(|_| format!("--alg must be RS256 or ES256, not {alg}"))?;
    }
    if let Some(auth) = opts.remove("auth") {
        new.auth_method = auth.parse::<AuthMethod>().map_err(|e| e.to_string())?;
    }
    if let Some(g) = opts.remove("grant-types") {
        new.grant_types = g
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::parse::<GrantType>)
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
    }
    if let Some(file) = opts.remove("jwks-file") {
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
        new.jwks = Some(serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?);
    }
    new.jwks_uri = opts.remove("jwks-uri");
    if let Some(unknown) = opts.keys().next() {
        return Err(format!("unknown option --{unknown}\n{CLIENT_USAGE}"));
    }
    let config = Config::load().map_err(|e| e.to_string())?;
    let (master_key, _) = config.master_key.load().map_err(|e| e.to_string())?;
    let store = crate::open_store(&config).map_err(|e| e.to_string())?;
    actix_web::rt::System::new().block_on(async move {
        let tenant = store
            .run(move |c| store::repo::tenants::find_by_slug(c, &tenant_slug))
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no such tenant")?;
        let (row, secret) =
            registry::clients::create(&store, &master_key, &tenant.id, new, |_| None)
                .await
                .map_err(|e| e.to_string())?;
        let out = serde_json::json!({ "client_id": row.client_id, "client_secret": secret });
        println!("{out}");
        Ok(())
    })
}
