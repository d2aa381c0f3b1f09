//! The string formats of kube-openapi's `strfmt.Default` registry that the API server checks
//! for CRDs, each reimplemented after its Go definition (`netutils.ParseIPSloppy`,
//! `time.Parse`, the govalidator regexes, …).
//!
//! `email` is the one supported format not reimplemented (Go's `net/mail` address grammar);
//! [`is_known`] says so, and the server must refuse CRDs that use it.

use regex::Regex;
use std::sync::LazyLock;

/// Whether the format (after the `-`-dropping normalization of the registry) is in the
/// registry, i.e. whether the server's format validator runs for it.
pub(crate) fn in_registry(format: &str) -> bool {
    matches!(
        normalize(format).as_str(),
        "bsonobjectid"
            | "uri"
            | "email"
            | "hostname"
            | "ipv4"
            | "ipv6"
            | "cidr"
            | "mac"
            | "uuid"
            | "uuid3"
            | "uuid4"
            | "uuid5"
            | "isbn"
            | "isbn10"
            | "isbn13"
            | "creditcard"
            | "ssn"
            | "hexcolor"
            | "rgbcolor"
            | "byte"
            | "password"
            | "date"
            | "duration"
            | "datetime"
    )
}

/// Whether we check the format exactly like the server (false only for `email`).
pub(crate) fn is_known(format: &str) -> bool {
    normalize(format) != "email"
}

fn normalize(format: &str) -> String {
    format.replace('-', "")
}

/// Validates `s` against a registry format; `true` for formats outside the registry.
pub(crate) fn validates(format: &str, s: &str) -> bool {
    match normalize(format).as_str() {
        "bsonobjectid" => s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()),
        "uri" => is_request_uri(s),
        "hostname" => is_hostname(s),
        "ipv4" => parse_ip_sloppy(s).is_some() && s.contains('.'),
        "ipv6" => parse_ip_sloppy(s).is_some() && s.contains(':'),
        "cidr" => is_cidr_sloppy(s),
        "mac" => is_mac(s),
        "uuid" => matches(&UUID, s),
        "uuid3" => matches(&UUID3, s),
        "uuid4" => matches(&UUID4, s),
        "uuid5" => matches(&UUID5, s),
        "isbn" => is_isbn10(s) || is_isbn13(s),
        "isbn10" => is_isbn10(s),
        "isbn13" => is_isbn13(s),
        "creditcard" => is_credit_card(s),
        "ssn" => s.len() == 11 && matches(&SSN, s),
        "hexcolor" => matches(&HEXCOLOR, s),
        "rgbcolor" => matches(&RGBCOLOR, s),
        "byte" => matches(&BASE64, s),
        "date" => is_date(s),
        "duration" => is_duration(s),
        "datetime" => is_date_time(s),
        // password accepts anything; email is not reimplemented (see module docs).
        _ => true,
    }
}

fn re(p: &str) -> Option<Regex> {
    Regex::new(p).ok()
}

/// `false` if the (constant) regex failed to build, which a unit test rules out.
fn matches(r: &LazyLock<Option<Regex>>, s: &str) -> bool {
    r.as_ref().is_some_and(|r| r.is_match(s))
}

// `HostnamePattern` of kube-openapi's strfmt (newest revision).
static HOSTNAME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$",
    )
});
static UUID: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"));
static UUID3: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
});
static UUID4: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
});
static UUID5: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
});
static SSN: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"^[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}$"));
static HEXCOLOR: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"));
static RGBCOLOR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"^rgb\([\t\n\f\r ]*(0|[1-9][0-9]?|1[0-9][0-9]?|2[0-4][0-9]|25[0-5])[\t\n\f\r ]*,[\t\n\f\r ]*(0|[1-9][0-9]?|1[0-9][0-9]?|2[0-4][0-9]|25[0-5])[\t\n\f\r ]*,[\t\n\f\r ]*(0|[1-9][0-9]?|1[0-9][0-9]?|2[0-4][0-9]|25[0-5])[\t\n\f\r ]*\)$",
    )
});
static BASE64: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$")
});
static CREDIT_CARD: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)[0-9]{12}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35[0-9]{3})[0-9]{11}|6[27][0-9]{14})$",
    )
});
// `DateTimePattern`, applied to the lower-cased part after the `t`.
static DATE_TIME_TAIL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$")
});
static DURATION_FALLBACK: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"^[\t\n\f\r ]*(?:[0-9]+[\t\n\f\r ]*[A-Za-zµ]+[\t\n\f\r ]*)+$"));
static DURATION_PART: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"(([0-9]+)[\t\n\f\r ]*([A-Za-zµ]+))"));

/// `strfmt.IsHostname`.
fn is_hostname(s: &str) -> bool {
    matches(&HOSTNAME, s) && s.len() <= 255 && s.split('.').all(|p| p.len() <= 63)
}

/// Go 1.16 `dtoi`: decimal digits, leading zeros allowed (what `ParseIPSloppy` keeps).
fn dtoi(s: &[u8]) -> Option<(u32, usize)> {
    let mut n: u32 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        n = n * 10 + u32::from(s[i] - b'0');
        if n >= 0xFF_FFFF {
            return None;
        }
        i += 1;
    }
    (i > 0).then_some((n, i))
}

fn xtoi(s: &[u8]) -> Option<(u32, usize)> {
    let mut n: u32 = 0;
    let mut i = 0;
    while i < s.len() {
        let d = match s[i] {
            b @ b'0'..=b'9' => u32::from(b - b'0'),
            b @ b'a'..=b'f' => u32::from(b - b'a') + 10,
            b @ b'A'..=b'F' => u32::from(b - b'A') + 10,
            _ => break,
        };
        n = n * 16 + d;
        if n >= 0xFF_FFFF {
            return None;
        }
        i += 1;
    }
    (i > 0).then_some((n, i))
}

fn parse_ipv4(mut s: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    for (i, slot) in out.iter_mut().enumerate() {
        if s.is_empty() {
            return None;
        }
        if i > 0 {
            if s[0] != b'.' {
                return None;
            }
            s = &s[1..];
        }
        let (n, c) = dtoi(s)?;
        *slot = u8::try_from(n).ok()?;
        s = &s[c..];
    }
    s.is_empty().then_some(out)
}

fn parse_ipv6(mut s: &[u8]) -> Option<[u8; 16]> {
    let mut ip = [0u8; 16];
    let mut ellipsis: Option<usize> = None;
    if s.len() >= 2 && s[0] == b':' && s[1] == b':' {
        ellipsis = Some(0);
        s = &s[2..];
        if s.is_empty() {
            return Some(ip);
        }
    }
    let mut i = 0;
    while i < 16 {
        let (n, c) = xtoi(s)?;
        if c < s.len() && s[c] == b'.' {
            // Embedded IPv4 in the last 32 bits.
            if ellipsis.is_none() && i != 12 {
                return None;
            }
            if i + 4 > 16 {
                return None;
            }
            let v4 = parse_ipv4(s)?;
            ip[i..i + 4].copy_from_slice(&v4);
            s = &[];
            i += 4;
            break;
        }
        if n > 0xFFFF {
            return None;
        }
        ip[i] = u8::try_from(n >> 8).ok()?;
        ip[i + 1] = u8::try_from(n & 0xFF).ok()?;
        i += 2;
        s = &s[c..];
        if s.is_empty() {
            break;
        }
        if s[0] != b':' || s.len() == 1 {
            return None;
        }
        s = &s[1..];
        if s[0] == b':' {
            if ellipsis.is_some() {
                return None;
            }
            ellipsis = Some(i);
            s = &s[1..];
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return None;
    }
    if i < 16 {
        let e = ellipsis?;
        let n = 16 - i;
        for j in (e..i).rev() {
            ip[j + n] = ip[j];
        }
        for b in ip.iter_mut().skip(e).take(n) {
            *b = 0;
        }
    } else if ellipsis.is_some() {
        return None;
    }
    Some(ip)
}

/// `netutils.ParseIPSloppy` (Go 1.16's `net.ParseIP`): leading zeros in IPv4 parts allowed.
fn parse_ip_sloppy(s: &str) -> Option<[u8; 16]> {
    for b in s.bytes() {
        match b {
            b'.' => {
                let v4 = parse_ipv4(s.as_bytes())?;
                let mut ip = [0u8; 16];
                ip[10] = 0xff;
                ip[11] = 0xff;
                ip[12..].copy_from_slice(&v4);
                return Some(ip);
            }
            b':' => return parse_ipv6(s.as_bytes()),
            _ => {}
        }
    }
    None
}

/// `netutils.ParseCIDRSloppy`.
fn is_cidr_sloppy(s: &str) -> bool {
    let Some((addr, mask)) = s.split_once('/') else {
        return false;
    };
    let (ok, bits) = if parse_ipv4(addr.as_bytes()).is_some() {
        (true, 32)
    } else {
        (parse_ipv6(addr.as_bytes()).is_some(), 128)
    };
    match dtoi(mask.as_bytes()) {
        Some((n, used)) => ok && used == mask.len() && n <= bits,
        None => false,
    }
}

/// `net.ParseMAC`: 6, 8 or 20 octets as `xx:xx…`/`xx-xx…`, or as dotted `xxxx.xxxx…`.
fn is_mac(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 14 {
        return false;
    }
    let hex2 = |x: &[u8]| x.len() == 2 && x.iter().all(u8::is_ascii_hexdigit);
    let hex4 = |x: &[u8]| x.len() == 4 && x.iter().all(u8::is_ascii_hexdigit);
    let octets_ok = |n: usize| n == 6 || n == 8 || n == 20;
    if b[2] == b':' || b[2] == b'-' {
        if !(b.len() + 1).is_multiple_of(3) {
            return false;
        }
        let sep = b[2];
        let parts: Vec<&[u8]> = b.split(|c| *c == sep).collect();
        octets_ok(parts.len()) && parts.iter().all(|p| hex2(p))
    } else if b[4] == b'.' {
        if !(b.len() + 1).is_multiple_of(5) {
            return false;
        }
        let parts: Vec<&[u8]> = b.split(|c| *c == b'.').collect();
        octets_ok(parts.len() * 2) && parts.iter().all(|p| hex4(p))
    } else {
        false
    }
}

fn isbn_digits(s: &str) -> String {
    // govalidator strips whitespace and dashes before checking.
    s.chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}' | '-'))
        .collect()
}

fn is_isbn10(s: &str) -> bool {
    let d = isbn_digits(s);
    let b = d.as_bytes();
    let shape = b.len() == 10
        && b[..9].iter().all(u8::is_ascii_digit)
        && (b[9].is_ascii_digit() || b[9] == b'X');
    if !shape {
        return false;
    }
    let mut sum = 0u32;
    for (i, c) in b[..9].iter().enumerate() {
        sum += (u32::try_from(i).unwrap_or(0) + 1) * u32::from(c - b'0');
    }
    sum += if b[9] == b'X' {
        100
    } else {
        10 * u32::from(b[9] - b'0')
    };
    sum.is_multiple_of(11)
}

fn is_isbn13(s: &str) -> bool {
    let d = isbn_digits(s);
    let b = d.as_bytes();
    if b.len() != 13 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let factor = [1u32, 3];
    let mut sum = 0u32;
    for (i, c) in b[..12].iter().enumerate() {
        sum += factor[i % 2] * u32::from(c - b'0');
    }
    (10 - sum % 10) % 10 == u32::from(b[12] - b'0')
}

/// govalidator `IsCreditCard`: non-digits dropped, the card regex, then the Luhn check.
fn is_credit_card(s: &str) -> bool {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if !matches(&CREDIT_CARD, &digits) {
        return false;
    }
    let mut sum = 0u32;
    let mut double = false;
    for c in digits.bytes().rev() {
        let mut d = u32::from(c - b'0');
        if double {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
        double = !double;
    }
    sum.is_multiple_of(10)
}

/// `time.Parse("2006-01-02", s)`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |x: &[u8]| -> Option<u32> {
        x.iter()
            .all(u8::is_ascii_digit)
            .then(|| x.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let (Some(y), Some(m), Some(d)) = (num(&b[..4]), num(&b[5..7]), num(&b[8..])) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// `strfmt.IsDateTime`: the lower-cased text split at `t`; the first part a date, the second
/// matching `DateTimePattern` with hours ≤ 23 and minutes, seconds ≤ 59.
fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let parts: Vec<&str> = lower.split('t').collect();
    if parts.len() < 2 || !is_date(parts[0]) {
        return false;
    }
    let Some(re) = DATE_TIME_TAIL.as_ref() else {
        return false;
    };
    let Some(c) = re.captures(parts[1]) else {
        return false;
    };
    let part = |i: usize| c.get(i).map_or("", |m| m.as_str());
    part(1) <= "23" && part(2) <= "59" && part(3) <= "59"
}

/// Go's `time.ParseDuration`.
fn is_go_duration(s: &str) -> bool {
    let mut s = s;
    if let Some(rest) = s.strip_prefix('-').or_else(|| s.strip_prefix('+')) {
        s = rest;
    }
    if s == "0" {
        return true;
    }
    if s.is_empty() {
        return false;
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, rest) = s.split_at(int_len);
        let mut rest = rest;
        let mut frac_len = 0;
        if let Some(r) = rest.strip_prefix('.') {
            frac_len = r.bytes().take_while(u8::is_ascii_digit).count();
            rest = &r[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return false;
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let (unit, tail) = rest.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return false,
        };
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            match int_part.parse::<u128>() {
                Ok(v) => v,
                Err(_) => return false,
            }
        };
        total = total.saturating_add(whole.saturating_mul(scale));
        // Go's limit: at most 1<<63 nanoseconds (exactly 1<<63 only for a negative sign).
        if total > (1u128 << 63) {
            return false;
        }
        s = tail;
    }
    true
}

/// `strfmt.IsDuration`: Go durations, or the Scala-like `<n> <unit>` sequence.
fn is_duration(s: &str) -> bool {
    if is_go_duration(s) {
        return true;
    }
    if !matches(&DURATION_FALLBACK, s) {
        return false;
    }
    let Some(part) = DURATION_PART.as_ref() else {
        return false;
    };
    const UNITS: &[&[&str]] = &[
        &["ns", "nano"],
        &["us", "µs", "micro"],
        &["ms", "milli"],
        &["s", "sec"],
        &["m", "min"],
        &["h", "hr", "hour"],
        &["d", "day"],
        &["w", "wk", "week"],
    ];
    let mut ok = false;
    for c in part.captures_iter(s) {
        let factor = c.get(2).map_or("", |m| m.as_str());
        // strconv.Atoi fails on overflow, which fails the whole parse.
        if factor.parse::<i64>().is_err() {
            return false;
        }
        let unit = c
            .get(3)
            .map_or(String::new(), |m| m.as_str().trim().to_lowercase());
        for variants in UNITS {
            let last = variants.len() - 1;
            for (i, v) in variants.iter().enumerate() {
                if (i == last && unit.starts_with(v)) || unit.eq_ignore_ascii_case(v) {
                    ok = true;
                }
            }
        }
    }
    ok
}

/// `url.ParseRequestURI` (what govalidator's `IsRequestURI` runs).
fn is_request_uri(s: &str) -> bool {
    if s.is_empty() || s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return false;
    }
    if s == "*" {
        return true;
    }
    // Scheme: a letter, then letters, digits, `+`, `-`, `.`, up to the first `:`.
    let mut scheme = "";
    let mut rest = s;
    for (i, c) in s.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' => {
                if i == 0 {
                    return false;
                }
                scheme = &s[..i];
                rest = &s[i + 1..];
                break;
            }
            _ => break,
        }
    }
    let _ = scheme;
    let rest = match rest.split_once('?') {
        Some((path, _query)) => path,
        None => rest,
    };
    if !rest.starts_with('/') {
        // A scheme with a rootless remainder is an opaque URI; without scheme it is invalid.
        return !scheme.is_empty();
    }
    let mut path = rest;
    if !scheme.is_empty() && rest.starts_with("//") {
        let authority_and_path = &rest[2..];
        let (authority, p) = match authority_and_path.find('/') {
            Some(i) => (&authority_and_path[..i], &authority_and_path[i..]),
            None => (authority_and_path, ""),
        };
        if !valid_authority(authority) {
            return false;
        }
        path = p;
    }
    valid_escapes(path)
}

fn valid_escapes(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() {
                return false;
            }
            if !(b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

fn valid_authority(authority: &str) -> bool {
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    if let Some(u) = userinfo {
        let ok = u
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&c) || c >= 0x80);
        if !ok || !valid_escapes(u) {
            return false;
        }
    }
    valid_host(host)
}

fn valid_port(p: &str) -> bool {
    match p.strip_prefix(':') {
        Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()),
        None => p.is_empty(),
    }
}

fn valid_host(host: &str) -> bool {
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return false;
        };
        (&rest[..end], &rest[end + 1..])
    } else {
        match host.rfind(':') {
            Some(i) => (&host[..i], &host[i..]),
            None => (host, ""),
        }
    };
    if !valid_port(port) || !valid_escapes(name) {
        return false;
    }
    name.bytes()
        .all(|c| c >= 0x80 || c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:[]<>\"%".contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_regexes_compile() {
        for r in [
            &HOSTNAME,
            &UUID,
            &UUID3,
            &UUID4,
            &UUID5,
            &SSN,
            &HEXCOLOR,
            &RGBCOLOR,
            &BASE64,
            &CREDIT_CARD,
            &DATE_TIME_TAIL,
            &DURATION_FALLBACK,
            &DURATION_PART,
        ] {
            assert!(r.is_some());
        }
    }

    #[test]
    fn ip_formats_follow_parse_ip_sloppy() {
        assert!(validates("ipv4", "192.0.2.1"));
        assert!(
            validates("ipv4", "192.0.2.001"),
            "sloppy parsing allows leading zeros"
        );
        assert!(!validates("ipv4", "192.0.2.256"));
        assert!(!validates("ipv4", "2001:db8::1"));
        assert!(
            validates("ipv4", "::ffff:192.0.2.1"),
            "contains a dot and parses"
        );
        assert!(validates("ipv6", "2001:db8::1"));
        assert!(validates("ipv6", "::"));
        assert!(!validates("ipv6", "192.0.2.1"));
        assert!(!validates("ipv6", "2001:db8:::1"));
        assert!(!validates("ipv6", "1:2:3:4:5:6:7:8:9"));
        assert!(validates("cidr", "10.0.0.0/8"));
        assert!(validates("cidr", "2001:db8::/32"));
        assert!(!validates("cidr", "10.0.0.0/33"));
        assert!(!validates("cidr", "10.0.0.0"));
        assert!(!validates("cidr", "not-a-cidr"));
    }

    #[test]
    fn times_and_durations() {
        assert!(validates("date-time", "2024-02-29T10:00:00Z"));
        assert!(validates("date-time", "2024-02-29t10:00:00.123+01:00"));
        assert!(!validates("date-time", "2023-02-29T10:00:00Z"));
        assert!(!validates("date-time", "2024-01-01"));
        assert!(!validates("date-time", "2024-01-01T24:00:00Z"));
        assert!(validates("date", "2024-01-31"));
        assert!(!validates("date", "2024-1-31"));
        assert!(validates("duration", "1h30m"));
        assert!(validates("duration", "1.5s"));
        assert!(validates("duration", "3 days"));
        assert!(!validates("duration", "soon"));
    }

    #[test]
    fn misc_formats() {
        assert!(validates("mac", "00:00:5e:00:53:01"));
        assert!(validates("mac", "0000.5e00.5301"));
        assert!(!validates("mac", "00:00:5e:00:53"));
        assert!(validates("uuid", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"));
        assert!(validates("byte", "aGVsbG8="));
        assert!(!validates("byte", "aGVsbG8"));
        assert!(validates("hostname", "example.com"));
        assert!(!validates("hostname", "-bad.example.com"));
        assert!(validates("uri", "https://example.com/path?q=1"));
        assert!(validates("uri", "/relative/path"));
        assert!(!validates("uri", "relative/path"));
        assert!(!validates("uri", "http://exa mple.com/"));
        assert!(validates("isbn10", "0321751043"));
        assert!(validates("isbn13", "978-0321751041"));
        assert!(validates("creditcard", "4111 1111 1111 1111"));
        assert!(validates("ssn", "123-45-6789"));
        assert!(validates("hexcolor", "#FFF"));
        assert!(validates("rgbcolor", "rgb(255, 0, 10)"));
        assert!(validates("bsonobjectid", "507f1f77bcf86cd799439011"));
    }
}
