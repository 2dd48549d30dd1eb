use serde_json::json;

use super::*;

#[test]
fn globs_are_anchored_at_both_ends() {
    assert!(glob_match("acme/*", "acme/records"));
    assert!(glob_match("*", ""));
    assert!(glob_match(
        "repo:acme/*:ref:refs/heads/main",
        "repo:acme/api:ref:refs/heads/main"
    ));
    assert!(glob_match("a*b*c", "a-b-b-c"));
    assert!(
        !glob_match("acme/*", "evil/acme/records"),
        "anchored at the start"
    );
    assert!(
        !glob_match("*/main", "refs/heads/main-evil"),
        "anchored at the end"
    );
    assert!(!glob_match("acme", "acme2"));
    assert!(!glob_match("a*b*c", "a-c-b"));
}

/// A projected Kubernetes service-account token's claims.
fn kubernetes() -> serde_json::Value {
    json!({
        "iss": "https://kubernetes.default.svc",
        "sub": "system:serviceaccount:reports:exporter",
        "aud": ["portcullis"],
        "kubernetes.io": {"namespace": "reports", "serviceaccount": {"name": "exporter"}}
    })
}

/// A GitHub Actions OIDC token's claims.
fn github() -> serde_json::Value {
    json!({
        "iss": "https://token.actions.githubusercontent.com",
        "sub": "repo:acme/records:ref:refs/heads/main",
        "repository": "acme/records",
        "ref": "refs/heads/main",
        "event_name": "push",
        "run_attempt": 1,
        "email_verified": true
    })
}

fn cond(claim: &str, value: &str) -> Condition {
    Condition {
        claim: claim.into(),
        value: value.into(),
    }
}

#[test]
fn json_pointers_reach_nested_claims_of_kubernetes_tokens() {
    assert!(cond("/kubernetes.io/namespace", "reports").matches(&kubernetes()));
    assert!(cond("/kubernetes.io/serviceaccount/name", "export*").matches(&kubernetes()));
    assert!(!cond("/kubernetes.io/namespace", "billing").matches(&kubernetes()));
    assert!(
        !cond("/kubernetes.io/missing", "*").matches(&kubernetes()),
        "absent never matches"
    );
}

#[test]
fn top_level_names_lists_numbers_and_booleans_match_by_their_text() {
    assert!(cond("repository", "acme/*").matches(&github()));
    assert!(
        cond("aud", "portcullis").matches(&kubernetes()),
        "one element of a list"
    );
    assert!(cond("run_attempt", "1").matches(&github()));
    assert!(cond("email_verified", "true").matches(&github()));
    assert!(!cond("email_verified", "false").matches(&github()));
}

#[test]
fn the_first_matching_rule_wins_and_no_match_is_none() {
    let rules = vec![
        Rule {
            name: "main branch deploys".into(),
            when: vec![
                cond("repository", "acme/records"),
                cond("ref", "refs/heads/main"),
            ],
            target: Target::Client {
                client_id: "deployer".into(),
            },
            single_use: true,
        },
        Rule {
            name: "any acme repository".into(),
            when: vec![cond("repository", "acme/*")],
            target: Target::Client {
                client_id: "ci".into(),
            },
            single_use: false,
        },
    ];
    assert_eq!(
        first_match(&rules, &github()).map(|r| r.name.as_str()),
        Some("main branch deploys")
    );
    let mut other = github();
    other["ref"] = json!("refs/heads/feature");
    assert_eq!(
        first_match(&rules, &other).map(|r| r.name.as_str()),
        Some("any acme repository")
    );
    other["repository"] = json!("evil/records");
    assert!(first_match(&rules, &other).is_none());
}

#[test]
fn no_symmetric_or_unsigned_algorithm_is_ever_allowed() {
    for bad in ["none", "HS256", "HS384", "HS512"] {
        assert!(!EXTERNAL_ALGS.contains(&bad), "{bad}");
    }
}
