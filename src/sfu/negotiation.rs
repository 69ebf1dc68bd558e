//! When a page needs a new SDP offer, and what its answer puts into effect: one state per
//! forwarded track (subscription), the states str0m's and LiveKit's negotiators have. Pure:
//! the room asks it and carries out what it says.
//!
//! The server makes every offer to a page, one at a time. A change (a track to send, a track
//! to stop) waits for the next offer; an answer puts into effect exactly what its offer carried,
//! so a change made while an offer is out is never taken as answered.

/// Names one subscription within its peer.
pub type SubId = u64;

/// Where one subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubState {
    /// Added; no offer has carried it yet.
    ToOpen,
    /// In the offer that is out; packets wait for the answer.
    Negotiating,
    /// Answered: packets flow.
    Open,
    /// Removed; its removal has not been answered yet (`in_flight`: the offer out carries it).
    ToStop {
        /// Carried by the offer that is out.
        in_flight: bool,
    },
}

/// Why an answer was not expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    /// No offer is waiting for an answer.
    #[error("no offer is waiting for an answer")]
    NoOfferOut,
}

/// The negotiation of one page's connection.
#[derive(Debug)]
pub struct Negotiator {
    /// The page sends media of its own (its first offer carries those lines).
    own_media: bool,
    /// Some offer has been made (or, for WHIP/WHEP, the client's offer answered).
    offered_once: bool,
    /// An offer is out.
    outstanding: bool,
    subs: Vec<(SubId, SubState)>,
}

impl Negotiator {
    /// A page's connection before its first offer.
    pub fn new(own_media: bool) -> Self {
        Self {
            own_media,
            offered_once: false,
            outstanding: false,
            subs: Vec::new(),
        }
    }

    /// A subscription was added to the connection.
    pub fn add(&mut self, id: SubId) {
        self.subs.retain(|(s, _)| *s != id);
        self.subs.push((id, SubState::ToOpen));
    }

    /// A subscription was taken off the connection. One no offer carried yet is simply
    /// forgotten.
    pub fn remove(&mut self, id: SubId) {
        let Some(i) = self.subs.iter().position(|(s, _)| *s == id) else {
            return;
        };
        match self.subs[i].1 {
            SubState::ToOpen => {
                self.subs.remove(i);
            }
            SubState::Negotiating | SubState::Open => {
                self.subs[i].1 = SubState::ToStop { in_flight: false };
            }
            SubState::ToStop { .. } => {}
        }
    }

    /// Where a subscription stands (`None`: unknown or gone).
    pub fn state(&self, id: SubId) -> Option<SubState> {
        self.subs.iter().find(|(s, _)| *s == id).map(|(_, st)| *st)
    }

    /// An offer is out, waiting for its answer.
    pub fn negotiating(&self) -> bool {
        self.outstanding
    }

    /// An offer should be made now. A viewer with nothing to receive yet would get an offer
    /// without a single m-line, which sets up no transport: its first offer waits for the
    /// first track.
    pub fn wants_offer(&self) -> bool {
        if self.outstanding {
            return false;
        }
        if !self.offered_once {
            return self.own_media || !self.subs.is_empty();
        }
        self.subs
            .iter()
            .any(|(_, st)| matches!(st, SubState::ToOpen | SubState::ToStop { in_flight: false }))
    }

    /// True before the first offer (which waits for the connection's ICE candidates).
    pub fn first_offer(&self) -> bool {
        !self.offered_once
    }

    /// The offer was sent: everything pending is now in flight.
    pub fn offer_sent(&mut self) {
        self.outstanding = true;
        self.offered_once = true;
        for (_, st) in &mut self.subs {
            *st = match *st {
                SubState::ToOpen => SubState::Negotiating,
                SubState::ToStop { .. } => SubState::ToStop { in_flight: true },
                other => other,
            };
        }
    }

    /// The page answered the offer: what it carried takes effect. Returns the subscriptions
    /// that opened (their packets may now flow).
    pub fn answered(&mut self) -> Result<Vec<SubId>, NegotiationError> {
        if !self.outstanding {
            return Err(NegotiationError::NoOfferOut);
        }
        self.outstanding = false;
        let mut opened = Vec::new();
        self.subs.retain_mut(|(id, st)| match *st {
            SubState::Negotiating => {
                *st = SubState::Open;
                opened.push(*id);
                true
            }
            SubState::ToStop { in_flight: true } => false,
            _ => true,
        });
        Ok(opened)
    }

    /// A WHIP encoder's or WHEP player's own offer was answered: everything added before it
    /// is open, and there is nothing to renegotiate (they have no signaling to do it over).
    pub fn client_offer_answered(&mut self) -> Vec<SubId> {
        self.offered_once = true;
        self.outstanding = false;
        let mut opened = Vec::new();
        self.subs.retain_mut(|(id, st)| match *st {
            SubState::ToOpen | SubState::Negotiating | SubState::Open => {
                *st = SubState::Open;
                opened.push(*id);
                true
            }
            SubState::ToStop { .. } => false,
        });
        opened
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_is_offered_at_once_and_a_viewer_only_once_there_is_something_to_watch() {
        let caller = Negotiator::new(true);
        assert!(caller.wants_offer() && caller.first_offer());
        let mut viewer = Negotiator::new(false);
        assert!(
            !viewer.wants_offer(),
            "an offer without m-lines sets up nothing"
        );
        viewer.add(1);
        assert!(viewer.wants_offer());
    }

    #[test]
    fn packets_flow_only_after_the_answer_to_the_offer_that_carried_the_track() {
        let mut n = Negotiator::new(true);
        n.add(1);
        assert_eq!(n.state(1), Some(SubState::ToOpen));
        n.offer_sent();
        assert_eq!(n.state(1), Some(SubState::Negotiating));
        assert!(!n.wants_offer(), "one offer at a time");
        assert_eq!(n.answered(), Ok(vec![1]));
        assert_eq!(n.state(1), Some(SubState::Open));
        assert!(!n.wants_offer(), "nothing left to negotiate");
    }

    #[test]
    fn a_track_added_while_negotiating_waits_for_the_next_offer() {
        let mut n = Negotiator::new(true);
        n.add(1);
        n.offer_sent();
        n.add(2);
        assert!(!n.wants_offer());
        assert_eq!(
            n.answered(),
            Ok(vec![1]),
            "the answer did not carry track 2"
        );
        assert_eq!(n.state(2), Some(SubState::ToOpen));
        assert!(n.wants_offer());
        n.offer_sent();
        assert_eq!(n.answered(), Ok(vec![2]));
    }

    #[test]
    fn removing_a_track_renegotiates_and_an_unoffered_one_is_just_forgotten() {
        let mut n = Negotiator::new(true);
        n.add(1);
        n.offer_sent();
        n.answered().unwrap();
        n.remove(1);
        assert_eq!(n.state(1), Some(SubState::ToStop { in_flight: false }));
        assert!(n.wants_offer());
        n.offer_sent();
        assert_eq!(n.state(1), Some(SubState::ToStop { in_flight: true }));
        assert_eq!(n.answered(), Ok(vec![]));
        assert_eq!(n.state(1), None);
        // Added and removed between offers: the page never hears of it.
        n.add(2);
        n.remove(2);
        assert_eq!(n.state(2), None);
        assert!(!n.wants_offer());
    }

    #[test]
    fn a_track_removed_while_its_offer_is_out_is_not_opened_by_the_answer() {
        let mut n = Negotiator::new(false);
        n.add(1);
        n.offer_sent();
        n.remove(1);
        assert_eq!(n.answered(), Ok(vec![]), "it is gone; nothing may flow");
        assert_eq!(n.state(1), Some(SubState::ToStop { in_flight: false }));
        assert!(n.wants_offer(), "the removal itself still needs an offer");
        n.offer_sent();
        n.answered().unwrap();
        assert_eq!(n.state(1), None);
    }

    #[test]
    fn an_answer_without_an_offer_is_refused_and_a_refused_answer_keeps_the_offer_out() {
        let mut n = Negotiator::new(true);
        assert_eq!(n.answered(), Err(NegotiationError::NoOfferOut));
        n.offer_sent();
        // The room did not apply a bad answer and did not call `answered`: still out.
        assert!(n.negotiating() && !n.wants_offer());
        assert!(n.answered().is_ok());
        assert_eq!(n.answered(), Err(NegotiationError::NoOfferOut));
    }

    #[test]
    fn a_whep_player_joining_after_the_speaker_opens_with_its_own_offer() {
        let mut n = Negotiator::new(false);
        n.add(1);
        n.add(2);
        assert_eq!(n.client_offer_answered(), vec![1, 2]);
        assert!(!n.wants_offer() && !n.first_offer());
        assert_eq!(n.state(2), Some(SubState::Open));
    }
}
