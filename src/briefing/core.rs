//! The rules of one press briefing, as a pure state machine like the call rules: who holds
//! the speaker's and the interpreter's seat (a page or a WHIP encoder), who watches (a page
//! or a WHEP player), whether it is scheduled, live, paused or ended, and how its captions
//! are doing. Each input returns the effects the glue carries out; nothing here touches a
//! socket or a clock.

use crate::captions::live::DELAYED_MS;
use crate::signal::{CaptionHealth, EventState, SessionId};
use std::collections::BTreeMap;
use thiserror::Error;

/// The two publishing seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seat {
    /// The person speaking (their audio is captioned).
    Speaker,
    /// The sign interpreter shown beside them.
    Interpreter,
}

/// How a publisher is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// A stage page over the signaling socket.
    Page,
    /// An encoder publishing by WHIP.
    Whip,
}

/// How a viewer is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watcher {
    /// The viewer page over the signaling socket.
    Page,
    /// A player receiving by WHEP, which cannot be renegotiated.
    Whep,
}

/// Someone in a seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publisher {
    /// Their connection's session.
    pub session: SessionId,
    /// Which seat.
    pub seat: Seat,
    /// Page or encoder.
    pub link: Link,
    /// Display name.
    pub name: String,
}

/// What the glue does for the briefing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Take this connection out of the media room.
    LeaveRoom(SessionId),
    /// This page lost its seat to a newer connection of the same publisher: tell it, and it
    /// is no longer part of the briefing.
    Replaced(SessionId),
    /// The status anyone may see changed: push it to every page and subscriber.
    Status,
    /// The publishers changed: tell every page who is on.
    Roster,
    /// Tell this page (a viewer who just came) who is on.
    RosterTo(SessionId),
    /// The briefing ended: close its media room.
    CloseRoom,
}

/// Why an input was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BriefingRefusal {
    /// The organizer ended it.
    #[error("the event has ended")]
    Ended,
    /// A WHEP player asked before anyone speaks.
    #[error("the event is not live yet; try again when it is")]
    NotLive,
}

/// How the captions of the speaker are doing, as last reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Captions {
    behind_ms: u64,
    stream_degraded: bool,
    lines_degraded: bool,
}

/// One briefing's rules.
#[derive(Debug)]
pub struct BriefingCore {
    state: EventState,
    speaker: Option<Publisher>,
    interpreter: Option<Publisher>,
    viewers: BTreeMap<SessionId, Watcher>,
    captions_on: bool,
    captions: Captions,
}

impl BriefingCore {
    /// A briefing in `state` (as loaded), with nobody connected.
    pub fn new(state: EventState, captions_on: bool) -> Self {
        Self {
            state,
            speaker: None,
            interpreter: None,
            viewers: BTreeMap::new(),
            captions_on,
            captions: Captions::default(),
        }
    }

    /// Scheduled, live, paused or ended.
    pub fn state(&self) -> EventState {
        self.state
    }

    /// True once ended.
    pub fn ended(&self) -> bool {
        self.state == EventState::Ended
    }

    /// Is an interpreter on.
    pub fn interpreter_present(&self) -> bool {
        self.interpreter.is_some()
    }

    /// People watching (pages and players).
    pub fn viewers(&self) -> usize {
        self.viewers.len()
    }

    /// How the captions are doing, and whole seconds behind.
    pub fn caption_health(&self) -> (CaptionHealth, u64) {
        let c = self.captions;
        let health = if !self.captions_on {
            CaptionHealth::Off
        } else if c.behind_ms >= DELAYED_MS {
            CaptionHealth::Delayed
        } else if c.stream_degraded || c.lines_degraded {
            CaptionHealth::Degraded
        } else {
            CaptionHealth::Ok
        };
        (health, c.behind_ms / 1000)
    }

    /// The publishers, speaker first.
    pub fn publishers(&self) -> impl Iterator<Item = &Publisher> {
        self.speaker.iter().chain(self.interpreter.iter())
    }

    /// The seat a session holds, if any.
    pub fn seat_of(&self, session: SessionId) -> Option<&Publisher> {
        self.publishers().find(|p| p.session == session)
    }

    /// Is this session the speaker now (whose audio is captioned).
    pub fn is_speaker(&self, session: SessionId) -> bool {
        self.speaker.as_ref().is_some_and(|p| p.session == session)
    }

    /// How a session watches, if it does.
    pub fn watcher(&self, session: SessionId) -> Option<Watcher> {
        self.viewers.get(&session).copied()
    }

    /// Every page that follows the briefing over the signaling socket.
    pub fn pages(&self) -> Vec<SessionId> {
        self.publishers()
            .filter(|p| p.link == Link::Page)
            .map(|p| p.session)
            .chain(
                self.viewers
                    .iter()
                    .filter(|(_, w)| **w == Watcher::Page)
                    .map(|(s, _)| *s),
            )
            .collect()
    }

    /// Someone takes a seat. The newest connection wins, so a speaker whose old connection is
    /// still timing out comes straight back; the old one is let go.
    pub fn take_seat(&mut self, who: Publisher) -> Result<Vec<Effect>, BriefingRefusal> {
        if self.ended() {
            return Err(BriefingRefusal::Ended);
        }
        let mut fx = Vec::new();
        let seat = who.seat;
        let slot = match seat {
            Seat::Speaker => &mut self.speaker,
            Seat::Interpreter => &mut self.interpreter,
        };
        let old = slot
            .replace(who.clone())
            .filter(|o| o.session != who.session);
        if let Some(old) = old {
            fx.push(Effect::LeaveRoom(old.session));
            if old.link == Link::Page {
                fx.push(Effect::Replaced(old.session));
            }
            if seat == Seat::Speaker {
                self.release_players(&mut fx);
            }
        }
        if seat == Seat::Speaker {
            self.state = EventState::Live;
        }
        fx.extend([Effect::Status, Effect::Roster]);
        Ok(fx)
    }

    /// Someone comes to watch.
    pub fn watch(
        &mut self,
        session: SessionId,
        how: Watcher,
    ) -> Result<Vec<Effect>, BriefingRefusal> {
        if self.ended() {
            return Err(BriefingRefusal::Ended);
        }
        if how == Watcher::Whep && self.speaker.is_none() {
            return Err(BriefingRefusal::NotLive);
        }
        self.viewers.insert(session, how);
        // Thousands may watch: one coming changes nobody else's screen.
        Ok(match how {
            Watcher::Page => vec![Effect::RosterTo(session)],
            Watcher::Whep => Vec::new(),
        })
    }

    /// A connection is gone (hang-up, closed page, failed media, DELETE of its resource). The
    /// speaker leaving pauses the briefing until they are back; a late goodbye of a replaced
    /// connection changes nothing.
    pub fn leave(&mut self, session: SessionId) -> Vec<Effect> {
        let mut fx = Vec::new();
        if self.is_speaker(session) {
            self.speaker = None;
            if self.state == EventState::Live {
                self.state = EventState::Paused;
            }
            fx.push(Effect::LeaveRoom(session));
            self.release_players(&mut fx);
            fx.extend([Effect::Status, Effect::Roster]);
        } else if self
            .interpreter
            .as_ref()
            .is_some_and(|p| p.session == session)
        {
            self.interpreter = None;
            fx.extend([Effect::LeaveRoom(session), Effect::Status, Effect::Roster]);
        } else if self.viewers.remove(&session).is_some() {
            fx.push(Effect::LeaveRoom(session));
        }
        fx
    }

    /// WHEP players received the speaker's old connection and cannot be renegotiated onto
    /// another: they are let go, and a player reconnects by itself.
    fn release_players(&mut self, fx: &mut Vec<Effect>) {
        let players: Vec<SessionId> = self
            .viewers
            .iter()
            .filter(|(_, w)| **w == Watcher::Whep)
            .map(|(s, _)| *s)
            .collect();
        for s in players {
            self.viewers.remove(&s);
            fx.push(Effect::LeaveRoom(s));
        }
    }

    /// The organizer ends it: everyone's media goes, and pages learn why from the status.
    /// Pages stay listed until they leave, so the status reaches them; encoders and players,
    /// which have no page, are let go.
    pub fn end(&mut self) -> Vec<Effect> {
        if self.ended() {
            return Vec::new();
        }
        self.state = EventState::Ended;
        let mut fx = Vec::new();
        if self.speaker.as_ref().is_some_and(|p| p.link == Link::Whip) {
            if let Some(p) = self.speaker.take() {
                fx.push(Effect::LeaveRoom(p.session));
            }
        }
        self.release_players(&mut fx);
        fx.extend([Effect::Status, Effect::CloseRoom]);
        fx
    }

    /// The speaker's caption stream says how far behind it runs.
    pub fn caption_status(&mut self, behind_ms: u64, degraded: bool) -> Vec<Effect> {
        let before = self.caption_health();
        self.captions.behind_ms = behind_ms;
        self.captions.stream_degraded = degraded;
        self.status_if_changed(before)
    }

    /// A caption line came, made while the recognizer was overloaded or not.
    pub fn caption_line(&mut self, degraded: bool) -> Vec<Effect> {
        let before = self.caption_health();
        self.captions.lines_degraded = degraded;
        self.status_if_changed(before)
    }

    /// Viewers hear of it when the health or the whole seconds behind change.
    fn status_if_changed(&self, before: (CaptionHealth, u64)) -> Vec<Effect> {
        if self.caption_health() != before {
            vec![Effect::Status]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> SessionId {
        SessionId(n)
    }

    fn page(session: u64, seat: Seat) -> Publisher {
        Publisher {
            session: s(session),
            seat,
            link: Link::Page,
            name: "发言人".into(),
        }
    }

    fn whip(session: u64) -> Publisher {
        Publisher {
            link: Link::Whip,
            ..page(session, Seat::Speaker)
        }
    }

    #[test]
    fn the_speaker_joining_puts_it_live_and_leaving_pauses_it() {
        let mut b = BriefingCore::new(EventState::Scheduled, true);
        let fx = b.take_seat(page(7, Seat::Speaker)).unwrap();
        assert_eq!(fx, vec![Effect::Status, Effect::Roster]);
        assert_eq!(b.state(), EventState::Live);
        assert!(
            b.leave(s(99)).is_empty(),
            "not in the briefing: nothing changes"
        );
        let fx = b.leave(s(7));
        assert_eq!(
            fx,
            vec![Effect::LeaveRoom(s(7)), Effect::Status, Effect::Roster]
        );
        assert_eq!(b.state(), EventState::Paused);
        b.take_seat(page(8, Seat::Speaker)).unwrap();
        assert_eq!(b.state(), EventState::Live, "back on air");
    }

    #[test]
    fn the_newest_connection_of_a_publisher_wins() {
        let mut b = BriefingCore::new(EventState::Scheduled, true);
        b.take_seat(page(8, Seat::Speaker)).unwrap();
        let fx = b.take_seat(page(9, Seat::Speaker)).unwrap();
        assert_eq!(
            fx,
            vec![
                Effect::LeaveRoom(s(8)),
                Effect::Replaced(s(8)),
                Effect::Status,
                Effect::Roster
            ]
        );
        assert!(
            b.leave(s(8)).is_empty(),
            "the replaced connection's late goodbye"
        );
        assert_eq!(b.state(), EventState::Live);
        assert!(b.is_speaker(s(9)));
        // An encoder taking over from a page: the page is told, an encoder is not (it has
        // no page to tell).
        let fx = b.take_seat(whip(10)).unwrap();
        assert!(fx.contains(&Effect::Replaced(s(9))));
        let fx = b.take_seat(page(11, Seat::Speaker)).unwrap();
        assert!(fx.contains(&Effect::LeaveRoom(s(10))) && !fx.contains(&Effect::Replaced(s(10))));
        // The same connection again is not a replacement.
        let fx = b.take_seat(page(11, Seat::Speaker)).unwrap();
        assert!(!fx.contains(&Effect::LeaveRoom(s(11))));
    }

    #[test]
    fn the_interpreter_comes_and_goes_without_pausing_the_briefing() {
        let mut b = BriefingCore::new(EventState::Scheduled, true);
        b.take_seat(page(1, Seat::Speaker)).unwrap();
        b.take_seat(page(2, Seat::Interpreter)).unwrap();
        assert!(b.interpreter_present());
        let names: Vec<_> = b.publishers().map(|p| p.session).collect();
        assert_eq!(names, vec![s(1), s(2)], "speaker first");
        assert_eq!(
            b.leave(s(2)),
            vec![Effect::LeaveRoom(s(2)), Effect::Status, Effect::Roster]
        );
        assert!(!b.interpreter_present());
        assert_eq!(b.state(), EventState::Live);
    }

    #[test]
    fn a_whep_player_needs_a_speaker_and_is_let_go_when_the_speaker_goes() {
        let mut b = BriefingCore::new(EventState::Scheduled, true);
        assert_eq!(b.watch(s(5), Watcher::Whep), Err(BriefingRefusal::NotLive));
        // A page viewer may wait for the speaker; it is told who is on (nobody yet).
        assert_eq!(
            b.watch(s(4), Watcher::Page),
            Ok(vec![Effect::RosterTo(s(4))])
        );
        b.take_seat(whip(1)).unwrap();
        assert_eq!(b.watch(s(5), Watcher::Whep), Ok(vec![]));
        assert_eq!(b.viewers(), 2);
        let fx = b.leave(s(1));
        assert!(
            fx.contains(&Effect::LeaveRoom(s(5))),
            "the player cannot follow"
        );
        assert!(
            !fx.contains(&Effect::LeaveRoom(s(4))),
            "the page viewer is renegotiated"
        );
        assert_eq!(b.watcher(s(5)), None);
        assert_eq!(b.watcher(s(4)), Some(Watcher::Page));
        assert_eq!(b.pages(), vec![s(4)]);
    }

    #[test]
    fn players_are_let_go_when_the_speaker_is_replaced() {
        let mut b = BriefingCore::new(EventState::Scheduled, true);
        b.take_seat(whip(1)).unwrap();
        b.watch(s(5), Watcher::Whep).unwrap();
        let fx = b.take_seat(whip(2)).unwrap();
        assert!(fx.contains(&Effect::LeaveRoom(s(1))) && fx.contains(&Effect::LeaveRoom(s(5))));
        assert_eq!(b.viewers(), 0);
    }

    #[test]
    fn an_ended_briefing_takes_nobody_and_ends_once() {
        let mut b = BriefingCore::new(EventState::Paused, true);
        b.take_seat(page(1, Seat::Speaker)).unwrap();
        b.watch(s(2), Watcher::Page).unwrap();
        assert_eq!(b.end(), vec![Effect::Status, Effect::CloseRoom]);
        assert!(b.end().is_empty());
        assert_eq!(b.state(), EventState::Ended);
        assert_eq!(b.pages(), vec![s(1), s(2)], "they are told it ended");
        assert_eq!(
            b.take_seat(page(3, Seat::Speaker)),
            Err(BriefingRefusal::Ended)
        );
        assert_eq!(b.watch(s(4), Watcher::Page), Err(BriefingRefusal::Ended));
        assert!(b.leave(s(2)).contains(&Effect::LeaveRoom(s(2))));
        assert_eq!(b.pages(), vec![s(1)]);
    }

    #[test]
    fn ending_lets_encoders_and_players_go() {
        let mut b = BriefingCore::new(EventState::Scheduled, true);
        b.take_seat(whip(1)).unwrap();
        b.watch(s(2), Watcher::Whep).unwrap();
        b.watch(s(3), Watcher::Page).unwrap();
        let fx = b.end();
        assert_eq!(
            fx,
            vec![
                Effect::LeaveRoom(s(1)),
                Effect::LeaveRoom(s(2)),
                Effect::Status,
                Effect::CloseRoom
            ]
        );
        assert_eq!(b.pages(), vec![s(3)]);
    }

    #[test]
    fn caption_health_follows_the_stream_and_is_pushed_only_when_it_changes() {
        let mut b = BriefingCore::new(EventState::Live, true);
        assert_eq!(b.caption_health(), (CaptionHealth::Ok, 0));
        // No caption at all, but the stream says speech is waiting: not "live".
        assert_eq!(b.caption_status(5_400, false), vec![Effect::Status]);
        assert_eq!(b.caption_health(), (CaptionHealth::Delayed, 5));
        assert!(
            b.caption_status(5_900, false).is_empty(),
            "same whole second"
        );
        assert_eq!(b.caption_status(6_100, false), vec![Effect::Status]);
        // A normal decode interval is not a delay.
        b.caption_status(1_200, false);
        assert_eq!(b.caption_health(), (CaptionHealth::Ok, 1));
        b.caption_status(0, true);
        assert_eq!(b.caption_health().0, CaptionHealth::Degraded);
        b.caption_status(0, false);
        assert_eq!(b.caption_line(true), vec![Effect::Status]);
        assert_eq!(b.caption_health().0, CaptionHealth::Degraded);
        assert!(b.caption_line(true).is_empty());
        assert_eq!(b.caption_line(false), vec![Effect::Status]);
        let off = BriefingCore::new(EventState::Live, false);
        assert_eq!(off.caption_health().0, CaptionHealth::Off);
    }
}
