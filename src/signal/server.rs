//! What the server tells a page, and the records those messages carry (sign languages, ICE
//! servers, the queue, participants, why a call ended).

use super::{
    is_false, is_zero, AskKind, AskOutcome, CallCaptioner, CallId, CaptionLine, CaptionStatus,
    CaptionerDuty, Colleague, CounterState, ErrorCode, EventInfo, InterpreterStatus, Purpose, Role,
    SessionId,
};
use serde::{Deserialize, Serialize};

/// A configured sign language as the pages see it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SignLanguageInfo {
    /// Code.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}

/// Another way to reach the emergency services, shown at once to a caller who picks
/// "emergency" (this service is not 110/119/120 and may have to queue).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EmergencyContact {
    /// What it is, in Chinese (e.g. 短信报警).
    pub label_zh: String,
    /// What it is, in English.
    pub label_en: String,
    /// The number or address to use (e.g. 12110).
    pub contact: String,
    /// A link that starts it on a phone (`sms:12110`, `tel:…`, `https://…`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

/// An ICE server as the browser's `RTCIceServer`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IceServerInfo {
    /// URLs.
    pub urls: Vec<String>,
    /// TURN user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Open or closed now, for the caller page (`welcome` and `GET /api/hours`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct ServiceHours {
    /// Calls other than emergencies are taken now.
    pub open: bool,
    /// While open: when it closes (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes_at_ms: Option<i64>,
    /// While closed: when it opens next, if within a month (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens_at_ms: Option<i64>,
    /// The centre's offset from UTC, for showing those times as its clocks do.
    pub utc_offset_minutes: i32,
}

/// One waiting or ringing call, as interpreters see the queue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QueueEntry {
    /// Call id.
    pub call_id: CallId,
    /// Why.
    pub purpose: Purpose,
    /// Sign language code.
    pub sign_language: String,
    /// Seconds since the call was placed.
    pub waited_secs: u64,
    /// Ringing an interpreter right now.
    pub ringing: bool,
    /// Put back at the front after its interpreter dropped.
    pub requeued: bool,
    /// The caller would rather have a `female` or `male` interpreter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_interpreter_gender: Option<String>,
    /// The name of the service point the call comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_point: Option<String>,
}

/// Counts of interpreters by state.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Staffing {
    /// Ready.
    pub available: usize,
    /// Ringing or in a call.
    pub busy: usize,
    /// Signed in but away.
    pub away: usize,
}

/// Someone in a call's media room.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Participant {
    /// Media id: the `msid` stream id of their tracks and the `rtt:<id>` data channel label.
    pub id: String,
    /// Role in the call.
    pub role: Role,
    /// Display name.
    pub name: String,
    /// A team's support interpreter: in the call, not shown large to the caller.
    #[serde(default, skip_serializing_if = "is_false")]
    pub support: bool,
}

/// Why a call (or one leg) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Someone hung up.
    HangUp,
    /// The caller gave up waiting.
    Cancelled,
    /// A page vanished.
    Disconnected,
    /// Media could not be kept up.
    MediaFailed,
    /// The ring was not answered in time.
    Timeout,
    /// Another interpreter took it or the caller left.
    Taken,
    /// The interpreter declined.
    Declined,
    /// The interpreter gave the call back to the queue for another to take.
    HandedBack,
    /// The interpreter transferred the call to a colleague and left it.
    Transferred,
    /// The support interpreter left the team; the call goes on.
    LeftTeam,
}

/// What the server tells a page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The session is identified.
    Welcome {
        /// Session id.
        session: SessionId,
        /// Its role.
        role: Role,
        /// Display name.
        name: String,
        /// ICE servers for the page's RTCPeerConnection.
        ice_servers: Vec<IceServerInfo>,
        /// Seconds until the page should send `refresh_ice` (its TURN credentials expire);
        /// 0: never.
        #[serde(default, skip_serializing_if = "is_zero")]
        ice_refresh_secs: u32,
        /// Sign languages on offer.
        sign_languages: Vec<SignLanguageInfo>,
        /// Speech in calls is captioned on this server.
        #[serde(default)]
        captions: bool,
        /// Other ways to reach the emergency services (shown with every emergency call).
        #[serde(default)]
        emergency_contacts: Vec<EmergencyContact>,
        /// Whether the service is open now (absent: it never closes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service_hours: Option<Box<ServiceHours>>,
        /// To interpreters: seconds into a call after which the console suggests a hand-over
        /// (0: never).
        #[serde(default, skip_serializing_if = "is_zero")]
        handover_suggest_secs: u32,
        /// To callers, when videomail is on: after this many seconds of waiting the page
        /// offers to leave a message instead (absent: no videomail).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        videomail_offer_after_secs: Option<u16>,
    },
    /// To a console that just signed in: exchanged once, within a minute, at
    /// `POST /api/login {"ticket": ...}` for its web session, so one submit checks the password
    /// once.
    WebTicket {
        /// The one-time ticket.
        ticket: String,
    },
    /// A request failed; nothing else changed.
    Error {
        /// The request number, if the page sent one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<u64>,
        /// Machine-readable code.
        code: ErrorCode,
        /// Human explanation.
        message: String,
    },
    /// The caller's place in the queue (sent whenever it changes).
    Queued {
        /// Call id.
        call_id: CallId,
        /// 1 = next.
        position: usize,
        /// Estimate, absent when no interpreter is signed in.
        estimated_wait_secs: Option<u64>,
        /// Interpreters signed in who work in the call's sign language.
        interpreters_online: usize,
        /// Of those, the ones not away (available, ringing or in a call).
        #[serde(default)]
        interpreters_on_duty: usize,
    },
    /// An interpreter's console is ringing for this caller.
    Connecting {
        /// Call id.
        call_id: CallId,
    },
    /// To an interpreter: a call is ringing.
    Incoming {
        /// Call id.
        call_id: CallId,
        /// Why.
        purpose: Purpose,
        /// Sign language.
        sign_language: String,
        /// Seconds the caller has waited.
        waited_secs: u64,
        /// Seconds before the ring moves on.
        ring_timeout_secs: u64,
        /// The caller would rather have a `female` or `male` interpreter.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preferred_interpreter_gender: Option<String>,
        /// The name of the service point the call comes from (its staff will join).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service_point: Option<String>,
    },
    /// To a caller: recording has started (media negotiation follows); it stops by itself
    /// after `max_secs`. `token` opens the message's private page (`/videomail#<token>`).
    VideomailRecording {
        /// Longest message, seconds.
        max_secs: u32,
        /// The caller's private link token.
        token: String,
    },
    /// To a caller: the message is saved (`secs` long).
    VideomailSaved {
        /// Its length in seconds.
        secs: u32,
        /// Stopped at the length or size limit rather than by the caller.
        limit_reached: bool,
    },
    /// To a caller's videomail page: it can be called back now.
    VideomailWatched,
    /// To a caller on their videomail page: an interpreter offers to call back.
    CallBackOffer {
        /// The interpreter's name.
        from: String,
        /// Seconds the offer stands.
        ring_timeout_secs: u64,
    },
    /// How an offered call back ended (to the interpreter; to the caller when it timed out or
    /// the interpreter left).
    CallBackEnded {
        /// Accepted, declined, timeout or gone.
        outcome: AskOutcome,
    },
    /// To a service point's device: its counter's state changed.
    CounterState {
        /// The new state.
        state: CounterState,
    },
    /// To an interpreter: the ring stopped.
    RingStopped {
        /// Call id.
        call_id: CallId,
        /// Why.
        reason: EndReason,
    },
    /// To an interpreter: their own state.
    Status {
        /// Current status.
        status: InterpreterStatus,
    },
    /// To interpreters: the queue and staffing (sent on every change).
    QueueSnapshot {
        /// Waiting and ringing calls in service order.
        calls: Vec<QueueEntry>,
        /// Interpreter counts.
        staffing: Staffing,
        /// Everyone signed in, by account name, to pick whom to transfer to or team with.
        #[serde(default)]
        colleagues: Vec<Colleague>,
    },
    /// The call is connected; media negotiation follows.
    CallConnected {
        /// Call id.
        call_id: CallId,
        /// The interpreter's name.
        interpreter: String,
        /// The purpose.
        purpose: Purpose,
    },
    /// Who is in the call's media room.
    Room {
        /// Call id.
        call_id: CallId,
        /// Your participant id.
        you: String,
        /// Everyone, you included.
        participants: Vec<Participant>,
    },
    /// To the caller and guests: the interpreter dropped; the call is back at the front.
    InterpreterLost {
        /// Call id.
        call_id: CallId,
        /// The interpreter handed the call over on purpose (not a dropped connection).
        #[serde(default)]
        handed_back: bool,
    },
    /// The call ended for this page.
    CallEnded {
        /// Call id.
        call_id: CallId,
        /// Why.
        reason: EndReason,
        /// Who ended it, when a person did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<Role>,
    },
    /// A guest invitation.
    InviteCreated {
        /// Call id.
        call_id: CallId,
        /// The one-time token.
        token: String,
        /// Path of the guest page (prefix with the site URL).
        path: String,
        /// Absolute URL when `service.public_url` is set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        /// Seconds until it expires.
        expires_in_secs: u64,
    },
    /// A chat line.
    Chat {
        /// Sender's participant id.
        from: String,
        /// Sender's name.
        name: String,
        /// Sender's role.
        role: Role,
        /// Text.
        text: String,
    },
    /// The server's SDP offer (first or renegotiation).
    Offer {
        /// SDP text.
        sdp: String,
    },
    /// A caption update of one speaker.
    Caption(Box<CaptionLine>),
    /// How far behind one speaker's captions run (while behind, and when caught up).
    CaptionStatus(CaptionStatus),
    /// An event's state (sent on joining and on every change).
    EventStatus(EventInfo),
    /// Reply to `ping`.
    Pong,
    /// To an interpreter: a colleague in a call asks them to take it over or to join it.
    Asked {
        /// The call.
        call_id: CallId,
        /// Transfer or team.
        kind: AskKind,
        /// The asking interpreter's name.
        from: String,
        /// Why the caller called.
        purpose: Purpose,
        /// Sign language.
        sign_language: String,
        /// Seconds before the ask lapses.
        ring_timeout_secs: u64,
    },
    /// To the interpreter who asked: how the ask ended.
    AskEnded {
        /// The call.
        call_id: CallId,
        /// Transfer or team.
        kind: AskKind,
        /// What happened.
        outcome: AskOutcome,
    },
    /// A private line from the other interpreter of a team.
    TeamNote {
        /// The sender's name.
        from: String,
        /// The text.
        text: String,
    },
    /// To the caller: the interpreter proposes a captioner; the page asks for consent.
    CaptionerSuggested {
        /// The call.
        call_id: CallId,
    },
    /// To everyone in a call: whether a captioner is in it.
    CallCaptioner(CallCaptioner),
    /// To a captioner's console: its duty and call.
    CaptionerDuty(CaptionerDuty),
    /// Reply to `refresh_ice`: the ICE servers with new TURN credentials.
    IceServers {
        /// As in `welcome`.
        ice_servers: Vec<IceServerInfo>,
        /// Seconds until the next refresh is due (0: never).
        #[serde(default, skip_serializing_if = "is_zero")]
        ice_refresh_secs: u32,
    },
}

impl ServerMsg {
    /// An error reply.
    pub fn error(req: Option<u64>, code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMsg::Error {
            req,
            code,
            message: message.into(),
        }
    }
}
