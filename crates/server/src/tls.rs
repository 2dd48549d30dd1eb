//! The HTTPS listener: TLS 1.2 at least (1.3 preferred by OpenSSL's negotiation), a client
//! certificate requested but not required, and accepted at the handshake whatever it is —
//! the handshake cannot know the tenant; each request checks the certificate against its
//! tenant's trust anchors (`tokens::mtls`).

use std::any::Any;
use std::sync::Arc;

use actix_web::dev::Extensions;
use openssl::ssl::{
    SslAcceptor, SslAcceptorBuilder, SslFiletype, SslMethod, SslVerifyMode, SslVersion,
};
use openssl::x509::X509;
use tokens::mtls::ClientCert;

use crate::config::TlsFiles;

#[derive(Debug, thiserror::Error)]
#[error("TLS {what} {path}: {source}")]
pub struct TlsError {
    what: &'static str,
    path: String,
    source: openssl::error::ErrorStack,
}

pub fn acceptor(files: &TlsFiles) -> Result<SslAcceptorBuilder, TlsError> {
    let err = |what, path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| TlsError { what, path, source }
    };
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())
        .map_err(err("set-up", std::path::Path::new("")))?;
    b.set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(err("set-up", std::path::Path::new("")))?;
    b.set_certificate_chain_file(&files.cert)
        .map_err(err("certificate", &files.cert))?;
    b.set_private_key_file(&files.key, SslFiletype::PEM)
        .map_err(err("private key", &files.key))?;
    b.check_private_key()
        .map_err(err("private key", &files.key))?;
    if let Some(ca) = &files.client_ca {
        let pem = std::fs::read(ca).map_err(|_| TlsError {
            what: "client CA bundle",
            path: ca.display().to_string(),
            source: openssl::error::ErrorStack::get(),
        })?;
        for cert in X509::stack_from_pem(&pem).map_err(err("client CA bundle", ca))? {
            b.add_client_ca(&cert)
                .map_err(err("client CA bundle", ca))?;
        }
    }
    // Ask for a certificate, never require one, accept any: the request decides.
    b.set_verify_callback(SslVerifyMode::PEER, |_, _| true);
    b.set_session_id_context(b"portcullis")
        .map_err(err("set-up", std::path::Path::new("")))?;
    Ok(b)
}

/// Per connection: the client's certificate chain, for `tokens::mtls::presented`.
pub fn on_connect(conn: &dyn Any, ext: &mut Extensions) {
    use actix_tls::accept::openssl::TlsStream;
    let Some(tls) = conn.downcast_ref::<TlsStream<actix_web::rt::net::TcpStream>>() else {
        return;
    };
    let ssl = tls.ssl();
    let Some(leaf) = ssl.peer_certificate() else {
        return;
    };
    // On the server side the peer chain does not include the leaf.
    let chain: Vec<X509> = ssl
        .peer_cert_chain()
        .map(|s| s.iter().map(|c| c.to_owned()).collect())
        .unwrap_or_default();
    if let Some(cert) = ClientCert::new(leaf, chain) {
        ext.insert(Arc::new(cert));
    }
}
