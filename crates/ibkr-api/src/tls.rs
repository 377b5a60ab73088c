//! TLS policy: certificates are verified, with two deliberate exceptions.
//!
//! - A gateway on a loopback address (127.0.0.0/8, `::1`, `localhost`) may present a
//!   self-signed certificate: the stock Client Portal Gateway ships one, and traffic
//!   that never leaves the machine gains nothing from a public CA.
//! - A certificate whose SHA-256 fingerprint the caller pinned is accepted on any host.
//!
//! Everything else is verified against the platform's trust store, unless the caller
//! explicitly asks for `danger_accept_invalid_certs`.

use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use url::{Host, Url};

use crate::error::Error;

/// A pinned certificate: the SHA-256 of its DER encoding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pin(pub [u8; 32]);

impl Pin {
    /// Parses `AB:CD:...`, `abcd...` or `sha256/abcd...` (64 hex digits, any case).
    pub fn parse(s: &str) -> Result<Pin, Error> {
        let hex: String = s
            .trim()
            .trim_start_matches("sha256/")
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .collect();
        let bytes = hex::decode(&hex).map_err(|_| {
            Error::Config(format!("certificate pin `{s}` is not hexadecimal; expected 64 hex digits (colons allowed), e.g. the output of `openssl x509 -noout -fingerprint -sha256`"))
        })?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::Config(format!(
                "certificate pin `{s}` is not a SHA-256 fingerprint: expected 32 bytes (64 hex digits)"
            ))
        })?;
        Ok(Pin(arr))
    }
}

/// Whether the URL's host is a loopback address.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

pub(crate) enum Policy {
    /// Platform trust store.
    Verify,
    /// Platform trust store, or any certificate since the host is loopback.
    Loopback,
    /// Exactly this certificate.
    Pinned(Pin),
    /// Anything (the caller asked for it).
    Danger,
}

pub(crate) fn client_config(policy: Policy) -> Result<ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algs = provider.signature_verification_algorithms;
    let platform = || -> Result<Arc<dyn ServerCertVerifier>, Error> {
        rustls_platform_verifier::Verifier::new(provider.clone())
            .map(|v| Arc::new(v) as Arc<dyn ServerCertVerifier>)
            .map_err(|e| {
                Error::Config(format!(
                    "cannot load the system's trusted certificates: {e}"
                ))
            })
    };
    let verifier: Arc<dyn ServerCertVerifier> = match policy {
        Policy::Verify => platform()?,
        Policy::Loopback | Policy::Danger => Arc::new(Relaxed { pin: None, algs }),
        Policy::Pinned(pin) => Arc::new(Relaxed {
            pin: Some(pin),
            algs,
        }),
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS set-up failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Accepts the certificate that matches the pin or, without a pin, any certificate
/// (used for loopback gateways and the explicit opt-out). Handshake signatures are
/// always checked, so the server must hold the certificate's key.
#[derive(Debug)]
struct Relaxed {
    pin: Option<Pin>,
    algs: WebPkiSupportedAlgorithms,
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pin({})", hex::encode(self.0))
    }
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(pin) = self.pin {
            let got: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
            return if got == pin.0 {
                Ok(ServerCertVerified::assertion())
            } else {
                Err(rustls::Error::General(format!(
                    "certificate fingerprint {} does not match the pinned {}",
                    hex::encode(got),
                    hex::encode(pin.0)
                )))
            };
        }
        let _ = (intermediates, server_name, ocsp, now);
        tracing::trace!(
            "accepting a certificate not signed by a trusted authority (loopback gateway or explicit opt-out)"
        );
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for u in [
            "https://localhost:5000",
            "https://LOCALHOST:5000",
            "https://127.0.0.1:5000",
            "https://127.8.0.1",
            "https://[::1]:5000",
        ] {
            assert!(is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
        for u in [
            "https://api.ibkr.com",
            "https://192.168.1.10:5000",
            "https://localhost.evil.com",
            "https://[::2]:5000",
        ] {
            assert!(!is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
    }

    #[test]
    fn pins_parse_in_common_forms() {
        let hex64 = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(Pin::parse(&hex64).unwrap(), Pin([0xab; 32]));
        assert_eq!(Pin::parse(&colons).unwrap(), Pin([0xab; 32]));
        assert_eq!(
            Pin::parse(&format!("sha256/{hex64}")).unwrap(),
            Pin([0xab; 32])
        );
        assert!(matches!(Pin::parse("abcd"), Err(Error::Config(m)) if m.contains("32 bytes")));
        assert!(matches!(Pin::parse("zz"), Err(Error::Config(m)) if m.contains("hexadecimal")));
    }
}
