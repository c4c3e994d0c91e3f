//! Just enough JSON for plugins and the host's answers: a value type, a strict parser (RFC 8259,
//! nesting limited to 128 levels) and compact output. Hand-written because the SDK takes no
//! dependencies (it must build offline with the distribution's toolchain); plugins that can use
//! crates may prefer serde_json.

use core::fmt;

/// A JSON value. Object members keep their order; [`Value::get`] answers the last member of a
/// name, as `JSON.parse` does. Numbers keep the literal they were written as, so a value passes
/// through unchanged (no rounding of large integers) and a plugin that does no float arithmetic
/// carries no float parsing or printing code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The member `name` of an object (the last one when it repeats); `None` for other values.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(number) => Some(number.as_f64()),
            _ => None,
        }
    }

    /// The number when it is written as an integer (no fraction or exponent) that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(number) => number.as_i64(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(value) => Some(*value),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(members) => Some(members),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::String(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::String(text)
    }
}

/// A number that is not finite becomes `null`, as in `JSON.stringify`.
impl From<f64> for Value {
    fn from(number: f64) -> Self {
        if number.is_finite() {
            Value::Number(Number(number.to_string()))
        } else {
            Value::Null
        }
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Self {
        Value::Number(Number(number.to_string()))
    }
}

/// A JSON number as written (valid JSON number syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number(String);

impl Number {
    /// The literal, e.g. `-12.5e3`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The nearest `f64` (infinite beyond its range).
    pub fn as_f64(&self) -> f64 {
        // JSON number syntax is a subset of what f64 parsing accepts.
        self.0.parse().unwrap_or(f64::NAN)
    }

    /// The value when the literal is an integer (no fraction or exponent) that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}

/// Compact JSON.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(value) => f.write_str(if *value { "true" } else { "false" }),
            Value::Number(number) => f.write_str(&number.0),
            Value::String(text) => f.write_str(&quote(text)),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}", item)?;
                }
                f.write_str("]")
            }
            Value::Object(members) => {
                f.write_str("{")?;
                for (i, (name, value)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}:{}", quote(name), value)?;
                }
                f.write_str("}")
            }
        }
    }
}

/// `text` as a JSON string literal, quotes included.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    write_quoted(&mut out, text);
    out
}

/// Appends `text` to `out` as a JSON string literal.
pub fn write_quoted(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut from = 0;
    for (i, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[from..i]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(HEX[(byte >> 4) as usize] as char);
            out.push(HEX[(byte & 15) as usize] as char);
        } else {
            out.push_str(escape);
        }
        from = i + 1;
    }
    out.push_str(&text[from..]);
    out.push('"');
}

/// Where and why a document is not JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset of the problem.
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for JsonError {}

impl From<JsonError> for crate::Error {
    fn from(error: JsonError) -> Self {
        crate::Error::new(error.to_string())
    }
}

const MAX_DEPTH: usize = 128;

/// Parses one JSON document (surrounding white space allowed, nothing else after it).
pub fn parse(text: &str) -> Result<Value, JsonError> {
    let mut parser = Parser { bytes: text.as_bytes(), at: 0 };
    let value = parser.value(0)?;
    parser.space();
    if parser.at != parser.bytes.len() {
        return Err(parser.fail("unexpected text after the document"));
    }
    Ok(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn fail(&self, reason: &'static str) -> JsonError {
        JsonError { offset: self.at, reason }
    }

    fn space(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.space();
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &'static str, value: Value) -> Result<Value, JsonError> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.fail("expected a value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.fail("nested deeper than 128 levels"));
        }
        self.space();
        match self.bytes.get(self.at) {
            None => Err(self.fail("unexpected end of the document")),
            Some(b'{') => {
                self.at += 1;
                let mut members = Vec::new();
                if self.eat(b'}') {
                    return Ok(Value::Object(members));
                }
                loop {
                    self.space();
                    if self.bytes.get(self.at) != Some(&b'"') {
                        return Err(self.fail("expected a member name in quotes"));
                    }
                    let name = self.string()?;
                    if !self.eat(b':') {
                        return Err(self.fail("expected ':' after a member name"));
                    }
                    members.push((name, self.value(depth + 1)?));
                    if self.eat(b',') {
                        continue;
                    }
                    if self.eat(b'}') {
                        return Ok(Value::Object(members));
                    }
                    return Err(self.fail("expected ',' or '}' in an object"));
                }
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                if self.eat(b']') {
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b',') {
                        continue;
                    }
                    if self.eat(b']') {
                        return Ok(Value::Array(items));
                    }
                    return Err(self.fail("expected ',' or ']' in an array"));
                }
            }
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.fail("expected a value")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.bytes.get(self.at) {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.at;
        if self.bytes[self.at] == b'-' {
            self.at += 1;
        }
        let leading_zero = self.bytes.get(self.at) == Some(&b'0');
        let whole = self.digits();
        if whole == 0 || (leading_zero && whole > 1) {
            return Err(JsonError { offset: start, reason: "invalid number" });
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(self.fail("expected digits after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(self.fail("expected digits in the exponent"));
            }
        }
        // Only ASCII digits, signs, '.' and 'e' were taken, so the slice is UTF-8.
        let text = core::str::from_utf8(&self.bytes[start..self.at]).map_err(|_| self.fail("invalid number"))?;
        Ok(Value::Number(Number(text.to_owned())))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = match self.bytes.get(self.at) {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.fail("expected four hex digits after \\u")),
            };
            value = value * 16 + digit as u32;
            self.at += 1;
        }
        Ok(value)
    }

    /// A string starting at the opening quote. The input is a `&str`, so raw bytes are UTF-8 already.
    fn string(&mut self) -> Result<String, JsonError> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let start = self.at;
            while let Some(&c) = self.bytes.get(self.at) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.at += 1;
            }
            out.extend_from_slice(&self.bytes[start..self.at]);
            match self.bytes.get(self.at) {
                None => return Err(self.fail("unterminated string")),
                Some(b'"') => {
                    self.at += 1;
                    // Built from whole UTF-8 sequences of the input and from encoded chars.
                    return String::from_utf8(out).map_err(|_| self.fail("invalid UTF-8 in a string"));
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escaped = match self.bytes.get(self.at) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.at += 1;
                            let unit = self.hex4()?;
                            self.at -= 1;
                            let code = if (0xd800..0xdc00).contains(&unit) && self.bytes[self.at + 1..].starts_with(b"\\u") {
                                let resume = self.at;
                                self.at += 3;
                                let low = self.hex4()?;
                                self.at -= 1;
                                if (0xdc00..0xe000).contains(&low) {
                                    0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
                                } else {
                                    // Not a pair: this unit alone is replaced, the next escape read on its own.
                                    self.at = resume;
                                    0xfffd
                                }
                            } else {
                                unit
                            };
                            // A lone surrogate becomes U+FFFD, as TextDecoder does.
                            char::from_u32(code).unwrap_or('\u{fffd}')
                        }
                        _ => return Err(self.fail("invalid escape")),
                    };
                    self.at += 1;
                    let mut buffer = [0u8; 4];
                    out.extend_from_slice(escaped.encode_utf8(&mut buffer).as_bytes());
                }
                Some(_) => return Err(self.fail("control character in a string")),
            }
        }
    }
}
