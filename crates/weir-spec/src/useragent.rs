//! Browser and OS detection (event-model §11).
//!
//! This module owns:
//!
//! * §11.1 — normalisation of client-supplied `context.browser.name` / `context.os.name` onto the
//!   allowed final names ([`normalize_browser_name`], [`normalize_os_name`]);
//! * §11.2 — the reference user-agent algorithm that fills a missing `browser` / `os` section from
//!   `context.userAgent` ([`parse_user_agent`]): browser family table (rows 1–22 with sub-rows
//!   2a–2r), the version scan `V` with its 64-bit wrapping arithmetic and zero-skipping quirk,
//!   per-family browser versions, the OS table with its `P` / `S` extraction and the
//!   Linux-like / Windows-like / Mac sub-rules, bots, the 25-character version limit and the
//!   mapping onto the allowed final names, with the Weir (D3) rules: the OS version comes only from
//!   the OS rules, the OS `other` only from the OS family, and ChromeOS maps to `Chrome OS`.
//!
//! Everything here is pure and allocation-light: the user agent is lowercased once and every marker
//! is ASCII, so all byte offsets used for slicing are char boundaries (and slicing goes through
//! `str::get` anyway).

/// The name stored for anything outside the allowed set.
const OTHER: &str = "Other";

/// A version string longer than this is dropped.
const MAX_VERSION_LEN: usize = 25;

/// A browser or OS section as stored on the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Named {
    /// One of the allowed final names of §11.1.
    pub(crate) name: &'static str,
    /// Set iff `name` is `Other`.
    pub(crate) other: Option<String>,
    /// `major.minor.patch`, at most 25 characters, never `0.0.0`.
    pub(crate) version: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// §11.1 client-supplied names
// ---------------------------------------------------------------------------------------------

/// Every value of a normalised `context.browser.name` (§11.1), in the spec's order.
pub const BROWSER_NAMES: [&str; 7] = [
    "Chrome",
    "Safari",
    "Edge",
    "Firefox",
    "Samsung Internet",
    "Opera",
    OTHER,
];

/// Every value of a normalised `context.os.name` (§11.1), in the spec's order.
pub const OS_NAMES: [&str; 7] = [
    "Android",
    "Windows",
    "iOS",
    "macOS",
    "Linux",
    "Chrome OS",
    OTHER,
];

const BROWSER_ALIASES: &[(&str, &str)] = &[
    ("chrome", "Chrome"),
    ("safari", "Safari"),
    ("edge", "Edge"),
    ("firefox", "Firefox"),
    ("samsung internet", "Samsung Internet"),
    ("opera", "Opera"),
];

const OS_ALIASES: &[(&str, &str)] = &[
    ("android", "Android"),
    ("windows", "Windows"),
    ("ios", "iOS"),
    ("macos", "macOS"),
    ("darwin", "macOS"),
    ("linux", "Linux"),
    ("chrome os", "Chrome OS"),
];

/// Normalises a client-supplied `context.browser.name` (§11.1).
///
/// Returns the final name and, iff that name is `Other`, the `other` text. `client_other` (the
/// client's `browser.other`) is used only when `name` is exactly `Other`, so that an already
/// normalised section stays as it is; otherwise it is ignored.
pub(crate) fn normalize_browser_name(
    name: &str,
    client_other: Option<&str>,
) -> (&'static str, Option<String>) {
    normalize_name(name, client_other, BROWSER_ALIASES)
}

/// Normalises a client-supplied `context.os.name` (§11.1); see [`normalize_browser_name`].
pub(crate) fn normalize_os_name(
    name: &str,
    client_other: Option<&str>,
) -> (&'static str, Option<String>) {
    normalize_name(name, client_other, OS_ALIASES)
}

fn normalize_name(
    name: &str,
    client_other: Option<&str>,
    table: &[(&str, &'static str)],
) -> (&'static str, Option<String>) {
    if name == OTHER
        && let Some(other) = client_other.filter(|o| !o.is_empty())
    {
        return (OTHER, Some(other.to_owned()));
    }
    // All keys are ASCII, so ASCII case folding is the full case-insensitive comparison.
    match table.iter().find(|(key, _)| name.eq_ignore_ascii_case(key)) {
        Some(&(_, canonical)) => (canonical, None),
        None => (OTHER, Some(name.to_owned())),
    }
}

// ---------------------------------------------------------------------------------------------
// §11.2 version scan
// ---------------------------------------------------------------------------------------------

/// `major`, `minor`, `patch` as 64-bit two's-complement values.
type Version = [i64; 3];

/// The version scan `V(text)`: `None` when `text` is empty or does not start with a digit.
fn scan_version(text: &str) -> Option<Version> {
    if !text.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let mut rest = text;
    let mut version: Version = [0; 3];
    for component in &mut version {
        let mut value: i64 = 0;
        let mut started = false;
        // Reaching the end leaves the remaining text empty.
        let mut next = "";
        for (at, c) in rest.char_indices() {
            if let Some(digit) = c.to_digit(10) {
                let digit = i64::from(digit);
                if !started {
                    value = digit;
                    started = true;
                } else if value == 0 {
                    if digit == 0 {
                        continue;
                    }
                    // A non-zero digit after a zero value ends the component unconsumed.
                    next = rest.get(at..).unwrap_or("");
                    break;
                } else {
                    value = value.wrapping_mul(10).wrapping_add(digit);
                }
            } else {
                // The first non-digit ends the component and is consumed (one character).
                next = rest.get(at + c.len_utf8()..).unwrap_or("");
                break;
            }
        }
        *component = value;
        rest = next;
    }
    Some(version)
}

/// `findV(marker)` on `hay`: `V` applied after the first occurrence of `marker`; `None` when the
/// marker is absent or not immediately followed by a digit.
fn find_version(hay: &str, marker: &str) -> Option<Version> {
    let at = hay.find(marker)?;
    scan_version(hay.get(at + marker.len()..)?)
}

/// "`a`, else `b`, else …": the first marker whose `findV` succeeds.
fn find_first_version(hay: &str, markers: &[&str]) -> Option<Version> {
    markers.iter().find_map(|marker| find_version(hay, marker))
}

/// The stored version string: `None` for 0.0.0 or when longer than 25 characters.
fn render_version(version: Option<Version>) -> Option<String> {
    let [major, minor, patch] = version?;
    if major == 0 && minor == 0 && patch == 0 {
        return None;
    }
    let text = format!("{major}.{minor}.{patch}");
    (text.len() <= MAX_VERSION_LEN).then_some(text)
}

fn contains_any(hay: &str, needles: &[&str]) -> bool {
    needles.iter().any(|needle| hay.contains(needle))
}

// ---------------------------------------------------------------------------------------------
// §11.2 browser family
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BrowserFamily {
    Blackberry,
    GoogleBot,
    Qq,
    Opera,
    Silk,
    Ie,
    UcBrowser,
    Nintendo,
    Samsung,
    CocCoc,
    Yandex,
    Chrome,
    Android,
    Firefox,
    Spotify,
    AppleBot,
    Safari,
    BaiduBot,
    BingBot,
    DuckDuckGoBot,
    FacebookBot,
    LinkedInBot,
    MsnBot,
    PingdomBot,
    TwitterBot,
    YandexBot,
    YahooBot,
    CocCocBot,
    Bot,
    Unknown,
}

impl BrowserFamily {
    fn is_bot(self) -> bool {
        matches!(
            self,
            Self::GoogleBot
                | Self::AppleBot
                | Self::BaiduBot
                | Self::BingBot
                | Self::DuckDuckGoBot
                | Self::FacebookBot
                | Self::LinkedInBot
                | Self::MsnBot
                | Self::PingdomBot
                | Self::TwitterBot
                | Self::YandexBot
                | Self::YahooBot
                | Self::CocCocBot
                | Self::Bot
        )
    }

    /// The family name as written in the spec table (used as `other`).
    fn family_name(self) -> &'static str {
        match self {
            Self::Blackberry => "Blackberry",
            Self::GoogleBot => "GoogleBot",
            Self::Qq => "QQ",
            Self::Opera => "Opera",
            Self::Silk => "Silk",
            Self::Ie => "IE",
            Self::UcBrowser => "UCBrowser",
            Self::Nintendo => "Nintendo",
            Self::Samsung => "Samsung",
            Self::CocCoc => "CocCoc",
            Self::Yandex => "Yandex",
            Self::Chrome => "Chrome",
            Self::Android => "Android",
            Self::Firefox => "Firefox",
            Self::Spotify => "Spotify",
            Self::AppleBot => "AppleBot",
            Self::Safari => "Safari",
            Self::BaiduBot => "BaiduBot",
            Self::BingBot => "BingBot",
            Self::DuckDuckGoBot => "DuckDuckGoBot",
            Self::FacebookBot => "FacebookBot",
            Self::LinkedInBot => "LinkedInBot",
            Self::MsnBot => "MsnBot",
            Self::PingdomBot => "PingdomBot",
            Self::TwitterBot => "TwitterBot",
            Self::YandexBot => "YandexBot",
            Self::YahooBot => "YahooBot",
            Self::CocCocBot => "CocCocBot",
            Self::Bot => "Bot",
            Self::Unknown => "Unknown",
        }
    }

    /// The allowed final name, or `None` for `Other`.
    fn final_name(self) -> Option<&'static str> {
        match self {
            Self::Chrome => Some("Chrome"),
            Self::Safari => Some("Safari"),
            Self::Ie => Some("Edge"),
            Self::Firefox => Some("Firefox"),
            Self::Samsung => Some("Samsung Internet"),
            Self::Opera => Some("Opera"),
            _ => None,
        }
    }
}

/// Rows 2a–2r (applied when `u` contains `applewebkit`); `None` = continue at row 3.
fn webkit_browser_family(u: &str) -> Option<BrowserFamily> {
    use BrowserFamily as B;
    let family = if u.contains("googlebot") {
        B::GoogleBot
    } else if contains_any(u, &["qq/", "qqbrowser/"]) {
        B::Qq
    } else if contains_any(u, &["opr/", "opios/"]) {
        B::Opera
    } else if u.contains("silk/") {
        B::Silk
    } else if contains_any(
        u,
        &["edg/", "edgios/", "edga/", "edge/", "iemobile/", "msie "],
    ) {
        B::Ie
    } else if contains_any(u, &["ucbrowser/", "ucweb/"]) {
        B::UcBrowser
    } else if u.contains("nintendobrowser/") {
        B::Nintendo
    } else if u.contains("samsungbrowser/") {
        B::Samsung
    } else if u.contains("coc_coc_browser/") {
        B::CocCoc
    } else if u.contains("yabrowser/") {
        B::Yandex
    } else if contains_any(u, &["chrome/", "crios/", "chromium/", "crmo/"]) {
        B::Chrome
    } else if u.contains("android")
        && u.contains("version/")
        && !u.contains("chrome/")
        && !u.contains("like android")
    {
        B::Android
    } else if u.contains("fxios") {
        B::Firefox
    } else if u.contains(" spotify/") {
        B::Spotify
    } else if u.contains("applebot") {
        B::AppleBot
    } else if (u.contains("like gecko")
        && u.contains("mozilla/")
        && u.contains("safari/")
        && !contains_any(u, &["linux", "android", "browser/", "os/", "yabrowser/"]))
        // Rows 2q and 2r give the same family as 2p.
        || contains_any(u, &["iphone", "ipad", " gsa/"])
    {
        B::Safari
    } else {
        return None;
    };
    Some(family)
}

/// Rows 6–21: plain "contains any of" rows, in table order.
const LATE_BROWSER_ROWS: &[(&[&str], BrowserFamily)] = &[
    (&["presto", "opera"], BrowserFamily::Opera),
    (&["ucbrowser"], BrowserFamily::UcBrowser),
    (&["applebot"], BrowserFamily::AppleBot),
    (&["baiduspider"], BrowserFamily::BaiduBot),
    (
        &["adidxbot", "bingbot", "bingpreview"],
        BrowserFamily::BingBot,
    ),
    (&["duckduckbot"], BrowserFamily::DuckDuckGoBot),
    (
        &["facebot", "facebookexternalhit"],
        BrowserFamily::FacebookBot,
    ),
    (&["googlebot"], BrowserFamily::GoogleBot),
    (&["linkedinbot"], BrowserFamily::LinkedInBot),
    (&["msnbot"], BrowserFamily::MsnBot),
    (&["pingdom.com_bot"], BrowserFamily::PingdomBot),
    (&["twitterbot"], BrowserFamily::TwitterBot),
    (&["yandex", "yadirectfetcher"], BrowserFamily::YandexBot),
    (&["yahoo"], BrowserFamily::YahooBot),
    (&["coccocbot"], BrowserFamily::CocCocBot),
    (&["phantomjs"], BrowserFamily::Bot),
];

/// The browser family table of §11.2 on the lowercased user agent.
fn browser_family(u: &str) -> BrowserFamily {
    use BrowserFamily as B;
    if contains_any(u, &["blackberry", "playbook", "bb10", "rim "]) {
        return B::Blackberry;
    }
    if u.contains("applewebkit")
        && let Some(family) = webkit_browser_family(u)
    {
        return family;
    }
    if contains_any(u, &["qq/", "qqbrowser/"]) {
        return B::Qq;
    }
    if contains_any(u, &["msie", "trident"]) {
        return B::Ie;
    }
    if u.contains("gecko") && contains_any(u, &["firefox", "iceweasel", "seamonkey", "icecat"]) {
        return B::Firefox;
    }
    LATE_BROWSER_ROWS
        .iter()
        .find(|(needles, _)| contains_any(u, needles))
        .map_or(B::Unknown, |&(_, family)| family)
}

/// The browser version of §11.2 (never called for bots). `os_version` is the version computed by
/// the OS rules (used by Safari).
fn browser_version(u: &str, family: BrowserFamily, os_version: Option<Version>) -> Option<Version> {
    use BrowserFamily as B;
    if family != B::Chrome
        && let Some(version) = find_version(u, "version/")
    {
        return Some(version);
    }
    match family {
        B::Chrome => find_first_version(u, &["chrome/", "crios/", "crmo/"]),
        B::Yandex => find_version(u, "yabrowser/"),
        B::Qq => find_first_version(u, &["qq/", "qqbrowser/"]),
        B::Ie => {
            find_first_version(u, &["msie ", "edge/", "edgios/", "edga/", "edg/"]).or_else(|| {
                find_version(u, "trident/").map(|mut v| {
                    if (3..=7).contains(&v[0]) {
                        v[0] += 4;
                    }
                    v
                })
            })
        }
        B::Firefox => find_first_version(u, &["firefox/", "fxios/"]),
        B::Safari => os_version.map(|mut v| {
            if (1..=3).contains(&v[0]) {
                v[0] += 1;
            }
            v
        }),
        B::UcBrowser => find_version(u, "ucbrowser/"),
        B::Opera => find_first_version(u, &["opr/", "opios/", "opera/"]),
        B::Silk => find_version(u, "silk/"),
        B::Spotify => find_version(u, "spotify/"),
        B::CocCoc => find_version(u, "coc_coc_browser/"),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// §11.2 OS family
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OsFamily {
    Android,
    Blackberry,
    ChromeOs,
    Ios,
    IpadOs,
    Kindle,
    Linux,
    MacOsx,
    Nintendo,
    Playstation,
    WebOs,
    Windows,
    WindowsPhone,
    Xbox,
    Bot,
    Unknown,
}

impl OsFamily {
    /// `(final name, other)` per the §11.2 mapping (Weir D3: ChromeOS → `Chrome OS`).
    fn final_name(self) -> (&'static str, Option<&'static str>) {
        match self {
            Self::MacOsx => ("macOS", None),
            Self::Android => ("Android", None),
            Self::Windows => ("Windows", None),
            Self::Ios => ("iOS", None),
            Self::Linux => ("Linux", None),
            Self::ChromeOs => ("Chrome OS", None),
            Self::Unknown => (OTHER, Some("Unknown")),
            Self::IpadOs => (OTHER, Some("iPadOS")),
            Self::WindowsPhone => (OTHER, Some("WindowsPhone")),
            Self::Blackberry => (OTHER, Some("Blackberry")),
            Self::Kindle => (OTHER, Some("Kindle")),
            Self::WebOs => (OTHER, Some("WebOS")),
            Self::Playstation => (OTHER, Some("Playstation")),
            Self::Xbox => (OTHER, Some("Xbox")),
            Self::Nintendo => (OTHER, Some("Nintendo")),
            Self::Bot => (OTHER, Some("Bot")),
        }
    }
}

/// `P`: the platform part of `u` (between the first `(` and the first `)`, with the fallbacks of
/// §11.2).
fn platform_part(u: &str) -> &str {
    match (u.find('('), u.find(')')) {
        (Some(open), Some(close)) if open < close => u.get(open + 1..close).unwrap_or(""),
        // `)` before `(`, or `(` without `)`: `u` without its first character.
        (Some(_), _) => {
            let mut chars = u.chars();
            chars.next();
            chars.as_str()
        }
        (None, Some(close)) => u.get(..close).unwrap_or(""),
        (None, None) => u,
    }
}

/// RE2 `\s`: `[\t\n\f\r ]`.
fn is_re_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

/// The Kindle fingerprint `\s(k[a-z]{3,5}|sd\d{4}ur)\s` searched in `p`.
fn kindle_fingerprint(p: &str) -> bool {
    let bytes = p.as_bytes();
    bytes.iter().enumerate().any(|(at, &b)| {
        if !is_re_space(b) {
            return false;
        }
        let rest = bytes.get(at + 1..).unwrap_or(&[]);
        let followed_by_space = |index: usize| rest.get(index).copied().is_some_and(is_re_space);
        match rest.first() {
            Some(b'k') => {
                let letters = rest
                    .iter()
                    .skip(1)
                    .take_while(|c| c.is_ascii_lowercase())
                    .count();
                (3..=5).contains(&letters) && followed_by_space(1 + letters)
            }
            Some(b's') => {
                rest.get(..9).is_some_and(|w| {
                    w.starts_with(b"sd")
                        && w.iter().skip(2).take(4).all(u8::is_ascii_digit)
                        && w.get(6..8) == Some(b"ur".as_slice())
                }) && followed_by_space(8)
            }
            _ => false,
        }
    })
}

/// The Linux-like sub-rule.
fn linux_like(u: &str, p: &str) -> (OsFamily, Option<Version>) {
    if u.contains("kindle") || kindle_fingerprint(p) {
        (OsFamily::Kindle, find_version(p, "android "))
    } else if contains_any(u, &["android", "googletv"]) {
        (OsFamily::Android, find_version(p, "android "))
    } else if u.contains("cros") {
        (OsFamily::ChromeOs, None)
    } else if contains_any(u, &["webos", "hpwos"]) {
        (OsFamily::WebOs, None)
    } else {
        (OsFamily::Linux, None)
    }
}

/// The Windows-like sub-rule.
fn windows_like(u: &str) -> (OsFamily, Option<Version>) {
    if u.contains("xbox") {
        let version = find_version(u, "windows nt ").unwrap_or([6, 0, 0]);
        (OsFamily::Xbox, Some(version))
    } else if !u.contains("windows ") {
        (OsFamily::Unknown, None)
    } else if let Some(version) = find_version(u, "windows nt ") {
        (OsFamily::Windows, Some(version))
    } else if u.contains("windows xp") {
        (OsFamily::Windows, Some([5, 1, 0]))
    } else {
        (OsFamily::Unknown, None)
    }
}

/// The Mac sub-rule.
fn mac(u: &str) -> (OsFamily, Option<Version>) {
    const MARKER: &str = "os x ";
    match u.find(MARKER) {
        Some(at) => (
            OsFamily::MacOsx,
            u.get(at + MARKER.len()..).and_then(scan_version),
        ),
        None => (OsFamily::Unknown, None),
    }
}

/// The OS table of §11.2 (before the bot override).
fn os_family(u: &str) -> (OsFamily, Option<Version>) {
    let p = platform_part(u);
    let s = p.split_once(';').map_or(p, |(head, _)| head);
    if s == "android" || s == "x11" || s == "linux" {
        linux_like(u, p)
    } else if s == "bb10" || s == "playbook" {
        (OsFamily::Blackberry, None)
    } else if s.starts_with("iphone") || s.starts_with("ipod") {
        (OsFamily::Ios, ios_version(p))
    } else if s.starts_with("ipad") {
        (OsFamily::IpadOs, ios_version(p))
    } else if s == "macintosh" {
        mac(u)
    } else if contains_any(u, &["blackberry", "playbook"]) {
        (OsFamily::Blackberry, None)
    } else if p.contains("windows phone ") {
        match find_first_version(p, &["windows phone os ", "windows phone "]) {
            Some(version) => (OsFamily::WindowsPhone, Some(version)),
            None => (OsFamily::Unknown, None),
        }
    } else if contains_any(u, &["windows ", "microsoft-cryptoapi"]) {
        windows_like(u)
    } else if u.contains("kindle/") || kindle_fingerprint(p) {
        (OsFamily::Kindle, None)
    } else if u.contains("linux") {
        linux_like(u, p)
    } else if contains_any(u, &["webos", "hpwos"]) {
        (OsFamily::WebOs, None)
    } else if u.contains("nintendo") {
        (OsFamily::Nintendo, None)
    } else if contains_any(u, &["playstation", "vita", "psp"]) {
        (OsFamily::Playstation, None)
    } else if u.contains("android") {
        linux_like(u, p)
    } else if u.contains("cfnetwork") && u.contains("darwin") {
        mac(u)
    } else {
        (OsFamily::Unknown, None)
    }
}

fn ios_version(p: &str) -> Option<Version> {
    find_first_version(p, &["cpu iphone os ", "cpu os "])
}

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

/// Parses a user agent into `(browser, os)` per §11.2 (Weir D3 rules); both are always filled
/// with allowed final names.
pub(crate) fn parse_user_agent(ua: &str) -> (Named, Named) {
    let lowered = ua.to_lowercase();
    let u = lowered.as_str();

    let family = browser_family(u);
    let (mut os, os_version) = os_family(u);
    let browser_version = if family.is_bot() {
        os = OsFamily::Bot;
        None
    } else {
        browser_version(u, family, os_version)
    };

    let browser = match family.final_name() {
        Some(name) => Named {
            name,
            other: None,
            version: render_version(browser_version),
        },
        None => Named {
            name: OTHER,
            other: Some(family.family_name().to_owned()),
            version: render_version(browser_version),
        },
    };
    let (os_name, os_other) = os.final_name();
    let os = Named {
        name: os_name,
        other: os_other.map(str::to_owned),
        version: render_version(os_version),
    };
    (browser, os)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `"Name"`, `"Name version"`, `"Other/other"` or `"Other/other version"`.
    fn describe(named: &Named) -> String {
        let mut out = named.name.to_owned();
        if let Some(other) = &named.other {
            out.push('/');
            out.push_str(other);
        }
        if let Some(version) = &named.version {
            out.push(' ');
            out.push_str(version);
        }
        out
    }

    #[track_caller]
    fn check(ua: &str, expected_browser: &str, expected_os: &str) {
        let (browser, os) = parse_user_agent(ua);
        assert_eq!(describe(&browser), expected_browser, "browser of {ua:?}");
        assert_eq!(describe(&os), expected_os, "os of {ua:?}");
    }

    const PIXEL: &str = "Mozilla/5.0 (Linux; Android 11; Pixel 5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/94.0.4606.71 Mobile Safari/537.36";
    const EDG: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Edg/91.0.864";

    #[test]
    fn c40_all_rows() {
        check(
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:15.0) Gecko/20100101 Firefox/15.0.1",
            "Firefox 15.0.1",
            "Linux",
        );
        check(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472 Safari/537.36",
            "Chrome 91.0.4472",
            "Windows 10.0.0",
        );
        check(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.1 Safari/605.1.15",
            "Safari 15.1.0",
            "macOS 10.15.7",
        );
        check(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 14_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0 Mobile/15E148 Safari/604.1",
            "Safari 14.0.0",
            "iOS 14.6.0",
        );
        check(PIXEL, "Chrome 94.0.4606", "Android 11.0.0");
        check(
            &PIXEL.replace("Android 11", "Android 1234123412341234123.0.864"),
            "Chrome 94.0.4606",
            "Android 1234123412341234123.0.864",
        );
        check(
            &PIXEL.replace("Android 11", "Android 12341234123412341231.0.864"),
            "Chrome 94.0.4606",
            "Android",
        );
        check(EDG, "Edge 91.0.864", "Windows 10.0.0");
        check(
            &EDG.replace("Edg/91.0.864", "Edg/1234123412341234123.0.864"),
            "Edge 1234123412341234123.0.864",
            "Windows 10.0.0",
        );
        check(
            &EDG.replace("Edg/91.0.864", "Edg/123412341234123412341.0.864"),
            "Edge",
            "Windows 10.0.0",
        );
        check(
            "Mozilla/5.0 (X11; CrOS x86_64 16181.61.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.6998.198 Safari/537.36",
            "Chrome 134.0.6998",
            "Chrome OS",
        );
        check("SomeUnknownAgent/1.0", "Other/Unknown", "Other/Unknown");
    }

    #[test]
    fn c40_overflow_rows_wrap() {
        // Row 7: 12341234123412341231 wraps to a negative value that prints with 20 characters.
        assert_eq!(
            scan_version("12341234123412341231.0.864"),
            Some([-6_105_509_950_297_210_385, 0, 864])
        );
        // Row 10: 21 digits wrap too; the printed version is longer than 25 characters.
        let wrapped = scan_version("123412341234123412341.0.864");
        assert!(render_version(wrapped).is_none(), "{wrapped:?}");
    }

    #[test]
    fn reference_results_table() {
        // Same UAs as the §11.2 reference table (unabridged forms above); the abridged form of
        // each row must give the same result.
        check(
            "(X11; Ubuntu; Linux x86_64; rv:15.0) Gecko/20100101 Firefox/15.0.1",
            "Firefox 15.0.1",
            "Linux",
        );
        check(
            "(Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472 Safari/537.36",
            "Chrome 91.0.4472",
            "Windows 10.0.0",
        );
        check(
            "(Linux; Android 11; Pixel 5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/94.0.4606.71 Mobile Safari/537.36",
            "Chrome 94.0.4606",
            "Android 11.0.0",
        );
        check(
            "(X11; CrOS x86_64 16181.61.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.6998.198 Safari/537.36",
            "Chrome 134.0.6998",
            "Chrome OS",
        );
    }

    #[test]
    fn examples_c32_c33_c47() {
        // C32: Firefox on Linux; the OS has no version (Weir D3, no leak of 132.0.0).
        check(
            "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
            "Firefox 132.0.0",
            "Linux",
        );
        // C33.
        check(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.0.0 Safari/537.36",
            "Chrome 117.0.0",
            "Windows 10.0.0",
        );
        // C47–C50.
        check(
            "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:47.0) Gecko/20100101 Firefox/47.0",
            "Firefox 47.0.0",
            "Windows 6.1.0",
        );
    }

    #[test]
    fn other_families() {
        // Bots: no browser version, OS family Bot (OS version kept).
        check(
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Other/GoogleBot",
            "Other/Bot",
        );
        check(
            "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/41.0.2272.96 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Other/GoogleBot",
            "Other/Bot 6.0.1",
        );
        check(
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "Other/BingBot",
            "Other/Bot",
        );
        // iPad.
        check(
            "Mozilla/5.0 (iPad; CPU OS 15_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.0 Mobile/15E148 Safari/604.1",
            "Safari 15.0.0",
            "Other/iPadOS 15.0.0",
        );
        // IE 11 via Trident (+4), MSIE on Windows XP.
        check(
            "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
            "Edge 11.0.0",
            "Windows 10.0.0",
        );
        check(
            "Mozilla/4.0 (compatible; MSIE 6.0; Windows XP)",
            "Edge 6.0.0",
            "Windows 5.1.0",
        );
        // Samsung Internet: no family-specific version rule, no `version/`.
        check(
            "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/21.0 Chrome/110.0.5481.154 Mobile Safari/537.36",
            "Samsung Internet",
            "Android 13.0.0",
        );
        check(
            "Mozilla/5.0 (Linux; Android 10; SM-G973F) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/12.0 Chrome/79.0.3945.136 Version/4.0 Mobile Safari/537.36",
            "Samsung Internet 4.0.0",
            "Android 10.0.0",
        );
        // Opera (OPR/).
        check(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",
            "Opera 106.0.0",
            "Windows 10.0.0",
        );
        // Kindle: `kindle` in the UA, and the Fire fingerprint regex.
        check(
            "Mozilla/5.0 (Linux; U; en-US) AppleWebKit/528.5+ (KHTML, like Gecko, Safari/528.5+) Version/4.0 Kindle/3.0 (screen 600x800; rotate)",
            "Other/Unknown 4.0.0",
            "Other/Kindle",
        );
        check(
            "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; KFTT Build/IML74K) AppleWebKit/535.19 (KHTML, like Gecko) Silk/3.4 Mobile Safari/535.19 Silk-Accelerated=true",
            "Other/Silk 3.4.0",
            "Other/Kindle 4.0.3",
        );
        check(
            "Mozilla/5.0 (Kindle Fire; KFJWI x) Foo",
            "Other/Unknown",
            "Other/Kindle",
        );
        // Windows Phone.
        check(
            "Mozilla/5.0 (compatible; MSIE 10.0; Windows Phone 8.0; Trident/6.0; IEMobile/10.0; ARM; Touch; NOKIA; Lumia 920)",
            "Edge 10.0.0",
            "Other/WindowsPhone 8.0.0",
        );
        check(
            "Mozilla/5.0 (compatible; Windows Phone OS 7.5)",
            "Other/Unknown",
            "Other/WindowsPhone 7.5.0",
        );
        check(
            "Mozilla/5.0 (compatible; Windows Phone x)",
            "Other/Unknown",
            "Other/Unknown",
        );
        // Xbox (Windows-like), with and without `windows nt `.
        check(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/48.0.2564.82 Safari/537.36 Edge/13.10586",
            "Edge 13.10586.0",
            "Other/Xbox 10.0.0",
        );
        check(
            "Mozilla/5.0 (Windows ; Xbox)",
            "Other/Unknown",
            "Other/Xbox 6.0.0",
        );
        // Blackberry.
        check(
            "Mozilla/5.0 (BB10; Touch) AppleWebKit/537.10+ (KHTML, like Gecko) Version/10.0.9.2372 Mobile Safari/537.10+",
            "Other/Blackberry 10.0.9",
            "Other/Blackberry",
        );
        check(
            "BlackBerry9700/5.0.0.351 Profile/MIDP-2.1",
            "Other/Blackberry",
            "Other/Blackberry",
        );
        // Playstation, Nintendo.
        check(
            "Mozilla/5.0 (PlayStation 4 3.11) AppleWebKit/537.73 (KHTML, like Gecko)",
            "Other/Unknown",
            "Other/Playstation",
        );
        check(
            "Mozilla/5.0 (Nintendo Switch; WifiWebApplet) AppleWebKit/606.4 (KHTML, like Gecko) NF/6.0.1.15.4 NintendoBrowser/5.1.0.20393",
            "Other/Nintendo",
            "Other/Nintendo",
        );
        // Safari without `version/`: the OS version, major 1..3 increased by 1.
        check(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 3_0 like Mac OS X; en-us) AppleWebKit/528.18 (KHTML, like Gecko) Mobile/7A341",
            "Safari 4.0.0",
            "iOS 3.0.0",
        );
        check(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
            "Safari 17.1.0",
            "iOS 17.1.0",
        );
        // Firefox on macOS and iOS, Android stock browser, UC Browser (version/ wins), Yandex.
        check(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:109.0) Gecko/20100101 Firefox/115.0",
            "Firefox 115.0.0",
            "macOS 10.15.0",
        );
        check(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/118.0 Mobile/15E148 Safari/605.1.15",
            "Firefox 118.0.0",
            "iOS 16.6.0",
        );
        check(
            "Mozilla/5.0 (Linux; U; Android 4.0.3; de-de; Galaxy S II Build/GRJ22) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
            "Other/Android 4.0.0",
            "Android 4.0.3",
        );
        check(
            "Mozilla/5.0 (Linux; U; Android 8.1.0; en-US; Nexus 6P Build/OPM7.181205.001) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/57.0.2987.108 UCBrowser/12.11.1.1197 Mobile Safari/537.36",
            "Other/UCBrowser 4.0.0",
            "Android 8.1.0",
        );
        check(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 YaBrowser/23.11.0.0 Safari/537.36",
            "Other/Yandex 23.11.0",
            "Windows 10.0.0",
        );
        // CFNetwork + Darwin uses the Mac sub-rule (no `os x ` → Unknown).
        check(
            "MyApp/1.0 CFNetwork/1335.0.3 Darwin/21.6.0",
            "Other/Unknown",
            "Other/Unknown",
        );
        // Plain Linux / WebOS / empty.
        check(
            "Mozilla/5.0 (webOS/1.3; U; en-US) AppleWebKit/525.27.1 (KHTML, like Gecko) Version/1.0 Safari/525.27.1 Desktop/1.0",
            "Other/Unknown 1.0.0",
            "Other/WebOS",
        );
        check("", "Other/Unknown", "Other/Unknown");
    }

    #[test]
    fn version_scan() {
        assert_eq!(scan_version("15.0.1"), Some([15, 0, 1]));
        assert_eq!(scan_version("117.0.0.0"), Some([117, 0, 0]));
        assert_eq!(scan_version("14_6 like mac os x"), Some([14, 6, 0]));
        assert_eq!(scan_version("11; pixel 5"), Some([11, 0, 0]));
        assert_eq!(scan_version("15.1 safari/605.1.15"), Some([15, 1, 0]));
        assert_eq!(scan_version(""), None);
        assert_eq!(scan_version("x1"), None);
        assert_eq!(scan_version("0"), Some([0, 0, 0]));
        // Zero skipping: after a value of 0, zeros are skipped and a non-zero digit ends the
        // component without being consumed.
        assert_eq!(scan_version("0123"), Some([0, 123, 0]));
        assert_eq!(scan_version("007.5"), Some([0, 7, 5]));
        assert_eq!(scan_version("1.00.2"), Some([1, 0, 2]));
        // A non-digit is consumed as one character, even when it is not ASCII.
        assert_eq!(scan_version("1\u{e9}2.3"), Some([1, 2, 3]));
        assert_eq!(render_version(Some([0, 0, 0])), None);
        assert_eq!(render_version(Some([-1, 0, 0])), Some("-1.0.0".to_owned()));
        assert_eq!(find_version("a chrome/x chrome/1", "chrome/"), None);
    }

    #[test]
    fn platform_part_fallbacks() {
        assert_eq!(platform_part("a (b; c) d"), "b; c");
        assert_eq!(platform_part("a) b (c"), ") b (c");
        assert_eq!(platform_part("\u{e9}a (b"), "a (b");
        assert_eq!(platform_part("abc"), "abc");
        assert_eq!(platform_part("ab) c"), "ab");
        assert!(kindle_fingerprint("linux; u; en-us; kftt build/x"));
        assert!(kindle_fingerprint("x sd4930ur y"));
        assert!(!kindle_fingerprint("x sd493ur y"));
        assert!(!kindle_fingerprint(" kab "));
        assert!(!kindle_fingerprint(" kabcdef "));
        assert!(kindle_fingerprint("\tkabcde\r"));
    }

    #[test]
    fn c41_client_names() {
        assert_eq!(normalize_browser_name("Chrome", None), ("Chrome", None));
        assert_eq!(normalize_browser_name("chrome", None), ("Chrome", None));
        assert_eq!(
            normalize_browser_name("samsung internet", None),
            ("Samsung Internet", None)
        );
        assert_eq!(
            normalize_browser_name("My Strange Browser", None),
            ("Other", Some("My Strange Browser".to_owned()))
        );
        assert_eq!(
            normalize_browser_name("Chrome", Some("X")),
            ("Chrome", None)
        );
        assert_eq!(
            normalize_browser_name("CHROME FIREFOX", None),
            ("Other", Some("CHROME FIREFOX".to_owned()))
        );
        assert_eq!(normalize_browser_name("eDgE", None), ("Edge", None));
        assert_eq!(normalize_browser_name("OPERA", None), ("Opera", None));
        assert_eq!(normalize_browser_name("safari", None), ("Safari", None));
        assert_eq!(normalize_browser_name("Firefox", None), ("Firefox", None));
        assert_eq!(normalize_os_name("android", None), ("Android", None));
        assert_eq!(normalize_os_name("chrome os", None), ("Chrome OS", None));
        assert_eq!(
            normalize_os_name("My Strange OS", None),
            ("Other", Some("My Strange OS".to_owned()))
        );
        assert_eq!(normalize_os_name("Linux", Some("X")), ("Linux", None));
        assert_eq!(
            normalize_os_name("LINUX BAD Android", None),
            ("Other", Some("LINUX BAD Android".to_owned()))
        );
        assert_eq!(normalize_os_name("macos", None), ("macOS", None));
        assert_eq!(normalize_os_name("darwin", None), ("macOS", None));
        assert_eq!(normalize_os_name("IOS", None), ("iOS", None));
        assert_eq!(normalize_os_name("Windows", None), ("Windows", None));
    }

    #[test]
    fn normalisation_is_idempotent_on_other() {
        assert_eq!(
            normalize_browser_name("Other", Some("X")),
            ("Other", Some("X".to_owned()))
        );
        assert_eq!(
            normalize_os_name("Other", Some("Bot")),
            ("Other", Some("Bot".to_owned()))
        );
        // Without a usable client `other`, or when the name is not exactly `Other`, the usual
        // rule applies.
        assert_eq!(
            normalize_browser_name("Other", None),
            ("Other", Some("Other".to_owned()))
        );
        assert_eq!(
            normalize_browser_name("Other", Some("")),
            ("Other", Some("Other".to_owned()))
        );
        assert_eq!(
            normalize_os_name("other", Some("X")),
            ("Other", Some("other".to_owned()))
        );
        // Every parsed section normalises to itself.
        for ua in [
            "SomeUnknownAgent/1.0",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            PIXEL,
            EDG,
        ] {
            let (browser, os) = parse_user_agent(ua);
            assert_eq!(
                normalize_browser_name(browser.name, browser.other.as_deref()),
                (browser.name, browser.other.clone())
            );
            assert_eq!(
                normalize_os_name(os.name, os.other.as_deref()),
                (os.name, os.other.clone())
            );
        }
    }

    const BROWSERS: &[&str] = &[
        "Chrome",
        "Safari",
        "Edge",
        "Firefox",
        "Samsung Internet",
        "Opera",
        "Other",
    ];
    const SYSTEMS: &[&str] = &[
        "Android",
        "Windows",
        "iOS",
        "macOS",
        "Linux",
        "Chrome OS",
        "Other",
    ];

    fn assert_well_formed(named: &Named, allowed: &[&str]) {
        assert!(allowed.contains(&named.name), "{named:?}");
        assert_eq!(named.other.is_some(), named.name == "Other", "{named:?}");
        if let Some(version) = &named.version {
            assert!(version.len() <= MAX_VERSION_LEN, "{named:?}");
            assert_ne!(version, "0.0.0");
        }
    }

    fn ua_fragments() -> impl Strategy<Value = String> {
        let marker = prop::sample::select(vec![
            "(",
            ")",
            ";",
            " ",
            "/",
            "0",
            "00",
            "9",
            ".",
            "_",
            "mozilla/",
            "applewebkit",
            "like gecko",
            "safari/",
            "chrome/",
            "version/",
            "edg/",
            "trident/",
            "msie ",
            "firefox/",
            "gecko",
            "android ",
            "linux",
            "x11",
            "windows nt ",
            "windows phone ",
            "xbox",
            "iphone",
            "ipad",
            "cpu os ",
            "macintosh",
            "os x ",
            "cros",
            "kindle",
            " kfab ",
            "googlebot",
            "opr/",
            "samsungbrowser/",
            "bb10",
            "cfnetwork darwin",
            "99999999999999999999",
            "\u{e9}",
            "\u{130}",
        ]);
        prop::collection::vec(
            prop_oneof![marker.prop_map(str::to_owned), any::<String>()],
            0..12,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn arbitrary_strings_yield_allowed_output(ua in any::<String>()) {
            let (browser, os) = parse_user_agent(&ua);
            assert_well_formed(&browser, BROWSERS);
            assert_well_formed(&os, SYSTEMS);
        }

        #[test]
        fn marker_soup_yields_allowed_output(ua in ua_fragments()) {
            let (browser, os) = parse_user_agent(&ua);
            assert_well_formed(&browser, BROWSERS);
            assert_well_formed(&os, SYSTEMS);
        }

        #[test]
        fn scan_never_panics(text in ".*") {
            let _ = scan_version(&text);
            let _ = kindle_fingerprint(&text);
            let _ = platform_part(&text);
        }
    }
}
