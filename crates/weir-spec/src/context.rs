//! Decoding of a `context` object (`event-model.md` §6) into a draft, and the batch-default
//! merge (§7). The same decoder serves an event's context and the envelope's default context;
//! the phase-B rules (browser/OS, IP, ranges) run later on the merged draft.

use std::collections::BTreeMap;

use crate::error::ContextError;
use crate::event::{
    App, Campaign, Device, Library, Location, NameVersion, Network, Page, RawJson, Referrer,
    Session,
};
use crate::json::Value;
use crate::locale::normalize_locale;

/// `context.screen` before the range checks of step B8.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ScreenDraft {
    pub(crate) width: Option<i64>,
    pub(crate) height: Option<i64>,
    pub(crate) density: Option<f64>,
}

/// A decoded `context`, before the phase-B rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ContextDraft {
    pub(crate) app: Option<App>,
    pub(crate) browser: Option<NameVersion>,
    pub(crate) campaign: Option<Campaign>,
    pub(crate) consents: Option<BTreeMap<String, bool>>,
    pub(crate) device: Option<Device>,
    pub(crate) ip: Option<String>,
    pub(crate) library: Option<Library>,
    pub(crate) locale: Option<&'static str>,
    pub(crate) location: Option<Location>,
    pub(crate) network: Option<Network>,
    pub(crate) os: Option<NameVersion>,
    pub(crate) page: Option<Page>,
    pub(crate) referrer: Option<Referrer>,
    pub(crate) screen: Option<ScreenDraft>,
    pub(crate) session: Option<Session>,
    pub(crate) timezone: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) traits: Option<RawJson>,
}

/// Decodes the members of a context object. `lenient` (Segment-compatible paths) makes a
/// `null` section count as absent.
pub(crate) fn decode_context(
    object: Value<'_, '_>,
    lenient: bool,
) -> Result<ContextDraft, ContextError> {
    let mut draft = ContextDraft::default();
    decode_context_into(object, lenient, &mut draft)?;
    Ok(draft)
}

/// [`decode_context`] into `draft`, which must be empty (`ContextDraft::default()`); decoding
/// in place spares moving the large draft around.
pub(crate) fn decode_context_into(
    object: Value<'_, '_>,
    lenient: bool,
    draft: &mut ContextDraft,
) -> Result<(), ContextError> {
    // Set once `sessionId` or a true `sessionStart` wrote into `session`; a later `session`
    // member is then a second specification of it.
    let mut session_from_shortcut = false;
    for (key, value) in object.members() {
        let key = key.as_ref();
        if lenient && value.is_null() && is_section(key) {
            continue;
        }
        match key {
            "ip" => draft.ip = top_string("ip", value)?,
            "locale" => {
                let text = value.as_str().ok_or(ContextError::NotString("locale"))?;
                draft.locale = normalize_locale(&text);
            }
            "timezone" => draft.timezone = top_string("timezone", value)?,
            "userAgent" => draft.user_agent = top_string("userAgent", value)?,
            "groupId" => {
                top_string("groupId", value)?;
            }
            "direct" => {
                value.as_bool().ok_or(ContextError::NotBoolean("direct"))?;
            }
            "sessionId" => {
                let text = value
                    .as_number_text()
                    .ok_or(ContextError::NotNumber("sessionId"))?;
                let id = parse_int(text).ok_or(ContextError::NotInt64("sessionId"))?;
                draft.session.get_or_insert_with(Session::default).id = Some(id);
                session_from_shortcut = true;
            }
            "sessionStart" => {
                let start = value
                    .as_bool()
                    .ok_or(ContextError::NotBoolean("sessionStart"))?;
                // `false` adds nothing.
                if start {
                    draft.session.get_or_insert_with(Session::default).start = Some(true);
                    session_from_shortcut = true;
                }
            }
            "traits" => {
                draft.traits = match value.kind() {
                    crate::json::Kind::Null => None,
                    crate::json::Kind::Object => Some(raw_object(value)),
                    _ => return Err(ContextError::NotObject("traits")),
                }
            }
            "consents" => draft.consents = decode_consents(value)?,
            "session" => {
                if session_from_shortcut {
                    return Err(ContextError::SessionTwice);
                }
                let mut session = Session::default();
                section(value, "session", |field, v| {
                    match field {
                        "id" => {
                            session.id = sub_int(v, "session", "id", ContextError::FieldNotInt64)?
                        }
                        "start" => session.start = sub_bool(v, "session", "start")?,
                        _ => {}
                    }
                    Ok(())
                })?;
                draft.session = (session != Session::default()).then_some(session);
            }
            "app" => {
                let mut app = App::default();
                section(value, "app", |field, v| {
                    match field {
                        "name" => app.name = sub_string(v, "app", "name")?,
                        "version" => app.version = sub_string(v, "app", "version")?,
                        "build" => app.build = sub_string(v, "app", "build")?,
                        "namespace" => app.namespace = sub_string(v, "app", "namespace")?,
                        _ => {}
                    }
                    Ok(())
                })?;
                draft.app = (app != App::default()).then_some(app);
            }
            "browser" => draft.browser = name_version(value, "browser")?,
            "os" => draft.os = name_version(value, "os")?,
            "campaign" => {
                let mut campaign = Campaign::default();
                section(value, "campaign", |field, v| {
                    match field {
                        "name" => campaign.name = sub_string(v, "campaign", "name")?,
                        "source" => campaign.source = sub_string(v, "campaign", "source")?,
                        "medium" => campaign.medium = sub_string(v, "campaign", "medium")?,
                        "term" => campaign.term = sub_string(v, "campaign", "term")?,
                        "content" => campaign.content = sub_string(v, "campaign", "content")?,
                        _ => {}
                    }
                    Ok(())
                })?;
                draft.campaign = (campaign != Campaign::default()).then_some(campaign);
            }
            "device" => {
                let mut device = Device::default();
                section(value, "device", |field, v| {
                    let s = |k| sub_string(v, "device", k);
                    match field {
                        "id" => device.id = s("id")?,
                        "advertisingId" => device.advertising_id = s("advertisingId")?,
                        "adTrackingEnabled" => {
                            device.ad_tracking_enabled = sub_bool(v, "device", "adTrackingEnabled")?
                        }
                        "manufacturer" => device.manufacturer = s("manufacturer")?,
                        "model" => device.model = s("model")?,
                        "name" => device.name = s("name")?,
                        "type" => device.device_type = s("type")?,
                        "token" => device.token = s("token")?,
                        _ => {}
                    }
                    Ok(())
                })?;
                draft.device = (device != Device::default()).then_some(device);
            }
            "library" => {
                let mut library = Library::default();
                section(value, "library", |field, v| {
                    match field {
                        "name" => library.name = sub_string(v, "library", "name")?,
                        "version" => library.version = sub_string(v, "library", "version")?,
                        _ => {}
                    }
                    Ok(())
                })?;
                draft.library = (library != Library::default()).then_some(library);
            }
            "location" => {
                let mut location = Location::default();
                section(value, "location", |field, v| {
                    match field {
                        "city" => location.city = sub_string(v, "location", "city")?,
                        "country" => location.country = sub_string(v, "location", "country")?,
                        "latitude" => location.latitude = sub_float(v, "location", "latitude")?,
                        "longitude" => location.longitude = sub_float(v, "location", "longitude")?,
                        "speed" => location.speed = sub_float(v, "location", "speed")?,
                        _ => {}
                    }
                    Ok(())
                })?;
                draft.location = (location != Location::default()).then_some(location);
            }
            "network" => {
                let mut network = Network::default();
                section(value, "network", |field, v| {
                    match field {
                        "bluetooth" => network.bluetooth = sub_bool(v, "network", "bluetooth")?,
                        "carrier" => network.carrier = sub_string(v, "network", "carrier")?,
                        "cellular" => network.cellular = sub_bool(v, "network", "cellular")?,
                        "wifi" => network.wifi = sub_bool(v, "network", "wifi")?,
                        _ => {}
                    }
                    Ok(())
                })?;
                draft.network = (network != Network::default()).then_some(network);
            }
            "page" => {
                let mut page = Page::default();
                section(value, "page", |field, v| {
                    match field {
                        "path" => page.path = sub_string(v, "page", "path")?,
                        "referrer" => page.referrer = sub_string(v, "page", "referrer")?,
                        "search" => page.search = sub_string(v, "page", "search")?,
                        "title" => page.title = sub_string(v, "page", "title")?,
                        "url" => page.url = sub_string(v, "page", "url")?,
                        _ => {}
                    }
                    Ok(())
                })?;
                draft.page = (page != Page::default()).then_some(page);
            }
            "referrer" => {
                let mut referrer = Referrer::default();
                section(value, "referrer", |field, v| {
                    match field {
                        "id" => referrer.id = sub_string(v, "referrer", "id")?,
                        "type" => referrer.referrer_type = sub_string(v, "referrer", "type")?,
                        _ => {}
                    }
                    Ok(())
                })?;
                draft.referrer = (referrer != Referrer::default()).then_some(referrer);
            }
            "screen" => {
                let mut screen = ScreenDraft::default();
                section(value, "screen", |field, v| {
                    match field {
                        "width" => {
                            screen.width =
                                sub_int(v, "screen", "width", ContextError::FieldNotInt16)?
                        }
                        "height" => {
                            screen.height =
                                sub_int(v, "screen", "height", ContextError::FieldNotInt16)?
                        }
                        "density" => screen.density = density(v)?,
                        _ => {}
                    }
                    Ok(())
                })?;
                draft.screen = (screen != ScreenDraft::default()).then_some(screen);
            }
            _ => {}
        }
    }
    Ok(())
}

fn is_section(key: &str) -> bool {
    matches!(
        key,
        "app"
            | "browser"
            | "campaign"
            | "consents"
            | "device"
            | "library"
            | "location"
            | "network"
            | "os"
            | "page"
            | "referrer"
            | "screen"
            | "session"
    )
}

/// Fills what the event's context lacks from the batch default (§7). Section objects and
/// `consents` are merged key by key; every other member only when the event lacks it.
pub(crate) fn merge_default(event: &mut ContextDraft, default: &ContextDraft) {
    fn scalar<T: Clone>(event: &mut Option<T>, default: &Option<T>) {
        if event.is_none() {
            event.clone_from(default);
        }
    }
    fn fields<T: Clone>(event: &mut Option<T>, default: &Option<T>, fill: impl FnOnce(&mut T, &T)) {
        match (event.as_mut(), default) {
            (Some(e), Some(d)) => fill(e, d),
            (None, Some(_)) => event.clone_from(default),
            _ => {}
        }
    }
    fn or<T: Clone>(e: &mut Option<T>, d: &Option<T>) {
        if e.is_none() {
            e.clone_from(d);
        }
    }
    fields(&mut event.app, &default.app, |e, d| {
        or(&mut e.name, &d.name);
        or(&mut e.version, &d.version);
        or(&mut e.build, &d.build);
        or(&mut e.namespace, &d.namespace);
    });
    let name_version = |e: &mut NameVersion, d: &NameVersion| {
        or(&mut e.name, &d.name);
        or(&mut e.other, &d.other);
        or(&mut e.version, &d.version);
    };
    fields(&mut event.browser, &default.browser, name_version);
    fields(&mut event.os, &default.os, name_version);
    fields(&mut event.campaign, &default.campaign, |e, d| {
        or(&mut e.name, &d.name);
        or(&mut e.source, &d.source);
        or(&mut e.medium, &d.medium);
        or(&mut e.term, &d.term);
        or(&mut e.content, &d.content);
    });
    fields(&mut event.consents, &default.consents, |e, d| {
        for (purpose, granted) in d {
            e.entry(purpose.clone()).or_insert(*granted);
        }
    });
    fields(&mut event.device, &default.device, |e, d| {
        or(&mut e.id, &d.id);
        or(&mut e.advertising_id, &d.advertising_id);
        or(&mut e.ad_tracking_enabled, &d.ad_tracking_enabled);
        or(&mut e.manufacturer, &d.manufacturer);
        or(&mut e.model, &d.model);
        or(&mut e.name, &d.name);
        or(&mut e.device_type, &d.device_type);
        or(&mut e.token, &d.token);
    });
    scalar(&mut event.ip, &default.ip);
    fields(&mut event.library, &default.library, |e, d| {
        or(&mut e.name, &d.name);
        or(&mut e.version, &d.version);
    });
    scalar(&mut event.locale, &default.locale);
    fields(&mut event.location, &default.location, |e, d| {
        or(&mut e.city, &d.city);
        or(&mut e.country, &d.country);
        or(&mut e.latitude, &d.latitude);
        or(&mut e.longitude, &d.longitude);
        or(&mut e.speed, &d.speed);
    });
    fields(&mut event.network, &default.network, |e, d| {
        or(&mut e.bluetooth, &d.bluetooth);
        or(&mut e.carrier, &d.carrier);
        or(&mut e.cellular, &d.cellular);
        or(&mut e.wifi, &d.wifi);
    });
    fields(&mut event.page, &default.page, |e, d| {
        or(&mut e.path, &d.path);
        or(&mut e.referrer, &d.referrer);
        or(&mut e.search, &d.search);
        or(&mut e.title, &d.title);
        or(&mut e.url, &d.url);
    });
    fields(&mut event.referrer, &default.referrer, |e, d| {
        or(&mut e.id, &d.id);
        or(&mut e.referrer_type, &d.referrer_type);
    });
    fields(&mut event.screen, &default.screen, |e, d| {
        or(&mut e.width, &d.width);
        or(&mut e.height, &d.height);
        or(&mut e.density, &d.density);
    });
    fields(&mut event.session, &default.session, |e, d| {
        or(&mut e.id, &d.id);
        or(&mut e.start, &d.start);
    });
    scalar(&mut event.timezone, &default.timezone);
    scalar(&mut event.user_agent, &default.user_agent);
    scalar(&mut event.traits, &default.traits);
}

/// The object's text with insignificant whitespace removed.
pub(crate) fn raw_object(value: Value<'_, '_>) -> RawJson {
    let mut text = String::with_capacity(value.raw_text().len());
    value.write_compact(&mut text);
    RawJson::from_compact(text)
}

fn non_empty(text: std::borrow::Cow<'_, str>) -> Option<String> {
    (!text.is_empty()).then(|| text.into_owned())
}

fn top_string(key: &'static str, value: Value<'_, '_>) -> Result<Option<String>, ContextError> {
    value
        .as_str()
        .map(non_empty)
        .ok_or(ContextError::NotString(key))
}

/// Visits the members of a section object; a non-object (incl. `null`) is a type error.
fn section(
    value: Value<'_, '_>,
    name: &'static str,
    mut visit: impl FnMut(&str, Value<'_, '_>) -> Result<(), ContextError>,
) -> Result<(), ContextError> {
    if value.kind() != crate::json::Kind::Object {
        return Err(ContextError::NotObject(name));
    }
    for (key, member) in value.members() {
        visit(key.as_ref(), member)?;
    }
    Ok(())
}

fn name_version(
    value: Value<'_, '_>,
    section_name: &'static str,
) -> Result<Option<NameVersion>, ContextError> {
    let mut named = NameVersion::default();
    section(value, section_name, |field, v| {
        match field {
            "name" => named.name = sub_string(v, section_name, "name")?,
            "version" => named.version = sub_string(v, section_name, "version")?,
            // Server-set; a client value is only used to recognise an already normalised
            // `{"name":"Other","other":…}` (see `useragent`), so its type is not checked.
            "other" => named.other = v.as_str().and_then(non_empty),
            _ => {}
        }
        Ok(())
    })?;
    Ok((named.name.is_some() || named.version.is_some()).then_some(named))
}

fn sub_string(
    v: Value<'_, '_>,
    s: &'static str,
    k: &'static str,
) -> Result<Option<String>, ContextError> {
    v.as_str()
        .map(non_empty)
        .ok_or(ContextError::FieldNotString(s, k))
}

fn sub_bool(
    v: Value<'_, '_>,
    s: &'static str,
    k: &'static str,
) -> Result<Option<bool>, ContextError> {
    v.as_bool()
        .map(Some)
        .ok_or(ContextError::FieldNotBoolean(s, k))
}

/// An integer field: the number's text minus one trailing `.0` must be an int64; 0 is absent.
fn sub_int(
    v: Value<'_, '_>,
    s: &'static str,
    k: &'static str,
    not_integer: fn(&'static str, &'static str) -> ContextError,
) -> Result<Option<i64>, ContextError> {
    let text = v
        .as_number_text()
        .ok_or(ContextError::FieldNotNumber(s, k))?;
    let value = parse_int(text).ok_or(not_integer(s, k))?;
    Ok((value != 0).then_some(value))
}

pub(crate) fn parse_int(text: &str) -> Option<i64> {
    text.strip_suffix(".0").unwrap_or(text).parse().ok()
}

/// A float field: float64 (overflow is an error); 0 is absent.
fn sub_float(
    v: Value<'_, '_>,
    s: &'static str,
    k: &'static str,
) -> Result<Option<f64>, ContextError> {
    let text = v
        .as_number_text()
        .ok_or(ContextError::FieldNotNumber(s, k))?;
    let value: f64 = text
        .parse()
        .map_err(|_| ContextError::FieldNotFloat64(s, k))?;
    if !value.is_finite() {
        return Err(ContextError::FieldNotFloat64(s, k));
    }
    Ok((value != 0.0).then_some(value))
}

/// `screen.density`: numeric(3,2) — rounded half-to-even to 2 decimals, below 10, 0 absent.
fn density(v: Value<'_, '_>) -> Result<Option<f64>, ContextError> {
    let text = v
        .as_number_text()
        .ok_or(ContextError::FieldNotNumber("screen", "density"))?;
    let value: f64 = text
        .parse()
        .map_err(|_| ContextError::FieldNotFloat64("screen", "density"))?;
    if !value.is_finite() {
        return Err(ContextError::FieldNotFloat64("screen", "density"));
    }
    let rounded = round_to_hundredths(value);
    if rounded.abs() >= 10.0 {
        return Err(ContextError::DensityPrecision);
    }
    Ok((rounded != 0.0).then_some(rounded))
}

/// Rounds the exact binary value half-to-even to two decimals (Rust's fixed-precision
/// formatting works on the exact value and rounds ties to even).
pub(crate) fn round_to_hundredths(value: f64) -> f64 {
    format!("{value:.2}").parse().unwrap_or(value)
}

fn decode_consents(value: Value<'_, '_>) -> Result<Option<BTreeMap<String, bool>>, ContextError> {
    if value.kind() != crate::json::Kind::Object {
        return Err(ContextError::NotObject("consents"));
    }
    let mut consents = BTreeMap::new();
    for (purpose, granted) in value.members() {
        if purpose.is_empty() {
            return Err(ContextError::EmptyPurpose);
        }
        let granted = granted
            .as_bool()
            .ok_or_else(|| ContextError::ConsentNotBoolean(purpose.to_string()))?;
        consents.insert(purpose.into_owned(), granted);
    }
    Ok((!consents.is_empty()).then_some(consents))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Document;

    fn decode(json: &str) -> Result<ContextDraft, String> {
        let doc = Document::parse(json.as_bytes()).expect("valid JSON");
        decode_context(doc.root(), false).map_err(|e| e.to_string())
    }

    fn error(json: &str) -> String {
        decode(json).expect_err("should fail")
    }

    #[test]
    fn top_level_member_errors() {
        assert_eq!(
            error(r#"{"ip":1}"#),
            "property 'context.ip' is not a valid string"
        );
        assert_eq!(
            error(r#"{"locale":null}"#),
            "property 'context.locale' is not a valid string"
        );
        assert_eq!(
            error(r#"{"timezone":true}"#),
            "property 'context.timezone' is not a valid string"
        );
        assert_eq!(
            error(r#"{"userAgent":[]}"#),
            "property 'context.userAgent' is not a valid string"
        );
        assert_eq!(
            error(r#"{"groupId":5}"#),
            "property 'context.groupId' is not a valid string"
        );
        assert_eq!(
            error(r#"{"direct":"yes"}"#),
            "property 'context.direct' is not a valid boolean"
        );
        assert_eq!(
            error(r#"{"sessionId":"1"}"#),
            "property 'context.sessionId' is not a valid number"
        );
        assert_eq!(
            error(r#"{"sessionId":1.5}"#),
            "property 'context.sessionId' is not a 64-bit integer"
        );
        assert_eq!(
            error(r#"{"sessionId":9223372036854775808}"#),
            "property 'context.sessionId' is not a 64-bit integer"
        );
        assert_eq!(
            error(r#"{"sessionStart":1}"#),
            "property 'context.sessionStart' is not a valid boolean"
        );
        assert_eq!(
            error(r#"{"traits":[]}"#),
            "property 'context.traits' is not a valid object"
        );
        assert_eq!(
            error(r#"{"consents":"no"}"#),
            "property 'context.consents' is not a valid object"
        );
        assert_eq!(
            error(r#"{"app":null}"#),
            "property 'context.app' is not a valid object"
        );
        assert_eq!(
            error(r#"{"screen":7}"#),
            "property 'context.screen' is not a valid object"
        );
    }

    #[test]
    fn section_field_errors() {
        assert_eq!(
            error(r#"{"app":{"name":1}}"#),
            "property 'context.app.name' is not a string"
        );
        assert_eq!(
            error(r#"{"device":{"adTrackingEnabled":"x"}}"#),
            "property 'context.device.adTrackingEnabled' is not a boolean"
        );
        assert_eq!(
            error(r#"{"network":{"wifi":null}}"#),
            "property 'context.network.wifi' is not a boolean"
        );
        assert_eq!(
            error(r#"{"screen":{"width":"1"}}"#),
            "property 'context.screen.width' is not a number"
        );
        assert_eq!(
            error(r#"{"screen":{"width":1.5}}"#),
            "property 'context.screen.width' is not a valid 16-bit integer"
        );
        assert_eq!(
            error(r#"{"screen":{"height":1e3}}"#),
            "property 'context.screen.height' is not a valid 16-bit integer"
        );
        assert_eq!(
            error(r#"{"session":{"id":1.00}}"#),
            "property 'context.session.id' is not a valid 64-bit integer"
        );
        assert_eq!(
            error(r#"{"location":{"latitude":1e400}}"#),
            "property 'context.location.latitude' is not a valid 64-bit floating-point number"
        );
        assert_eq!(
            error(r#"{"screen":{"density":1e400}}"#),
            "property 'context.screen.density' is not a valid 64-bit floating-point number"
        );
        assert_eq!(
            error(r#"{"screen":{"density":9.996}}"#),
            "property 'context.screen.density' exceeds the allowed precision of 3"
        );
        assert_eq!(
            error(r#"{"screen":{"density":12}}"#),
            "property 'context.screen.density' exceeds the allowed precision of 3"
        );
        assert_eq!(
            error(r#"{"consents":{"":true}}"#),
            "property 'context.consents' contains an empty purpose"
        );
        assert_eq!(
            error(r#"{"consents":{"analytics":"no"}}"#),
            "value of \"analytics\" in 'context.consents' is not a valid boolean"
        );
    }

    #[test]
    fn session_shortcuts() {
        let draft = decode(r#"{"sessionId":0,"sessionStart":true}"#).expect("ok");
        assert_eq!(
            draft.session,
            Some(Session {
                id: Some(0),
                start: Some(true)
            })
        );
        let draft = decode(r#"{"sessionId":5.0,"sessionStart":false}"#).expect("ok");
        assert_eq!(
            draft.session,
            Some(Session {
                id: Some(5),
                start: None
            })
        );
        let draft = decode(r#"{"session":{"start":false},"sessionId":7}"#).expect("ok");
        assert_eq!(
            draft.session,
            Some(Session {
                id: Some(7),
                start: Some(false)
            })
        );
        assert_eq!(
            error(r#"{"sessionId":7,"session":{}}"#),
            "property 'context.session' is specified multiple times"
        );
        assert_eq!(
            error(r#"{"sessionStart":true,"session":{}}"#),
            "property 'context.session' is specified multiple times"
        );
        assert!(decode(r#"{"sessionStart":false,"session":{"id":3}}"#).is_ok());
        // session.id 0 is absent, unlike the sessionId shortcut.
        assert_eq!(decode(r#"{"session":{"id":0}}"#).expect("ok").session, None);
    }

    #[test]
    fn value_rules() {
        let draft = decode(r#"{"ip":"","app":{"name":"","version":"1"},"network":{"wifi":false},"screen":{"width":0,"height":10.0,"density":1.3636363636363635},"location":{"latitude":0,"longitude":-0.1278},"consents":{},"locale":"it","traits":{ "a" : 1 }}"#).expect("ok");
        assert_eq!(draft.ip, None);
        assert_eq!(
            draft.app,
            Some(App {
                version: Some("1".into()),
                ..App::default()
            })
        );
        assert_eq!(
            draft.network,
            Some(Network {
                wifi: Some(false),
                ..Network::default()
            })
        );
        assert_eq!(
            draft.screen,
            Some(ScreenDraft {
                width: None,
                height: Some(10),
                density: Some(1.36)
            })
        );
        assert_eq!(draft.location.as_ref().and_then(|l| l.latitude), None);
        assert_eq!(
            draft.location.as_ref().and_then(|l| l.longitude),
            Some(-0.1278)
        );
        assert_eq!(draft.consents, None);
        assert_eq!(draft.locale, Some("it-IT"));
        assert_eq!(
            draft.traits.as_ref().map(RawJson::as_str),
            Some(r#"{"a":1}"#)
        );
        assert_eq!(decode(r#"{"app":{}}"#).expect("ok").app, None);
        assert_eq!(
            decode(r#"{"screen":{"density":0.004}}"#)
                .expect("ok")
                .screen,
            None
        );
        assert_eq!(
            decode(r#"{"unknown":{"x":1},"app":{"unknown":1}}"#).expect("ok"),
            ContextDraft::default()
        );
    }

    #[test]
    fn density_rounds_half_to_even_on_the_exact_value() {
        assert_eq!(round_to_hundredths(1.3636363636363635), 1.36);
        assert_eq!(round_to_hundredths(1.125), 1.12);
        assert_eq!(round_to_hundredths(1.375), 1.38);
        assert_eq!(round_to_hundredths(2.675), 2.67); // 2.67499999… in binary
        assert_eq!(round_to_hundredths(-0.001), 0.0);
    }

    #[test]
    fn lenient_null_sections_are_absent() {
        let doc = Document::parse(br#"{"app":null,"consents":null}"#).expect("valid");
        assert_eq!(
            decode_context(doc.root(), true),
            Ok(ContextDraft::default())
        );
        let doc = Document::parse(br#"{"ip":null}"#).expect("valid");
        assert!(decode_context(doc.root(), true).is_err());
    }

    #[test]
    fn merge_fills_only_what_the_event_lacks() {
        let mut event = decode(
            r#"{"consents":{"analytics":true},"browser":{"name":"firefox"},"ip":"1.2.3.4"}"#,
        )
        .expect("ok");
        let default = decode(r#"{"consents":{"analytics":false,"essential_services":true},"browser":{"name":"chrome","version":"138.0"},"ip":"5.6.7.8","locale":"fr"}"#).expect("ok");
        merge_default(&mut event, &default);
        let consents: Vec<_> = event
            .consents
            .clone()
            .expect("consents")
            .into_iter()
            .collect();
        assert_eq!(
            consents,
            [
                ("analytics".to_string(), true),
                ("essential_services".to_string(), true)
            ]
        );
        assert_eq!(
            event.browser,
            Some(NameVersion {
                name: Some("firefox".into()),
                other: None,
                version: Some("138.0".into())
            })
        );
        assert_eq!(event.ip.as_deref(), Some("1.2.3.4"));
        assert_eq!(event.locale, Some("fr-FR"));
    }
}
