//! Policy questions about the current caller (capability `auth`): `auth_check`. Fail closed: treat
//! anything but `Ok(true)` as refused.

use core::fmt;

use crate::{abi, json, status};

/// What a question is about; without one ([`check`]) it is the calling plugin itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// A plugin by name, e.g. `acme/pii-redactor`.
    Plugin(&'a str),
    /// An environment, e.g. `staging`.
    Environment(&'a str),
    /// A tenant.
    Tenant(&'a str),
}

impl Resource<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Resource::Plugin(_) => "Plugin",
            Resource::Environment(_) => "Environment",
            Resource::Tenant(_) => "Tenant",
        }
    }

    fn id(&self) -> &str {
        match self {
            Resource::Plugin(id) | Resource::Environment(id) | Resource::Tenant(id) => id,
        }
    }
}

/// Why the host could not answer a policy question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// -2: this plugin may not ask (policy on `hook:auth`).
    Denied,
    /// -3: the request was malformed or the policy service could not answer.
    Failed,
    /// A status this SDK does not know (a newer host).
    Unexpected(i64),
}

impl AuthError {
    /// The error for a status of `auth_check` other than 1 (allowed) and 0 (refused).
    pub fn from_status(code: i64) -> Self {
        match code {
            status::DENIED => AuthError::Denied,
            status::FAILED => AuthError::Failed,
            other => AuthError::Unexpected(other),
        }
    }

    /// The host's status for this error.
    pub fn status(&self) -> i64 {
        match self {
            AuthError::Denied => status::DENIED,
            AuthError::Failed => status::FAILED,
            AuthError::Unexpected(code) => *code,
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            AuthError::Denied => "this plugin may not ask policy questions",
            AuthError::Failed => "the policy service could not answer",
            AuthError::Unexpected(_) => "the policy question failed with an unknown status",
        };
        write!(f, "{} (status {})", what, self.status())
    }
}

impl std::error::Error for AuthError {}

impl From<AuthError> for crate::Error {
    fn from(error: AuthError) -> Self {
        crate::Error::new(error.to_string())
    }
}

/// May the current caller do `action` (a ForgeOne policy action such as `invoke` or `install`) on
/// the calling plugin?
pub fn check(action: &str) -> Result<bool, AuthError> {
    ask(action, None)
}

/// May the current caller do `action` on `resource`?
pub fn check_on(action: &str, resource: Resource<'_>) -> Result<bool, AuthError> {
    ask(action, Some(resource))
}

fn ask(action: &str, resource: Option<Resource<'_>>) -> Result<bool, AuthError> {
    let mut request = String::from("{\"action\":");
    json::write_quoted(&mut request, action);
    if let Some(resource) = resource {
        request.push_str(",\"resource\":{\"type\":\"");
        request.push_str(resource.kind());
        request.push_str("\",\"id\":");
        json::write_quoted(&mut request, resource.id());
        request.push('}');
    }
    request.push('}');
    match unsafe { abi::auth_check(request.as_ptr(), request.len()) } {
        1 => Ok(true),
        0 => Ok(false),
        code => Err(AuthError::from_status(code as i64)),
    }
}
