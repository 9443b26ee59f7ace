//! How `serve` faces the network and how long it lets a request work: its
//! own TLS, a TLS proxy in front of it, and the query deadline. Kept apart
//! from [`super::ServeOptions`] because the demo (on loopback, plain HTTP,
//! default deadline) never sets them.

use std::net::SocketAddr;
use std::time::Duration;

use super::ServeError;
use super::deadline;
use super::tls::TlsFiles;

#[derive(Debug, Clone)]
pub struct Deployment {
    /// The server speaks TLS itself with this certificate and key.
    pub tls: Option<TlsFiles>,
    /// TLS is terminated by a reverse proxy in front: the agent says so,
    /// and links the server writes say https.
    pub behind_proxy: bool,
    /// How long one request's database work may take, waiting included.
    pub query_deadline: Duration,
}

impl Default for Deployment {
    fn default() -> Self {
        Deployment {
            tls: None,
            behind_proxy: false,
            query_deadline: deadline::DEFAULT,
        }
    }
}

impl Deployment {
    /// Plain HTTP is for this machine only: off loopback, passwords (Basic
    /// sends one with every request), tokens and citizens' records would
    /// cross the network in clear, unless TLS is there, ours or a proxy's.
    pub fn check_address(&self, addr: SocketAddr) -> Result<(), ServeError> {
        if addr.ip().is_loopback() || self.tls.is_some() || self.behind_proxy {
            Ok(())
        } else {
            Err(ServeError::PlainHttpOffLoopback(addr))
        }
    }

    /// The scheme clients reach the server by, for the links it writes.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() || self.behind_proxy {
            "https"
        } else {
            "http"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback_unless_tls_is_somewhere() {
        let plain = Deployment::default();
        for addr in ["127.0.0.1:8080", "[::1]:8080"] {
            assert!(plain.check_address(addr.parse().unwrap()).is_ok(), "{addr}");
        }
        for addr in ["0.0.0.0:8080", "192.168.1.10:8080", "[::]:8080"] {
            let refused = plain.check_address(addr.parse().unwrap()).unwrap_err();
            let message = refused.to_string();
            assert!(
                message.contains("--behind-proxy") && message.contains("--tls-cert"),
                "the refusal says what to do: {message}"
            );
        }
        let proxied = Deployment {
            behind_proxy: true,
            ..Deployment::default()
        };
        assert!(
            proxied
                .check_address("0.0.0.0:8080".parse().unwrap())
                .is_ok()
        );
        assert_eq!(proxied.scheme(), "https");
        assert_eq!(plain.scheme(), "http");
    }
}
