//! IP addresses (event-model §8): strict textual parsing, the request IP taken from
//! `X-Forwarded-For` or the socket peer (§8.1), canonical text and anonymised forms, and the
//! `context.ip` rules of step B6 (§8.2).
//!
//! `std`'s `IpAddr` parser already matches §8.1 exactly (four decimal octets without leading
//! zeros; RFC 4291 IPv6 with case-insensitive hex groups of 1–4 digits, at most one `::` that
//! stands for at least one group, an optional trailing embedded IPv4; no zones, brackets,
//! ports or whitespace). A differential test below pins that against an independent grammar.
//! Likewise `std`'s `Display` is RFC 5952 (leftmost longest run of ≥ 2 zero groups, lowercase,
//! IPv4-compatible `::a.b.c.d` printed in hex, IPv4-mapped printed as `::ffff:a.b.c.d`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The first `X-Forwarded-For` entry is not a valid IP address (400, ingest-api §5 step 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidForwardedFor;

impl InvalidForwardedFor {
    /// The 400 response message.
    pub fn message(&self) -> &'static str {
        "address specified in the 'X-Forwarded-For' header is not a valid IP address"
    }
}

impl std::fmt::Display for InvalidForwardedFor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for InvalidForwardedFor {}

/// Outcome of the §8.2 table for an accepted event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContextIp {
    /// The `context.ip` to store (canonical text), `None` = absent.
    pub(crate) stored: Option<String>,
    /// The IP to geolocate (§9), `None` = no lookup.
    pub(crate) geolocation: Option<IpAddr>,
}

/// Why `context.ip` rejects the event (§8.2, §14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContextIpError {
    /// Zoned or unparsable.
    Invalid,
    /// Multicast after unmapping.
    Multicast,
}

impl ContextIpError {
    /// The per-event rejection message.
    pub(crate) fn message(&self) -> &'static str {
        match self {
            Self::Invalid => "property 'ip' is not a valid IP address",
            Self::Multicast => "property 'ip' cannot be a multicast IP address",
        }
    }
}

impl std::fmt::Display for ContextIpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ContextIpError {}

/// Strict §8.1 parsing; IPv4-mapped IPv6 addresses are returned as parsed (not unmapped).
pub(crate) fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

/// The request IP (§8.1): the first `X-Forwarded-For` entry when the header is present,
/// else the socket peer; IPv4-mapped IPv6 addresses are converted to IPv4.
pub fn request_ip(
    x_forwarded_for: Option<&[u8]>,
    peer: IpAddr,
) -> Result<IpAddr, InvalidForwardedFor> {
    let Some(raw) = x_forwarded_for else {
        return Ok(peer.to_canonical());
    };
    let text = std::str::from_utf8(raw).map_err(|_| InvalidForwardedFor)?;
    let first = text.split_once(',').map_or(text, |(first, _)| first).trim();
    let host = if let Some(rest) = first.strip_prefix('[') {
        // Without a `]` the text is kept as is (with its `[`) and fails to parse.
        rest.split_once(']').map_or(first, |(inside, _)| inside)
    } else {
        match first.split_once(':') {
            Some((host, port)) if !port.contains(':') => host,
            _ => first,
        }
    };
    parse_ip(host)
        .map(|ip| ip.to_canonical())
        .ok_or(InvalidForwardedFor)
}

/// Canonical ("identifiable") text: dotted decimal for IPv4, RFC 5952 for IPv6.
pub(crate) fn canonical_text(ip: IpAddr) -> String {
    match ip {
        // What `Display` writes, without the formatting machinery.
        IpAddr::V4(a) => {
            let mut text = String::with_capacity(15);
            for (index, octet) in a.octets().into_iter().enumerate() {
                if index > 0 {
                    text.push('.');
                }
                text.push_str(itoa::Buffer::new().format(octet));
            }
            text
        }
        IpAddr::V6(_) => ip.to_string(),
    }
}

/// Masked to /24 (IPv4) or /48 (IPv6).
pub(crate) fn partially_anonymous(ip: IpAddr) -> IpAddr {
    masked(ip, 24, 48)
}

/// Masked to /16 (IPv4) or /32 (IPv6).
pub(crate) fn strongly_anonymous(ip: IpAddr) -> IpAddr {
    masked(ip, 16, 32)
}

fn masked(ip: IpAddr, v4_prefix: u32, v6_prefix: u32) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32u32.saturating_sub(v4_prefix));
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask.unwrap_or(0)))
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128u32.saturating_sub(v6_prefix));
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask.unwrap_or(0)))
        }
    }
}

const UNSPECIFIED: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
const BROADCAST: IpAddr = IpAddr::V4(Ipv4Addr::BROADCAST);
const PARTIAL: IpAddr = IpAddr::V4(Ipv4Addr::new(255, 255, 255, 0));
const STRONG: IpAddr = IpAddr::V4(Ipv4Addr::new(255, 255, 0, 0));

/// Step B6 (§8.2). `context_ip` is the merged `context.ip` (`None` when absent or empty),
/// `request_ip` the (unmapped) request IP, `falls_back` the connector's fallback flag.
#[cfg(test)]
pub(crate) fn resolve_context_ip(
    context_ip: Option<&str>,
    request_ip: IpAddr,
    falls_back: bool,
) -> Result<ContextIp, ContextIpError> {
    ContextIpResolver::new(request_ip, falls_back).resolve(context_ip)
}

/// Step B6 for the events of one request: the request IP's stored forms (canonical, masked
/// to /24 or /48, masked to /16 or /32) are formatted at most once per request.
#[derive(Debug)]
pub(crate) struct ContextIpResolver {
    /// The request IP, unmapped.
    request_ip: IpAddr,
    falls_back: bool,
    /// Canonical text of the request IP, partially and strongly anonymised, once computed.
    texts: [Option<String>; 3],
}

#[derive(Clone, Copy)]
enum RequestForm {
    Identifiable = 0,
    Partial = 1,
    Strong = 2,
}

impl ContextIpResolver {
    pub(crate) fn new(request_ip: IpAddr, falls_back: bool) -> ContextIpResolver {
        ContextIpResolver {
            request_ip: request_ip.to_canonical(),
            falls_back,
            texts: [None, None, None],
        }
    }

    /// The request IP (in `form`) stored, the request IP geolocated.
    fn request_ip_stored(&mut self, form: RequestForm) -> ContextIp {
        let request_ip = self.request_ip;
        let stored = self.texts[form as usize]
            .get_or_insert_with(|| {
                canonical_text(match form {
                    RequestForm::Identifiable => request_ip,
                    RequestForm::Partial => partially_anonymous(request_ip),
                    RequestForm::Strong => strongly_anonymous(request_ip),
                })
            })
            .clone();
        ContextIp {
            stored: Some(stored),
            geolocation: Some(request_ip),
        }
    }

    /// Step B6 (§8.2) for one event's merged `context.ip` (`None` when absent or empty).
    pub(crate) fn resolve(
        &mut self,
        context_ip: Option<&str>,
    ) -> Result<ContextIp, ContextIpError> {
        const ABSENT: ContextIp = ContextIp {
            stored: None,
            geolocation: None,
        };
        let Some(text) = context_ip else {
            return Ok(if self.falls_back {
                self.request_ip_stored(RequestForm::Identifiable)
            } else {
                ABSENT
            });
        };
        // Magic values are compared before unmapping, so their mapped forms are not magic.
        match parse_ip(text).ok_or(ContextIpError::Invalid)? {
            UNSPECIFIED => Ok(ABSENT),
            BROADCAST => Ok(self.request_ip_stored(RequestForm::Identifiable)),
            PARTIAL => Ok(self.request_ip_stored(RequestForm::Partial)),
            STRONG => Ok(self.request_ip_stored(RequestForm::Strong)),
            parsed => {
                let ip = parsed.to_canonical();
                if ip.is_multicast() {
                    return Err(ContextIpError::Multicast);
                }
                let stored = Some(canonical_text(ip));
                Ok(ContextIp {
                    stored,
                    geolocation: Some(ip),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    fn opt(text: &str) -> Option<&str> {
        (text != "-").then_some(text)
    }

    const V4: &str = "198.51.100.23";
    const V6: &str = "2001:db8:face:12::1";
    const ON: bool = true;
    const OFF: bool = false;
    const INVALID: &str = "property 'ip' is not a valid IP address";
    const MULTICAST: &str = "property 'ip' cannot be a multicast IP address";

    /// An accepted event; `"-"` stands for an absent `context.ip` / no geolocation IP.
    fn check(ctx: &str, falls_back: bool, peer: &str, stored: &str, geo: &str) {
        let got = resolve_context_ip(opt(ctx), ip(peer), falls_back);
        let got = got.map(|c| (c.stored, c.geolocation));
        let want = (opt(stored).map(String::from), opt(geo).map(ip));
        assert_eq!(got, Ok(want), "{ctx} {falls_back} {peer}");
    }

    /// A rejected event.
    fn reject(ctx: &str, falls_back: bool, peer: &str, message: &str) {
        let got = resolve_context_ip(Some(ctx), ip(peer), falls_back).map_err(|e| e.message());
        assert_eq!(got, Err(message), "{ctx} {falls_back} {peer}");
    }

    #[test]
    fn c37_context_ip_table() {
        check("-", OFF, V4, "-", "-"); // a
        check("-", ON, V4, V4, V4); // b, c (a context without `ip` is the same input)
        check("198.18.0.1", ON, V4, "198.18.0.1", "198.18.0.1"); // d
        check(V6, ON, V4, V6, V6); // e
        check("::ffff:192.0.2.1", ON, V4, "192.0.2.1", "192.0.2.1"); // f
        reject("fe80::1%eth0", ON, V4, INVALID); // g
        reject("ff02::1", ON, V4, MULTICAST); // h
        check("0.0.0.0", ON, V4, "-", "-"); // i
        check("255.255.255.255", OFF, V4, V4, V4); // j
        check("255.255.255.0", OFF, V4, "198.51.100.0", V4); // k
        check("255.255.0.0", OFF, V4, "198.51.0.0", V4); // l
        let mask = "255.255.255.0";
        check("::ffff:255.255.255.0", OFF, V4, mask, mask); // m, not magic
        reject("::ffff:224.0.0.1", OFF, V4, MULTICAST); // n
        check("-", ON, V6, V6, V6); // o
        check("255.255.255.255", OFF, V6, V6, V6); // p
        check("255.255.255.0", OFF, V6, "2001:db8:face::", V6); // q
        check("255.255.0.0", OFF, V6, "2001:db8::", V6); // r
    }

    #[test]
    fn c45_c50_webhook_context_ip() {
        let peer = "127.0.0.1";
        check("-", OFF, peer, "-", "-"); // C45
        check("255.255.255.255", OFF, peer, peer, peer); // C46, C47
        check("255.255.255.0", OFF, peer, "127.0.0.0", peer); // C48
        check("0.0.0.0", OFF, peer, "-", "-"); // C49, C50
    }

    #[test]
    fn context_ip_edge_cases() {
        check("::ffff:0.0.0.0", OFF, V4, "0.0.0.0", "0.0.0.0"); // mapped: not magic
        check("::ffff:255.255.0.0", ON, V4, "255.255.0.0", "255.255.0.0");
        check("0.0.0.0", ON, V6, "-", "-");
        check("::", OFF, V4, "::", "::");
        check("2001:DB8::0:1", ON, V4, "2001:db8::1", "2001:db8::1");
        check("::192.0.2.1", ON, V4, "::c000:201", "::c000:201"); // compatible: kept, hex
        check("-", ON, "::ffff:10.0.0.1", "10.0.0.1", "10.0.0.1");
        check("255.255.0.0", ON, "::ffff:10.1.2.3", "10.1.0.0", "10.1.2.3");
        reject("224.0.0.1", ON, V4, MULTICAST);
        reject("239.255.255.255", ON, V4, MULTICAST);
        reject("FF00::", ON, V4, MULTICAST);
        reject("", ON, V4, INVALID); // callers pass `None` for an empty `context.ip`
        reject(" 1.2.3.4", ON, V4, INVALID);
        reject("01.2.3.4", ON, V4, INVALID);
        reject("[::1]", ON, V4, INVALID);
        reject("1.2.3.4:80", ON, V4, INVALID);
    }

    /// The request IP for a peer of `10.0.0.1`; `"-"` stands for the 400.
    fn check_xff(header: &[u8], want: &str) {
        let got = request_ip(Some(header), ip("10.0.0.1"));
        let want = opt(want).map(ip).ok_or(InvalidForwardedFor);
        assert_eq!(got, want, "{header:?}");
    }

    #[test]
    fn c38_c39_request_ip() {
        check_xff(b"2001:db8:face:12::1", V6);
        check_xff(b"2001:db8:face:12::1, 198.51.100.23", V6);
        check_xff(b"198.51.100.23", V4);
        check_xff(b"[2001:db8:face:12::1]", V6);
        check_xff(b"[2001:db8:face:12::1]:1234", V6);
        check_xff(b"198.51.100.23:1234", V4);
        check_xff(b"fe80::1%eth0", "-"); // C39
        check_xff(b"[2001:db8:face:12::1", "-"); // C39
    }

    #[test]
    fn request_ip_edge_cases() {
        check_xff(b" \t1.2.3.4\xc2\xa0 ,5.6.7.8", "1.2.3.4"); // Unicode whitespace (NBSP)
        check_xff(b"::ffff:1.2.3.4", "1.2.3.4");
        check_xff(b"[::ffff:1.2.3.4]:80", "1.2.3.4");
        check_xff(b"[::1]junk", "::1");
        check_xff(b"1.2.3.4:", "1.2.3.4");
        check_xff(b"[]", "-");
        check_xff(b"[fe80::1%eth0]", "-");
        check_xff(b"1.2.3.4:80:90", "-");
        check_xff(b"", "-");
        check_xff(b",1.2.3.4", "-");
        check_xff(b"1.2.3.4 5.6.7.8", "-");
        check_xff(b"01.2.3.4", "-");
        check_xff(b"\xff1.2.3.4", "-"); // not UTF-8
        for (peer, want) in [
            (V4, V4),
            ("::ffff:1.2.3.4", "1.2.3.4"),
            ("::1.2.3.4", "::1.2.3.4"),
        ] {
            assert_eq!(request_ip(None, ip(peer)), Ok(ip(want)), "peer {peer}");
        }
    }

    fn check_text(input: &str, canonical: &str, partial: &str, strong: &str) {
        let a = ip(input);
        let got = [a, partially_anonymous(a), strongly_anonymous(a)].map(canonical_text);
        assert_eq!(got, [canonical, partial, strong], "{input}");
    }

    #[test]
    fn derived_forms() {
        check_text("192.168.1.42", "192.168.1.42", "192.168.1.0", "192.168.0.0");
        check_text(V6, V6, "2001:db8:face::", "2001:db8::");
        check_text("::1", "::1", "::", "::");
        check_text("00A:0:0:B:0:0:C:0", "a::b:0:0:c:0", "a::", "a::"); // leftmost on ties
        check_text("1:0:0:2:0:0:0:3", "1:0:0:2::3", "1::", "1::"); // longest run
        check_text("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7", "1:0:2::", "1::");
        check_text("::192.0.2.1", "::c000:201", "::", "::");
        check_text("::ffff:192.0.2.1", "::ffff:192.0.2.1", "::", "::"); // RFC 5952 §5
    }

    fn v4(s: &str) -> bool {
        let octets: Vec<&str> = s.split('.').collect();
        let octet = |o: &&str| {
            o.bytes().all(|b| b.is_ascii_digit())
                && (o.len() == 1 || !o.starts_with('0'))
                && o.parse::<u8>().is_ok()
        };
        octets.len() == 4 && octets.iter().all(octet)
    }

    /// The `:`-separated groups; none for an empty text.
    fn groups(s: &str) -> Vec<&str> {
        s.split(':').filter(|_| !s.is_empty()).collect()
    }

    /// An independent §8.1 grammar, to pin `std`'s parser.
    fn reference_valid(s: &str) -> bool {
        let hex = |g: &&str| (1..=4).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_hexdigit());
        let (head, mut tail, compressed) = match s.split_once("::") {
            Some((h, t)) => (groups(h), groups(t), true),
            None => (vec![], groups(s), false),
        };
        let mut count = 0;
        if tail.last().is_some_and(|l| l.contains('.')) {
            if !tail.pop().is_some_and(v4) {
                return false;
            }
            count = 2;
        }
        count += head.len() + tail.len();
        let size_ok = if compressed { count <= 7 } else { count == 8 };
        v4(s) || (size_ok && head.iter().chain(&tail).all(hex))
    }

    const VALID: &str = concat!(
        "1.2.3.4|0.0.0.0|255.255.255.255|::|::1|1::|1:2:3:4:5:6:7::|::2:3:4:5:6:7:8|aBcD::|0001::|",
        "::1.2.3.4|1::1.2.3.4|1:2:3:4:5:6:1.2.3.4|1:2:3:4:5::1.2.3.4|::FFFF:1.2.3.4|1:2:3:4:5:6:7:8",
    );
    const NOT_VALID: &str = concat!(
        "|1.2.3|1.2.3.4.5|256.1.1.1|01.1.1.1|1.2.3.04|+1.2.3.4| 1.2.3.4|1.2.3.4 |1::2::3|:::|1:::2|",
        "1:2:3:4:5:6:7:8::|::1:2:3:4:5:6:7:8|1:2:3:4:5:6:7|12345::|1.2.3.4::|1.2.3.4::1|:1::|::g|",
        "1:2:3:4:5:6:7:1.2.3.4|1:2:3:4:5:6::1.2.3.4|::1.2.3.04|fe80::1%eth0|[::1]|１.2.3.4|0x1.2.3.4",
    );

    #[test]
    fn parser_edge_cases() {
        for s in VALID.split('|') {
            assert!(parse_ip(s).is_some() && reference_valid(s), "{s:?}");
        }
        for s in NOT_VALID.split('|') {
            assert!(parse_ip(s).is_none() && !reference_valid(s), "{s:?}");
        }
    }

    /// RFC 5952 reference formatter for addresses that are not IPv4-mapped.
    fn reference_v6(seg: [u16; 8]) -> String {
        let hex = |g: &[u16]| g.iter().map(|g| format!("{g:x}")).collect::<Vec<_>>();
        let zero_runs = (0..8).flat_map(|s| (s + 2..=8).map(move |e| (s, e)));
        let zero_runs = zero_runs.filter(|&(s, e)| seg[s..e].iter().all(|&g| g == 0));
        match zero_runs.max_by_key(|&(s, e)| (e - s, std::cmp::Reverse(s))) {
            Some((s, e)) => format!("{}::{}", hex(&seg[..s]).join(":"), hex(&seg[e..]).join(":")),
            None => hex(&seg).join(":"),
        }
    }

    /// `groups` joined by `:`, with `::` instead before group `cut` (or at the end).
    fn join_groups(groups: &[&str], cut: Option<usize>) -> String {
        let mut s = String::new();
        for (i, g) in groups.iter().enumerate() {
            s += match (cut == Some(i), i) {
                (true, _) => "::",
                (false, 0) => "",
                _ => ":",
            };
            s += g;
        }
        if cut.is_some_and(|c| c >= groups.len()) {
            s += "::";
        }
        s
    }

    const GROUPS: &[&str] = &[
        "0", "1", "fF", "ABCD", "0001", "255", "", ":", "12345", "1.2.3.4", "01.2.3.4", "1.2.3",
        ".", "%e", " ", "g",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn parser_matches_reference(
            groups in prop::collection::vec(prop::sample::select(GROUPS), 0..10),
            cut in prop::option::of(0usize..10),
        ) {
            let s = join_groups(&groups, cut);
            prop_assert_eq!(parse_ip(&s).is_some(), reference_valid(&s), "{:?}", s);
        }

        #[test]
        fn display_is_rfc5952(seg in prop::array::uniform8(prop_oneof![Just(0u16), any::<u16>()])) {
            let a = Ipv6Addr::from(seg);
            prop_assume!(a.to_ipv4_mapped().is_none());
            prop_assert_eq!(canonical_text(IpAddr::V6(a)), reference_v6(seg));
        }

        #[test]
        fn never_panics(bytes: Vec<u8>, text: String, peer: IpAddr, falls_back: bool) {
            let _ = request_ip(Some(&bytes), peer);
            let _ = request_ip(Some(text.as_bytes()), peer);
            if let Ok(r) = resolve_context_ip(Some(&text), peer, falls_back) {
                prop_assert!(r.stored.is_some() == r.geolocation.is_some());
            }
            let _ = (partially_anonymous(peer), strongly_anonymous(peer));
        }

        #[test]
        fn canonical_text_is_display(a: IpAddr) {
            prop_assert_eq!(canonical_text(a), a.to_string());
        }

        #[test]
        fn valid_addresses_round_trip(a: IpAddr) {
            prop_assert_eq!(parse_ip(&canonical_text(a)), Some(a));
            let got = resolve_context_ip(Some(&canonical_text(a)), a, false);
            prop_assert_eq!(got.is_err(), a.to_canonical().is_multicast());
        }
    }
}
