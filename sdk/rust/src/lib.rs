//! Write ForgeOne plugins (ABI v1, docs/abi.md) in Rust for `wasm32-unknown-unknown`.
//!
//! The SDK exports `forgeone_abi_version` and `forgeone_alloc`, sets a bump allocator as the global
//! allocator, exports handlers declared with [`handlers!`], wraps every host function with a safe
//! function that answers a `Result` with a typed error per host status, and reports a panic's
//! message to the host before the module traps (build with `panic = "abort"`), so the caller sees
//! `SANDBOX.GUEST_ERROR` with that message. See README.md for a worked example and build settings.

#[cfg(not(target_arch = "wasm32"))]
compile_error!("forgeone-plugin-sdk builds ForgeOne plugins: cargo build --release --target wasm32-unknown-unknown");

mod abi;
pub mod auth;
mod base64;
pub mod config;
mod handler;
pub mod http;
pub mod json;
pub mod kv;

pub use abi::{forgeone_abi_version, forgeone_alloc, BumpAllocator};
pub use handler::{run, Error, FromInput, IntoOutput};

/// A handler's result.
pub type Result<T> = core::result::Result<T, Error>;

/// Exports functions as ABI v1 handlers `(ptr: i32, len: i32) -> i64` under their own names. Each
/// function takes its input as `&[u8]`, `&str`, `Vec<u8>` or `String` (text must be UTF-8, else
/// the call fails before the function runs) and returns `Result<O, E>` where `O` is `Vec<u8>`,
/// `String`, `&'static str`, `&'static [u8]`, `Box<[u8]>` or `()`, and `E` converts into
/// [`Error`] (`Error`, `String`, `&str`, and this SDK's error types do).
///
/// ```ignore
/// forgeone::handlers!(shout);
///
/// fn shout(text: &str) -> forgeone::Result<String> {
///     if text.is_empty() {
///         return Err("shout needs some text".into());
///     }
///     Ok(text.to_uppercase())
/// }
/// ```
#[macro_export]
macro_rules! handlers {
    ($($name:ident),+ $(,)?) => {
        $(
            const _: () = {
                #[export_name = ::core::stringify!($name)]
                extern "C" fn __forgeone_export(ptr: i32, len: i32) -> i64 {
                    $crate::run(::core::stringify!($name), ptr, len, $name)
                }
            };
        )+
    };
}

/// Host statuses (`HOST_STATUS` in libs/plugin-abi): 0 is ok, negatives are failures. The typed
/// errors of each module map them; these are for code that reads raw results.
pub mod status {
    pub const OK: i64 = 0;
    /// The config key or storage key does not exist.
    pub const NOT_FOUND: i64 = -1;
    /// Policy or the http allow-list refused this use.
    pub const DENIED: i64 = -2;
    /// The host could not answer.
    pub const FAILED: i64 = -3;
    /// `forgeone_alloc` returned 0 for the answer.
    pub const GUEST_OUT_OF_MEMORY: i64 = -4;
    /// The answer, or the value given to `kv_set`, is larger than the host channel.
    pub const TOO_LARGE: i64 = -5;
    /// `kv_set` would exceed the plugin's or its tenant's storage quota.
    pub const QUOTA_EXCEEDED: i64 = -6;
}

/// Log levels of [`log::write`].
pub mod log {
    use crate::abi;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Level {
        Debug = 0,
        Info = 1,
        Warn = 2,
        Error = 3,
    }

    /// Writes a log entry (capability `log`); the host keeps 256 entries per call, 4096 bytes each.
    pub fn write(level: Level, message: &str) {
        unsafe { abi::log(level as i32, message.as_ptr(), message.len()) }
    }

    pub fn debug(message: &str) {
        write(Level::Debug, message)
    }

    pub fn info(message: &str) {
        write(Level::Info, message)
    }

    pub fn warn(message: &str) {
        write(Level::Warn, message)
    }

    pub fn error(message: &str) {
        write(Level::Error, message)
    }
}

/// Records a metric sample (capability `metrics`); the host keeps 256 per call.
pub fn metric(name: &str, value: f64) {
    unsafe { abi::metric(name.as_ptr(), name.len(), value) }
}

/// Milliseconds since the Unix epoch, fixed when the call started (capability `clock`).
pub fn now_ms() -> i64 {
    unsafe { abi::now_ms() }
}

/// Sets the message the host reports if the handler fails; the last one wins. A handler returning
/// `Err` sets it already.
pub fn set_error(message: &str) {
    unsafe { abi::error(message.as_ptr(), message.len()) }
}
