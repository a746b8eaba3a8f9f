//! The benchmark's request body: a deterministic, realistic `/v1/events` batch.
//!
//! A fixed-seed PRNG picks, for each of the 100 events, a sending SDK and an event type:
//! browser events (analytics.js, with `library`, `page`, `userAgent`, `locale`, `timezone`),
//! mobile events (analytics-kotlin, with `app`, `device`, `os`, `screen`) and server events
//! (analytics-node, with `library` and `ip` only). The body is the same bytes on every run, so runs and
//! machines are comparable; its size is printed with the results.

use super::json_writer::Object;

/// Events in the batch.
pub(crate) const EVENTS: usize = 100;

/// The batch envelope `{"batch":[…],"sentAt":…}`, compact like `JSON.stringify`.
pub(crate) fn build() -> Vec<u8> {
    let mut rng = Rng(0x5E_ED0F_BE1C);
    let events: Vec<String> = (0..EVENTS).map(|index| event(&mut rng, index)).collect();
    Object::new()
        .array("batch", &events)
        .string("sentAt", &timestamp(EVENTS as u64 * 450 + 200))
        .finish()
        .into_bytes()
}

/// SplitMix64: tiny, fixed-seed, good enough to vary templates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn hex(&mut self, digits: usize) -> String {
        (0..digits)
            .map(|_| char::from(b"0123456789abcdef"[self.below(16) as usize]))
            .collect()
    }

    /// A version-4 UUID in its usual text form.
    fn uuid(&mut self) -> String {
        let variant = self.pick(&['8', '9', 'a', 'b']);
        format!(
            "{}-{}-4{}-{variant}{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            self.hex(3),
            self.hex(12)
        )
    }
}

/// `2026-03-14T09:26:53.123Z` plus `offset_ms`.
fn timestamp(offset_ms: u64) -> String {
    let total = 53_123 + offset_ms;
    let (minutes, millis) = (26 + total / 60_000, total % 60_000);
    format!(
        "2026-03-14T09:{minutes:02}:{:02}.{:03}Z",
        millis / 1000,
        millis % 1000
    )
}

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
    "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
];

/// Pages of the imaginary shop: path, title.
const PAGES: &[(&str, &str)] = &[
    ("/", "Acme — Home"),
    ("/pricing", "Pricing | Acme"),
    ("/products/cafe-creme", "Café Crème 1 kg | Acme"),
    ("/blog/launch", "We launched! | Acme"),
    ("/checkout", "Checkout | Acme"),
];

const LOCALES: &[&str] = &["en-US", "de-DE", "fr-FR", "it-IT", "en-GB"];
const TIMEZONES: &[&str] = &[
    "Europe/Berlin",
    "America/New_York",
    "Europe/Rome",
    "Asia/Tokyo",
];
/// Phone screens as Android reports them: pixels and a density that is rounded to 2.62.
const SCREENS: &[(i64, i64, f64)] = &[(1080, 2400, 2.625), (1440, 3120, 3.5), (720, 1600, 2.0)];

fn event(rng: &mut Rng, index: usize) -> String {
    let time = timestamp(index as u64 * 450 + rng.below(400));
    match rng.below(20) {
        0..=7 => browser_event(rng, &time),
        8..=9 => mobile_event(rng, &time),
        _ => server_event(rng, &time),
    }
}

/// Identity members: client SDKs always send an anonymous id and sometimes a user id;
/// server events carry only a user id (Weir generates their anonymous id).
fn identity(rng: &mut Rng, event: Object, anonymous: bool) -> Object {
    let event = if anonymous {
        event.string("anonymousId", &rng.uuid())
    } else {
        event
    };
    if !anonymous || rng.chance(40) {
        event.string("userId", &format!("user-{}", 1000 + rng.below(9000)))
    } else {
        event
    }
}

fn browser_event(rng: &mut Rng, time: &str) -> String {
    let (path, title) = rng.pick(PAGES);
    let context = Object::new()
        .object(
            "library",
            Object::new()
                .string("name", "analytics.js")
                .string("version", "npm:next-1.70.0"),
        )
        .string("locale", rng.pick(LOCALES))
        .object(
            "page",
            Object::new()
                .string("path", path)
                .string("url", &format!("https://acme.example{path}")),
        )
        .string("userAgent", rng.pick(USER_AGENTS))
        .string("timezone", rng.pick(TIMEZONES));
    let event = match rng.below(30) {
        0..=13 => Object::new()
            .string("type", "page")
            .string("name", title)
            .object("properties", Object::new().string("path", path)),
        14..=26 => track(rng, Object::new().string("type", "track")),
        27..=28 => traits(rng, Object::new().string("type", "identify")),
        _ => Object::new()
            .string("type", "alias")
            .string("previousId", &rng.uuid()),
    };
    identity(rng, event, true)
        .object("context", context)
        .string("messageId", &format!("ajs-next-{}", rng.hex(32)))
        .string("timestamp", time)
        .finish()
}

fn track(rng: &mut Rng, event: Object) -> Object {
    match rng.below(3) {
        0 => event.string("event", "Product Viewed").object(
            "properties",
            Object::new()
                .string("product_id", &format!("sku-{}", rng.below(500)))
                .string("name", "Café Crème 1 kg")
                .number("price", 19.99)
                .string("currency", "EUR"),
        ),
        1 => event.string("event", "Button Clicked").object(
            "properties",
            Object::new()
                .string("label", "Start free trial")
                .string("location", "hero"),
        ),
        _ => event.string("event", "Order Completed").object(
            "properties",
            Object::new()
                .string("order_id", &rng.hex(10))
                .number("revenue", 59.97)
                .string("currency", "EUR")
                .integer("items", 3),
        ),
    }
}

fn traits(rng: &mut Rng, event: Object) -> Object {
    let user = rng.below(10_000);
    event.object(
        "traits",
        Object::new()
            .string("email", &format!("jane.{user}@example.com"))
            .string("plan", rng.pick(&["free", "pro", "team"]))
            .boolean("newsletter", rng.chance(50)),
    )
}

fn mobile_event(rng: &mut Rng, time: &str) -> String {
    let (width, height, density) = rng.pick(SCREENS);
    let context = Object::new()
        .object(
            "app",
            Object::new()
                .string("name", "Acme")
                .string("version", "4.2.1")
                .string("build", "421"),
        )
        .object(
            "device",
            Object::new()
                .string("manufacturer", "Google")
                .string("model", "Pixel 8"),
        )
        .object(
            "library",
            Object::new()
                .string("name", "analytics-kotlin")
                .string("version", "1.16.3"),
        )
        .object(
            "os",
            Object::new()
                .string("name", "Android")
                .string("version", "14"),
        )
        .object(
            "screen",
            Object::new()
                .integer("width", width)
                .integer("height", height)
                .number("density", density),
        )
        .string("locale", rng.pick(LOCALES));
    let event = if rng.chance(60) {
        Object::new()
            .string("type", "screen")
            .string("name", rng.pick(&["Home", "Cart", "Product Detail"]))
    } else {
        track(rng, Object::new().string("type", "track"))
    };
    identity(rng, event, true)
        .object("context", context)
        .string("messageId", &rng.uuid())
        .string("originalTimestamp", time)
        .string("timestamp", time)
        .finish()
}

fn server_event(rng: &mut Rng, time: &str) -> String {
    let event = match rng.below(20) {
        0..=7 => track(rng, Object::new().string("type", "track")),
        8..=13 => traits(rng, Object::new().string("type", "identify")),
        14..=16 => Object::new()
            .string("type", "group")
            .string("groupId", &format!("org-{}", rng.below(300)))
            .object(
                "traits",
                Object::new()
                    .string("name", "Müller & Söhne GmbH")
                    .integer("employees", 120),
            ),
        _ => Object::new()
            .string("type", "alias")
            .string("previousId", &format!("lead-{}", rng.below(10_000))),
    };
    let context = Object::new()
        .string("ip", &format!("203.0.113.{}", 1 + rng.below(254)))
        .object(
            "library",
            Object::new()
                .string("name", "@segment/analytics-node")
                .string("version", "2.1.2"),
        );
    identity(rng, event, false)
        .object("context", context)
        .string("messageId", &format!("node-next-{}", rng.uuid()))
        .string("timestamp", time)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_is_the_same_on_every_build() {
        assert_eq!(build(), build());
    }

    #[test]
    fn the_batch_is_valid_json_with_every_event_type() {
        let body: serde_json::Value = serde_json::from_slice(&build()).unwrap();
        let batch = body["batch"].as_array().unwrap();
        assert_eq!(batch.len(), EVENTS);
        for event_type in ["track", "page", "screen", "identify", "group", "alias"] {
            assert!(
                batch.iter().any(|event| event["type"] == event_type),
                "no {event_type} event in the batch"
            );
        }
    }

    #[test]
    fn timestamps_roll_over_minutes() {
        assert_eq!(timestamp(0), "2026-03-14T09:26:53.123Z");
        assert_eq!(timestamp(10_000), "2026-03-14T09:27:03.123Z");
    }
}
