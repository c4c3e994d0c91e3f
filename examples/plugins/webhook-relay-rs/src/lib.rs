//! webhook-relay: delivers a JSON event to a webhook (capabilities "http", "storage", "clock",
//! "config", "log", "metrics"), at most `per_minute` deliveries per webhook host and minute.
//!   {"to": "https://hooks.example.com/in/42", "event": {"type": "deploy"}}  ->  {"status":202,"remaining":4}
//! The host refuses webhooks outside the manifest's http allow-list. Deliveries are counted in plugin
//! storage per fixed window of one minute (concurrent calls may overshoot by the calls in flight:
//! storage has no compare-and-set).

use forgeone::http::{HttpError, Request};
use forgeone::json::{self, Value};
use forgeone::{config, kv, log, Error};

forgeone::handlers!(relay);

const WINDOW_MS: i64 = 60_000;
const DEFAULT_PER_MINUTE: i64 = 5;

fn relay(input: &str) -> forgeone::Result<String> {
    let request = json::parse(input).map_err(|e| Error::new(format!("relay needs {{\"to\": <webhook URL>, \"event\": <JSON>}}: {}", e)))?;
    let to = request.get("to").and_then(Value::as_str).ok_or("relay needs \"to\": the webhook URL")?;
    let event = request.get("event").ok_or("relay needs \"event\": the JSON to deliver")?;
    let host = webhook_host(to).ok_or_else(|| Error::new(format!("\"to\" must be an http:// or https:// URL without user info, got {}", json::quote(to))))?;
    let per_minute = per_minute()?;

    let now = forgeone::now_ms();
    let window = now - now.rem_euclid(WINDOW_MS);
    let key = format!("deliveries:{}", host);
    let used = match kv::get(&key)? {
        Some(stored) => deliveries_in(&stored, window),
        None => 0,
    };
    if used >= per_minute {
        forgeone::metric("relay.throttled", 1.0);
        let wait = (window + WINDOW_MS - now + 999) / 1000;
        return Err(Error::new(format!("rate limit reached for {}: {} deliveries per minute; the next window opens in {} s", host, per_minute, wait)));
    }
    // Counted before sending: a delivery that fails still used its slot, so a failing webhook is not hammered.
    kv::set(&key, format!("{} {}", window, used + 1).as_bytes())?;

    let body = event.to_string();
    let response = Request::post(to)
        .header("content-type", "application/json")
        .header("user-agent", "forgeone-webhook-relay-rs/1.0")
        .body(body.as_str())
        .send()
        .map_err(|e| match e {
            HttpError::Denied => Error::new(format!("the host refused {}: it is not in the plugin's http allow-list", host)),
            other => Error::new(format!("delivering to {} failed: {}", host, other)),
        })?;
    forgeone::metric("relay.delivered_bytes", body.len() as f64);
    log::info(&format!("relayed {} bytes to {}: HTTP {}", body.len(), host, response.status));
    if !response.is_success() {
        return Err(Error::new(format!("the webhook at {} answered HTTP {}", host, response.status)));
    }
    Ok(format!("{{\"status\":{},\"remaining\":{}}}", response.status, per_minute - used - 1))
}

/// Deliveries allowed per host and minute: config `per_minute`, else 5.
fn per_minute() -> forgeone::Result<i64> {
    match config::get("per_minute")? {
        None => Ok(DEFAULT_PER_MINUTE),
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if (1..=10_000).contains(&n) => Ok(n),
            _ => Err(Error::new(format!("config per_minute must be a whole number from 1 to 10000, got {}", json::quote(&text)))),
        },
    }
}

/// `host[:port]` of an http(s) URL, lower case; `None` for another scheme or a URL with user info.
fn webhook_host(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"))?;
    let authority = rest.split(|c| c == '/' || c == '?' || c == '#').next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(authority.to_owned())
}

/// Deliveries recorded for `window` in a stored "<window start> <count>"; 0 for another window.
fn deliveries_in(stored: &[u8], window: i64) -> i64 {
    let text = core::str::from_utf8(stored).unwrap_or("");
    let mut parts = text.split(' ');
    match (parts.next().and_then(|s| s.parse::<i64>().ok()), parts.next().and_then(|s| s.parse::<i64>().ok())) {
        (Some(start), Some(count)) if start == window => count,
        _ => 0,
    }
}
