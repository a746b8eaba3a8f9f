//! Which of the ingest server's endpoints a request is for (`ingest-api.md` §1). Paths match
//! exactly and case-sensitively; the query string is ignored.

use http::Method;
use weir_spec::{Compat, EventType};

/// An endpoint owned by the ingest server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// An ingest path. `event_type` is `Some(Err(()))` for `/v1/events/{other}`, which is
    /// answered 404 only at step 9, after authentication.
    Ingest {
        compat: Compat,
        event_type: Option<Result<EventType, ()>>,
    },
    /// `GET /v1/events/settings/{write_key}`.
    Settings(String),
    Health,
    Ready,
    Metrics,
}

/// Classifies a request; `None` means the path belongs to someone else (the management API).
pub(crate) fn classify(method: &Method, path: &str) -> Option<Endpoint> {
    match path {
        "/healthz" => return Some(Endpoint::Health),
        "/readyz" => return Some(Endpoint::Ready),
        "/metrics" => return Some(Endpoint::Metrics),
        // `GET /v1/events` is the management event query.
        "/v1/events" if method == Method::GET => return None,
        "/v1/events" => return Some(ingest(Compat::Krenalis, None)),
        "/v1/batch" => return Some(ingest(Compat::Segment, None)),
        _ => {}
    }
    if let Some(rest) = path.strip_prefix("/v1/events/") {
        if rest == "schema"
            || rest == "stream"
            || rest == "listeners"
            || rest.starts_with("listeners/")
        {
            return None;
        }
        if let Some(key) = rest.strip_prefix("settings/") {
            return Some(Endpoint::Settings(key.to_string()));
        }
        if rest == "settings" {
            return Some(Endpoint::Settings(String::new()));
        }
        let event_type = EventType::from_name(rest).ok_or(());
        return Some(Endpoint::Ingest {
            compat: Compat::Krenalis,
            event_type: Some(event_type),
        });
    }
    let name = path.strip_prefix("/v1/")?;
    EventType::from_name(name).map(|t| ingest(Compat::Segment, Some(t)))
}

fn ingest(compat: Compat, event_type: Option<EventType>) -> Endpoint {
    Endpoint::Ingest {
        compat,
        event_type: event_type.map(Ok),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let post = Method::POST;
        assert_eq!(
            classify(&post, "/v1/events"),
            Some(ingest(Compat::Krenalis, None))
        );
        assert_eq!(classify(&Method::GET, "/v1/events"), None);
        assert_eq!(
            classify(&post, "/v1/batch"),
            Some(ingest(Compat::Segment, None))
        );
        assert_eq!(
            classify(&post, "/v1/track"),
            Some(ingest(Compat::Segment, Some(EventType::Track)))
        );
        assert_eq!(
            classify(&post, "/v1/events/alias"),
            Some(ingest(Compat::Krenalis, Some(EventType::Alias)))
        );
        assert_eq!(
            classify(&post, "/v1/events/Track"),
            Some(Endpoint::Ingest {
                compat: Compat::Krenalis,
                event_type: Some(Err(()))
            })
        );
        assert_eq!(classify(&post, "/v1/events/listeners"), None);
        assert_eq!(classify(&post, "/v1/events/listeners/abc"), None);
        assert_eq!(classify(&Method::GET, "/v1/events/schema"), None);
        assert_eq!(classify(&Method::GET, "/v1/events/stream"), None);
        assert_eq!(
            classify(&Method::GET, "/v1/events/settings/k"),
            Some(Endpoint::Settings("k".into()))
        );
        assert_eq!(classify(&post, "/v1/connections"), None);
        assert_eq!(
            classify(&post, "/v1/events/"),
            Some(Endpoint::Ingest {
                compat: Compat::Krenalis,
                event_type: Some(Err(()))
            })
        );
        assert_eq!(classify(&post, "/v1/batch/"), None);
    }
}
