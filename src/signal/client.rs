//! What a page may send: the envelope, every request, and the parser that turns a text frame
//! into one or into a clear error reply.

use super::{CallId, ErrorCode, Presence, Purpose, Role, ServerMsg, MAX_MESSAGE_BYTES};
use serde::{Deserialize, Serialize};

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
