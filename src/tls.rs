//! TLS for outgoing HTTPS: rustls with the `ring` provider (no OpenSSL, and a
//! lighter build than aws-lc). reqwest needs the provider installed once,
//! before any client is built.

use std::sync::Once;

static INSTALL: Once = Once::new();

/// Installs the process-wide rustls provider; safe to call many times.
pub fn ensure_crypto_provider() {
    INSTALL.call_once(|| {
        // An Err means another provider was installed first, which serves too.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client builder with TLS ready.
pub fn http_client() -> reqwest::ClientBuilder {
    ensure_crypto_provider();
    reqwest::Client::builder()
}
