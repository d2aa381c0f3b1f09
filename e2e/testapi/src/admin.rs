//! The admin API under `/ferrule-testapi/`: fault injection for reliability tests.
//!
//! - `POST /ferrule-testapi/faults/fail` `{"verb":"update","resource":"leases","code":500,"count":3}`
//! - `POST /ferrule-testapi/faults/latency` `{"verb":"list","resource":"pods","millis":200}`
//! - `POST /ferrule-testapi/faults/clear`
//! - `POST /ferrule-testapi/watches/close`
//! - `POST /ferrule-testapi/history/compact`

use crate::faults::Matcher;
use crate::server::{ApiServer, Method, Reply, Request};
use crate::status::ApiError;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

#[derive(Debug, Deserialize)]
struct FailRequest {
    #[serde(flatten)]
    matcher: Matcher,
    code: u16,
    #[serde(default = "one")]
    count: u32,
}

#[derive(Debug, Deserialize)]
struct LatencyRequest {
    #[serde(flatten)]
    matcher: Matcher,
    millis: u64,
}

fn one() -> u32 {
    1
}

pub fn handle(server: &ApiServer, path: &str, request: &Request) -> Reply {
    if request.method != Method::Post {
        return ApiError::method_not_allowed("the admin API only answers POST").into();
    }
    let parse = |what| -> Result<serde_json::Value, ApiError> {
        if request.body.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(&request.body)
            .map_err(|e| ApiError::bad_request(format!("{what}: {e}")))
    };
    let result = match path {
        "/faults/fail" => parse("fail").and_then(|v| {
            let fail: FailRequest =
                serde_json::from_value(v).map_err(|e| ApiError::bad_request(e.to_string()))?;
            if !(400..=599).contains(&fail.code) {
                return Err(ApiError::bad_request(
                    "code must be an HTTP error status (400-599)",
                ));
            }
            server.faults.fail_next(fail.matcher, fail.code, fail.count);
            Ok(())
        }),
        "/faults/latency" => parse("latency").and_then(|v| {
            let latency: LatencyRequest =
                serde_json::from_value(v).map_err(|e| ApiError::bad_request(e.to_string()))?;
            server
                .faults
                .add_latency(latency.matcher, Duration::from_millis(latency.millis));
            Ok(())
        }),
        "/faults/clear" => {
            server.faults.clear();
            Ok(())
        }
        "/watches/close" => {
            server.store.close_watches();
            Ok(())
        }
        "/history/compact" => {
            server.store.compact();
            Ok(())
        }
        other => Err(ApiError::no_route(other)),
    };
    match result {
        Ok(()) => Reply::ok(json!({ "ok": true })),
        Err(e) => e.into(),
    }
}
