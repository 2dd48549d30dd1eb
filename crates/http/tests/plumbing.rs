//! The shared HTTP plumbing: request ids, problem bodies, body limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::middleware::from_fn;
use actix_web::{test, web, App, HttpResponse};
use http::{body_limits, request_context, BodyLimits, REQUEST_ID_HEADER};
use serde::Deserialize;

#[derive(Deserialize)]
struct Thing {
    #[allow(dead_code)]
    name: String,
}

async fn create(_t: web::Json<Thing>) -> HttpResponse {
    HttpResponse::Created().finish()
}

async fn fail() -> Result<HttpResponse, http::ApiError> {
    Err(http::ApiError::Internal(
        "db exploded: secret details".into(),
    ))
}

macro_rules! app {
    () => {{
        let (json, form, payload) = body_limits(BodyLimits {
            json: 1024,
            form: 1024,
        });
        test::init_service(
            App::new()
                .app_data(json)
                .app_data(form)
                .app_data(payload)
                .wrap(from_fn(request_context))
                .service(web::resource("/things").route(web::post().to(create)))
                .route("/fail", web::get().to(fail)),
        )
        .await
    }};
}

async fn problem<B: actix_web::body::MessageBody>(
    resp: actix_web::dev::ServiceResponse<B>,
) -> (u16, String, serde_json::Value) {
    let status = resp.status().as_u16();
    let header_id = resp
        .headers()
        .get(REQUEST_ID_HEADER)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    let body: serde_json::Value = test::read_body_json(resp).await;
    assert_eq!(
        body["request_id"], header_id,
        "the body carries the header's request id"
    );
    assert_eq!(body["status"], status);
    (status, header_id, body)
}

#[actix_web::test]
async fn unknown_routes_and_methods_answer_problems() {
    let app = app!();
    let resp =
        test::call_service(&app, test::TestRequest::get().uri("/nowhere").to_request()).await;
    let (status, _, body) = problem(resp).await;
    assert_eq!(status, 404);
    assert!(body["detail"].as_str().unwrap().contains("openapi"));

    let resp = test::call_service(&app, test::TestRequest::get().uri("/things").to_request()).await;
    let (status, _, _) = problem(resp).await;
    assert_eq!(status, 405);
}

#[actix_web::test]
async fn request_ids_are_propagated_only_when_well_formed() {
    let app = app!();
    let req = test::TestRequest::get()
        .uri("/x")
        .insert_header(("x-request-id", "abc-123"))
        .to_request();
    let (_, id, _) = problem(test::call_service(&app, req).await).await;
    assert_eq!(id, "abc-123");

    let hostile = "a\"}, {\"injected\": 1".to_owned() + &"x".repeat(100);
    let req = test::TestRequest::get()
        .uri("/x")
        .insert_header(("x-request-id", hostile.as_str()))
        .to_request();
    let (_, id, _) = problem(test::call_service(&app, req).await).await;
    assert_ne!(id, hostile);
    assert_eq!(id.len(), 32, "a generated id replaces a malformed one");
}

#[actix_web::test]
async fn oversized_malformed_and_mistyped_bodies_are_4xx_problems() {
    let app = app!();
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(4096));
    let req = test::TestRequest::post()
        .uri("/things")
        .insert_header(("content-type", "application/json"))
        .set_payload(big)
        .to_request();
    let (status, _, _) = problem(test::call_service(&app, req).await).await;
    assert_eq!(status, 413);

    let req = test::TestRequest::post()
        .uri("/things")
        .insert_header(("content-type", "application/json"))
        .set_payload("{\"nom\":1}")
        .to_request();
    let (status, _, body) = problem(test::call_service(&app, req).await).await;
    assert_eq!(status, 400);
    assert!(
        body["detail"].as_str().unwrap().contains("name"),
        "names the field: {body}"
    );

    let req = test::TestRequest::post()
        .uri("/things")
        .insert_header(("content-type", "application/json"))
        .set_payload("{not json")
        .to_request();
    let (status, _, _) = problem(test::call_service(&app, req).await).await;
    assert_eq!(status, 400);

    let req = test::TestRequest::post()
        .uri("/things")
        .insert_header(("content-type", "text/plain"))
        .set_payload("{\"name\":\"a\"}")
        .to_request();
    let (status, _, _) = problem(test::call_service(&app, req).await).await;
    assert_eq!(status, 415);

    let req = test::TestRequest::post()
        .uri("/things")
        .insert_header(("content-type", "application/json"))
        .set_payload("{\"name\":\"a\"}")
        .to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 201);
}

#[actix_web::test]
async fn internal_errors_hide_their_cause() {
    let app = app!();
    let resp = test::call_service(&app, test::TestRequest::get().uri("/fail").to_request()).await;
    let (status, _, body) = problem(resp).await;
    assert_eq!(status, 500);
    assert!(!body.to_string().contains("secret details"), "{body}");
}

#[derive(Deserialize)]
struct Page {
    #[allow(dead_code)]
    limit: Option<i64>,
}

async fn page(_q: web::Query<Page>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[actix_web::test]
async fn unparsable_query_strings_are_problems() {
    let app = test::init_service(
        App::new()
            .app_data(http::query_config())
            .wrap(from_fn(request_context))
            .route("/page", web::get().to(page)),
    )
    .await;
    let req = test::TestRequest::get()
        .uri("/page?limit=9223372036854775808")
        .to_request();
    let (status, _, body) = problem(test::call_service(&app, req).await).await;
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().unwrap().contains("query"), "{body}");
    let req = test::TestRequest::get().uri("/page?limit=5").to_request();
    assert_eq!(test::call_service(&app, req).await.status(), 200);
}
