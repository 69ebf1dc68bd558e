//! What the rules ask the glue to do, and what a finished call leaves for the records.

use crate::signal::{CallId, EndReason, Purpose, Role, ServerMsg, SessionId};
use std::time::Duration;

/// Something the glue must do because of an operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Deliver a message to a session.
    Send(SessionId, ServerMsg),
    /// Put a session into a call's media room (creating the room on first join).
    JoinRoom {
        /// The call.
        call: CallId,
        /// Who.
        session: SessionId,
        /// Role in the call.
        role: Role,
        /// Display name.
        name: String,
    },
    /// Take a session out of a call's media room.
    LeaveRoom {
        /// The call.
        call: CallId,
        /// Who.
        session: SessionId,
    },
    /// Tell everyone in a call who is in it again (a role changed, nobody joined or left).
    Roster {
        /// The call.
        call: CallId,
    },
    /// Tear down a call's media room.
    CloseRoom {
        /// The call.
        call: CallId,
    },
    /// A call entered the service (for the records).
    Placed {
        /// The call.
        call: CallId,
        /// Why.
        purpose: Purpose,
        /// Sign language asked for.
        sign_language: String,
        /// A captioned call without interpreter.
        direct: bool,
        /// The service point it was placed from, by code.
        counter: Option<String>,
    },
    /// A call was answered for the first time (for the records).
    Answered {
        /// The call.
        call: CallId,
        /// The interpreter's account name.
        by: String,
    },
    /// A call is over: what happened, for the records.
    Record(CallRecord),
}

/// How a call ended, for service-level figures. Holds no media and no text.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// Call id.
    pub call_id: CallId,
    /// Why the caller called.
    pub purpose: Purpose,
    /// Sign language asked for.
    pub sign_language: String,
    /// Interpreters whose consoles rang, in order.
    pub rang: Vec<String>,
    /// The interpreter who answered first.
    pub answered_by: Option<String>,
    /// Time from placing the call to the first answer (or to the end, if never answered).
    pub wait: Duration,
    /// Time from the first answer to the end.
    pub talk: Option<Duration>,
    /// Why it ended.
    pub reason: EndReason,
    /// Who ended it.
    pub ended_by: Option<Role>,
    /// A captioned call without an interpreter (not part of interpreting service levels).
    pub direct: bool,
    /// Every interpreter's stretch in the call, active or support, in order.
    pub interpreters: Vec<super::StretchRecord>,
}
