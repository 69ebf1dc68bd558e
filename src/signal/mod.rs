//! The signaling protocol: JSON messages over one WebSocket per page, tagged by `type`.
//! Shared by the server, the Rust test client and (documented in README) the web pages.

mod call_captioner;
mod counter;
mod event;
mod team;

pub use event::{
    CaptionHealth, CaptionLine, CaptionStatus, CaptionView, Captioning, EventCreated, EventInfo,
    EventState, NewEvent, Review,
};

pub use call_captioner::{CallCaptioner, CaptionerDuty, CaptionerState};
pub use counter::CounterState;
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

/// A message from a page to the server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClientEnvelope {
    /// Optional request number, echoed in an error reply so the page can match it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    /// The message itself.
    #[serde(flatten)]
    pub msg: ClientMsg,
}

/// What a page can ask.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// An anonymous caller or a guest introduces itself (guests must bring an invitation).
    Hello {
        /// `caller` or `guest`.
        role: Role,
        /// Name shown to the others in a call.
        #[serde(default)]
        name: Option<String>,
        /// Invitation token, for guests.
        #[serde(default)]
        invite: Option<String>,
    },
    /// An interpreter signs in.
    Login {
        /// Account name.
        username: String,
        /// Password.
        password: String,
    },
    /// An interpreter sets presence.
    SetPresence {
        /// The new presence.
        status: Presence,
    },
    /// A caller asks for an interpreter.
    PlaceCall {
        /// Why.
        purpose: Purpose,
        /// Sign language code; the configured default if absent.
        #[serde(default)]
        sign_language: Option<String>,
        /// `female` or `male` if the caller would rather have such an interpreter (shown to
        /// interpreters; anything else is ignored).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preferred_interpreter_gender: Option<String>,
        /// The service point's code when the caller scanned its QR code: the counter's own
        /// device joins the call when it is answered, and its purpose and sign language apply.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counter: Option<String>,
    },
    /// A service point's own device (the tablet at the counter) signs in with the secret an
    /// admin gave it; it then joins its counter's calls as the hearing party by itself.
    CounterSignIn {
        /// The device secret.
        device: String,
    },
    /// A caller leaves a videomail instead of waiting (a queued call is cancelled first): the
    /// server records the caller's camera and microphone from the media plane.
    StartVideomail {
        /// Sign language the message is in; the configured default if absent.
        #[serde(default)]
        sign_language: Option<String>,
    },
    /// The caller (or an interpreter recording an answer) is done; the recording is saved.
    StopVideomail,
    /// An interpreter answers a videomail with a recorded video (the console is set away
    /// while recording); `text`, if given, goes with it.
    RecordAnswer {
        /// The message answered.
        videomail: String,
        /// A text answer sent along.
        #[serde(default)]
        text: Option<String>,
    },
    /// A caller's videomail page says it is open (`token` is the message's), so an
    /// interpreter answering it may call back.
    WatchVideomail {
        /// The message's private token.
        token: String,
    },
    /// An interpreter offers the author of a videomail whose page is open a call back.
    CallBack {
        /// The message.
        videomail: String,
    },
    /// The caller takes or declines an offered call back.
    AnswerCallBack {
        /// True to take it.
        accept: bool,
    },
    /// A caller gives up waiting.
    CancelCall,
    /// A caller starts a captioned call with a hearing party, without an interpreter (the
    /// other side joins by invitation link).
    StartCaptionedCall,
    /// An interpreter answers a ringing call.
    Accept {
        /// The call that rang.
        call_id: CallId,
    },
    /// An interpreter passes on a ringing call.
    Decline {
        /// The call that rang.
        call_id: CallId,
    },
    /// Leave the call (ends it for everyone unless sent by a guest).
    HangUp,
    /// An interpreter who must leave (end of a shift, too tired) gives the call back: it goes
    /// to the front of the queue for its sign language and the next interpreter is rung.
    HandBack,
    /// Create a one-time invitation link for a hearing party.
    CreateInvite,
    /// A chat line to everyone in the call.
    Chat {
        /// The text.
        text: String,
    },
    /// The page's SDP answer to the server's offer.
    Answer {
        /// SDP text.
        sdp: String,
    },
    /// A trickled ICE candidate from the page.
    Candidate {
        /// `candidate:` line, empty for end-of-candidates.
        candidate: String,
        /// Media id.
        #[serde(default, rename = "sdpMid")]
        sdp_mid: Option<String>,
        /// Media line index.
        #[serde(default, rename = "sdpMLineIndex")]
        sdp_mline_index: Option<u16>,
    },
    /// Ask the others to send a keyframe (after a decoder error).
    RequestKeyframe,
    /// Join a press-briefing event: with the broadcaster's or interpreter's token to publish,
    /// without one to watch.
    JoinEvent {
        /// The event's public id.
        event: String,
        /// A publishing token from the organizer's links.
        #[serde(default)]
        token: Option<String>,
        /// Name shown to the others (publishers only).
        #[serde(default)]
        name: Option<String>,
    },
    /// Keep-alive.
    Ping,
    /// Fresh TURN credentials, asked for before the ones held run out.
    RefreshIce,
    /// The active interpreter hands the call to a named free colleague (warm transfer).
    Transfer {
        /// The colleague's account name.
        to: String,
    },
    /// The active interpreter asks a colleague to join as support: a named one, or the best
    /// free one for the call's sign language.
    AskTeam {
        /// The colleague's account name.
        #[serde(default)]
        to: Option<String>,
    },
    /// Take back a transfer or team request not yet answered.
    CancelAsk,
    /// Either interpreter of a team swaps who is active and who supports.
    SwitchActive,
    /// The support interpreter (or one who just transferred) leaves; the call goes on.
    LeaveTeam,
    /// A private line between the two interpreters of a team.
    TeamNote {
        /// The text.
        text: String,
    },
    /// The caller of a call agrees to a captioner listening and correcting the captions
    /// (`yes`), or withdraws that (the captioner leaves at once).
    WantCaptioner {
        /// Agree (true) or withdraw (false).
        yes: bool,
    },
    /// An interpreter in a call proposes a captioner: the caller is asked, nothing else.
    SuggestCaptioner,
    /// A captioner's console (signed in with its session cookie) takes call work or stops.
    CaptionerDuty {
        /// Take call work.
        on: bool,
    },
    /// The captioner of a call corrects caption line `seq`: a revision of the same line.
    CorrectCaption {
        /// The line.
        seq: u64,
        /// Its right text.
        text: String,
    },
    /// The captioner of a call accepts caption line `seq` as it is.
    AcceptCaption {
        /// The line.
        seq: u64,
    },
    /// The captioner of a call types a line (速录) beside the recognizer: each message
    /// replaces the text being typed; `done` ends the line.
    TypeCaption {
        /// The line so far.
        text: String,
        /// The line is finished.
        #[serde(default)]
        done: bool,
    },
    /// The captioner of a call teaches it a replacement (wrong → right) for its later lines.
    CaptionRule {
        /// What the recognizer writes.
        wrong: String,
        /// What it should be.
        right: String,
    },
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

/// Leaves a "never" out of the wire form.
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Leaves a plain `false` out of the wire form.
fn is_false(b: &bool) -> bool {
    !*b
}

/// Parses one text frame, mapping every failure to a clear error reply.
pub fn parse_client(text: &str) -> Result<ClientEnvelope, ServerMsg> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(ServerMsg::error(
            None,
            ErrorCode::TooLarge,
            format!(
                "message is {} bytes; the limit is {MAX_MESSAGE_BYTES}",
                text.len()
            ),
        ));
    }
    serde_json::from_str(text).map_err(|e| {
        let req = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("req").and_then(|r| r.as_u64()));
        ServerMsg::error(
            req,
            ErrorCode::BadMessage,
            format!("unreadable message: {e}"),
        )
    })
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
