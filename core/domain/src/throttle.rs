//! Login throttling: after [`MAX_FAILURES`] failed attempts inside
//! [`WINDOW_MS`] the account's login is locked for [`LOCK_MS`]. A success
//! clears the record. Pure: the caller stores [`LoginAttempts`] and passes `now`.

use crate::Millis;
use serde::{Deserialize, Serialize};

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW_MS: Millis = 15 * 60 * 1000;
pub const LOCK_MS: Millis = 15 * 60 * 1000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginAttempts {
    pub failures: u32,
    pub window_start: Millis,
    pub locked_until: Option<Millis>,
}

impl LoginAttempts {
    /// `Err(retry_after_ms)` while locked.
    pub fn check(&self, now: Millis) -> Result<(), Millis> {
        match self.locked_until {
            Some(until) if now < until => Err(until - now),
            _ => Ok(()),
        }
    }

    pub fn record_failure(&mut self, now: Millis) {
        let lock_expired = self.locked_until.is_some_and(|u| now >= u);
        if lock_expired || now - self.window_start >= WINDOW_MS {
            *self = LoginAttempts {
                failures: 0,
                window_start: now,
                locked_until: None,
            };
        }
        self.failures += 1;
        if self.failures >= MAX_FAILURES {
            self.locked_until = Some(now + LOCK_MS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_in_window_and_unlocks_later() {
        let mut a = LoginAttempts::default();
        let t0 = 1_000_000;
        for i in 0..MAX_FAILURES {
            assert!(a.check(t0 + i as i64).is_ok());
            a.record_failure(t0 + i as i64);
        }
        let now = t0 + MAX_FAILURES as i64;
        let retry = a.check(now).unwrap_err();
        assert!(retry > LOCK_MS - 10 && retry <= LOCK_MS);
        assert!(a.check(now + LOCK_MS).is_ok());
    }

    #[test]
    fn failures_spread_beyond_window_do_not_lock() {
        let mut a = LoginAttempts::default();
        let mut now = 0;
        for _ in 0..(MAX_FAILURES * 3) {
            a.record_failure(now);
            assert!(a.check(now).is_ok());
            now += WINDOW_MS / 2 + 1;
            if a.failures >= 2 {
                now += WINDOW_MS;
            }
        }
    }
}
