//! The UDP port range media sockets bind in (webrtc-rs has no port range of its own).

use std::collections::BTreeSet;
use std::sync::Mutex;

/// Hands out ports from a fixed range, round robin, so a port just freed is not reused at once
/// (a late packet of the old peer would otherwise reach the new one).
#[derive(Debug)]
pub struct PortPool {
    min: u16,
    max: u16,
    state: Mutex<PoolState>,
}

#[derive(Debug)]
struct PoolState {
    used: BTreeSet<u16>,
    next: u16,
}

impl PortPool {
    /// A pool over `min..=max`.
    pub fn new(min: u16, max: u16) -> Self {
        Self {
            min,
            max,
            state: Mutex::new(PoolState {
                used: BTreeSet::new(),
                next: min,
            }),
        }
    }

    /// The next free port, or `None` when the range is exhausted.
    pub fn acquire(&self) -> Option<u16> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let span = u32::from(self.max - self.min) + 1;
        for _ in 0..span {
            let p = st.next;
            st.next = if p >= self.max { self.min } else { p + 1 };
            if st.used.insert(p) {
                return Some(p);
            }
        }
        None
    }

    /// Gives a port back.
    pub fn release(&self, port: u16) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.used.remove(&port);
    }

    /// Ports in use.
    pub fn in_use(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .used
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_each_port_once_round_robin() {
        let pool = PortPool::new(5000, 5002);
        assert_eq!(pool.acquire(), Some(5000));
        assert_eq!(pool.acquire(), Some(5001));
        pool.release(5000);
        assert_eq!(
            pool.acquire(),
            Some(5002),
            "a freed port is not reused at once"
        );
        assert_eq!(pool.acquire(), Some(5000));
        assert_eq!(pool.acquire(), None, "range exhausted");
        assert_eq!(pool.in_use(), 3);
    }
}
