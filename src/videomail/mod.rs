//! Videomail (视频留言): when nobody can answer, a caller leaves a signed message that the
//! server records from the media plane; interpreters view and answer it. This module holds the
//! message's rules (its states), the recorder that turns the caller's RTP into a WebM file
//! without transcoding, and the sealing of files at rest.

pub mod recorder;
pub mod seal;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Nobody has played it yet.
    Unread,
    /// An interpreter has played it.
    InProgress,
    /// An interpreter answered; the caller sees the answer at their link.
    Answered,
    /// Done with (answered or not); kept until the retention period ends.
    Closed,
}

impl State {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unread => "unread",
            State::InProgress => "in_progress",
            State::Answered => "answered",
            State::Closed => "closed",
        }
    }

    /// From the stored name (an unknown one reads as closed: never shown as new).
    pub fn parse(s: &str) -> State {
        match s {
            "unread" => State::Unread,
            "in_progress" => State::InProgress,
            "answered" => State::Answered,
            _ => State::Closed,
        }
    }
}

/// What someone does with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Plays it.
    View,
    /// Answers it.
    Answer,
    /// Closes it.
    Close,
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refused {
    /// The message is closed.
    #[error("this message is closed")]
    Closed,
    /// It was answered already.
    #[error("this message was answered already")]
    AlreadyAnswered,
}

/// The state after `action`, or why it is not allowed: unread → in progress (played) →
/// answered → closed; closing is allowed from any open state, and playing does not undo an
/// answer.
pub fn next(state: State, action: Action) -> Result<State, Refused> {
    match (state, action) {
        (State::Closed, _) => Err(Refused::Closed),
        (State::Unread, Action::View) => Ok(State::InProgress),
        (s, Action::View) => Ok(s),
        (State::Answered, Action::Answer) => Err(Refused::AlreadyAnswered),
        (_, Action::Answer) => Ok(State::Answered),
        (_, Action::Close) => Ok(State::Closed),
    }
}

/// Longest text answer.
pub const MAX_ANSWER_CHARS: usize = 2000;

/// How many messages one client address may start in an hour: enough for a family sharing a
/// connection, too few for a script to fill the disk.
pub const PER_ADDRESS_PER_HOUR: usize = 6;

/// Messages started per client address in the last hour (one anonymous script must not fill
/// the disk; each message may be up to `videomail.max_mib`).
#[derive(Debug, Default)]
pub struct Quota {
    started:
        std::collections::HashMap<std::net::IpAddr, std::collections::VecDeque<std::time::Instant>>,
}

impl Quota {
    /// Counts a message from `addr` at `now` if the address is under its hourly allowance.
    pub fn try_start(&mut self, addr: std::net::IpAddr, now: std::time::Instant) -> bool {
        let hour = std::time::Duration::from_secs(3600);
        // Old entries go, for every address, so the map does not grow with addresses seen.
        self.started.retain(|_, q| {
            while q.front().is_some_and(|t| now.duration_since(*t) >= hour) {
                q.pop_front();
            }
            !q.is_empty()
        });
        let q = self.started.entry(addr).or_default();
        if q.len() >= PER_ADDRESS_PER_HOUR {
            return false;
        }
        q.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_goes_unread_in_progress_answered_closed() {
        let s = next(State::Unread, Action::View).unwrap();
        assert_eq!(s, State::InProgress);
        assert_eq!(next(s, Action::View), Ok(State::InProgress));
        let s = next(s, Action::Answer).unwrap();
        assert_eq!(s, State::Answered);
        assert_eq!(
            next(s, Action::View),
            Ok(State::Answered),
            "playing keeps the answer"
        );
        assert_eq!(next(s, Action::Answer), Err(Refused::AlreadyAnswered));
        let s = next(s, Action::Close).unwrap();
        assert_eq!(s, State::Closed);
        for a in [Action::View, Action::Answer, Action::Close] {
            assert_eq!(next(s, a), Err(Refused::Closed));
        }
    }

    #[test]
    fn an_unread_message_can_be_answered_or_closed_at_once() {
        assert_eq!(next(State::Unread, Action::Answer), Ok(State::Answered));
        assert_eq!(next(State::Unread, Action::Close), Ok(State::Closed));
    }

    #[test]
    fn one_address_may_start_a_few_messages_an_hour() {
        let mut q = Quota::default();
        let a: std::net::IpAddr = "203.0.113.7".parse().unwrap();
        let b: std::net::IpAddr = "203.0.113.8".parse().unwrap();
        let t0 = std::time::Instant::now();
        for i in 0..PER_ADDRESS_PER_HOUR {
            assert!(q.try_start(a, t0 + std::time::Duration::from_secs(i as u64)));
        }
        assert!(!q.try_start(a, t0 + std::time::Duration::from_secs(60)));
        assert!(
            q.try_start(b, t0 + std::time::Duration::from_secs(60)),
            "others are not held up"
        );
        assert!(
            q.try_start(a, t0 + std::time::Duration::from_secs(3601)),
            "an hour later"
        );
    }

    #[test]
    fn stored_names_round_trip() {
        for s in [
            State::Unread,
            State::InProgress,
            State::Answered,
            State::Closed,
        ] {
            assert_eq!(State::parse(s.as_str()), s);
        }
        assert_eq!(State::parse("bogus"), State::Closed);
    }
}
