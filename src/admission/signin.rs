//! Sign-in throttling: each wrong password makes the next try from the same address wait
//! longer, for that account and for the address as a whole, so a guesser slows themself
//! down while the real user, signing in from elsewhere, still gets in at once. Pure: time is
//! passed in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Wrong passwords allowed before waiting starts.
const FREE_TRIES: u32 = 5;
/// The wait never grows beyond this.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Longest sign-in name looked at; longer ones are refused before anything is stored or logged.
pub const MAX_USERNAME_CHARS: usize = 64;
/// Entries remembered before forgotten ones are cleared out.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    free: u32,
}

impl Failures {
    fn new(free: u32, now: Instant) -> Self {
        Self {
            count: 0,
            last: now,
            free,
        }
    }

    fn bump(&mut self, now: Instant) {
        self.count = self.count.saturating_add(1);
        self.last = now;
    }

    /// When the next try is allowed: doubling from one second after the free tries.
    fn next_allowed(&self) -> Instant {
        if self.count < self.free {
            return self.last;
        }
        let exp = (self.count - self.free).min(20);
        let wait = Duration::from_secs(1u64 << exp).min(MAX_WAIT);
        self.last + wait
    }
}

/// The throttle's state.
#[derive(Debug, Default)]
pub struct SignInThrottle {
    by_address: HashMap<IpAddr, Failures>,
    by_account: HashMap<(IpAddr, String), Failures>,
}

impl SignInThrottle {
    /// Nobody has failed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// May `addr` try `account` now? `Err(wait)` says how long to wait first.
    pub fn check(&self, addr: IpAddr, account: &str, now: Instant) -> Result<(), Duration> {
        let key = (addr, account.to_owned());
        let until = [self.by_address.get(&addr), self.by_account.get(&key)]
            .into_iter()
            .flatten()
            .map(Failures::next_allowed)
            .max();
        match until {
            Some(t) if t > now => Err(t - now),
            _ => Ok(()),
        }
    }

    /// A wrong password (or unknown name) from `addr` for `account`.
    pub fn failed(&mut self, addr: IpAddr, account: &str, now: Instant) {
        if self.by_account.len() + self.by_address.len() > PRUNE_ABOVE {
            self.prune(now);
        }
        self.by_account
            .entry((addr, account.to_owned()))
            .or_insert(Failures::new(FREE_TRIES, now))
            .bump(now);
        // Four accounts' worth of free tries from one address before it is slowed as a whole.
        self.by_address
            .entry(addr)
            .or_insert(Failures::new(FREE_TRIES * 4, now))
            .bump(now);
    }

    /// A right password: that account from that address starts afresh.
    pub fn succeeded(&mut self, addr: IpAddr, account: &str) {
        self.by_account.remove(&(addr, account.to_owned()));
    }

    fn prune(&mut self, now: Instant) {
        let stale = |f: &Failures| now.saturating_duration_since(f.last) > MAX_WAIT;
        self.by_account.retain(|_, f| !stale(f));
        self.by_address.retain(|_, f| !stale(f));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    #[test]
    fn a_guesser_waits_longer_each_time_and_the_real_user_elsewhere_does_not() {
        let mut t = SignInThrottle::new();
        let now = Instant::now();
        for _ in 0..FREE_TRIES {
            assert!(t.check(ip(9), "admin", now).is_ok());
            t.failed(ip(9), "admin", now);
        }
        assert_eq!(t.check(ip(9), "admin", now), Err(Duration::from_secs(1)));
        t.failed(ip(9), "admin", now);
        assert_eq!(t.check(ip(9), "admin", now), Err(Duration::from_secs(2)));
        // The admin at their desk is not slowed by the guesser.
        assert!(t.check(ip(1), "admin", now).is_ok());
        let later = now + Duration::from_secs(2);
        assert!(t.check(ip(9), "admin", later).is_ok());
    }

    #[test]
    fn the_wait_is_bounded_and_a_right_password_clears_it() {
        let mut t = SignInThrottle::new();
        let now = Instant::now();
        for _ in 0..40 {
            t.failed(ip(2), "anna", now);
        }
        let wait = t.check(ip(2), "anna", now).unwrap_err();
        assert_eq!(wait, MAX_WAIT);
        t.succeeded(ip(2), "anna");
        // The address as a whole is still slowed after 40 failures.
        assert!(t.check(ip(2), "anna", now).is_err());
        assert!(t.check(ip(2), "anna", now + MAX_WAIT).is_ok());
    }

    #[test]
    fn trying_many_accounts_from_one_address_slows_the_address() {
        let mut t = SignInThrottle::new();
        let now = Instant::now();
        for n in 0..(FREE_TRIES * 4) {
            t.failed(ip(3), &format!("user{n}"), now);
        }
        assert!(t.check(ip(3), "someone-else", now).is_err());
        assert!(t.check(ip(4), "someone-else", now).is_ok());
    }
}
