//! The request handler: the processing order of `ingest-api.md` §5, one step after another;
//! the first step that fails determines the response.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{ALLOW, CONNECTION, ORIGIN};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use weir_http::{ErrorResponse, Handler, HttpResponse, set_common_headers};
use weir_live::{Entry, LiveEvents};
use weir_log::{AppendEvent, AppendStatus, EventLog, LogError};
use weir_spec::{
    Compat, Event, EventScope, EventType, Geolocator, Limits, Outcome, Route, Timestamp,
    normalize_body,
};

use crate::auth;
use crate::body::{self, bad_request};
use crate::cors;
use crate::directory::Directory;
use crate::metrics::Metrics;
use crate::rate::RateLimiter;
use crate::report::Report;
use crate::route::{Endpoint, classify};

/// Limits and switches of the ingest server; `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Body limit of `/v1/events[/{type}]`, before and after gzip.
    pub body_limit: usize,
    /// Body limit of the Segment-compatible paths (RudderStack SDKs send up to 4 MB).
    pub segment_body_limit: usize,
    /// The whole body must arrive within this time.
    pub read_timeout: Duration,
    /// Take the client IP from `X-Forwarded-For` when present.
    pub trust_forwarded_for: bool,
    /// How long a request waits for an unavailable event log before answering 503.
    pub log_grace: Duration,
    /// Most events in one request.
    pub max_events: usize,
    /// Bytes of request bodies held in memory at once, across all requests. A request
    /// reserves its body limit (or its smaller declared length) before reading and keeps it
    /// until answered; others wait. Bounds memory whatever clients send.
    pub body_memory: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            body_limit: 512_000,
            segment_body_limit: 4 * 1024 * 1024,
            read_timeout: Duration::from_secs(5),
            trust_forwarded_for: true,
            log_grace: Duration::from_millis(200),
            max_events: weir_spec::MAX_EVENTS,
            body_memory: 256 * 1024 * 1024,
        }
    }
}

/// The ingest server's handler. Requests for paths it does not own go to the fallback.
pub struct Ingest {
    directory: Arc<dyn Directory>,
    log: Arc<dyn EventLog>,
    metrics: Arc<Metrics>,
    config: IngestConfig,
    limiter: RateLimiter,
    /// Kibibytes of body memory not reserved by a request (see `IngestConfig::body_memory`).
    body_memory: tokio::sync::Semaphore,
    fallback: Option<Arc<dyn Handler>>,
    geolocator: Option<Arc<dyn Geolocator>>,
    live: Option<LiveEvents>,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Ingest {
    pub fn new(
        directory: Arc<dyn Directory>,
        log: Arc<dyn EventLog>,
        metrics: Arc<Metrics>,
        config: IngestConfig,
    ) -> Ingest {
        let body_memory = tokio::sync::Semaphore::new((config.body_memory / 1024).max(1));
        Ingest {
            directory,
            log,
            metrics,
            config,
            limiter: RateLimiter::default(),
            body_memory,
            fallback: None,
            geolocator: None,
            live: None,
        }
    }

    /// Routes that are not ingest routes (the management API) go to `fallback`.
    pub fn with_fallback(mut self, fallback: Arc<dyn Handler>) -> Ingest {
        self.fallback = Some(fallback);
        self
    }

    /// Publishes accepted, duplicate and rejected events to the live-events hub.
    pub fn with_live(mut self, live: LiveEvents) -> Ingest {
        self.live = Some(live);
        self
    }

    pub fn with_geolocator(mut self, geolocator: Arc<dyn Geolocator>) -> Ingest {
        self.geolocator = Some(geolocator);
        self
    }

    async fn route(&self, request: Request<Incoming>, peer: SocketAddr) -> HttpResponse {
        let Some(endpoint) = classify(request.method(), request.uri().path()) else {
            return match &self.fallback {
                Some(fallback) => fallback.handle(request, peer).await,
                None => not_found(),
            };
        };
        match endpoint {
            Endpoint::Health => text(StatusCode::OK, "ok\n"),
            Endpoint::Ready if self.log.is_ready() => text(StatusCode::OK, "ok\n"),
            Endpoint::Ready => text(StatusCode::SERVICE_UNAVAILABLE, "event log unavailable\n"),
            Endpoint::Metrics => {
                let mut response = text(StatusCode::OK, &self.metrics.render(self.log.stats()));
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static(
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    ),
                );
                response
            }
            Endpoint::Settings(key) => self.settings(&request, &key),
            Endpoint::Ingest { compat, event_type } => {
                self.ingest(request, peer, compat, event_type).await
            }
        }
    }

    /// An ingest path: preflight, 405, or the POST processing order.
    async fn ingest(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
        compat: Compat,
        event_type: Option<Result<EventType, ()>>,
    ) -> HttpResponse {
        let origin = request.headers().get(ORIGIN).cloned();
        let family = if event_type.is_some() {
            "typed"
        } else {
            "events"
        };
        let unknown_type = matches!(event_type, Some(Err(())));
        let mut response = match *request.method() {
            Method::POST => match self.post(request, peer, compat, event_type).await {
                Ok(response) => response,
                Err(error) => error.into_response(),
            },
            _ if unknown_type => not_found(),
            Method::OPTIONS => {
                let mut response = empty(StatusCode::NO_CONTENT);
                cors::add_preflight_headers(response.headers_mut(), origin.as_ref());
                return response;
            }
            _ => {
                let mut response = ErrorResponse::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    "Method Not Allowed",
                )
                .into_response();
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("POST, OPTIONS"));
                response
            }
        };
        if response.status() == StatusCode::REQUEST_TIMEOUT {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        cors::add_response_headers(response.headers_mut(), origin.as_ref());
        self.metrics.request(family, response.status().as_u16());
        response
    }

    /// Steps 2–17 of §5.
    async fn post(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
        compat: Compat,
        event_type: Option<Result<EventType, ()>>,
    ) -> Result<HttpResponse, ErrorResponse> {
        let limit = match compat {
            Compat::Krenalis => self.config.body_limit,
            Compat::Segment => self.config.segment_body_limit,
        };
        let (parts, body) = request.into_parts();
        let coding = body::check_headers(&parts.headers, limit, compat == Compat::Krenalis)?;
        self.wait_for_log().await?;
        let header_auth = auth::from_header(&parts.headers, &*self.directory)?;
        let forwarded = if self.config.trust_forwarded_for {
            parts.headers.get("x-forwarded-for")
        } else {
            None
        };
        let request_ip = weir_spec::request_ip(forwarded.map(HeaderValue::as_bytes), peer.ip())
            .map_err(|error| bad_request(error.message()))?;
        let received_at = Timestamp::from_system_time(SystemTime::now()).ok_or_else(internal)?;
        let event_type = match event_type {
            None => None,
            Some(Ok(event_type)) => Some(event_type),
            Some(Err(())) => return Err(ErrorResponse::new(StatusCode::NOT_FOUND, "NotFound", "")),
        };
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let reserve = declared
            .map_or(limit, |d| d.min(limit))
            .div_ceil(1024)
            .max(1);
        let reserve = u32::try_from(reserve)
            .unwrap_or(u32::MAX)
            .min(self.body_memory_kib());
        let _reservation = self
            .body_memory
            .acquire_many(reserve)
            .await
            .map_err(|_| internal())?;
        let raw = body::read(body, coding, limit, self.config.read_timeout).await?;
        self.metrics.bytes_in(raw.len());
        let normalized = normalize_body(&raw);
        let limits = Limits {
            max_events: self.config.max_events,
        };
        let parsed = weir_spec::Request::parse(&normalized, Route { compat, event_type }, limits)
            .map_err(|error| bad_request(&error.to_string()))?;
        let source = auth::resolve(header_auth, &parsed, &*self.directory)?;
        let rate_limit = self.directory.rate_limit(&source.workspace_id);
        let event_count = parsed.event_count() as u64;
        if let Some(rate_limit) = rate_limit
            && let Err(limited) = self.limiter.take(
                &source.workspace_id,
                rate_limit,
                event_count,
                Instant::now(),
            )
        {
            self.metrics.rate_limited(&source.workspace_id);
            let error = ErrorResponse::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "rate limit exceeded; retry according to the Retry-After header",
            );
            return Err(match limited.retry_after {
                Some(seconds) => error.with_retry_after(seconds),
                None => error,
            });
        }
        let scope = EventScope {
            connection_id: &source.connection_id,
            ip_fallback: source.ip_fallback,
            received_at,
            request_ip,
            geolocator: self.geolocator.as_deref(),
        };
        let outcomes = parsed.decode_events(&scope);
        let received_at_ms = received_at.unix_millis();
        // Live events need the decoded events after the append; keep them only when someone
        // watches this workspace (one atomic load otherwise).
        let live = self
            .live
            .as_ref()
            .filter(|live| live.is_watched(&source.workspace_id));
        let mut live_entries: Vec<(usize, Entry)> = Vec::new();
        let mut kept_events: Vec<(Arc<Event>, Arc<str>)> = Vec::new();
        let mut report = Report::default();
        let mut appends = Vec::with_capacity(outcomes.len());
        let mut appended = Vec::with_capacity(outcomes.len());
        for (index, outcome) in outcomes.into_iter().enumerate() {
            match outcome {
                Outcome::Accepted(event) => {
                    let message_id = event.message_id.clone();
                    // A generated id is unique: recording it would only cost the index.
                    let dedup = !event.message_id_generated;
                    appended.push((index, message_id.clone()));
                    let json = event.to_canonical_json();
                    let payload = if live.is_some() {
                        let json: Arc<str> = Arc::from(json);
                        let payload = Bytes::copy_from_slice(json.as_bytes());
                        kept_events.push((Arc::from(event), json));
                        payload
                    } else {
                        Bytes::from(json)
                    };
                    appends.push(AppendEvent {
                        workspace_id: source.workspace_id.clone(),
                        connection_id: source.connection_id.clone(),
                        message_id,
                        received_at_ms,
                        payload,
                        dedup,
                    });
                }
                Outcome::Rejected(rejection) => {
                    self.metrics.rejected(
                        &source.workspace_id,
                        &source.connection_id,
                        rejection.error.reason(),
                    );
                    let error = rejection.error.to_string();
                    if live.is_some() {
                        let entry = Entry::rejected(
                            source.connection_id.clone(),
                            received_at,
                            error.clone(),
                            rejection.raw,
                            rejection.raw_truncated,
                        );
                        live_entries.push((index, entry));
                    }
                    report
                        .rejected
                        .push((rejection.index, rejection.message_id, error));
                }
            }
        }
        if !appends.is_empty() {
            let started = Instant::now();
            let statuses = self.log.append(appends).await.map_err(log_error)?;
            self.metrics
                .append_duration(started.elapsed().as_secs_f64());
            let mut kept = kept_events.into_iter();
            for (status, (index, message_id)) in statuses.into_iter().zip(appended) {
                let kept = kept.next();
                match status {
                    AppendStatus::Appended { .. } => {
                        report.accepted += 1;
                        if let Some((event, json)) = kept {
                            live_entries.push((index, Entry::accepted(event, json)));
                        }
                    }
                    AppendStatus::Duplicate => {
                        if let Some((event, json)) = kept {
                            live_entries.push((index, Entry::duplicate(&event, Some(json))));
                        }
                        report.duplicates.push((index, message_id));
                    }
                }
            }
        }
        if let Some(live) = live
            && !live_entries.is_empty()
        {
            live_entries.sort_by_key(|(index, _)| *index);
            live.publish(
                &source.workspace_id,
                live_entries.into_iter().map(|(_, entry)| entry).collect(),
            );
        }
        if let Some(rate_limit) = rate_limit {
            self.limiter.refund(
                &source.workspace_id,
                rate_limit,
                report.rejected.len() as u64,
            );
        }
        let (workspace, connection) = (&source.workspace_id, &source.connection_id);
        self.metrics
            .events(workspace, connection, "accepted", report.accepted as u64);
        self.metrics.events(
            workspace,
            connection,
            "rejected",
            report.rejected.len() as u64,
        );
        self.metrics.events(
            workspace,
            connection,
            "duplicate",
            report.duplicates.len() as u64,
        );
        let wants_report = parts
            .headers
            .get_all("weir-report")
            .iter()
            .any(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
        Ok(if wants_report {
            let mut response = Response::new(weir_http::full(Bytes::from(report.to_json())));
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        } else {
            let mut response = empty(StatusCode::OK);
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain"),
            );
            response
        })
    }

    fn body_memory_kib(&self) -> u32 {
        u32::try_from((self.config.body_memory / 1024).max(1)).unwrap_or(u32::MAX)
    }

    /// Step 6: a short grace wait for an unavailable log, then 503.
    async fn wait_for_log(&self) -> Result<(), ErrorResponse> {
        let deadline = Instant::now() + self.config.log_grace;
        while !self.log.is_ready() {
            if Instant::now() >= deadline {
                return Err(log_error(LogError::Unavailable));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// `GET /v1/events/settings/{write_key}` (§10).
    fn settings(&self, request: &Request<Incoming>, key: &str) -> HttpResponse {
        let origin = request.headers().get(ORIGIN);
        let mut response = match *request.method() {
            Method::OPTIONS => {
                let mut response = empty(StatusCode::NO_CONTENT);
                cors::add_settings_preflight_headers(response.headers_mut(), origin);
                return response;
            }
            Method::GET if key.is_empty() || key.contains('/') => not_found(),
            Method::GET => match self
                .directory
                .source_by_write_key(key)
                .and_then(|s| s.strategy)
            {
                Some(strategy) => {
                    let mut body = String::from("{\"strategy\":");
                    weir_spec::write_json_string(&mut body, &strategy);
                    body.push_str(",\"integrations\":{\"Krenalis\":{\"apiKey\":");
                    weir_spec::write_json_string(&mut body, key);
                    body.push_str("}}}");
                    let mut response = Response::new(weir_http::full(Bytes::from(body)));
                    let headers = response.headers_mut();
                    headers.insert(
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    headers.insert(
                        http::header::CACHE_CONTROL,
                        HeaderValue::from_static(
                            "public, max-age=3600, stale-while-revalidate=10800",
                        ),
                    );
                    response
                }
                None => ErrorResponse::new(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized",
                    "event write key in the path is invalid",
                )
                .into_response(),
            },
            _ => {
                let mut response = ErrorResponse::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    "Method Not Allowed",
                )
                .into_response();
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("GET, OPTIONS"));
                response
            }
        };
        cors::add_origin(response.headers_mut(), origin);
        response
    }
}

impl Handler for Ingest {
    fn handle(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = HttpResponse> + Send + '_>> {
        Box::pin(async move {
            let request_id = weir_auth::request_id();
            let mut response = self.route(request, peer).await;
            if response.status().is_server_error() {
                tracing::error!(%request_id, status = response.status().as_u16(), "request failed");
            }
            set_common_headers(&mut response, &request_id);
            response
        })
    }
}

fn log_error(error: LogError) -> ErrorResponse {
    match error {
        LogError::Unavailable => ErrorResponse::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "Service Unavailable",
        )
        .with_retry_after(1),
        other => {
            tracing::error!(error = %other, "event log append failed");
            ErrorResponse::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "Internal Server Error",
            )
        }
    }
}

fn internal() -> ErrorResponse {
    ErrorResponse::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalServerError",
        "Internal Server Error",
    )
}

fn not_found() -> HttpResponse {
    ErrorResponse::new(StatusCode::NOT_FOUND, "NotFound", "").into_response()
}

fn empty(status: StatusCode) -> HttpResponse {
    let mut response = Response::new(weir_http::full(Bytes::new()));
    *response.status_mut() = status;
    response
}

fn text(status: StatusCode, body: &str) -> HttpResponse {
    let mut response = Response::new(weir_http::full(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
