use super::*;

#[test]
fn return_to_only_leads_to_a_path_of_the_tenant() {
    assert!(safe_return("/t/acme/oauth2/authorize?client_id=x", "acme"));
    for bad in [
        "https://evil.example/t/acme/",
        "//evil.example/t/acme/",
        "/t/acme//evil.example",
        "/t/acme/\\evil",
        "/t/other/account/apps",
        "/t/acmex/account/apps",
        "/t/acme/\nSet-Cookie",
        "",
    ] {
        assert!(!safe_return(bad, "acme"), "{bad:?}");
    }
}

#[test]
fn the_origin_of_a_url_is_its_scheme_host_and_port() {
    assert_eq!(
        origin_of("https://auth.example.com"),
        "https://auth.example.com"
    );
    assert_eq!(
        origin_of("https://auth.example.com/base"),
        "https://auth.example.com"
    );
    assert_eq!(origin_of("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
}

#[actix_web::test]
async fn a_form_from_another_site_is_refused_and_a_null_origin_is_left_to_the_token() {
    use actix_web::test::TestRequest;
    let ours = "https://auth.example.com";
    let req = |h: &[(&str, &str)]| {
        let mut r = TestRequest::post();
        for (k, v) in h {
            r = r.insert_header((*k, *v));
        }
        r.to_http_request()
    };
    assert!(same_origin(&req(&[]), ours));
    assert!(same_origin(
        &req(&[("origin", "https://auth.example.com")]),
        ours
    ));
    assert!(same_origin(&req(&[("origin", "null")]), ours));
    assert!(!same_origin(
        &req(&[("origin", "https://evil.example")]),
        ours
    ));
    assert!(!same_origin(
        &req(&[("sec-fetch-site", "cross-site")]),
        ours
    ));
    assert!(same_origin(
        &req(&[("sec-fetch-site", "same-origin")]),
        ours
    ));
}
