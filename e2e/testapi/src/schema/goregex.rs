//! Compiles a CRD `pattern` with Go `regexp` (RE2) semantics on top of the `regex` crate.
//!
//! The two dialects are close, but not equal where it matters for validation: Go's `\d`, `\w`,
//! `\s` and `\b` are ASCII-only (the `regex` crate's are Unicode), `\<`/`\>` are literals in Go
//! (word boundaries in Rust), `[` is a literal inside a Go character class (a nested class in
//! Rust), Go has octal escapes and `\Q…\E`. We rewrite those constructs and refuse escapes Go
//! refuses, so a pattern matches here exactly when it matches on the API server.

use regex::Regex;

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = r"\t\n\f\r ";

/// Translates and compiles `pattern`; the error text names the problem like Go's
/// `regexp.Compile` does (`error parsing regexp: …`).
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    let translated = translate(pattern)?;
    Regex::new(&translated).map_err(|e| format!("error parsing regexp: {e}"))
}

fn invalid_escape(esc: &str) -> String {
    format!("error parsing regexp: invalid escape sequence: `{esc}`")
}

/// A Perl class escape (`\d` …) as a bracket class, or its body for use inside a class.
fn perl_class(c: char, in_class: bool) -> Option<String> {
    let (body, negated) = match c {
        'd' => (DIGIT, false),
        'D' => (DIGIT, true),
        'w' => (WORD, false),
        'W' => (WORD, true),
        's' => (SPACE, false),
        'S' => (SPACE, true),
        _ => return None,
    };
    // Rust accepts nested classes, so a negated set inside a class stays exact.
    Some(match (negated, in_class) {
        (false, true) => body.to_string(),
        (false, false) => format!("[{body}]"),
        (true, _) => format!("[^{body}]"),
    })
}

fn translate(p: &str) -> Result<String, String> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 8);
    let mut i = 0;
    // Inside a bracket class: position right after `[` / `[^` (where `]` is a literal).
    let mut in_class = false;
    let mut class_start = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&e) = chars.get(i + 1) else {
                return Err(
                    "error parsing regexp: trailing backslash at end of expression: ``".to_string(),
                );
            };
            class_start = false;
            i += 2;
            if let Some(class) = perl_class(e, in_class) {
                out.push_str(&class);
                continue;
            }
            match e {
                'b' | 'B' if !in_class => {
                    out.push_str(if e == 'b' { "(?-u:\\b)" } else { "(?-u:\\B)" });
                }
                'A' | 'z' if !in_class => {
                    out.push('\\');
                    out.push(e);
                }
                'a' | 'f' | 't' | 'n' | 'r' | 'v' => {
                    out.push('\\');
                    out.push(e);
                }
                'p' | 'P' => {
                    out.push('\\');
                    out.push(e);
                    // Copy `{Name}` or the single-letter class name verbatim.
                    if chars.get(i) == Some(&'{') {
                        while i < chars.len() {
                            out.push(chars[i]);
                            i += 1;
                            if chars[i - 1] == '}' {
                                break;
                            }
                        }
                    } else if let Some(&n) = chars.get(i) {
                        out.push(n);
                        i += 1;
                    }
                }
                'x' => {
                    out.push_str("\\x");
                    if chars.get(i) == Some(&'{') {
                        while i < chars.len() {
                            out.push(chars[i]);
                            i += 1;
                            if chars[i - 1] == '}' {
                                break;
                            }
                        }
                    } else {
                        for _ in 0..2 {
                            if let Some(&h) = chars.get(i) {
                                out.push(h);
                                i += 1;
                            }
                        }
                    }
                }
                '0'..='7' => {
                    // Go: `\0` plus up to two octal digits; `\1`-`\7` only when followed by
                    // another octal digit (a lone `\1` would be a backreference).
                    if e != '0' && !chars.get(i).is_some_and(|d| ('0'..='7').contains(d)) {
                        return Err(invalid_escape(&format!("\\{e}")));
                    }
                    let mut value = e.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match chars.get(i).and_then(|d| d.to_digit(8)) {
                            Some(d) => {
                                value = value * 8 + d;
                                i += 1;
                            }
                            None => break,
                        }
                    }
                    out.push_str(&format!("\\x{{{value:x}}}"));
                }
                'Q' if !in_class => {
                    // `\Q…\E`: everything up to `\E` (or the end) is literal.
                    let rest: String = chars[i..].iter().collect();
                    let (lit, consumed) = match rest.find("\\E") {
                        Some(end) => (&rest[..end], rest[..end].chars().count() + 2),
                        None => (rest.as_str(), rest.chars().count()),
                    };
                    out.push_str(&regex::escape(lit));
                    i += consumed;
                }
                e if e.is_ascii_punctuation() => {
                    // Go: an escaped punctuation character is itself. Rust gives `\<` and
                    // `\>` a meaning, so write those bare; escape the rest.
                    if e == '<' || e == '>' {
                        out.push(e);
                    } else {
                        out.push('\\');
                        out.push(e);
                    }
                }
                e => return Err(invalid_escape(&format!("\\{e}"))),
            }
            continue;
        }
        if in_class {
            if c == ']' && !class_start {
                in_class = false;
                out.push(c);
            } else if c == '[' && chars.get(i + 1) == Some(&':') {
                // POSIX class `[:alpha:]`: same syntax in both dialects.
                let rest: String = chars[i..].iter().collect();
                match rest.find(":]") {
                    Some(end) if end > 1 => {
                        out.push_str(&rest[..end + 2]);
                        i += rest[..end + 2].chars().count();
                        class_start = false;
                        continue;
                    }
                    _ => out.push_str("\\["),
                }
            } else if matches!(c, '[' | '&' | '~') {
                // Literals in Go; nested classes / set operators in Rust.
                out.push('\\');
                out.push(c);
            } else {
                out.push(c);
            }
            class_start = false;
            i += 1;
            continue;
        }
        if c == '[' {
            in_class = true;
            class_start = true;
            out.push(c);
            i += 1;
            if chars.get(i) == Some(&'^') {
                out.push('^');
                i += 1;
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        compile(p).expect("pattern compiles").is_match(s)
    }

    #[test]
    fn perl_classes_are_ascii_like_go() {
        assert!(m(r"^\d+$", "123"));
        assert!(!m(r"^\d+$", "١٢٣"), "Arabic-Indic digits are not \\d in Go");
        assert!(!m(r"^\w+$", "é"));
        assert!(m(r"^[\w.-]+$", "a_b.c-d"));
        assert!(m(r"^[^\d]+$", "abc"));
        assert!(!m(r"^[^\d]+$", "a1"));
        assert!(m(r"^\S+$", "é"));
    }

    #[test]
    fn go_literals_stay_literals() {
        assert!(m(r"^\<a\>$", "<a>"));
        assert!(m(r"^[a[]+$", "a[a"));
        assert!(m(r"^[&~]+$", "&~"));
        assert!(m(r"^\Q.*\E$", ".*"));
        assert!(m(r"^\101$", "A"));
        assert!(m(r"^[]a]+$", "]a"));
        assert!(m(r"^[[:alpha:]]+$", "abc"));
    }

    #[test]
    fn go_rejects_what_go_rejects() {
        assert!(compile(r"\e").is_err());
        assert!(compile(r"\1").is_err());
        assert!(compile(r"(").is_err());
        assert!(compile("abc\\").is_err());
    }

    #[test]
    fn word_boundary_is_ascii() {
        assert!(m(r"\bfoo\b", "a foo b"));
        assert!(
            m(r"\bfoo\b", "éfooé"),
            "é is not a word character for Go's \\b"
        );
    }
}
