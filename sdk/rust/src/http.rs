//! Outgoing HTTP through the host (capability `http`): `http_request`. The host refuses hosts outside
//! the manifest's `capabilities.http.allow`; a response status such as 404 is an answer, not an error.
//!
//! ```ignore
//! let response = forgeone::http::Request::post("https://hooks.acme.example/in")
//!     .header("content-type", "application/json")
//!     .body("{\"ok\":true}")
//!     .send()?;
//! ```

use core::fmt;

use crate::json::{self, Value};
use crate::{abi, base64, status};

/// Request methods the host accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// An outgoing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// `http:` or `https:`, without user info.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Request {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request { method, url: url.into(), headers: Vec::new(), body: None }
    }

    pub fn get(url: impl Into<String>) -> Self {
        Request::new(Method::Get, url)
    }

    pub fn head(url: impl Into<String>) -> Self {
        Request::new(Method::Head, url)
    }

    pub fn post(url: impl Into<String>) -> Self {
        Request::new(Method::Post, url)
    }

    pub fn put(url: impl Into<String>) -> Self {
        Request::new(Method::Put, url)
    }

    pub fn patch(url: impl Into<String>) -> Self {
        Request::new(Method::Patch, url)
    }

    pub fn delete(url: impl Into<String>) -> Self {
        Request::new(Method::Delete, url)
    }

    /// Adds a header (a name given twice keeps the last value).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body: sent as text when it is UTF-8, as base64 otherwise.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sends the request through the host and waits for the answer.
    pub fn send(&self) -> Result<Response, HttpError> {
        request(self)
    }

    /// The request as the host reads it: `{"method","url","headers","body"|"bodyBase64"}`.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"method\":\"");
        out.push_str(self.method.as_str());
        out.push_str("\",\"url\":");
        json::write_quoted(&mut out, &self.url);
        out.push_str(",\"headers\":{");
        for (i, (name, value)) in self.headers.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::write_quoted(&mut out, name);
            out.push(':');
            json::write_quoted(&mut out, value);
        }
        out.push('}');
        if let Some(body) = &self.body {
            match core::str::from_utf8(body) {
                Ok(text) => {
                    out.push_str(",\"body\":");
                    json::write_quoted(&mut out, text);
                }
                Err(_) => {
                    out.push_str(",\"bodyBase64\":\"");
                    out.push_str(&base64::encode(body));
                    out.push('"');
                }
            }
        }
        out.push('}');
        out
    }
}

/// The host's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Header names as the host gives them (lower case); several values of one header joined with `, `.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of a header, the name compared without regard to ASCII case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The body as text, if it is UTF-8.
    pub fn text(&self) -> Result<&str, core::str::Utf8Error> {
        core::str::from_utf8(&self.body)
    }

    /// A 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// -2: the URL's host is not on the manifest's allow-list, or policy refused `hook:http`.
    Denied,
    /// -3: a network error, a timeout, a response over the host's size limit, or a malformed request.
    Failed,
    /// -4: the response does not fit: memory could not grow for it.
    GuestOutOfMemory,
    /// -5: the response is larger than the host channel.
    TooLarge,
    /// The host's answer is not the response JSON the ABI describes.
    InvalidResponse(String),
    /// A status this SDK does not know (a newer host).
    Unexpected(i64),
}

impl HttpError {
    /// The error for a negative status of `http_request`.
    pub fn from_status(code: i64) -> Self {
        match code {
            status::DENIED => HttpError::Denied,
            status::FAILED => HttpError::Failed,
            status::GUEST_OUT_OF_MEMORY => HttpError::GuestOutOfMemory,
            status::TOO_LARGE => HttpError::TooLarge,
            other => HttpError::Unexpected(other),
        }
    }

    /// The host's status for this error, if it came from one.
    pub fn status(&self) -> Option<i64> {
        match self {
            HttpError::Denied => Some(status::DENIED),
            HttpError::Failed => Some(status::FAILED),
            HttpError::GuestOutOfMemory => Some(status::GUEST_OUT_OF_MEMORY),
            HttpError::TooLarge => Some(status::TOO_LARGE),
            HttpError::InvalidResponse(_) => None,
            HttpError::Unexpected(code) => Some(*code),
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            HttpError::Denied => "the host refused the request: its host is not in the plugin's http allow-list, or policy denies http",
            HttpError::Failed => "the request failed (network error, timeout, response too large or malformed request)",
            HttpError::GuestOutOfMemory => "the response does not fit in the plugin's memory",
            HttpError::TooLarge => "the response is larger than the host channel",
            HttpError::InvalidResponse(why) => return write!(f, "the host's answer is not an HTTP response: {}", why),
            HttpError::Unexpected(_) => "the request failed with an unknown status",
        };
        match self.status() {
            Some(code) => write!(f, "{} (status {})", what, code),
            None => f.write_str(what),
        }
    }
}

impl std::error::Error for HttpError {}

impl From<HttpError> for crate::Error {
    fn from(error: HttpError) -> Self {
        crate::Error::new(error.to_string())
    }
}

/// Sends `request` through the host and waits for the answer.
pub fn request(request: &Request) -> Result<Response, HttpError> {
    let json = request.to_json();
    let packed = unsafe { abi::http_request(json.as_ptr(), json.len()) };
    if packed < 0 {
        return Err(HttpError::from_status(packed));
    }
    // Safety: a non-negative answer is a block the host wrote through forgeone_alloc.
    parse_response(&unsafe { abi::take(packed) })
}

fn invalid(why: impl Into<String>) -> HttpError {
    HttpError::InvalidResponse(why.into())
}

/// Reads the host's response JSON; unknown members are ignored.
pub fn parse_response(answer: &[u8]) -> Result<Response, HttpError> {
    let text = core::str::from_utf8(answer).map_err(|_| invalid("not UTF-8"))?;
    let document = json::parse(text).map_err(|e| invalid(e.to_string()))?;
    if document.as_object().is_none() {
        return Err(invalid("not a JSON object"));
    }
    let status = match document.get("status").and_then(Value::as_i64) {
        Some(code) if (100..=999).contains(&code) => code as u16,
        _ => return Err(invalid("\"status\" is missing or not an HTTP status code")),
    };
    let mut headers = Vec::new();
    match document.get("headers") {
        None => {}
        Some(Value::Object(members)) => {
            for (name, value) in members {
                let value = value.as_str().ok_or_else(|| invalid(format!("header {} is not a string", name)))?;
                headers.push((name.clone(), value.to_owned()));
            }
        }
        Some(_) => return Err(invalid("\"headers\" is not an object")),
    }
    let body = match (document.get("body"), document.get("bodyBase64")) {
        (Some(Value::String(text)), None) => text.clone().into_bytes(),
        (None, Some(Value::String(encoded))) => base64::decode(encoded).ok_or_else(|| invalid("\"bodyBase64\" is not base64"))?,
        (None, None) => Vec::new(),
        _ => return Err(invalid("expected one string \"body\" or \"bodyBase64\"")),
    };
    Ok(Response { status, headers, body })
}
