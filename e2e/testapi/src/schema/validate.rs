//! Value validation of custom resources: a port of kube-openapi's `validate.SchemaValidator`
//! (as `apiextensions-apiserver` configures it) and of apiextensions'
//! `kubeOpenAPIResultToFieldErrors`, so the errors, their order and their messages are the
//! server's.
//!
//! kube-openapi runs every applicable validator of a node (type, allOf/anyOf/oneOf/not, string,
//! format, number, array, enum, object) and merges their results; it counts "matches" along
//! the way and, when no anyOf/oneOf branch validates, reports the errors of the branch with
//! the most matches. That bookkeeping is reproduced ([`Res::match_count`]) because it decides
//! which errors a user sees.

use super::errors::FieldError;
use super::formats;
use super::node::{Additional, Node};
use crate::gofmt::{self, GoNumber};
use serde_json::{Map, Value};

/// `in` of every error: kube-openapi validates CR bodies.
const IN: &str = "body";

/// kube-openapi's error codes that the conversion to field errors distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    InvalidType,
    Required,
    TooLong,
    MaxItems,
    TooManyProperties,
    Enum,
    /// Every other `errors.Validation` (becomes `field.Invalid`).
    Other,
    /// The anyOf/oneOf/allOf/not summaries: plain errors with no field.
    Composite,
}

/// One kube-openapi error (`*errors.Validation` or a composite `apiError`).
#[derive(Debug, Clone)]
struct VErr {
    code: Code,
    name: String,
    /// `Value`: `Value::Null` is Go's nil.
    value: Value,
    /// `Values` of an enum failure.
    values: Vec<Value>,
    /// `Valid` (the limit) of too-long/too-many failures.
    valid: Option<i64>,
    message: String,
}

impl VErr {
    fn new(code: Code, name: &str, value: Value, message: String) -> Self {
        Self {
            code,
            name: name.to_string(),
            value,
            values: Vec::new(),
            valid: None,
            message,
        }
    }

    fn with_valid(mut self, valid: i64) -> Self {
        self.valid = Some(valid);
        self
    }
}

/// `validate.Result`: errors (deduplicated by message, as `AddErrors` does) and match count.
#[derive(Debug, Default)]
struct Res {
    errors: Vec<VErr>,
    match_count: usize,
}

impl Res {
    fn err(e: VErr) -> Self {
        Self {
            errors: vec![e],
            match_count: 0,
        }
    }

    fn add(&mut self, e: VErr) {
        if !self.errors.iter().any(|x| x.message == e.message) {
            self.errors.push(e);
        }
    }

    fn merge(&mut self, other: Res) {
        for e in other.errors {
            self.add(e);
        }
        self.match_count += other.match_count;
    }

    fn inc(&mut self) {
        self.match_count += 1;
    }

    fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Int,
    Float,
    String,
    Array,
    Object,
}

fn kind_of(v: &Value) -> Kind {
    match v {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) => match GoNumber::of(n) {
            GoNumber::Int(_) => Kind::Int,
            GoNumber::Float(_) => Kind::Float,
        },
        Value::String(_) => Kind::String,
        Value::Array(_) => Kind::Array,
        Value::Object(_) => Kind::Object,
    }
}

/// `typeValidator.schemaInfoForType`: the JSON type and format kube-openapi infers for data.
fn schema_info(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Bool => ("boolean", ""),
        Kind::String => ("string", ""),
        Kind::Int => ("integer", "int64"),
        Kind::Float => ("number", "float64"),
        Kind::Array => ("array", ""),
        Kind::Object => ("object", ""),
        Kind::Null => ("", ""),
    }
}

/// `swag.IsFloat64AJSONInteger`.
fn is_json_integer(f: f64) -> bool {
    const MAX_JSON_FLOAT: f64 = 9_007_199_254_740_992.0; // 2^53
    f.is_finite() && f.abs() <= MAX_JSON_FLOAT && f.fract() == 0.0
}

/// `errors.InvalidType(name, in, typeName, value)` with a string value.
fn invalid_type(name: &str, type_name: &str, value: &str) -> VErr {
    VErr::new(
        Code::InvalidType,
        name,
        Value::String(value.to_string()),
        format!(
            "{name} in {IN} must be of type {type_name}: {}",
            gofmt::quote(value)
        ),
    )
}

fn composite(message: String) -> VErr {
    VErr::new(Code::Composite, "", Value::Null, message)
}

/// `SchemaValidator.Validate` of `data` against `node` at `path` (kube-openapi path syntax:
/// `spec.blocks[0].cidr`).
fn validate_node(node: &Node, path: &str, data: &Value, old: Option<&Value>) -> Res {
    let mut res = validate_node_fresh(node, path, data, old);
    // Ratcheting (CRDValidationRatcheting, GA in 1.33): on update, errors of a value that is
    // unchanged from the correlated old value become warnings; the match count stays.
    if !res.is_valid() && old == Some(data) {
        res.errors.clear();
    }
    res
}

fn validate_node_fresh(node: &Node, path: &str, data: &Value, old: Option<&Value>) -> Res {
    let mut res = Res::default();
    let kind = kind_of(data);
    if kind == Kind::Null {
        // Only the type and enum validators run for nil data.
        res.merge(validate_type(node, path, data, kind));
        res.merge(validate_enum(node, path, data));
        return res;
    }
    if !node.openapi_types().is_empty() || !node.effective_format.is_empty() {
        res.merge(validate_type(node, path, data, kind));
        res.inc();
    }
    res.merge(validate_schema_props(node, path, data, old));
    res.inc();
    if let Value::String(s) = data {
        res.merge(validate_string(node, path, s));
        res.inc();
        if formats::in_registry(&node.effective_format) {
            if !formats::validates(&node.effective_format, s) {
                res.add(VErr::new(
                    Code::InvalidType,
                    path,
                    data.clone(),
                    format!(
                        "{path} in {IN} must be of type {}: {}",
                        node.effective_format,
                        gofmt::quote(s)
                    ),
                ));
            }
            res.inc();
        }
    }
    if let Value::Number(n) = data {
        res.merge(validate_number(node, path, GoNumber::of(n)));
        res.inc();
    }
    if let Value::Array(items) = data {
        res.merge(validate_array(node, path, items, old));
        res.inc();
    }
    res.merge(validate_enum(node, path, data));
    res.inc();
    if let Value::Object(map) = data {
        res.merge(validate_object(node, path, map, old));
        res.inc();
    }
    res.inc();
    res
}

/// `typeValidator.Validate`.
fn validate_type(node: &Node, path: &str, data: &Value, kind: Kind) -> Res {
    let types = node.openapi_types();
    let format = node.effective_format.as_str();
    if kind == Kind::Null {
        if !types.is_empty() && !types.contains(&"null") && !node.nullable {
            return Res::err(invalid_type(path, &types.join(","), "null"));
        }
        return Res {
            errors: Vec::new(),
            match_count: 1,
        };
    }
    let (sch_type, inferred_format) = schema_info(kind);
    let is_float_int = kind == Kind::Float
        && data.as_f64().is_some_and(is_json_integer)
        && types.contains(&"integer");
    let is_int_float = kind == Kind::Int && types.contains(&"number");
    let str_or_slice = matches!(kind, Kind::String | Kind::Array);
    let has_format = !format.is_empty();
    let format_compatible =
        types.contains(&sch_type) || inferred_format == format || is_float_int || is_int_float;
    if has_format && !str_or_slice && !format_compatible {
        return Res::err(invalid_type(path, format, inferred_format));
    }
    // A string format on a non-numeric type skips the type check for strings AND arrays:
    // kube-openapi's behaviour, kept as it is.
    let numeric = types.contains(&"number") || types.contains(&"integer");
    if has_format && str_or_slice && !numeric {
        return Res {
            errors: Vec::new(),
            match_count: 1,
        };
    }
    if !(types.contains(&sch_type) || is_float_int || is_int_float) {
        return Res::err(invalid_type(path, &types.join(","), sch_type));
    }
    Res {
        errors: Vec::new(),
        match_count: 1,
    }
}

/// `schemaPropsValidator.Validate`: allOf, anyOf, oneOf and not.
fn validate_schema_props(node: &Node, path: &str, data: &Value, old: Option<&Value>) -> Res {
    let mut main = Res::default();
    if !node.any_of.is_empty() {
        let mut best: Option<Res> = None;
        let mut first_success: Option<Res> = None;
        let mut succeeded = false;
        for sub in &node.any_of {
            let r = validate_node(sub, path, data, old);
            if r.is_valid() {
                best = None;
                succeeded = true;
                first_success = Some(r);
                break;
            }
            if best.as_ref().is_none_or(|b| r.match_count > b.match_count) {
                best = Some(r);
            }
        }
        if !succeeded {
            main.add(composite(format!(
                "{} must validate at least one schema (anyOf)",
                gofmt::quote(path)
            )));
        }
        if let Some(b) = best {
            main.merge(b);
        } else if let Some(s) = first_success {
            main.merge(s);
        }
    }
    if !node.one_of.is_empty() {
        let mut best: Option<Res> = None;
        let mut first_success: Option<Res> = None;
        let mut validated = 0usize;
        for sub in &node.one_of {
            let r = validate_node(sub, path, data, old);
            if r.is_valid() {
                validated += 1;
                best = None;
                if first_success.is_none() {
                    first_success = Some(r);
                }
                continue;
            }
            if validated == 0 && best.as_ref().is_none_or(|b| r.match_count > b.match_count) {
                best = Some(r);
            }
        }
        if validated == 1 {
            if let Some(s) = first_success {
                main.merge(s);
            }
        } else {
            let additional = if validated == 0 {
                "Found none valid".to_string()
            } else {
                format!("Found {validated} valid alternatives")
            };
            main.add(composite(format!(
                "{} must validate one and only one schema (oneOf). {additional}",
                gofmt::quote(path)
            )));
            if let Some(b) = best {
                main.merge(b);
            }
        }
    }
    if !node.all_of.is_empty() {
        let mut validated = 0usize;
        for sub in &node.all_of {
            let r = validate_node(sub, path, data, old);
            if r.is_valid() {
                validated += 1;
            }
            main.merge(r);
        }
        if validated != node.all_of.len() {
            let additional = if validated == 0 {
                ". None validated"
            } else {
                ""
            };
            main.add(composite(format!(
                "{} must validate all the schemas (allOf){additional}",
                gofmt::quote(path)
            )));
        }
    }
    if let Some(not) = &node.not
        && validate_node(not, path, data, old).is_valid()
    {
        main.add(composite(format!(
            "{} must not validate the schema (not)",
            gofmt::quote(path)
        )));
    }
    main.inc();
    main
}

/// `stringValidator.Validate`: maxLength, minLength, pattern; the first failure only.
fn validate_string(node: &Node, path: &str, s: &str) -> Res {
    let len = i64::try_from(s.chars().count()).unwrap_or(i64::MAX);
    if let Some(max) = node.max_length
        && len > max
    {
        return Res::err(
            VErr::new(
                Code::TooLong,
                path,
                Value::String(s.to_string()),
                format!("{path} in {IN} should be at most {max} chars long"),
            )
            .with_valid(max),
        );
    }
    if let Some(min) = node.min_length
        && len < min
    {
        return Res::err(VErr::new(
            Code::Other,
            path,
            Value::String(s.to_string()),
            format!("{path} in {IN} should be at least {min} chars long"),
        ));
    }
    if let Some(p) = &node.pattern {
        let failure = match &p.compiled {
            Ok(re) if re.is_match(s) => None,
            Ok(_) => Some(p.source.clone()),
            Err(e) => Some(format!("{}, but pattern is invalid: {e}", p.source)),
        };
        if let Some(shown) = failure {
            return Res::err(VErr::new(
                Code::Other,
                path,
                Value::String(s.to_string()),
                format!("{path} in {IN} should match '{shown}'"),
            ));
        }
    }
    Res::default()
}

fn go_number_value(n: GoNumber) -> Value {
    match n {
        GoNumber::Int(i) => Value::from(i),
        GoNumber::Float(f) => Value::from(f),
    }
}

/// Go's `int64(f)` conversion (truncation toward zero).
#[allow(clippy::cast_possible_truncation)]
fn go_int64(f: f64) -> i64 {
    f as i64
}

/// `numberValidator.Validate`: multipleOf, minimum, maximum (each may fail).
fn validate_number(node: &Node, path: &str, n: GoNumber) -> Res {
    let mut res = Res::default();
    let value = go_number_value(n);
    if let Some(factor) = node.multiple_of {
        // MultipleOfNativeType: integers are checked against int64(factor).
        let int_factor = go_int64(factor);
        let failure = match n {
            GoNumber::Int(i) if int_factor != 0 => {
                if int_factor < 0 {
                    Some((int_factor.to_string(), true))
                } else if i % int_factor != 0 {
                    Some((int_factor.to_string(), false))
                } else {
                    None
                }
            }
            _ => {
                let data = n.as_f64();
                if factor < 0.0 {
                    Some((gofmt::format_float_g(factor), true))
                } else {
                    let mult = if factor < 1.0 {
                        1.0 / factor * data
                    } else {
                        data / factor
                    };
                    (!is_json_integer(mult)).then(|| (gofmt::format_float_g(factor), false))
                }
            }
        };
        match failure {
            Some((f, true)) => res.add(VErr::new(
                Code::Other,
                path,
                Value::from(factor),
                format!("factor MultipleOf declared for {path} must be positive: {f}"),
            )),
            Some((f, false)) => res.add(VErr::new(
                Code::Other,
                path,
                value.clone(),
                format!("{path} in {IN} should be a multiple of {f}"),
            )),
            None => {}
        }
    }
    if let Some(min) = node.minimum {
        let excl = node.exclusive_minimum;
        let failed = match n {
            GoNumber::Int(i) => {
                let m = go_int64(min);
                ((!excl && i < m) || (excl && i <= m)).then(|| m.to_string())
            }
            GoNumber::Float(f) => {
                ((!excl && f < min) || (excl && f <= min)).then(|| gofmt::format_float_g(min))
            }
        };
        if let Some(shown) = failed {
            let words = if excl {
                "should be greater than"
            } else {
                "should be greater than or equal to"
            };
            res.add(VErr::new(
                Code::Other,
                path,
                value.clone(),
                format!("{path} in {IN} {words} {shown}"),
            ));
        }
    }
    if let Some(max) = node.maximum {
        let excl = node.exclusive_maximum;
        let failed = match n {
            GoNumber::Int(i) => {
                let m = go_int64(max);
                ((!excl && i > m) || (excl && i >= m)).then(|| m.to_string())
            }
            GoNumber::Float(f) => {
                ((!excl && f > max) || (excl && f >= max)).then(|| gofmt::format_float_g(max))
            }
        };
        if let Some(shown) = failed {
            let words = if excl {
                "should be less than"
            } else {
                "should be less than or equal to"
            };
            res.add(VErr::new(
                Code::Other,
                path,
                value,
                format!("{path} in {IN} {words} {shown}"),
            ));
        }
    }
    res.inc();
    res
}

/// `schemaSliceValidator.Validate`.
fn validate_array(node: &Node, path: &str, items: &[Value], old: Option<&Value>) -> Res {
    let mut res = Res::default();
    if let Some(item_schema) = &node.items {
        for (i, item) in items.iter().enumerate() {
            let old_item = correlated_item(node, item, old);
            res.merge(validate_node(
                item_schema,
                &format!("{path}[{i}]"),
                item,
                old_item,
            ));
        }
    }
    let size = i64::try_from(items.len()).unwrap_or(i64::MAX);
    if let Some(min) = node.min_items
        && size < min
    {
        res.add(VErr::new(
            Code::Other,
            path,
            Value::from(size),
            format!("{path} in {IN} should have at least {min} items"),
        ));
    }
    if let Some(max) = node.max_items
        && size > max
    {
        res.add(
            VErr::new(
                Code::MaxItems,
                path,
                Value::from(size),
                format!("{path} in {IN} should have at most {max} items"),
            )
            .with_valid(max),
        );
    }
    if node.unique_items {
        let duplicated = items
            .iter()
            .enumerate()
            .any(|(i, a)| items[..i].iter().any(|b| a == b));
        if duplicated {
            res.add(VErr::new(
                Code::Other,
                path,
                Value::Null,
                format!("{path} in {IN} shouldn't contain duplicates"),
            ));
        }
    }
    res.inc();
    res
}

/// Go's `reflect` conversion + `DeepEqual` that `basicCommonValidator` uses to compare data
/// with an enum value: numbers convert between int64 and float64 (truncating!), an integer
/// converts to the string of its rune, everything else must be deeply equal.
fn enum_matches(data: &Value, enum_value: &Value) -> bool {
    match (data, enum_value) {
        (Value::Number(d), Value::Number(e)) => match (GoNumber::of(d), GoNumber::of(e)) {
            (GoNumber::Int(a), GoNumber::Int(b)) => a == b,
            (GoNumber::Int(a), GoNumber::Float(b)) => GoNumber::Int(a).as_f64() == b,
            (GoNumber::Float(a), GoNumber::Int(b)) => go_int64(a) == b,
            (GoNumber::Float(a), GoNumber::Float(b)) => a == b,
        },
        (Value::Number(d), Value::String(e)) => match GoNumber::of(d) {
            GoNumber::Int(i) => {
                let rune = u32::try_from(i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                *e == rune.to_string()
            }
            GoNumber::Float(_) => false,
        },
        (Value::Null, _) | (_, Value::Null) => false,
        (a, b) => a == b,
    }
}

/// `basicCommonValidator.Validate`: the enum check.
fn validate_enum(node: &Node, path: &str, data: &Value) -> Res {
    let Some(values) = node.enum_.as_ref().filter(|v| !v.is_empty()) else {
        return Res::default();
    };
    if values.iter().any(|e| enum_matches(data, e)) {
        return Res::default();
    }
    let shown: Vec<String> = values.iter().map(go_v_any).collect();
    let mut e = VErr::new(
        Code::Enum,
        path,
        data.clone(),
        format!("{path} in {IN} should be one of [{}]", shown.join(" ")),
    );
    e.values = values.clone();
    Res::err(e)
}

/// `%v` of an arbitrary decoded JSON value (only used inside kube-openapi's own messages,
/// which the field errors do not show for enums).
fn go_v_any(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => GoNumber::of(n).go_v(),
        Value::String(s) => s.clone(),
        other => gofmt::json(other),
    }
}

/// `objectValidator.Validate`.
fn validate_object(node: &Node, path: &str, map: &Map<String, Value>, old: Option<&Value>) -> Res {
    let old_field = |k: &str| old.and_then(|o| o.get(k));
    let num = i64::try_from(map.len()).unwrap_or(i64::MAX);
    if let Some(min) = node.min_properties
        && num < min
    {
        return Res::err(VErr::new(
            Code::Other,
            path,
            Value::from(num),
            format!("{path} in {IN} should have at least {min} properties"),
        ));
    }
    if let Some(max) = node.max_properties
        && num > max
    {
        return Res::err(
            VErr::new(
                Code::TooManyProperties,
                path,
                Value::from(num),
                format!("{path} in {IN} should have at most {max} properties"),
            )
            .with_valid(max),
        );
    }
    let mut res = Res::default();
    // Go iterates maps in random order; sorted keys keep our output stable.
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    match &node.additional_properties {
        Some(Additional::Bool(false)) => {
            for k in &keys {
                if !node.properties.contains_key(k.as_str()) {
                    res.add(VErr::new(
                        Code::Other,
                        path,
                        Value::String((*k).clone()),
                        format!("{path}.{k} in {IN} is a forbidden property"),
                    ));
                }
            }
        }
        Some(Additional::Schema(schema)) => {
            for k in &keys {
                if !node.properties.contains_key(k.as_str())
                    && let Some(v) = map.get(k.as_str())
                {
                    res.merge(validate_node(
                        schema,
                        &format!("{path}.{k}"),
                        v,
                        old_field(k),
                    ));
                }
            }
        }
        _ => {}
    }
    for (name, schema) in &node.properties {
        if let Some(v) = map.get(name) {
            let child = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            res.merge(validate_node(schema, &child, v, old_field(name)));
        }
    }
    for k in &node.required {
        if !map.contains_key(k) {
            let name = format!("{path}.{k}");
            res.add(VErr::new(
                Code::Required,
                &name,
                Value::Null,
                format!("{name} in {IN} is required"),
            ));
        }
    }
    res
}

/// `kubeOpenAPIResultToFieldErrors` with a nil base path.
fn to_field_errors(errors: Vec<VErr>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| {
            if e.code == Code::Composite {
                return FieldError::invalid("<nil>", Value::String(String::new()), e.message);
            }
            let path = if e.name.is_empty() || e.name == "." {
                "<nil>".to_string()
            } else {
                e.name.strip_prefix('.').unwrap_or(&e.name).to_string()
            };
            let or_empty = |v: Value| {
                if v.is_null() {
                    Value::String(String::new())
                } else {
                    v
                }
            };
            match e.code {
                Code::Required => FieldError::required(path, ""),
                Code::Enum => {
                    let values: Vec<String> = e
                        .values
                        .iter()
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => gofmt::json(other),
                        })
                        .collect();
                    FieldError::not_supported(path, e.value, &values)
                }
                Code::TooLong => FieldError::too_long(path, e.valid.unwrap_or(-1)),
                Code::MaxItems | Code::TooManyProperties => FieldError::too_many(
                    path,
                    e.value.as_i64().unwrap_or(-1),
                    e.valid.unwrap_or(-1),
                ),
                Code::InvalidType => FieldError::new(
                    path,
                    super::FieldErrorKind::TypeInvalid,
                    Some(or_empty(e.value)),
                    e.message,
                ),
                Code::Other | Code::Composite => {
                    FieldError::invalid(path, or_empty(e.value), e.message)
                }
            }
        })
        .collect()
}

/// Validates a whole custom resource (or a value such as a default) the way
/// `ValidateCustomResource` does: kube-openapi errors converted to field errors.
pub(crate) fn validate_value(root: &Node, data: &Value) -> Vec<FieldError> {
    to_field_errors(validate_node(root, "", data, None).errors)
}

/// `ValidateCustomResourceUpdate` with ratcheting: as [`validate_value`], but errors of
/// values unchanged from `old` (correlated by field, map key and map-list keys) are dropped.
pub(crate) fn validate_update(root: &Node, data: &Value, old: &Value) -> Vec<FieldError> {
    to_field_errors(validate_node(root, "", data, Some(old)).errors)
}

/// `ValidateCustomResource(fldPath, …)`: as [`validate_value`], with field paths under `base`
/// (used for defaults: `…default.foo`).
pub(crate) fn validate_value_under(root: &Node, data: &Value, base: &str) -> Vec<FieldError> {
    let mut errs = validate_value(root, data);
    for e in &mut errs {
        if e.path == "<nil>" {
            e.path = base.to_string();
        } else {
            e.path = format!("{base}.{}", e.path);
        }
    }
    errs
}

/// The old list item that corresponds to `item`: only items of `x-kubernetes-list-type: map`
/// lists correlate (by their keys); atomic and set lists do not.
fn correlated_item<'a>(list: &Node, item: &Value, old: Option<&'a Value>) -> Option<&'a Value> {
    if list.x_list_type.as_deref() != Some("map") || list.x_list_map_keys.is_empty() {
        return None;
    }
    let old_items = old?.as_array()?;
    old_items
        .iter()
        .find(|o| list.x_list_map_keys.iter().all(|k| o.get(k) == item.get(k)))
}
