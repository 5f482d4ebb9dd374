//! Protection against guessing and floods: an address that fails
//! authentication too often is ignored for a while, so one attacker cannot
//! try passwords at line rate or crowd out the node's other work.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct GuardConfig {
    /// Failures allowed within `window` before the address is banned.
    pub max_failures: u32,
    pub window: Duration,
    pub ban: Duration,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            max_failures: 10,
            window: Duration::from_secs(60),
            ban: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Default)]
struct Record {
    window_start: Option<Instant>,
    failures: u32,
    banned_until: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct Guard {
    cfg: GuardConfig,
    by_ip: HashMap<IpAddr, Record>,
}

impl Guard {
    pub fn new(cfg: GuardConfig) -> Guard {
        Guard {
            cfg,
            by_ip: HashMap::new(),
        }
    }

    /// Should traffic from `ip` be dropped unread?
    pub fn is_banned(&self, now: Instant, ip: IpAddr) -> bool {
        self.by_ip
            .get(&ip)
            .and_then(|r| r.banned_until)
            .is_some_and(|until| now < until)
    }

    /// Counts a failed authentication; returns true when this one bans the address.
    pub fn failure(&mut self, now: Instant, ip: IpAddr) -> bool {
        let cfg = self.cfg;
        let r = self.by_ip.entry(ip).or_default();
        match r.window_start {
            Some(start) if now.duration_since(start) < cfg.window => r.failures += 1,
            _ => {
                r.window_start = Some(now);
                r.failures = 1;
            }
        }
        if r.failures > cfg.max_failures {
            r.banned_until = Some(now + cfg.ban);
            r.failures = 0;
            r.window_start = None;
            return true;
        }
        false
    }

    /// A successful authentication clears the address's count.
    pub fn success(&mut self, ip: IpAddr) {
        self.by_ip.remove(&ip);
    }

    /// Forgets addresses with nothing left to remember.
    pub fn purge(&mut self, now: Instant) {
        let window = self.cfg.window;
        self.by_ip.retain(|_, r| {
            r.banned_until.is_some_and(|u| now < u)
                || r.window_start
                    .is_some_and(|s| now.duration_since(s) < window)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_failures_ban_the_address_for_a_while_only() {
        let t0 = Instant::now();
        let ip: IpAddr = "10.0.0.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let other: IpAddr = "10.0.0.8".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let mut g = Guard::new(GuardConfig {
            max_failures: 3,
            window: Duration::from_secs(60),
            ban: Duration::from_secs(300),
        });
        for i in 0..3 {
            assert!(!g.failure(t0 + Duration::from_secs(i), ip));
        }
        assert!(!g.is_banned(t0, ip));
        assert!(
            g.failure(t0 + Duration::from_secs(4), ip),
            "the fourth failure bans"
        );
        assert!(g.is_banned(t0 + Duration::from_secs(5), ip));
        assert!(!g.is_banned(t0 + Duration::from_secs(5), other));
        assert!(
            !g.is_banned(t0 + Duration::from_secs(305), ip),
            "the ban ends"
        );
        // Failures spread out over longer than the window never add up.
        for i in 0..10 {
            assert!(!g.failure(t0 + Duration::from_secs(400 + 61 * i), other));
        }
        g.success(other);
        g.purge(t0 + Duration::from_secs(2000));
        assert!(g.by_ip.is_empty());
    }
}
