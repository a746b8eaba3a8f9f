//! The one configuration loader: defaults, then an optional TOML file (`--config`), then
//! `WEIR_<SECTION>_<KEY>` environment variables, then command-line flags. Every key and its
//! default is documented in `docs/configuration.md`; `Config::default()` is the source of
//! truth that document describes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// Every setting of `weir serve`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    pub(crate) listen: SocketAddr,
    pub(crate) data_dir: PathBuf,
    pub(crate) log_retention: Duration,
    pub(crate) log_group_commit_delay: Duration,
    pub(crate) log_group_commit_max_events: usize,
    pub(crate) dedup_window: Duration,
    pub(crate) dedup_max_filter_memory: u64,
    pub(crate) http_read_header_timeout: Duration,
    pub(crate) http_read_timeout: Duration,
    pub(crate) http_drain_timeout: Duration,
    pub(crate) http_max_connections: usize,
    pub(crate) http_trust_forwarded_for: bool,
    pub(crate) http_max_body_memory: usize,
    pub(crate) limits_body: usize,
    pub(crate) limits_segment_body: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 2022)),
            data_dir: PathBuf::from("./weir-data"),
            log_retention: Duration::from_secs(7 * 24 * 3600),
            log_group_commit_delay: Duration::ZERO,
            log_group_commit_max_events: 65_536,
            dedup_window: Duration::from_secs(24 * 3600),
            dedup_max_filter_memory: 256 * 1024 * 1024,
            http_read_header_timeout: Duration::from_secs(2),
            http_read_timeout: Duration::from_secs(5),
            http_drain_timeout: Duration::from_secs(30),
            http_max_connections: 10_000,
            http_trust_forwarded_for: true,
            http_max_body_memory: 256 * 1024 * 1024,
            limits_body: 512_000,
            limits_segment_body: 4 * 1024 * 1024,
        }
    }
}

/// The keys, as written in the TOML file (`section.key`) and, upper-cased with `_`, in the
/// environment (`WEIR_SECTION_KEY`).
const KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "log.retention",
    "log.group_commit_delay",
    "log.group_commit_max_events",
    "dedup.window",
    "dedup.max_filter_memory",
    "http.read_header_timeout",
    "http.read_timeout",
    "http.drain_timeout",
    "http.max_connections",
    "http.trust_forwarded_for",
    "http.max_body_memory",
    "limits.body",
    "limits.segment_body",
];

impl Config {
    /// Defaults, then the file (if any), then the environment.
    pub(crate) fn load(
        file: Option<&Path>,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config> {
        let mut config = Config::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            config
                .apply_toml(&text)
                .with_context(|| format!("in {}", path.display()))?;
        }
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("WEIR_") else {
                continue;
            };
            let Some(key) = KEYS.iter().find(|k| env_name(k) == rest) else {
                continue;
            };
            config
                .set(key, &value)
                .with_context(|| format!("environment variable {name}"))?;
        }
        config.validate()?;
        Ok(config)
    }

    fn apply_toml(&mut self, text: &str) -> Result<()> {
        let table: toml::Table = text.parse()?;
        for (name, value) in &table {
            match value {
                toml::Value::Table(section) => {
                    for (key, value) in section {
                        self.set_toml(&format!("{name}.{key}"), value)?;
                    }
                }
                value => self.set_toml(name, value)?,
            }
        }
        Ok(())
    }

    fn set_toml(&mut self, key: &str, value: &toml::Value) -> Result<()> {
        let text = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => bail!("`{key}`: unsupported value {other}"),
        };
        self.set(key, &text)
    }

    /// Sets one key from its text form.
    pub(crate) fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let duration = || {
            humantime::parse_duration(value).with_context(|| {
                format!("`{key}`: not a duration: {value:?} (e.g. 5s, 2ms, 24h, 7d)")
            })
        };
        let number = || {
            value
                .parse::<usize>()
                .with_context(|| format!("`{key}`: not a whole number: {value:?}"))
        };
        match key {
            "listen" => {
                self.listen = value
                    .parse()
                    .with_context(|| format!("`listen`: not an address: {value:?}"))?
            }
            "data_dir" => self.data_dir = PathBuf::from(value),
            "log.retention" => self.log_retention = duration()?,
            "log.group_commit_delay" => self.log_group_commit_delay = duration()?,
            "log.group_commit_max_events" => self.log_group_commit_max_events = number()?,
            "dedup.window" => self.dedup_window = duration()?,
            "dedup.max_filter_memory" => {
                self.dedup_max_filter_memory = value
                    .parse()
                    .with_context(|| format!("`{key}`: not a whole number: {value:?}"))?
            }
            "http.read_header_timeout" => self.http_read_header_timeout = duration()?,
            "http.read_timeout" => self.http_read_timeout = duration()?,
            "http.drain_timeout" => self.http_drain_timeout = duration()?,
            "http.max_connections" => self.http_max_connections = number()?,
            "http.trust_forwarded_for" => {
                self.http_trust_forwarded_for = value
                    .parse()
                    .with_context(|| format!("`{key}`: not true/false"))?
            }
            "http.max_body_memory" => self.http_max_body_memory = number()?,
            "limits.body" => self.limits_body = number()?,
            "limits.segment_body" => self.limits_segment_body = number()?,
            other => bail!(
                "unknown configuration key `{other}`; known keys: {}",
                KEYS.join(", ")
            ),
        }
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        if self.dedup_window > self.log_retention {
            bail!(
                "dedup.window ({:?}) must not exceed log.retention ({:?})",
                self.dedup_window,
                self.log_retention
            );
        }
        let filter = weir_log::DEDUP_FILTER_MIN_BYTES..=weir_log::DEDUP_FILTER_LIMIT_BYTES;
        if !filter.contains(&self.dedup_max_filter_memory) {
            bail!(
                "dedup.max_filter_memory ({}) must be between {} (128 KiB) and {} (8 GiB) bytes",
                self.dedup_max_filter_memory,
                filter.start(),
                filter.end()
            );
        }
        if self.limits_body == 0 || self.limits_segment_body == 0 || self.http_max_connections == 0
        {
            bail!("limits.body, limits.segment_body and http.max_connections must be positive");
        }
        Ok(())
    }
}

fn env_name(key: &str) -> String {
    key.replace('.', "_").to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn defaults_file_then_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("weir.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\n[log]\nretention = \"3d\"\n[http]\nread_timeout = \"10s\"\n").expect("write");
        let config = Config::load(
            Some(&file),
            env(&[
                ("WEIR_HTTP_READ_TIMEOUT", "7s"),
                ("WEIR_DATA_DIR", "/tmp/x"),
                ("OTHER", "1"),
            ]),
        )
        .expect("loads");
        assert_eq!(config.listen, "0.0.0.0:9000".parse().expect("addr"));
        assert_eq!(config.log_retention, Duration::from_secs(3 * 24 * 3600));
        assert_eq!(config.http_read_timeout, Duration::from_secs(7));
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(config.http_read_header_timeout, Duration::from_secs(2));
    }

    #[test]
    fn bad_values_are_named() {
        let error =
            Config::load(None, env(&[("WEIR_LOG_RETENTION", "soon")])).expect_err("bad duration");
        assert!(
            format!("{error:#}").contains("WEIR_LOG_RETENTION"),
            "{error:#}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("weir.toml");
        std::fs::write(&file, "[log]\nretension = \"3d\"\n").expect("write");
        let error = Config::load(Some(&file), env(&[])).expect_err("unknown key");
        assert!(
            format!("{error:#}").contains("unknown configuration key `log.retension`"),
            "{error:#}"
        );
        let error = Config::load(None, env(&[("WEIR_DEDUP_WINDOW", "30d")]))
            .expect_err("window > retention");
        assert!(format!("{error:#}").contains("dedup.window"));
        let error = Config::load(None, env(&[("WEIR_DEDUP_MAX_FILTER_MEMORY", "1024")]))
            .expect_err("filter cap below 128 KiB");
        assert!(
            format!("{error:#}").contains("dedup.max_filter_memory (1024) must be between"),
            "{error:#}"
        );
    }

    #[test]
    fn the_dedup_filter_cap_is_read_in_bytes() {
        assert_eq!(Config::default().dedup_max_filter_memory, 256 << 20);
        let config = Config::load(None, env(&[("WEIR_DEDUP_MAX_FILTER_MEMORY", "1073741824")]))
            .expect("loads");
        assert_eq!(config.dedup_max_filter_memory, 1 << 30);
    }
}
