//! The signaling protocol: JSON messages over one WebSocket per page, tagged by `type`.
//! Shared by the server, the Rust test client and (documented in README) the web pages.

mod call_captioner;
mod client;
mod counter;
mod event;
mod server;
mod team;

pub use event::{
    CaptionHealth, CaptionLine, CaptionStatus, CaptionView, Captioning, EventCreated, EventInfo,
    EventState, NewEvent, Review,
};

pub use call_captioner::{CallCaptioner, CaptionerDuty, CaptionerState};
pub use client::{parse_client, ClientEnvelope, ClientMsg};
pub use counter::CounterState;
pub use server::{
    EmergencyContact, EndReason, IceServerInfo, Participant, QueueEntry, ServerMsg, ServiceHours,
    SignLanguageInfo, Staffing,
};
pub use team::{AskKind, AskOutcome, Colleague};

use serde::{Deserialize, Serialize};

/// Largest signaling message accepted; SDP offers with many tracks stay far below this.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Identifies one WebSocket session (one page), or one WHIP/WHEP connection; a number on
/// the wire.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SessionId(pub u64);

/// Identifies one call (and names its media room); a number on the wire.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct CallId(pub u64);

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for CallId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for SessionId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(SessionId)
    }
}

/// Why a caller is calling; emergencies jump the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Questions about policies and public services.
    PolicyConsultation,
    /// Help with daily life (bank, landlord, shopping...).
    DailyLife,
    /// A doctor's visit, a hospital, medicine.
    Medical,
    /// Police statements, courts, contracts, lawyers.
    Legal,
    /// Emergency: served before everyone else.
    Emergency,
}

/// What a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A deaf or speech-impaired resident.
    Caller,
    /// A sign-language interpreter.
    Interpreter,
    /// A hearing party invited into a call.
    Guest,
    /// The speaker of a press briefing or announcement (browser or WHIP encoder).
    Broadcaster,
    /// Someone watching an event.
    Viewer,
    /// A captioner (速录员) correcting or typing an event's captions.
    Captioner,
}

/// An interpreter's presence as they set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Ready to take calls.
    Available,
    /// Not taking calls.
    Away,
}

/// An interpreter's full state as others see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterpreterStatus {
    /// Ready to take calls.
    Available,
    /// Not taking calls.
    Away,
    /// Their console is ringing.
    Ringing,
    /// In a call.
    Busy,
}

/// Machine-readable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not a known message.
    BadMessage,
    /// Over [`MAX_MESSAGE_BYTES`].
    TooLarge,
    /// The session's role may not do this.
    Forbidden,
    /// The session must say hello or log in first.
    NotIdentified,
    /// Already identified.
    AlreadyIdentified,
    /// Wrong user name or password.
    AuthFailed,
    /// That account is signed in on another page.
    AlreadySignedIn,
    /// The session is not in a call (or not the one named).
    NotInCall,
    /// The session already has a call.
    AlreadyInCall,
    /// The call does not exist or is not ringing this interpreter.
    NoSuchCall,
    /// The invitation is unknown, used, expired, or its call ended.
    InviteInvalid,
    /// Too many callers waiting.
    QueueFull,
    /// Out of service hours: only emergency calls are taken.
    ServiceClosed,
    /// The sign language is not offered.
    UnknownSignLanguage,
    /// The SDP did not parse or does not fit the offer.
    BadSdp,
    /// The ICE candidate did not parse.
    BadCandidate,
    /// The interpreter cannot change presence now.
    Busy,
    /// Media could not be set up.
    MediaFailed,
    /// The colleague named is not signed in, not free, or does not work in the call's sign
    /// language.
    InterpreterUnavailable,
    /// The service point's link or device secret is unknown or was revoked.
    NoSuchCounter,
    /// Videomail is switched off, busy (too many recordings now), or the message could not be
    /// saved.
    VideomailUnavailable,
    /// The event does not exist or has ended.
    NoSuchEvent,
    /// The caption line is too old to correct, or was never sent.
    NoSuchLine,
    /// No captioner is on duty for calls, or one was already asked for.
    CaptionerUnavailable,
    /// The event's publishing token is wrong.
    TokenInvalid,
    /// Too much, too fast, from this page or address; try again later.
    RateLimited,
    /// A bug or resource limit on the server.
    Internal,
    /// The server is stopping (a restart); reconnect in a moment.
    ShuttingDown,
}

/// The name a unit enum value has on the wire (`daily_life`, `hang_up`...), for records.
pub fn wire_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|j| j.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The value of a snake_case wire name (the inverse of [`wire_name`]).
pub fn from_wire<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

/// Leaves a "never" out of the wire form.
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Leaves a plain `false` out of the wire form.
fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tagged_messages_with_request_numbers() {
        let e = parse_client(r#"{"type":"place_call","purpose":"emergency","req":7}"#).unwrap();
        assert_eq!(e.req, Some(7));
        assert_eq!(
            e.msg,
            ClientMsg::PlaceCall {
                purpose: Purpose::Emergency,
                sign_language: None,
                preferred_interpreter_gender: None,
                counter: None,
            }
        );
        let c =
            parse_client(r#"{"type":"candidate","candidate":"x","sdpMid":"0","sdpMLineIndex":0}"#)
                .unwrap();
        assert!(matches!(
            c.msg,
            ClientMsg::Candidate {
                sdp_mline_index: Some(0),
                ..
            }
        ));
    }

    #[test]
    fn malformed_and_oversized_give_clear_errors() {
        let bad = |t: &str| match parse_client(t) {
            Err(ServerMsg::Error { code, req, .. }) => (code, req),
            other => panic!("expected error, got {other:?}"),
        };
        assert_eq!(bad("{not json").0, ErrorCode::BadMessage);
        assert_eq!(
            bad(r#"{"type":"fly","req":3}"#),
            (ErrorCode::BadMessage, Some(3))
        );
        assert_eq!(
            bad(r#"{"type":"place_call","purpose":"party"}"#).0,
            ErrorCode::BadMessage
        );
        let big = format!(
            r#"{{"type":"chat","text":"{}"}}"#,
            "x".repeat(MAX_MESSAGE_BYTES)
        );
        assert_eq!(bad(&big).0, ErrorCode::TooLarge);
    }

    #[test]
    fn server_messages_are_tagged_snake_case() {
        let s = serde_json::to_string(&ServerMsg::Pong).unwrap();
        assert_eq!(s, r#"{"type":"pong"}"#);
        let s = serde_json::to_string(&ServerMsg::error(Some(1), ErrorCode::BadSdp, "x")).unwrap();
        assert!(s.contains(r#""code":"bad_sdp""#), "{s}");
    }

    #[test]
    fn captioner_messages_have_the_wire_form_the_pages_read() {
        let m = ServerMsg::CallCaptioner(CallCaptioner {
            call_id: CallId(4),
            state: CaptionerState::On,
            name: Some("苏".into()),
            on_duty: 2,
        });
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"type":"call_captioner","call_id":4,"state":"on","name":"苏","on_duty":2}"#
        );
        let d = ServerMsg::CaptionerDuty(CaptionerDuty {
            on: true,
            call_id: None,
        });
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"type":"captioner_duty","on":true}"#
        );
        let c = parse_client(r#"{"type":"correct_caption","seq":3,"text":"对"}"#).unwrap();
        assert_eq!(
            c.msg,
            ClientMsg::CorrectCaption {
                seq: 3,
                text: "对".into()
            }
        );
        let w = parse_client(r#"{"type":"want_captioner","yes":false}"#).unwrap();
        assert_eq!(w.msg, ClientMsg::WantCaptioner { yes: false });
        // A consent must be said, not implied by a missing field.
        assert!(parse_client(r#"{"type":"want_captioner"}"#).is_err());
        // Typing streams without `done`; only the end of a line says it.
        let t = parse_client(r#"{"type":"type_caption","text":"请"}"#).unwrap();
        assert_eq!(
            t.msg,
            ClientMsg::TypeCaption {
                text: "请".into(),
                done: false
            }
        );
        assert!(parse_client(r#"{"type":"caption_rule","wrong":"内课"}"#).is_err());
    }
}
