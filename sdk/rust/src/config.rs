//! Installation configuration (capability `config`): `config_get`.

use core::fmt;

use crate::{abi, status};

/// Why reading a configuration value failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// -4: the value does not fit: memory could not grow for it.
    GuestOutOfMemory,
    /// The host answered bytes that are not UTF-8.
    NotUtf8,
    /// A status this SDK does not know (a newer host).
    Unexpected(i64),
}

impl ConfigError {
    /// The error for a negative status of `config_get` other than -1 (not set).
    pub fn from_status(code: i64) -> Self {
        match code {
            status::GUEST_OUT_OF_MEMORY => ConfigError::GuestOutOfMemory,
            other => ConfigError::Unexpected(other),
        }
    }

    /// The host's status for this error, if it came from one.
    pub fn status(&self) -> Option<i64> {
        match self {
            ConfigError::GuestOutOfMemory => Some(status::GUEST_OUT_OF_MEMORY),
            ConfigError::NotUtf8 => None,
            ConfigError::Unexpected(code) => Some(*code),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::GuestOutOfMemory => write!(f, "the configuration value does not fit in the plugin's memory (status {})", status::GUEST_OUT_OF_MEMORY),
            ConfigError::NotUtf8 => f.write_str("the configuration value is not UTF-8"),
            ConfigError::Unexpected(code) => write!(f, "reading configuration failed with an unknown status (status {})", code),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for crate::Error {
    fn from(error: ConfigError) -> Self {
        crate::Error::new(error.to_string())
    }
}

/// The value set for `key` in this installation (or overridden for the call), `None` when unset.
pub fn get(key: &str) -> Result<Option<String>, ConfigError> {
    let packed = unsafe { abi::config_get(key.as_ptr(), key.len()) };
    match packed {
        status::NOT_FOUND => Ok(None),
        code if code < 0 => Err(ConfigError::from_status(code)),
        // Safety: a non-negative answer is a block the host wrote through forgeone_alloc.
        packed => String::from_utf8(unsafe { abi::take(packed) }).map(Some).map_err(|_| ConfigError::NotUtf8),
    }
}
