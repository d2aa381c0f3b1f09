//! abi.h is the source of truth: every size assertion, `#define` and enum value it declares
//! must have an equal Rust mirror, and the Rust side must not describe anything C lacks.

use std::collections::BTreeMap;
use std::path::Path;

use ferrule_bpf_common::{ABI_CONSTANTS, ABI_OFFSETS, ABI_SIZES};

fn abi_h() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bpf/include/abi.h");
    std::fs::read_to_string(&path).expect("abi.h is readable next to the common crate")
}

/// `FERRULE_ABI_SIZE(name, N);` lines (the macro's own definition line has no number).
fn c_sizes(src: &str) -> BTreeMap<String, usize> {
    src.lines()
        .filter_map(|l| l.trim().strip_prefix("FERRULE_ABI_SIZE("))
        .filter_map(|rest| {
            let (name, size) = rest.split_once(',')?;
            let size = size
                .trim()
                .trim_end_matches(';')
                .trim_end_matches(')')
                .trim();
            Some((name.trim().to_string(), size.parse().ok()?))
        })
        .collect()
}

/// `FERRULE_ABI_OFFSET(type, field, N);` lines, keyed by (type, field).
fn c_offsets(src: &str) -> BTreeMap<(String, String), usize> {
    src.lines()
        .filter_map(|l| l.trim().strip_prefix("FERRULE_ABI_OFFSET("))
        .filter_map(|rest| {
            let mut parts = rest.trim_end_matches(';').trim_end_matches(')').split(',');
            let (ty, field, offset) = (parts.next()?, parts.next()?, parts.next()?);
            Some((
                (ty.trim().to_string(), field.trim().to_string()),
                offset.trim().parse().ok()?,
            ))
        })
        .collect()
}

fn parse_number(s: &str) -> Option<u64> {
    let s = s.trim().trim_end_matches(',');
    if let Some(shift) = s.strip_prefix("(1u << ").and_then(|r| r.strip_suffix(')')) {
        return Some(1u64 << shift.trim().parse::<u32>().ok()?);
    }
    s.parse().ok()
}

/// Numeric `#define NAME value` lines and `NAME = value,` enum lines, comments stripped.
fn c_constants(src: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in src.lines() {
        let code = line.split("/*").next().unwrap_or_default().trim();
        if let Some(rest) = code.strip_prefix("#define ") {
            if let Some((name, value)) = rest.split_once(char::is_whitespace)
                && let Some(v) = parse_number(value)
            {
                out.insert(name.to_string(), v);
            }
        } else if let Some((name, value)) = code.split_once(" = ")
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
            && let Some(v) = parse_number(value)
        {
            out.insert(name.to_string(), v);
        }
    }
    out
}

#[test]
fn every_c_struct_size_matches_its_rust_mirror() {
    let c = c_sizes(&abi_h());
    let rust: BTreeMap<String, usize> =
        ABI_SIZES.iter().map(|(n, s)| (n.to_string(), *s)).collect();
    assert!(c.len() >= 9, "parser found the size assertions: {c:?}");
    assert_eq!(c, rust, "abi.h sizes (left) vs Rust mirrors (right)");
}

#[test]
fn every_c_field_offset_matches_its_rust_mirror() {
    let c = c_offsets(&abi_h());
    let rust: BTreeMap<(String, String), usize> = ABI_OFFSETS
        .iter()
        .map(|(t, f, o)| ((t.to_string(), f.to_string()), *o))
        .collect();
    assert!(
        c.contains_key(&("lb_ct_value".to_string(), "last_seen_ns".to_string())),
        "parser found the offset assertions: {c:?}"
    );
    assert_eq!(c, rust, "abi.h offsets (left) vs Rust mirrors (right)");
}

#[test]
fn every_c_constant_matches_rust() {
    let c = c_constants(&abi_h());
    let rust: BTreeMap<String, u64> = ABI_CONSTANTS
        .iter()
        .map(|(n, v)| (n.to_string(), *v))
        .collect();
    assert!(
        c.contains_key("LB_MAGLEV_M"),
        "parser found the defines: {c:?}"
    );
    assert_eq!(c, rust, "abi.h constants (left) vs Rust (right)");
}

#[test]
fn parser_reads_shifted_flags_and_enums() {
    let c =
        c_constants("#define X (1u << 3) /* c */\n\tY_Z = 7, /* c */\n#define NOT_A_NUMBER foo\n");
    assert_eq!(c.get("X"), Some(&8));
    assert_eq!(c.get("Y_Z"), Some(&7));
    assert_eq!(c.len(), 2);
}
