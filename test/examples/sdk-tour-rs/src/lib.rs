//! Calls every host function through the Rust SDK, for test/examples/rust-sdk.spec.ts.

use forgeone::auth::{self, AuthError, Resource};
use forgeone::config::ConfigError;
use forgeone::http::{HttpError, Request};
use forgeone::kv::{self, KvError};
use forgeone::{json, log, Error};

forgeone::handlers!(config, clock, storage, storage_errors, statuses, auth, post, binary, bytes, json, fail, explode, hoard);

fn config(key: &str) -> forgeone::Result<String> {
    Ok(forgeone::config::get(key)?.unwrap_or_else(|| "<unset>".to_owned()))
}

fn clock(_: &[u8]) -> forgeone::Result<String> {
    Ok(forgeone::now_ms().to_string())
}

// Stores the input under "k", reads it back, deletes twice: "<len>,<deleted>,<deleted again>,<get after>".
fn storage(input: Vec<u8>) -> forgeone::Result<String> {
    kv::set("k", &input)?;
    let back = kv::get("k")?.ok_or("kv::get found nothing after kv::set")?;
    if back != input {
        return Err("kv::get answered other bytes than were stored".into());
    }
    let first = kv::delete("k")?;
    let second = kv::delete("k")?;
    let after = kv::get("k")?;
    log::debug("storage done");
    forgeone::metric("tour.bytes", back.len() as f64);
    Ok(format!("{},{},{},{:?}", back.len(), first, second, after))
}

// What kv::get, kv::set and kv::delete of the input key answer: "get=<..>;set=<..>;delete=<..>".
fn storage_errors(key: &str) -> forgeone::Result<String> {
    let get = match kv::get(key) {
        Ok(Some(value)) => format!("Ok({} bytes)", value.len()),
        other => format!("{:?}", other),
    };
    Ok(format!("get={};set={:?};delete={:?}", get, kv::set(key, b"v"), kv::delete(key)))
}

// The typed error of every status from -1 to -7, per wrapper, with the status it maps back to.
fn statuses(_: &[u8]) -> forgeone::Result<String> {
    let mut lines = Vec::new();
    for code in -7i64..=-1 {
        let kv = KvError::from_status(code);
        let http = HttpError::from_status(code);
        let auth = AuthError::from_status(code);
        let config = ConfigError::from_status(code);
        lines.push(format!("{} kv={:?}/{} http={:?}/{:?} auth={:?}/{} config={:?}/{:?}", code, kv, kv.status(), http, http.status(), auth, auth.status(), config, config.status()));
    }
    lines.push(KvError::QuotaExceeded.to_string());
    lines.push(KvError::ValueTooLarge.to_string());
    Ok(lines.join("\n"))
}

fn answer(result: Result<bool, AuthError>) -> String {
    match result {
        Ok(allowed) => (allowed as i32).to_string(),
        Err(error) => error.status().to_string(),
    }
}

fn auth(action: &str) -> forgeone::Result<String> {
    Ok(format!("{},{}", answer(auth::check(action)), answer(auth::check_on(action, Resource::Environment("staging")))))
}

// POSTs text with a header that needs escaping; answers "<status>|<header x-echo>|<body>".
fn post(url: &str) -> forgeone::Result<String> {
    let response = Request::post(url).header("x-note", "quote \" backslash \\ tab \t é").body("line1\nline2 \u{2603} \"q\"").send()?;
    Ok(format!("{}|{}|{}", response.status, response.header("X-Echo").unwrap_or(""), response.text().map_err(|e| Error::new(e.to_string()))?))
}

// PUTs bytes that are not UTF-8 (sent as bodyBase64) and answers the response body's bytes.
fn binary(url: &str) -> forgeone::Result<Vec<u8>> {
    let response = Request::put(url).body(vec![0u8, 0xff, 0xfe, 0x80, 0x7f]).send()?;
    Ok(response.body)
}

fn bytes(input: Vec<u8>) -> forgeone::Result<Vec<u8>> {
    Ok(input.into_iter().rev().collect())
}

// Parses the input and writes it back compactly, with the type of its "n" member.
fn json(text: &str) -> forgeone::Result<String> {
    let value = json::parse(text)?;
    let n = value.get("n").map(|n| format!("{:?}/{:?}", n.as_i64(), n.as_f64())).unwrap_or_default();
    Ok(format!("{} {}", value, n))
}

fn fail(_: &[u8]) -> Result<(), Error> {
    Err(Error::with_code("the tour fails on purpose", -42))
}

fn explode(input: &str) -> forgeone::Result<String> {
    let words: Vec<&str> = input.split(' ').collect();
    // Indexing past the end panics with the standard library's message.
    if words.len() < 3 {
        let _ = words[5];
    }
    panic!("the tour panics on purpose: {} words", words.len());
}

// Allocates the input's number of KiB and answers how many bytes it holds.
fn hoard(kib: &str) -> forgeone::Result<String> {
    let kib: usize = kib.parse().map_err(|_| Error::new(format!("hoard needs a number of KiB, got {}", json::quote(kib))))?;
    let block = vec![7u8; kib * 1024];
    Ok(block.iter().map(|&b| b as usize).sum::<usize>().to_string())
}
