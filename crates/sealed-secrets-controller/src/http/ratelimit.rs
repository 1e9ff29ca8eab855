//! Per-client rate limiting of `/v1/verify` and `/v1/rotate` (docs/upstream-behavior.md, "The controller").
//!
//! The algorithm is GCRA (the generic cell rate algorithm), with upstream's parameters:
//! emission interval `T = 1 s / rate`, tolerance `T × (burst + 1)`, so `burst + 1` requests pass
//! at once and then `rate` per second. Clients are keyed by their address (see [`super::client`]:
//! the TCP peer, or the address the API server's proxy appended) and the path. Answers carry
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` and, when denied,
//! `Retry-After` (whole seconds, rounded up).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Clients remembered at most; beyond that, expired entries are dropped, then the oldest.
const MAX_CLIENTS: usize = 65_536;

/// The outcome of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// `X-RateLimit-Limit`: requests allowed at once (burst + 1).
    pub limit: u32,
    /// `X-RateLimit-Remaining`: requests still allowed at once.
    pub remaining: u32,
    /// `X-RateLimit-Reset`: until the client is back to a full allowance.
    pub reset_after: Duration,
    /// `Retry-After` for denied requests.
    pub retry_after: Option<Duration>,
}

impl Decision {
    /// The response headers for this decision (seconds rounded up).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("X-RateLimit-Limit", self.limit.to_string()),
            ("X-RateLimit-Remaining", self.remaining.to_string()),
            ("X-RateLimit-Reset", ceil_secs(self.reset_after).to_string()),
        ];
        if let Some(retry) = self.retry_after {
            headers.push(("Retry-After", ceil_secs(retry).to_string()));
        }
        headers
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// A GCRA limiter over many clients.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    tolerance: Duration,
    limit: u32,
    /// Theoretical arrival time per client key.
    tats: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    /// `rate` requests per second sustained, `burst` extra at once.
    pub fn new(rate: NonZeroU32, burst: u32) -> RateLimiter {
        let interval = Duration::from_secs(1) / rate.get();
        let limit = burst.saturating_add(1);
        RateLimiter {
            interval,
            tolerance: interval * limit,
            limit,
            tats: Mutex::new(HashMap::new()),
        }
    }

    /// The client key of a request: the client's address, then the path.
    pub fn key(client: std::net::IpAddr, path: &str) -> String {
        format!("{client}\n{path}")
    }

    /// Decides on one request of `key` at `now`.
    pub fn check(&self, key: &str, now: Instant) -> Decision {
        let mut tats = self
            .tats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tat = tats.get(key).copied().unwrap_or(now).max(now);
        let new_tat = tat + self.interval;
        // The request is allowed if new_tat - tolerance <= now.
        let allow_at = new_tat.checked_sub(self.tolerance);
        let slack = match allow_at {
            Some(at) if at > now => None,
            Some(at) => Some(now - at),
            None => Some(self.tolerance - (new_tat - now)),
        };
        match slack {
            Some(slack) => {
                if tats.len() >= MAX_CLIENTS && !tats.contains_key(key) {
                    evict(&mut tats, now);
                }
                tats.insert(key.to_owned(), new_tat);
                let remaining = (slack.as_nanos() / self.interval.as_nanos().max(1)) as u32;
                Decision {
                    allowed: true,
                    limit: self.limit,
                    remaining: remaining.min(self.limit),
                    reset_after: new_tat - now,
                    retry_after: None,
                }
            }
            None => {
                let wait = allow_at.map(|at| at - now).unwrap_or_default();
                Decision {
                    allowed: false,
                    limit: self.limit,
                    remaining: 0,
                    reset_after: tat - now,
                    retry_after: Some(wait),
                }
            }
        }
    }
}

/// Drops clients whose allowance is full again; if none, the one that will be full soonest.
fn evict(tats: &mut HashMap<String, Instant>, now: Instant) {
    tats.retain(|_, tat| *tat > now);
    if tats.len() >= MAX_CLIENTS
        && let Some(oldest) = tats
            .iter()
            .min_by_key(|(_, tat)| **tat)
            .map(|(k, _)| k.clone())
    {
        tats.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().expect("address")
    }

    fn limiter(rate: u32, burst: u32) -> RateLimiter {
        RateLimiter::new(NonZeroU32::new(rate).expect("non-zero"), burst)
    }

    #[test]
    fn burst_plus_one_then_rate() {
        let l = limiter(2, 2);
        let t0 = Instant::now();
        let k = RateLimiter::key(ip("10.0.0.1"), "/v1/verify");
        let remaining: Vec<_> = (0..3).map(|_| l.check(&k, t0)).collect();
        assert!(remaining.iter().all(|d| d.allowed));
        assert_eq!(
            remaining.iter().map(|d| d.remaining).collect::<Vec<_>>(),
            vec![2, 1, 0]
        );
        assert_eq!(remaining[0].limit, 3);
        let denied = l.check(&k, t0);
        assert!(!denied.allowed);
        assert_eq!(denied.retry_after, Some(Duration::from_millis(500)));
        assert_eq!(
            denied.headers().last(),
            Some(&("Retry-After", "1".to_owned()))
        );
        // After one emission interval, exactly one more request passes.
        let later = t0 + Duration::from_millis(500);
        assert!(l.check(&k, later).allowed);
        assert!(!l.check(&k, later).allowed);
    }

    #[test]
    fn clients_and_paths_are_separate() {
        let l = limiter(1, 0);
        let t0 = Instant::now();
        assert!(
            l.check(&RateLimiter::key(ip("10.0.0.1"), "/v1/verify"), t0)
                .allowed
        );
        assert!(
            !l.check(&RateLimiter::key(ip("10.0.0.1"), "/v1/verify"), t0)
                .allowed
        );
        assert!(
            l.check(&RateLimiter::key(ip("10.0.0.2"), "/v1/verify"), t0)
                .allowed
        );
        assert!(
            l.check(&RateLimiter::key(ip("10.0.0.1"), "/v1/rotate"), t0)
                .allowed
        );
    }

    #[test]
    fn full_allowance_again_after_reset() {
        let l = limiter(10, 4);
        let t0 = Instant::now();
        let k = RateLimiter::key(ip("::1"), "/v1/verify");
        let mut last = None;
        for _ in 0..5 {
            last = Some(l.check(&k, t0));
        }
        let last = last.expect("ran");
        assert_eq!(last.remaining, 0);
        assert_eq!(last.reset_after, Duration::from_millis(500));
        let d = l.check(&k, t0 + last.reset_after);
        assert!(d.allowed);
        assert_eq!(d.remaining, 4);
    }
}
