//! Admission control: how much one client address may hold open at once (sockets, calls,
//! briefing joins, WHIP/WHEP sessions, caption streams), how fast it may open new ones, and
//! the headroom kept free of anonymous use for signed-in staff and emergency calls. A pure
//! rule (input + now → verdict), unit-tested; [`Gate`] is the handle the glue holds, whose
//! [`Pass`]es give their place back when dropped.

pub mod signin;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a client opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// A signaling WebSocket.
    Socket,
    /// A call placed or started (waiting, ringing or connected).
    Call,
    /// A captioned call (the recognizer's work is the dearest thing a caller can start).
    CaptionedCall,
    /// A page in a briefing.
    Briefing,
    /// An encoder publishing by WHIP.
    Whip,
    /// A player receiving by WHEP.
    Whep,
    /// A caption stream (Server-Sent Events).
    Sse,
}

impl Resource {
    /// Every resource, in the order of the arrays below.
    pub const ALL: [Resource; 7] = [
        Resource::Socket,
        Resource::Call,
        Resource::CaptionedCall,
        Resource::Briefing,
        Resource::Whip,
        Resource::Whep,
        Resource::Sse,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// Its name in `/metrics` and in refusals.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Socket => "socket",
            Resource::Call => "call",
            Resource::CaptionedCall => "captioned_call",
            Resource::Briefing => "briefing",
            Resource::Whip => "whip",
            Resource::Whep => "whep",
            Resource::Sse => "sse",
        }
    }
}

/// Who asks: decides which headroom they may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Nobody signed in: per-address caps and the anonymous share of the global cap.
    Anonymous,
    /// A signed-in interpreter, organizer or admin: a whole centre may share one address,
    /// so no per-address cap; the global cap including the reserve.
    Staff,
    /// An emergency call: the per-address cap (one address cannot fill the lane), the global
    /// cap including the reserve.
    Emergency,
}

/// The limits, per resource in [`Resource::ALL`] order.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Most one address may hold open at once.
    pub per_address: [usize; 7],
    /// Most the server holds open at once.
    pub global: [usize; 7],
    /// Share of each global cap (percent) anonymous clients may not use.
    pub reserve_percent: usize,
    /// New openings one address may make in a burst...
    pub burst: u32,
    /// ...and per second after it.
    pub per_second: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // socket, call, captioned call, briefing, whip, whep, sse
            per_address: [20, 3, 2, 10, 2, 10, 20],
            global: [5000, 1000, 100, 4000, 20, 500, 20_000],
            reserve_percent: 10,
            burst: 60,
            per_second: 2.0,
        }
    }
}

/// Why something was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// What was asked for.
    pub resource: Resource,
    /// Which limit said no.
    pub scope: Scope,
    /// Seconds after which asking again can succeed.
    pub retry_after_secs: u64,
}

/// Which limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// This address holds as many as it may.
    Address,
    /// This address opens too many too fast.
    Rate,
    /// The server is full (for this kind of client).
    Server,
}

impl Refusal {
    /// A sentence for the person (no address in it).
    pub fn message(&self) -> String {
        let what = match self.resource {
            Resource::Socket => "connections",
            Resource::Call | Resource::CaptionedCall => "calls",
            Resource::Briefing => "briefing pages",
            Resource::Whip => "encoders",
            Resource::Whep => "players",
            Resource::Sse => "caption streams",
        };
        match self.scope {
            Scope::Address => format!("too many open {what} from your network; close one first"),
            Scope::Rate => format!(
                "too many new {what} from your network; try again in {} s",
                self.retry_after_secs
            ),
            Scope::Server => {
                format!("the service is at capacity for {what}; try again shortly")
            }
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug, Default)]
struct PerAddress {
    open: [usize; 7],
    bucket: Option<Bucket>,
}

/// The admission rule's state.
#[derive(Debug)]
pub struct Admission {
    limits: Limits,
    addresses: HashMap<IpAddr, PerAddress>,
    open: [usize; 7],
    refused: [[u64; 3]; 7],
}

/// Addresses remembered before idle ones are forgotten.
const PRUNE_ABOVE: usize = 10_000;

impl Admission {
    /// Nothing open yet.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            addresses: HashMap::new(),
            open: [0; 7],
            refused: [[0; 3]; 7],
        }
    }

    /// Takes one `resource` for `addr` if the limits allow.
    pub fn admit(
        &mut self,
        addr: IpAddr,
        resource: Resource,
        who: Who,
        now: Instant,
    ) -> Result<(), Refusal> {
        let i = resource.index();
        let global = self.limits.global[i];
        let anonymous_cap = global - global * self.limits.reserve_percent.min(100) / 100;
        let cap = match who {
            Who::Anonymous => anonymous_cap,
            Who::Staff | Who::Emergency => global,
        };
        let refuse = |this: &mut Self, scope: Scope, retry_after_secs: u64| {
            this.refused[i][scope as usize] += 1;
            Err(Refusal {
                resource,
                scope,
                retry_after_secs,
            })
        };
        if self.open[i] >= cap {
            return refuse(self, Scope::Server, 5);
        }
        if self.addresses.len() > PRUNE_ABOVE {
            self.prune(now);
        }
        let limits = self.limits.clone();
        let entry = self.addresses.entry(addr).or_default();
        if who != Who::Staff {
            if entry.open[i] >= limits.per_address[i] {
                return refuse(self, Scope::Address, 10);
            }
            let bucket = entry.bucket.get_or_insert(Bucket {
                tokens: f64::from(limits.burst),
                at: now,
            });
            let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * limits.per_second;
            bucket.tokens = (bucket.tokens + refill).min(f64::from(limits.burst));
            bucket.at = now;
            if bucket.tokens < 1.0 {
                let wait = ((1.0 - bucket.tokens) / limits.per_second.max(0.001)).ceil() as u64;
                return refuse(self, Scope::Rate, wait.max(1));
            }
            bucket.tokens -= 1.0;
        }
        entry.open[i] += 1;
        self.open[i] += 1;
        Ok(())
    }

    /// Checks a resource whose holders another rule counts (calls are the call rules'):
    /// `by_address` held by this client's address, `total` by everyone.
    pub fn admit_counted(
        &mut self,
        resource: Resource,
        who: Who,
        by_address: usize,
        total: usize,
    ) -> Result<(), Refusal> {
        let i = resource.index();
        let global = self.limits.global[i];
        let cap = match who {
            Who::Anonymous => global - global * self.limits.reserve_percent.min(100) / 100,
            Who::Staff | Who::Emergency => global,
        };
        let scope = if total >= cap {
            Scope::Server
        } else if who != Who::Staff && by_address >= self.limits.per_address[i] {
            Scope::Address
        } else {
            return Ok(());
        };
        self.refused[i][scope as usize] += 1;
        Err(Refusal {
            resource,
            scope,
            retry_after_secs: if scope == Scope::Server { 5 } else { 10 },
        })
    }

    /// Gives one `resource` of `addr` back.
    pub fn release(&mut self, addr: IpAddr, resource: Resource) {
        let i = resource.index();
        self.open[i] = self.open[i].saturating_sub(1);
        if let Some(e) = self.addresses.get_mut(&addr) {
            e.open[i] = e.open[i].saturating_sub(1);
        }
    }

    /// Forgets addresses with nothing open whose burst has refilled.
    fn prune(&mut self, now: Instant) {
        let full = Duration::from_secs_f64(
            f64::from(self.limits.burst) / self.limits.per_second.max(0.001),
        );
        self.addresses.retain(|_, e| {
            e.open.iter().any(|n| *n > 0)
                || e.bucket
                    .as_ref()
                    .is_some_and(|b| now.saturating_duration_since(b.at) < full)
        });
    }

    /// Open now, per resource.
    pub fn open(&self, resource: Resource) -> usize {
        self.open[resource.index()]
    }

    /// Refusals so far, per resource and scope (address, rate, server).
    pub fn refused(&self, resource: Resource) -> [u64; 3] {
        self.refused[resource.index()]
    }
}

/// The shared handle the glue admits through.
#[derive(Clone)]
pub struct Gate(Arc<Mutex<Admission>>);

impl Gate {
    /// A gate with these limits.
    pub fn new(limits: Limits) -> Self {
        Self(Arc::new(Mutex::new(Admission::new(limits))))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Admission> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits one `resource` for `addr`; the pass gives it back when dropped.
    pub fn admit(&self, addr: IpAddr, resource: Resource, who: Who) -> Result<Pass, Refusal> {
        self.state().admit(addr, resource, who, Instant::now())?;
        Ok(Pass {
            gate: self.clone(),
            addr,
            resource,
        })
    }

    /// Checks a resource another rule counts (see [`Admission::admit_counted`]).
    pub fn admit_counted(
        &self,
        resource: Resource,
        who: Who,
        by_address: usize,
        total: usize,
    ) -> Result<(), Refusal> {
        self.state().admit_counted(resource, who, by_address, total)
    }

    /// Reads the counters.
    pub fn with<R>(&self, f: impl FnOnce(&Admission) -> R) -> R {
        f(&self.state())
    }
}

/// One admitted resource; dropping it gives the place back.
pub struct Pass {
    gate: Gate,
    addr: IpAddr,
    resource: Resource,
}

impl std::fmt::Debug for Pass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pass")
            .field("resource", &self.resource)
            .finish()
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        self.gate.state().release(self.addr, self.resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    fn limits() -> Limits {
        Limits {
            per_address: [3, 1, 1, 2, 1, 1, 2],
            global: [10, 10, 10, 10, 10, 10, 10],
            reserve_percent: 20,
            burst: 100,
            per_second: 1.0,
        }
    }

    #[test]
    fn one_address_holds_only_its_share_and_others_are_not_touched() {
        let mut a = Admission::new(limits());
        let t = Instant::now();
        for _ in 0..3 {
            a.admit(ip(1), Resource::Socket, Who::Anonymous, t).unwrap();
        }
        let r = a
            .admit(ip(1), Resource::Socket, Who::Anonymous, t)
            .unwrap_err();
        assert_eq!(r.scope, Scope::Address);
        assert!(a.admit(ip(2), Resource::Socket, Who::Anonymous, t).is_ok());
        a.release(ip(1), Resource::Socket);
        assert!(a.admit(ip(1), Resource::Socket, Who::Anonymous, t).is_ok());
        assert_eq!(a.open(Resource::Socket), 4);
        assert_eq!(a.refused(Resource::Socket), [1, 0, 0]);
    }

    #[test]
    fn the_reserve_is_kept_for_staff_and_emergencies() {
        let mut a = Admission::new(limits());
        let t = Instant::now();
        // Eight anonymous calls from eight addresses use the anonymous 80 %.
        for n in 1..=8 {
            a.admit(ip(n), Resource::Call, Who::Anonymous, t).unwrap();
        }
        let r = a
            .admit(ip(9), Resource::Call, Who::Anonymous, t)
            .unwrap_err();
        assert_eq!(r.scope, Scope::Server);
        assert!(a.admit(ip(9), Resource::Call, Who::Emergency, t).is_ok());
        assert!(a.admit(ip(10), Resource::Call, Who::Staff, t).is_ok());
        assert_eq!(
            a.admit(ip(11), Resource::Call, Who::Emergency, t)
                .unwrap_err()
                .scope,
            Scope::Server,
            "the reserve is bounded too"
        );
    }

    #[test]
    fn an_emergency_keeps_the_per_address_cap_and_staff_share_an_address() {
        let mut a = Admission::new(limits());
        let t = Instant::now();
        a.admit(ip(1), Resource::Call, Who::Emergency, t).unwrap();
        assert_eq!(
            a.admit(ip(1), Resource::Call, Who::Emergency, t)
                .unwrap_err()
                .scope,
            Scope::Address,
            "one address cannot fill the emergency lane"
        );
        // A centre of interpreters behind one address.
        for _ in 0..5 {
            a.admit(ip(2), Resource::Socket, Who::Staff, t).unwrap();
        }
    }

    #[test]
    fn a_fast_opener_waits_for_its_bucket_and_slows_nobody_else() {
        let mut a = Admission::new(Limits {
            burst: 2,
            per_second: 0.5,
            ..limits()
        });
        let t = Instant::now();
        for _ in 0..2 {
            a.admit(ip(1), Resource::Sse, Who::Anonymous, t).unwrap();
            a.release(ip(1), Resource::Sse);
        }
        let r = a
            .admit(ip(1), Resource::Sse, Who::Anonymous, t)
            .unwrap_err();
        assert_eq!((r.scope, r.retry_after_secs), (Scope::Rate, 2));
        assert!(a.admit(ip(2), Resource::Sse, Who::Anonymous, t).is_ok());
        let later = t + Duration::from_secs(2);
        assert!(a.admit(ip(1), Resource::Sse, Who::Anonymous, later).is_ok());
    }

    #[test]
    fn counted_resources_get_the_same_caps() {
        let mut a = Admission::new(limits());
        assert!(a
            .admit_counted(Resource::Call, Who::Anonymous, 0, 7)
            .is_ok());
        assert_eq!(
            a.admit_counted(Resource::Call, Who::Anonymous, 1, 7)
                .unwrap_err()
                .scope,
            Scope::Address
        );
        assert_eq!(
            a.admit_counted(Resource::Call, Who::Anonymous, 0, 8)
                .unwrap_err()
                .scope,
            Scope::Server
        );
        assert!(a
            .admit_counted(Resource::Call, Who::Emergency, 0, 8)
            .is_ok());
        assert_eq!(a.refused(Resource::Call), [1, 0, 1]);
    }

    #[test]
    fn a_dropped_pass_gives_its_place_back() {
        let gate = Gate::new(limits());
        let p = gate.admit(ip(1), Resource::Whip, Who::Anonymous).unwrap();
        assert!(gate.admit(ip(1), Resource::Whip, Who::Anonymous).is_err());
        drop(p);
        let again = gate.admit(ip(1), Resource::Whip, Who::Anonymous).unwrap();
        assert_eq!(gate.with(|a| a.open(Resource::Whip)), 1);
        drop(again);
        assert_eq!(gate.with(|a| a.open(Resource::Whip)), 0);
    }

    #[test]
    fn idle_addresses_are_forgotten() {
        let mut a = Admission::new(Limits {
            burst: 1,
            per_second: 1.0,
            ..limits()
        });
        let t = Instant::now();
        for n in 0..=PRUNE_ABOVE as u32 {
            let addr = IpAddr::from((n + 1).to_be_bytes());
            a.admit(addr, Resource::Sse, Who::Anonymous, t).unwrap();
            a.release(addr, Resource::Sse);
        }
        a.admit(
            ip(1),
            Resource::Sse,
            Who::Anonymous,
            t + Duration::from_secs(5),
        )
        .unwrap();
        assert!(a.addresses.len() < 10, "{} kept", a.addresses.len());
    }
}
