//! Everything a credential reads from the machine, in one injectable value.

use crate::{Clock, Env, SystemClock};
use std::sync::Arc;

/// What a credential reads from the machine: environment variables and the clock.
///
/// The default is the real process environment and the system clock. Tests (and
/// apps that configure credentials from their own settings) replace either.
#[derive(Clone, Debug)]
pub struct Platform {
    /// Where environment variables are read from.
    pub env: Env,
    /// Where the current time is read from.
    pub clock: Arc<dyn Clock>,
}

impl Default for Platform {
    fn default() -> Self {
        Self {
            env: Env::system(),
            clock: Arc::new(SystemClock),
        }
    }
}

impl Platform {
    /// The real environment with a fixed set of variables instead of the process's.
    pub fn with_env(env: Env) -> Self {
        Self {
            env,
            ..Self::default()
        }
    }
}
