//! Patch tests: RFC 6902/7386 basics and errors, strategic merge patch on built-in kinds.

mod json;
mod strategic;
