//! Connections: a role (`Source` or `Destination`), a connector, a name and, for the browser and
//! mobile SDK connectors, a strategy (ingest-api.md §10; event-model.md §8.2 for the request-IP
//! fallback; storage-and-pipelines.md §12.2).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use weir_auth::ResourceId;

use crate::{CatalogError, validate};

/// A source or destination connection of a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    /// 12-character Base58 id.
    #[serde(serialize_with = "crate::ser::id")]
    pub id: ResourceId,
    /// The owning workspace.
    #[serde(serialize_with = "crate::ser::id")]
    pub workspace_id: ResourceId,
    /// 1..60 characters.
    pub name: String,
    /// Fixed at creation.
    pub role: Role,
    /// Fixed at creation.
    pub connector: Connector,
    /// `Some` exactly for connectors with a strategy ([`Connector::default_strategy`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
}

/// What creating a connection takes. A source connection gets its first event write key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConnection {
    /// 1..60 characters.
    pub name: String,
    /// Sources take every connector but `http`; destinations only `http`.
    pub role: Role,
    /// What kind of client or service the connection stands for.
    pub connector: Connector,
    /// Only for connectors with a strategy; `None` gives them [`Strategy::Conversion`].
    pub strategy: Option<Strategy>,
}

/// What a connection update replaces: the name always, the strategy when `Some` (only allowed for
/// connectors with a strategy). The management API merges a partial body into the current values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionUpdate {
    /// 1..60 characters.
    pub name: String,
    /// The new strategy, or `None` to keep the current one.
    pub strategy: Option<Strategy>,
}

/// Whether a connection receives events (source) or sends them on (destination).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Receives events through ingestion.
    Source,
    /// Receives the events of linked sources through its pipelines.
    Destination,
}

/// The connector of a connection, named as in the management API (`"webhook"`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Connector {
    /// Any HTTP client (the seed flow's "Webhook" source).
    Webhook,
    /// The browser SDK.
    Javascript,
    /// The Android SDK.
    Android,
    /// The iOS SDK.
    Ios,
    /// The Go server SDK.
    Go,
    /// The Python server SDK.
    Python,
    /// The Node.js server SDK.
    Nodejs,
    /// The Java server SDK.
    Java,
    /// The .NET server SDK.
    Dotnet,
    /// Segment-compatible clients.
    Segment,
    /// RudderStack-compatible clients.
    Rudderstack,
    /// The HTTP destination (storage-and-pipelines.md §9).
    Http,
}

/// How the SDK settings endpoint tells browser and mobile SDKs to handle identities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Strategy {
    /// The default.
    #[default]
    Conversion,
    /// Merge identities.
    Fusion,
    /// Keep identities apart.
    Isolation,
    /// Keep the anonymous identity.
    Preservation,
}

impl Connector {
    /// Every connector, in API order.
    pub const ALL: [Connector; 12] = [
        Self::Webhook,
        Self::Javascript,
        Self::Android,
        Self::Ios,
        Self::Go,
        Self::Python,
        Self::Nodejs,
        Self::Java,
        Self::Dotnet,
        Self::Segment,
        Self::Rudderstack,
        Self::Http,
    ];

    /// The API name: `webhook`, `javascript`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Javascript => "javascript",
            Self::Android => "android",
            Self::Ios => "ios",
            Self::Go => "go",
            Self::Python => "python",
            Self::Nodejs => "nodejs",
            Self::Java => "java",
            Self::Dotnet => "dotnet",
            Self::Segment => "segment",
            Self::Rudderstack => "rudderstack",
            Self::Http => "http",
        }
    }

    /// Whether an event without `context.ip` gets the request IP (event-model.md §8.2): true
    /// for the browser and mobile SDKs only.
    pub fn falls_back_to_request_ip(self) -> bool {
        matches!(self, Self::Javascript | Self::Android | Self::Ios)
    }

    /// The strategy a new connection of this connector starts with: [`Strategy::Conversion`] for
    /// the connectors that have one (`javascript`, `android`, `ios`, served by the SDK settings
    /// endpoint), `None` for the others.
    pub fn default_strategy(self) -> Option<Strategy> {
        self.falls_back_to_request_ip()
            .then_some(Strategy::Conversion)
    }

    /// Whether a connection of `role` may use this connector.
    pub fn allows(self, role: Role) -> bool {
        (self == Self::Http) == (role == Role::Destination)
    }
}

impl fmt::Display for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A connector name that is not one of [`Connector::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("connector {0:?} does not exist")]
pub struct UnknownConnector(pub String);

impl FromStr for Connector {
    type Err = UnknownConnector;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|connector| connector.as_str() == s)
            .ok_or_else(|| UnknownConnector(s.to_owned()))
    }
}

/// Checks a new connection and gives the strategy to store.
pub(crate) fn validate_new(new: &NewConnection) -> Result<Option<Strategy>, CatalogError> {
    validate::name("name", &new.name)?;
    if !new.connector.allows(new.role) {
        let allowed = match new.role {
            Role::Source => "every connector but http",
            Role::Destination => "only the http connector",
        };
        return Err(CatalogError::invalid(
            "connector",
            format!(
                "connector {} cannot be used for a {:?} connection ({allowed})",
                new.connector, new.role
            ),
        ));
    }
    strategy(new.connector, new.strategy)?;
    Ok(new.strategy.or(new.connector.default_strategy()))
}

/// Checks an update of a connection of `connector` and gives the strategy to store, given the
/// `current` one.
pub(crate) fn validate_update(
    connector: Connector,
    current: Option<Strategy>,
    update: &ConnectionUpdate,
) -> Result<Option<Strategy>, CatalogError> {
    validate::name("name", &update.name)?;
    strategy(connector, update.strategy)?;
    Ok(update.strategy.or(current))
}

fn strategy(connector: Connector, strategy: Option<Strategy>) -> Result<(), CatalogError> {
    if strategy.is_some() && connector.default_strategy().is_none() {
        return Err(CatalogError::invalid(
            "strategy",
            format!(
                "strategy cannot be set for a {connector} connection; \
                 only javascript, android and ios connections have one"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(role: Role, connector: Connector, strategy: Option<Strategy>) -> NewConnection {
        NewConnection {
            name: "My app".to_owned(),
            role,
            connector,
            strategy,
        }
    }

    #[test]
    fn names_round_trip() {
        for connector in Connector::ALL {
            assert_eq!(connector.as_str().parse::<Connector>(), Ok(connector));
            let json = serde_json::to_string(&connector).unwrap();
            assert_eq!(json, format!("\"{connector}\""));
        }
        assert_eq!(
            "Webhook".parse::<Connector>(),
            Err(UnknownConnector("Webhook".to_owned()))
        );
    }

    #[test]
    fn request_ip_fallback_and_strategy() {
        let with_fallback: Vec<_> = Connector::ALL
            .into_iter()
            .filter(|c| c.falls_back_to_request_ip())
            .collect();
        assert_eq!(
            with_fallback,
            [Connector::Javascript, Connector::Android, Connector::Ios]
        );
        for connector in Connector::ALL {
            let expected = with_fallback
                .contains(&connector)
                .then_some(Strategy::Conversion);
            assert_eq!(connector.default_strategy(), expected, "{connector}");
        }
    }

    #[test]
    fn role_compatibility() {
        for connector in Connector::ALL {
            let http = connector == Connector::Http;
            assert_eq!(connector.allows(Role::Source), !http, "{connector}");
            assert_eq!(connector.allows(Role::Destination), http, "{connector}");
        }
        let error = validate_new(&new(Role::Source, Connector::Http, None)).unwrap_err();
        assert_eq!(
            error.client_message(),
            "connector http cannot be used for a Source connection (every connector but http)"
        );
        let error = validate_new(&new(Role::Destination, Connector::Webhook, None)).unwrap_err();
        assert!(matches!(
            error,
            CatalogError::Invalid {
                field: "connector",
                ..
            }
        ));
    }

    #[test]
    fn strategy_defaults_and_is_refused_where_it_does_not_apply() {
        let javascript = new(Role::Source, Connector::Javascript, None);
        assert_eq!(
            validate_new(&javascript).unwrap(),
            Some(Strategy::Conversion)
        );
        let ios = new(Role::Source, Connector::Ios, Some(Strategy::Fusion));
        assert_eq!(validate_new(&ios).unwrap(), Some(Strategy::Fusion));
        let webhook = new(Role::Source, Connector::Webhook, None);
        assert_eq!(validate_new(&webhook).unwrap(), None);
        let webhook = new(Role::Source, Connector::Webhook, Some(Strategy::Fusion));
        let error = validate_new(&webhook).unwrap_err();
        assert!(matches!(
            error,
            CatalogError::Invalid {
                field: "strategy",
                ..
            }
        ));
    }

    #[test]
    fn update_keeps_the_strategy_unless_given() {
        let update = |strategy| ConnectionUpdate {
            name: "Renamed".to_owned(),
            strategy,
        };
        let current = Some(Strategy::Isolation);
        assert_eq!(
            validate_update(Connector::Android, current, &update(None)).unwrap(),
            current
        );
        assert_eq!(
            validate_update(Connector::Android, current, &update(Some(Strategy::Fusion))).unwrap(),
            Some(Strategy::Fusion)
        );
        assert!(validate_update(Connector::Go, None, &update(Some(Strategy::Fusion))).is_err());
    }
}
