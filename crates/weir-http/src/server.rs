//! The accept loop: one task per connection (HTTP/1.1 and HTTP/2), a cap on concurrent
//! connections, a header-read timeout against slow clients, and graceful shutdown that stops
//! accepting, lets in-flight requests finish (bounded by a drain timeout), then returns.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::Body;

/// What every route returns.
pub type HttpResponse = Response<Body>;

/// A request handler. Handlers answer every request (errors included) with a response;
/// they never fail at the connection level.
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = HttpResponse> + Send + '_>>;
}

/// Limits of the accept loop.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Most connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// A client must send a request's complete header within this time.
    pub header_read_timeout: Duration,
    /// How long shutdown waits for in-flight requests before giving up on them.
    pub drain_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(2),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `handler` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    handler: Arc<dyn Handler>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Typically EMFILE: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let handler = handler.clone();
            async move { Ok::<_, std::convert::Infallible>(handler.handle(request, peer).await) }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, error = %error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(config.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown drain timed out; remaining connections are dropped");
    }
}
