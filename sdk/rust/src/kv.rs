//! Plugin storage (capability `storage`): `kv_get`, `kv_set`, `kv_delete`. The host scopes keys to
//! the plugin and tenant; values are bytes. Storage is how a plugin keeps anything between calls.

use core::fmt;

use crate::{abi, status};

/// Why a storage call failed, one variant per status the host answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvError {
    /// -2: policy refused this plugin storage here (`hook:storage`).
    Denied,
    /// -3: the host could not answer (storage unavailable, no storage configured).
    Failed,
    /// -4: the stored value did not fit: memory could not grow for it.
    GuestOutOfMemory,
    /// -5: the value is larger than the host can carry (the stored value for [`get`], the value
    /// given for [`set`]).
    ValueTooLarge,
    /// -6: storing the value would take the plugin's or its tenant's storage past its quota;
    /// nothing was written.
    QuotaExceeded,
    /// A status this SDK does not know (a newer host).
    Unexpected(i64),
}

impl KvError {
    /// The error for a negative status of `kv_get`, `kv_set` or `kv_delete`.
    pub fn from_status(code: i64) -> Self {
        match code {
            status::DENIED => KvError::Denied,
            status::FAILED => KvError::Failed,
            status::GUEST_OUT_OF_MEMORY => KvError::GuestOutOfMemory,
            status::TOO_LARGE => KvError::ValueTooLarge,
            status::QUOTA_EXCEEDED => KvError::QuotaExceeded,
            other => KvError::Unexpected(other),
        }
    }

    /// The host's status for this error.
    pub fn status(&self) -> i64 {
        match self {
            KvError::Denied => status::DENIED,
            KvError::Failed => status::FAILED,
            KvError::GuestOutOfMemory => status::GUEST_OUT_OF_MEMORY,
            KvError::ValueTooLarge => status::TOO_LARGE,
            KvError::QuotaExceeded => status::QUOTA_EXCEEDED,
            KvError::Unexpected(code) => *code,
        }
    }
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            KvError::Denied => "storage is denied to this plugin by policy",
            KvError::Failed => "the host could not reach storage",
            KvError::GuestOutOfMemory => "the stored value does not fit in the plugin's memory",
            KvError::ValueTooLarge => "the value is larger than the host can carry",
            KvError::QuotaExceeded => "the storage quota would be exceeded; nothing was written",
            KvError::Unexpected(_) => "storage failed with an unknown status",
        };
        write!(f, "{} (status {})", what, self.status())
    }
}

impl std::error::Error for KvError {}

impl From<KvError> for crate::Error {
    fn from(error: KvError) -> Self {
        crate::Error::new(error.to_string())
    }
}

/// The value stored under `key`, or `None` when there is none.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, KvError> {
    let packed = unsafe { abi::kv_get(key.as_ptr(), key.len()) };
    match packed {
        status::NOT_FOUND => Ok(None),
        code if code < 0 => Err(KvError::from_status(code)),
        // Safety: a non-negative answer is a block the host wrote through forgeone_alloc.
        packed => Ok(Some(unsafe { abi::take(packed) })),
    }
}

/// Stores `value` under `key`, replacing what was there.
pub fn set(key: &str, value: &[u8]) -> Result<(), KvError> {
    let code = unsafe { abi::kv_set(key.as_ptr(), key.len(), value.as_ptr(), value.len()) };
    match code as i64 {
        status::OK => Ok(()),
        code => Err(KvError::from_status(code)),
    }
}

/// Deletes `key`: `true` when it existed, `false` when there was nothing to delete.
pub fn delete(key: &str) -> Result<bool, KvError> {
    let code = unsafe { abi::kv_delete(key.as_ptr(), key.len()) };
    match code as i64 {
        status::OK => Ok(true),
        status::NOT_FOUND => Ok(false),
        code => Err(KvError::from_status(code)),
    }
}
