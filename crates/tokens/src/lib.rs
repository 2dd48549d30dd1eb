//! OAuth 2.0 endpoints, JWT minting and verification, the bearer guard — and the HTTP plumbing
//! every API crate shares (problem responses, request ids, body limits), kept here because this
//! is the lowest crate all of them depend on.

pub mod http;
