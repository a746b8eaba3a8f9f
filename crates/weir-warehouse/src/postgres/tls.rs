//! TLS to the PostgreSQL server (rustls), with libpq's `sslmode` semantics so that a URL that
//! works with `psql` works here:
//!
//! | `sslmode` | TLS | server certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (the default) | when the server offers it | not checked |
//! | `require` | always | not checked; checked as for `verify-ca` when `sslrootcert` is given |
//! | `verify-ca` | always | signed by a trusted root |
//! | `verify-full` | always | signed by a trusted root and issued for the URL's host |
//!
//! Trusted roots come from `sslrootcert` — a PEM file, or `system` — and otherwise from the
//! operating system's store. tokio-postgres itself knows only `disable`, `prefer` and
//! `require`, so both parameters are taken out of the URL here and the certificate checks are
//! this module's verifiers.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::WarehouseError;

/// The `sslmode` URL parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl TlsMode {
    pub(crate) fn parse(value: &str) -> Result<TlsMode, WarehouseError> {
        Ok(match value {
            "disable" => TlsMode::Disable,
            "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            other => {
                return Err(WarehouseError::rejected(format!(
                    "invalid PostgreSQL URL: sslmode \"{other}\" must be disable, prefer, \
                     require, verify-ca or verify-full"
                )));
            }
        })
    }

    /// What tokio-postgres negotiates; the verify modes are `Require` plus a verifier.
    pub(crate) fn ssl_mode(self) -> SslMode {
        match self {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
        }
    }
}

/// The connector for `mode`, trusting the roots `root_cert` names (`None`: the system's).
pub(crate) fn connector(
    mode: TlsMode,
    root_cert: Option<&str>,
) -> Result<MakeRustlsConnect, WarehouseError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = match (mode, root_cert) {
        (TlsMode::Disable | TlsMode::Prefer, _) | (TlsMode::Require, None) => None,
        (TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull, root_cert) => {
            Some(webpki(root_cert, &provider)?)
        }
    };
    let verifier = Arc::new(Verifier {
        chain,
        check_name: mode == TlsMode::VerifyFull,
        algorithms: provider.signature_verification_algorithms,
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| tls_error(&error.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

fn tls_error(detail: &str) -> WarehouseError {
    WarehouseError::rejected(format!("cannot set up TLS for PostgreSQL: {detail}"))
}

/// rustls' standard verifier over the roots of `root_cert`.
fn webpki(
    root_cert: Option<&str>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, WarehouseError> {
    let certificates = match root_cert {
        None | Some("system") => {
            let loaded = rustls_native_certs::load_native_certs();
            if loaded.certs.is_empty() {
                let why = loaded
                    .errors
                    .first()
                    .map_or_else(|| "none found".to_owned(), ToString::to_string);
                return Err(tls_error(&format!(
                    "cannot load the system's root certificates ({why}); name a PEM file with \
                     sslrootcert"
                )));
            }
            loaded.certs
        }
        Some(path) => CertificateDer::pem_file_iter(path)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|error| {
                WarehouseError::rejected(format!(
                    "invalid PostgreSQL URL: cannot read the certificates of sslrootcert \
                     \"{path}\": {error}"
                ))
            })?,
    };
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certificates);
    if added == 0 {
        let source =
            root_cert.map_or_else(|| "the system".to_owned(), |path| format!("\"{path}\""));
        return Err(tls_error(&format!(
            "no usable root certificate in {source}"
        )));
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|error| tls_error(&error.to_string()))
}

/// Checks the server's certificate as the mode asks; the handshake's signatures are always
/// checked.
#[derive(Debug)]
struct Verifier {
    /// rustls' standard verifier over the trusted roots; `None` for `prefer` and `require`
    /// without roots, which encrypt without checking the certificate (libpq's behaviour).
    chain: Option<Arc<WebPkiServerVerifier>>,
    /// `verify-full`: the certificate must also be issued for the URL's host.
    check_name: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // rustls checks the name last, after the chain and the validity dates.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            outcome => outcome,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
