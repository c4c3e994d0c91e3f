//! Handler plumbing: read the input the host wrote, run the plugin's function, pack its output or
//! report its error, and report a panic's message before the module traps.

use core::fmt::{self, Write};
use std::panic::PanicInfo;

use crate::abi;

/// A handler's failure: the host answers `SANDBOX.GUEST_ERROR` with [`Error::message`] and
/// `details.result` = [`Error::code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
    code: i64,
}

impl Error {
    /// A failure with code -1.
    pub fn new(message: impl Into<String>) -> Self {
        Error { message: message.into(), code: -1 }
    }

    /// A failure with the plugin's own negative code; a code that is not negative becomes -1.
    pub fn with_code(message: impl Into<String>, code: i64) -> Self {
        Error { message: message.into(), code: if code < 0 { code } else { -1 } }
    }

    /// The message the host reports (at most 4096 bytes reach the caller).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The handler's negative result.
    pub fn code(&self) -> i64 {
        self.code
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<&str> for Error {
    fn from(message: &str) -> Self {
        Error::new(message)
    }
}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Error::new(message)
    }
}

/// Types a handler can take as its input.
pub trait FromInput<'a>: Sized {
    /// Reads the input bytes; an error fails the call before the handler runs.
    fn from_input(bytes: &'a [u8]) -> Result<Self, Error>;
}

impl<'a> FromInput<'a> for &'a [u8] {
    fn from_input(bytes: &'a [u8]) -> Result<Self, Error> {
        Ok(bytes)
    }
}

impl<'a> FromInput<'a> for &'a str {
    fn from_input(bytes: &'a [u8]) -> Result<Self, Error> {
        core::str::from_utf8(bytes).map_err(|e| Error::new(format!("the input is not valid UTF-8: {}", e)))
    }
}

impl FromInput<'_> for Vec<u8> {
    fn from_input(bytes: &[u8]) -> Result<Self, Error> {
        Ok(bytes.to_vec())
    }
}

impl FromInput<'_> for String {
    fn from_input(bytes: &[u8]) -> Result<Self, Error> {
        <&str>::from_input(bytes).map(str::to_owned)
    }
}

/// Types a handler can return as its output.
pub trait IntoOutput {
    /// Packs the output for the host as `(ptr << 32) | len`; the bytes must stay in memory.
    fn into_output(self) -> i64;
}

impl IntoOutput for Vec<u8> {
    fn into_output(self) -> i64 {
        let packed = abi::pack(self.as_ptr(), self.len());
        // The host copies the output after the handler returns; the instance is reset after that.
        core::mem::forget(self);
        packed
    }
}

impl IntoOutput for String {
    fn into_output(self) -> i64 {
        self.into_bytes().into_output()
    }
}

impl IntoOutput for Box<[u8]> {
    fn into_output(self) -> i64 {
        self.into_vec().into_output()
    }
}

impl IntoOutput for &'static [u8] {
    fn into_output(self) -> i64 {
        abi::pack(self.as_ptr(), self.len())
    }
}

impl IntoOutput for &'static str {
    fn into_output(self) -> i64 {
        self.as_bytes().into_output()
    }
}

impl IntoOutput for () {
    fn into_output(self) -> i64 {
        0
    }
}

/// Runs one handler call: what [`handlers!`](crate::handlers) exports for each handler. `handler`
/// names it in panic messages; `ptr`/`len` are the arguments the host passed.
///
/// ```ignore
/// #[export_name = "shout"]
/// pub extern "C" fn shout_export(ptr: i32, len: i32) -> i64 {
///     forgeone::run("shout", ptr, len, |text: &str| -> forgeone::Result<String> { Ok(text.to_uppercase()) })
/// }
/// ```
pub fn run<'a, I, O, E, F>(handler: &'static str, ptr: i32, len: i32, f: F) -> i64
where
    I: FromInput<'a>,
    O: IntoOutput,
    E: Into<Error>,
    F: FnOnce(I) -> Result<O, E>,
{
    install_panic_hook(handler);
    let bytes: &'a [u8] = if len <= 0 {
        &[]
    } else {
        // Safety: the host wrote `len` bytes at `ptr` (a block from forgeone_alloc) and the block
        // stays allocated for the whole call.
        unsafe { core::slice::from_raw_parts(ptr as usize as *const u8, len as usize) }
    };
    match I::from_input(bytes).and_then(|input| f(input).map_err(Into::into)) {
        Ok(output) => output.into_output(),
        Err(error) => {
            crate::set_error(&error.message);
            error.code
        }
    }
}

// The handler running, named in a panic's message.
static mut RUNNING: &str = "";

fn install_panic_hook(handler: &'static str) {
    // Safety: one thread; set before the handler runs, read only by the hook during this call.
    unsafe { RUNNING = handler };
    // Every call starts from the module's initial memory, where no hook is set yet.
    std::panic::set_hook(Box::new(report_panic));
}

/// Reports a panic through `forgeone.error`; with `panic = "abort"` the module then traps on
/// `unreachable` and the host answers `SANDBOX.GUEST_ERROR` with this message.
fn report_panic(info: &PanicInfo<'_>) {
    // A fixed buffer: the panic may come from a failed allocation.
    let mut message = MessageBuffer { bytes: [0; MAX_MESSAGE_BYTES], len: 0 };
    let payload = info.payload();
    let text = match payload.downcast_ref::<&str>() {
        Some(text) => text,
        None => payload.downcast_ref::<String>().map(String::as_str).unwrap_or("(a panic payload that is not text)"),
    };
    // Safety: written by install_panic_hook before this call's handler started.
    let handler = unsafe { RUNNING };
    let _ = match info.location() {
        Some(at) => write!(message, "{} panicked at {}:{}:{}: {}", handler, at.file(), at.line(), at.column(), text),
        None => write!(message, "{} panicked: {}", handler, text),
    };
    unsafe { abi::error(message.bytes.as_ptr(), message.len) };
}

// The host keeps at most 4096 bytes of a message.
const MAX_MESSAGE_BYTES: usize = 4096;

struct MessageBuffer {
    bytes: [u8; MAX_MESSAGE_BYTES],
    len: usize,
}

impl Write for MessageBuffer {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let room = MAX_MESSAGE_BYTES - self.len;
        let mut take = text.len().min(room);
        while !text.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}
