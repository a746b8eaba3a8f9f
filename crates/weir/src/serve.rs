//! `weir serve`: load the configuration, open the catalog (bootstrapping it on first run) and
//! the event log in the data directory, and serve the ingest and management APIs until
//! SIGTERM/SIGINT — then stop accepting, drain in-flight requests, and flush the log.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use weir_catalog::{Bootstrap, Catalog, SqliteCatalog};
use weir_http::ServerConfig;
use weir_ingest::{Ingest, IngestConfig, Metrics};
use weir_live::{LiveConfig, LiveEvents};
use weir_log::{EventLog, LogConfig, SqliteLog};
use weir_pipeline::{Engine, EngineConfig, WarehouseTargets};

use crate::config::Config;
use crate::directory::CatalogDirectory;

/// The event log's file inside the data directory.
const LOG_FILE: &str = "log.sqlite";

/// Where a running server writes its base URL, so the CLI on the same machine finds it.
pub(crate) const SERVER_URL_FILE: &str = "server.url";

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:2022; env: WEIR_LISTEN].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Data directory [default: ./weir-data; env: WEIR_DATA_DIR].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// A TOML configuration file (see docs/configuration.md).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Log line format; the level comes from RUST_LOG.
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

pub(crate) fn run(args: ServeArgs) -> Result<()> {
    let mut config = Config::load(args.config.as_deref(), std::env::vars())?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(data_dir) = args.data_dir {
        config.data_dir = data_dir;
    }
    init_tracing(args.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(serve(config))
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn serve(config: Config) -> Result<()> {
    let data_dir = config.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let catalog = {
        let data_dir = data_dir.clone();
        tokio::task::spawn_blocking(move || SqliteCatalog::open(&data_dir)).await??
    };
    let catalog: Arc<dyn Catalog> = Arc::new(catalog);
    let bootstrap = {
        let catalog = catalog.clone();
        tokio::task::spawn_blocking(move || catalog.bootstrap()).await??
    };
    let log_config = LogConfig {
        retention: config.log_retention,
        dedup_window: config.dedup_window,
        dedup_filter_max_bytes: config.dedup_max_filter_memory,
        group_commit_delay: config.log_group_commit_delay,
        group_commit_max_events: config.log_group_commit_max_events,
        ..LogConfig::default()
    };
    let log: Arc<dyn EventLog> = Arc::new(
        SqliteLog::open(&data_dir.join(LOG_FILE), log_config)
            .with_context(|| format!("opening the event log in {}", data_dir.display()))?,
    );
    let metrics = Arc::new(Metrics::new());
    let ingest_config = IngestConfig {
        body_limit: config.limits_body,
        segment_body_limit: config.limits_segment_body,
        read_timeout: config.http_read_timeout,
        trust_forwarded_for: config.http_trust_forwarded_for,
        body_memory: config.http_max_body_memory,
        ..IngestConfig::default()
    };
    let directory = Arc::new(CatalogDirectory::new(catalog.index()));
    let admin_config = weir_admin::AdminConfig {
        read_timeout: config.http_read_timeout,
        ..weir_admin::AdminConfig::default()
    };
    let targets = Arc::new(WarehouseTargets::new(&data_dir));
    let engine = Arc::new(
        Engine::start(
            log.clone(),
            catalog.clone(),
            targets.clone(),
            EngineConfig::default(),
        )
        .context("starting the pipeline engine")?,
    );
    metrics.with_registry(|registry| engine.register_metrics(registry));
    let live = LiveEvents::new(LiveConfig::default());
    let _sweeper = live.spawn_sweeper(
        &tokio::runtime::Handle::current(),
        std::time::Duration::from_secs(60),
    );
    let ingest = Ingest::new(directory, log.clone(), metrics.clone(), ingest_config)
        .with_live(live.clone())
        .with_fallback(Arc::new(
            weir_admin::Admin::new(catalog.clone(), admin_config)
                .with_live(live.clone())
                .with_engine(engine.clone())
                .with_warehouses(targets.clone()),
        ));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr()?;
    let url = format!("http://{address}");
    let url_file = data_dir.join(SERVER_URL_FILE);
    std::fs::write(&url_file, format!("{url}\n"))
        .with_context(|| format!("writing {}", url_file.display()))?;
    let signal = shutdown_signal()?;
    print_banner(&url, &data_dir, &bootstrap);
    let server_config = ServerConfig {
        max_connections: config.http_max_connections,
        header_read_timeout: config.http_read_header_timeout,
        drain_timeout: config.http_drain_timeout,
    };
    let shutdown = {
        let live = live.clone();
        async move {
            signal.await;
            // Open event streams would otherwise keep their connections busy until the drain
            // timeout.
            live.close_streams();
        }
    };
    weir_http::serve(listener, Arc::new(ingest), server_config, shutdown).await;
    tracing::info!("stopped accepting; in-flight requests drained");
    let _ = std::fs::remove_file(&url_file);
    engine.shutdown().await;
    log.close().await.context("flushing the event log")?;
    tracing::info!("event log flushed; bye");
    Ok(())
}

/// What a newcomer needs: where Weir listens, the write key, and a curl to paste.
fn print_banner(url: &str, data_dir: &Path, bootstrap: &Bootstrap) {
    println!("Weir is listening on {url}");
    if let Some(source) = &bootstrap.source {
        println!(
            "Source \"{}\" (connection {}) in workspace \"{}\"",
            source.connection.name, source.connection.id, source.workspace.name
        );
        println!("Event write key: {}", source.write_key.as_str());
    }
    if let Some(admin_key) = &bootstrap.admin_key {
        println!(
            "Admin API key (shown only now; also saved to {}): {}",
            weir_catalog::admin_key_path(data_dir).display(),
            admin_key.as_str()
        );
    }
    if let Some(source) = &bootstrap.source {
        println!();
        println!("Send your first event:");
        println!();
        println!(
            "curl {url}/v1/events \\\n  -H \"Content-Type: application/json\" \\\n  -H \"Authorization: Bearer {}\" \\\n  -d '[{{\"type\":\"track\",\"anonymousId\":\"2ab4facf-ca73-4361-b1b2-4472ce053122\",\"event\":\"page\",\"properties\":{{\"answer\":42}}}}]'",
            source.write_key.as_str()
        );
        println!();
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is called,
/// not when the future is first polled, so a signal that arrives right after the banner is
/// never lost to the default action (which would kill the process without draining).
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt =
            signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        let mut terminate =
            signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("SIGINT received, shutting down"),
                _ = terminate.recv() => tracing::info!("SIGTERM received, shutting down"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            tracing::info!("Ctrl-C received, shutting down");
        })
    }
}
