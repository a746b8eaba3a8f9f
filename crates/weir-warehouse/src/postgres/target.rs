//! The PostgreSQL server a warehouse talks to: its URL parsed once, the optional Weir
//! `schema` URL parameter, TLS (`sslmode`, `sslrootcert`; see `tls.rs`), the `host:port` shown
//! in messages (never the password), and the classification of driver errors into
//! [`WarehouseError`].

use std::error::Error as _;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use rustls::CertificateError;
use tokio_postgres::config::{Config, Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::tls::{self, TlsMode};
use crate::WarehouseError;

/// Used when the URL sets no `connect_timeout`.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) config: Config,
    /// `host:port` (or the socket path) for messages.
    pub(crate) address: String,
    /// The schema named by `?schema=`; the tables live there (it is the connection's
    /// `search_path`), created if missing.
    pub(crate) schema: Option<String>,
    pub(crate) tls_mode: TlsMode,
    /// Makes the TLS session of each connection, as `tls_mode` and `sslrootcert` ask.
    pub(crate) tls: MakeRustlsConnect,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("address", &self.address)
            .field("schema", &self.schema)
            .field("tls_mode", &self.tls_mode)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// Parses a `postgres://` URL (or key=value string). Besides the libpq parameters that
    /// tokio-postgres knows, a URL may carry `schema=<name>` (lowercase letters, digits, `_`),
    /// and `sslmode` takes libpq's `verify-ca` and `verify-full` too, with `sslrootcert`.
    pub(crate) fn parse(url: &str) -> Result<Target, WarehouseError> {
        let (url, params) = take_params(url);
        let schema = params.schema.map(valid_schema).transpose()?;
        let mut config: Config = url.parse().map_err(|error| {
            WarehouseError::rejected(format!("invalid PostgreSQL URL: {error}"))
        })?;
        // A key=value string's `sslmode` is tokio-postgres' to parse.
        let tls_mode = match params.ssl_mode.as_deref() {
            Some(value) => TlsMode::parse(value)?,
            None => match config.get_ssl_mode() {
                SslMode::Disable => TlsMode::Disable,
                SslMode::Prefer => TlsMode::Prefer,
                _ => TlsMode::Require,
            },
        };
        config.ssl_mode(tls_mode.ssl_mode());
        let tls = tls::connector(tls_mode, params.root_cert.as_deref())?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("weir");
        }
        if let Some(schema) = &schema {
            let options = match config.get_options() {
                Some(options) => format!("{options} -c search_path={schema}"),
                None => format!("-c search_path={schema}"),
            };
            config.options(options);
        }
        let address = address(&config);
        Ok(Target {
            config,
            address,
            schema,
            tls_mode,
            tls,
        })
    }

    /// The error of a failed connection attempt.
    pub(crate) fn connect_error(&self, error: &tokio_postgres::Error) -> WarehouseError {
        let mut message = format!(
            "cannot connect to PostgreSQL at {}: {}",
            self.address,
            describe(error)
        );
        if let Some(hint) = certificate_hint(error) {
            message.push_str(" (");
            message.push_str(hint);
            message.push(')');
        }
        with_class(error, message)
    }

    /// The error of a failed operation; `doing` completes "cannot …".
    pub(crate) fn error(&self, doing: &str, error: &tokio_postgres::Error) -> WarehouseError {
        let code = error.code().map(|code| code.code());
        let message = if code == Some("42501") {
            format!(
                "permission denied to {doing} on PostgreSQL at {}: {}",
                self.address,
                describe(error)
            )
        } else {
            format!(
                "cannot {doing} on PostgreSQL at {}: {}",
                self.address,
                describe(error)
            )
        };
        with_class(error, message)
    }
}

/// The parameters Weir reads itself, taken out of a URL's query string.
#[derive(Debug, Default)]
struct Params {
    schema: Option<String>,
    ssl_mode: Option<String>,
    root_cert: Option<String>,
}

/// Removes `schema`, `sslmode` and `sslrootcert` from a URL's query string (values
/// percent-decoded, as tokio-postgres decodes the others).
fn take_params(url: &str) -> (String, Params) {
    let mut params = Params::default();
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), params);
    };
    let mut kept = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match key {
            "schema" => &mut params.schema,
            "sslmode" => &mut params.ssl_mode,
            "sslrootcert" => &mut params.root_cert,
            _ => {
                kept.push(pair);
                continue;
            }
        };
        *slot = Some(percent_decode_str(value).decode_utf8_lossy().into_owned());
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, params)
}

/// A `schema` value: 1 to 63 lowercase letters, digits or `_`, not starting with a digit.
fn valid_schema(name: String) -> Result<String, WarehouseError> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(name)
    } else {
        Err(WarehouseError::rejected(format!(
            "invalid PostgreSQL URL: schema \"{name}\" must be 1 to 63 lowercase letters, \
             digits or underscores, not starting with a digit"
        )))
    }
}

fn address(config: &Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let port = ports.get(index).or(ports.first()).copied().unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(path) => format!("{}/.s.PGSQL.{port}", path.display()),
            }
        })
        .collect();
    if hosts.is_empty() {
        "localhost:5432".to_string()
    } else {
        hosts.join(",")
    }
}

/// The most specific description of an error: the server's message, or the innermost cause
/// (e.g. "Connection refused (os error 111)").
fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return match db.where_() {
            Some(place) => format!("{} ({place})", db.message()),
            None => db.message().to_string(),
        };
    }
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = cause.to_string();
        source = cause.source();
    }
    text
}

/// What to do about a server certificate that TLS refused (`sslmode` verify-ca, verify-full,
/// or require with `sslrootcert`), if that is why the connection failed.
fn certificate_hint(error: &tokio_postgres::Error) -> Option<&'static str> {
    let mut cause = error.source();
    while let Some(error) = cause {
        let tls = error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .or_else(|| error.downcast_ref::<rustls::Error>());
        if let Some(rustls::Error::InvalidCertificate(problem)) = tls {
            return Some(match problem {
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => {
                    "the certificate is not issued for the host in the URL: connect by a name it \
                     is issued for, or use sslmode=verify-ca"
                }
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    "the server's certificate has expired"
                }
                _ => {
                    "the certificate is not signed by a trusted root: give its CA's certificate \
                     with sslrootcert=<PEM file>, or use sslmode=require without sslrootcert to \
                     encrypt without checking it"
                }
            });
        }
        cause = error.source();
    }
    None
}

/// Server errors are permanent unless their SQLSTATE says the server is unreachable, busy or
/// shutting down; errors without a SQLSTATE are I/O or protocol failures, so retryable.
fn with_class(error: &tokio_postgres::Error, message: String) -> WarehouseError {
    let Some(code) = error.code().map(|code| code.code()) else {
        return WarehouseError::unavailable(message);
    };
    let retryable = ["08", "53", "58"]
        .iter()
        .any(|class| code.starts_with(class))
        || [
            "57P01", "57P02", "57P03", "57014", "40001", "40P01", "55P03",
        ]
        .contains(&code);
    if retryable {
        WarehouseError::unavailable(message)
    } else {
        WarehouseError::rejected(message)
    }
}

#[cfg(test)]
mod tests {
    use super::Target;
    use crate::postgres::tls::TlsMode;

    #[test]
    fn sslmode_comes_from_either_form_of_the_url() {
        let mode = |url: &str| Target::parse(url).map(|target| target.tls_mode);
        for (url, expected) in [
            ("postgres://h/d", TlsMode::Prefer),
            ("postgres://h/d?sslmode=disable", TlsMode::Disable),
            (
                "postgres://h/d?connect_timeout=3&sslmode=verify-full",
                TlsMode::VerifyFull,
            ),
            (
                "postgres://h/d?sslmode=verify-ca&sslrootcert=system",
                TlsMode::VerifyCa,
            ),
            (
                "postgresql://h/d?sslmode=require&schema=s",
                TlsMode::Require,
            ),
            ("host=h dbname=d", TlsMode::Prefer),
            ("host=h dbname=d sslmode=require", TlsMode::Require),
            ("host=h dbname=d sslmode=disable", TlsMode::Disable),
        ] {
            assert_eq!(mode(url).ok(), Some(expected), "{url}");
        }
    }

    #[test]
    fn weir_parameters_are_percent_decoded_and_taken_out() {
        let target =
            Target::parse("postgres://h/d?schema=a%5Fb&application_name=x&sslmode=%64isable")
                .map_err(|error| error.to_string());
        let target = target.as_ref().map(|t| (t.schema.as_deref(), t.tls_mode));
        assert_eq!(target, Ok((Some("a_b"), TlsMode::Disable)));
    }
}
