//! Locales and countries (event-model §10): `context.locale` normalisation against the fixed
//! 101-entry list, and the country rule used by geolocation (§9).

/// The accepted locales, in order (reproduced as-is, including `it-VI`, `sk-IS`, `no-NB`, …).
const LOCALES: [&str; 101] = [
    "en-US", "en-GB", "en-CA", "en-AU", "en-IE", "en-NZ", "en-IN", "en-ZA", "en-PH", "en-SG",
    "en-TT", "fr-FR", "fr-CA", "fr-BE", "fr-CH", "fr-LU", "it-IT", "it-CH", "de-DE", "de-AT",
    "de-CH", "es-ES", "es-MX", "es-AR", "es-CO", "es-PE", "es-CL", "es-US", "es-VE", "es-EC",
    "pt-BR", "pt-PT", "nl-NL", "nl-BE", "sv-SE", "da-DK", "no-NB", "no-NO", "pl-PL", "ru-RU",
    "ru-UA", "bg-BG", "ro-RO", "cs-CZ", "hu-HU", "it-VI", "ja-JP", "zh-CN", "zh-TW", "zh-HK",
    "zh-SG", "zh-MO", "ko-KR", "he-IL", "ar-SA", "ar-AE", "fi-FI", "el-GR", "tr-TR", "sk-IS",
    "sl-SI", "mk-MK", "al-AL", "hr-HR", "lt-LT", "lv-LV", "et-EE", "uk-UA", "ms-MY", "ms-SG",
    "id-ID", "vi-VN", "th-TH", "hi-IN", "bn-IN", "ta-IN", "ml-IN", "ur-PK", "fa-IR", "ps-AF",
    "yo-NG", "sw-KE", "zu-ZA", "ga-IE", "sq-AL", "mt-MT", "cy-GB", "az-AZ", "kk-KZ", "uz-UZ",
    "ky-KG", "hy-AM", "tg-TJ", "mn-MN", "ka-GE", "fo-FO", "sm-MX", "lo-LA", "km-KH", "bo-IN",
    "si-LK",
];

/// The 83 country parts of [`LOCALES`], sorted (a test checks they are exactly that set).
const COUNTRIES: [&str; 83] = [
    "AE", "AF", "AL", "AM", "AR", "AT", "AU", "AZ", "BE", "BG", "BR", "CA", "CH", "CL", "CN", "CO",
    "CZ", "DE", "DK", "EC", "EE", "ES", "FI", "FO", "FR", "GB", "GE", "GR", "HK", "HR", "HU", "ID",
    "IE", "IL", "IN", "IR", "IS", "IT", "JP", "KE", "KG", "KH", "KR", "KZ", "LA", "LK", "LT", "LU",
    "LV", "MK", "MN", "MO", "MT", "MX", "MY", "NB", "NG", "NL", "NO", "NZ", "PE", "PH", "PK", "PL",
    "PT", "RO", "RU", "SA", "SE", "SG", "SI", "TH", "TJ", "TR", "TT", "TW", "UA", "US", "UZ", "VE",
    "VI", "VN", "ZA",
];

/// Normalises `context.locale` (case-sensitive): a listed `ll-CC` is kept, two lowercase ASCII
/// letters become the first listed entry with that language, anything else is `None`.
pub(crate) fn normalize_locale(text: &str) -> Option<&'static str> {
    match text.as_bytes() {
        [a, b] if a.is_ascii_lowercase() && b.is_ascii_lowercase() => LOCALES
            .iter()
            .copied()
            .find(|l| l.as_bytes().starts_with(&[*a, *b])),
        [_, _, b'-', _, _] => LOCALES.iter().copied().find(|l| *l == text),
        _ => None,
    }
}

/// The §10 country rule: exactly two uppercase ASCII letters that are the country part of
/// some listed locale.
pub(crate) fn is_accepted_country(code: &str) -> bool {
    COUNTRIES.binary_search(&code).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn check(sent: &str, stored: Option<&str>) {
        assert_eq!(normalize_locale(sent), stored, "locale {sent:?}");
    }

    #[test]
    fn c42_and_section_10_locales() {
        check("en", Some("en-US"));
        check("fr", Some("fr-FR"));
        check("it", Some("it-IT"));
        check("zh", Some("zh-CN"));
        check("pt", Some("pt-BR"));
        check("no", Some("no-NB"));
        check("sm", Some("sm-MX"));
        check("al", Some("al-AL"));
        check("en-GB", Some("en-GB"));
        check("si-LK", Some("si-LK"));
        check("it-VI", Some("it-VI"));
        check("it-", None);
        check("FRfr-", None);
        check("", None);
        check("en_US", None);
        check("en-us", None);
        check("EN", None);
        check("En", None);
        check("xx", None);
        check("fr-US", None);
        check("en-US ", None);
        check(" en", None);
        check("e", None);
        check("en-USA", None);
        check("é", None); // two bytes, one char
    }

    fn check_country(code: &str, accepted: bool) {
        assert_eq!(is_accepted_country(code), accepted, "country {code:?}");
    }

    #[test]
    fn c43_country_rule() {
        for code in ["US", "GB", "LK", "AE", "ZA", "NB", "VI", "IS"] {
            check_country(code, true);
        }
        for code in [
            "Us", "us", "-US", "CI", "", "U", "USA", "US ", "en-US", "ZZ",
        ] {
            check_country(code, false);
        }
    }

    #[test]
    fn tables_match_the_spec_list() {
        let locales: BTreeSet<&str> = LOCALES.into_iter().collect();
        assert_eq!(locales.len(), 101, "no duplicates");
        for l in LOCALES {
            let b = l.as_bytes();
            assert!(b.len() == 5 && b[2] == b'-', "{l}");
            assert!(
                b[..2].iter().all(u8::is_ascii_lowercase)
                    && b[3..].iter().all(u8::is_ascii_uppercase),
                "{l}"
            );
            assert_eq!(normalize_locale(l), Some(l));
        }
        let countries: BTreeSet<&str> = LOCALES.iter().map(|l| &l[3..]).collect();
        assert_eq!(
            COUNTRIES.to_vec(),
            countries.into_iter().collect::<Vec<_>>()
        );
        assert_eq!(LOCALES[0], "en-US");
        assert_eq!(LOCALES[100], "si-LK");
    }

    #[test]
    fn every_language_maps_to_its_first_entry() {
        for (i, l) in LOCALES.iter().enumerate() {
            let first = LOCALES.iter().position(|m| m[..2] == l[..2]);
            assert_eq!(
                normalize_locale(&l[..2]),
                first.map(|f| LOCALES[f]),
                "{l} at {i}"
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_only_returns_listed_entries(text in any::<String>()) {
            if let Some(l) = normalize_locale(&text) {
                prop_assert!(LOCALES.contains(&l));
                prop_assert!(text == l || (text.len() == 2 && l.starts_with(&text)));
            }
            prop_assert_eq!(is_accepted_country(&text), COUNTRIES.contains(&text.as_str()));
        }

        #[test]
        fn short_ascii_inputs(text in "[a-zA-Z_-]{0,6}") {
            let want = if LOCALES.contains(&text.as_str()) {
                LOCALES.iter().copied().find(|l| *l == text)
            } else if text.len() == 2 && text.bytes().all(|b| b.is_ascii_lowercase()) {
                LOCALES.iter().copied().find(|l| l.starts_with(&text))
            } else {
                None
            };
            prop_assert_eq!(normalize_locale(&text), want);
        }
    }
}
