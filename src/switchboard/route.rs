//! The router: each page message, checked against the sender's role and state, goes to the
//! handler of its domain (calls, team work, videomail, briefings, media).

use super::{
    clean_name, counters, lock, peer_of, refuse, RequestError, Switchboard, MAX_CHAT_CHARS,
};
use crate::admission::Who;
use crate::signal::{ClientMsg, ErrorCode, Role, ServerMsg, SessionId};
use crate::token::new_token;
use std::time::Instant;

impl Switchboard {
    pub(super) async fn route(
        &self,
        session: SessionId,
        msg: ClientMsg,
    ) -> Result<(), RequestError> {
        if self.briefing_of(session).is_some() {
            return self.route_briefing(session, msg);
        }
        let now = Instant::now();
        let role = self.role(session);
        let need = |want: Role| -> Result<(), RequestError> {
            match role {
                Some(r) if r == want => Ok(()),
                None => Err(refuse(
                    ErrorCode::NotIdentified,
                    "say hello or sign in first",
                )),
                Some(_) => Err(refuse(
                    ErrorCode::Forbidden,
                    format!("only a {want:?} may do that").to_lowercase(),
                )),
            }
        };
        match msg {
            ClientMsg::Ping => self.deliver(session, ServerMsg::Pong),
            ClientMsg::RefreshIce => {
                let (ice_servers, ice_refresh_secs) = self.ice_servers(session);
                self.deliver(
                    session,
                    ServerMsg::IceServers {
                        ice_servers,
                        ice_refresh_secs,
                    },
                );
            }
            ClientMsg::Hello {
                role: r,
                name,
                invite,
            } => {
                if role.is_some() {
                    return Err(refuse(ErrorCode::AlreadyIdentified, "already identified"));
                }
                let name = clean_name(name.as_deref(), r);
                match r {
                    Role::Caller => {
                        self.identify(session, Role::Caller, &name);
                        self.deliver(session, self.welcome(session, Role::Caller, &name));
                    }
                    Role::Guest => {
                        let Some(token) = invite else {
                            return Err(refuse(
                                ErrorCode::InviteInvalid,
                                "guests join with an invitation link",
                            ));
                        };
                        let (_, fx) = lock(&self.relay).join_invite(session, &token, &name, now)?;
                        self.identify(session, Role::Guest, &name);
                        self.deliver(session, self.welcome(session, Role::Guest, &name));
                        self.apply(fx);
                    }
                    Role::Interpreter => {
                        return Err(refuse(
                            ErrorCode::Forbidden,
                            "interpreters sign in with a user name and password",
                        ))
                    }
                    Role::Broadcaster | Role::Viewer | Role::Captioner => {
                        return Err(refuse(
                            ErrorCode::Forbidden,
                            "events are joined with join_event (captioners use the caption desk)",
                        ))
                    }
                }
            }
            ClientMsg::JoinEvent { event, token, name } => {
                if role.is_some() {
                    return Err(refuse(ErrorCode::AlreadyIdentified, "already identified"));
                }
                self.join_briefing(session, &event, token.as_deref(), name.as_deref())?;
            }
            ClientMsg::Login { username, password } => {
                if role.is_some() {
                    return Err(refuse(ErrorCode::AlreadyIdentified, "already identified"));
                }
                let acct = self
                    .interpreter_login(session, &username, &password)
                    .await?;
                let fx = lock(&self.relay).sign_in(
                    session,
                    &acct.username,
                    &acct.display_name,
                    acct.sign_languages.clone(),
                    now,
                )?;
                let topics: Vec<crate::signal::Purpose> = acct
                    .topics
                    .iter()
                    .filter_map(|t| crate::signal::from_wire(t))
                    .collect();
                lock(&self.relay).set_skills(
                    session,
                    Some(acct.gender.as_str()).filter(|g| !g.is_empty()),
                    &topics,
                );
                self.identify(session, Role::Interpreter, &acct.display_name);
                tracing::info!(%session, username = %acct.username, "interpreter signed in");
                self.deliver(
                    session,
                    self.welcome(session, Role::Interpreter, &acct.display_name),
                );
                self.deliver(
                    session,
                    ServerMsg::WebTicket {
                        ticket: self.issue_ticket(&acct.username),
                    },
                );
                self.apply(fx);
            }
            ClientMsg::SetPresence { status } => {
                need(Role::Interpreter)?;
                let fx = lock(&self.relay).set_presence(session, status, now)?;
                self.apply(fx);
            }
            ClientMsg::PlaceCall {
                purpose,
                sign_language,
                preferred_interpreter_gender,
                counter,
            } => {
                need(Role::Caller)?;
                if self.recording_room(session).is_some() {
                    return Err(refuse(
                        ErrorCode::AlreadyInCall,
                        "finish your message first",
                    ));
                }
                let point = match counter.as_deref() {
                    Some(code) => Some(self.counter_for_call(code).await?),
                    None => None,
                };
                let purpose = match &point {
                    Some(p) => counters::counter_purpose(p, purpose),
                    None => purpose,
                };
                // Out of hours only emergencies ring; the page has said so before the tap.
                if purpose != crate::signal::Purpose::Emergency
                    && self.service_hours().is_some_and(|h| !h.open)
                {
                    return Err(refuse(
                        ErrorCode::ServiceClosed,
                        "the service is closed now; emergency calls still ring",
                    ));
                }
                let who = if purpose == crate::signal::Purpose::Emergency {
                    Who::Emergency
                } else {
                    Who::Anonymous
                };
                self.admit_call(session, who, false)?;
                let name = self.name(session);
                let sign_language = sign_language
                    .or_else(|| point.as_ref().map(|p| p.sign_language.clone()))
                    .filter(|l| !l.is_empty());
                let opts = crate::relay::CallOptions {
                    preference: preferred_interpreter_gender.as_deref(),
                    counter: point.as_ref().map(|p| (p.code.as_str(), p.name.as_str())),
                };
                let (call, fx) = lock(&self.relay).place_call_with(
                    session,
                    &name,
                    purpose,
                    sign_language.as_deref(),
                    opts,
                    now,
                )?;
                tracing::info!(%session, %call, ?purpose, counter = point.is_some(), "call placed");
                self.apply(fx);
            }
            ClientMsg::StartVideomail { sign_language } => {
                need(Role::Caller)?;
                self.start_videomail(session, sign_language)?;
            }
            ClientMsg::WatchVideomail { token } => {
                need(Role::Caller)?;
                self.watch_videomail(session, &token).await?;
            }
            ClientMsg::CallBack { videomail } => {
                need(Role::Interpreter)?;
                self.call_back(session, &videomail).await?;
            }
            ClientMsg::AnswerCallBack { accept } => {
                need(Role::Caller)?;
                self.answer_call_back(session, accept)?;
            }
            ClientMsg::RecordAnswer { videomail, text } => {
                need(Role::Interpreter)?;
                self.start_answer(session, &videomail, text).await?;
            }
            ClientMsg::StopVideomail => {
                if !matches!(role, Some(Role::Caller | Role::Interpreter)) {
                    return Err(refuse(
                        ErrorCode::Forbidden,
                        "nothing of yours is recording",
                    ));
                }
                if self.recording_room(session).is_none() {
                    return Err(refuse(ErrorCode::NotInCall, "you are not recording"));
                }
                self.stop_videomail(session, false);
            }
            ClientMsg::CounterSignIn { device } => {
                if role.is_some() {
                    return Err(refuse(ErrorCode::AlreadyIdentified, "already identified"));
                }
                self.counter_sign_in(session, &device).await?;
            }
            ClientMsg::HandBack => {
                need(Role::Interpreter)?;
                let fx = lock(&self.relay).hand_back(session, now)?;
                tracing::info!(%session, "call handed back to the queue");
                self.apply(fx);
            }
            ClientMsg::StartCaptionedCall => {
                need(Role::Caller)?;
                self.admit_call(session, Who::Anonymous, true)?;
                let name = self.name(session);
                let (call, fx) = lock(&self.relay).start_direct(session, &name, now)?;
                tracing::info!(%session, %call, "captioned call started");
                self.apply(fx);
            }
            ClientMsg::CancelCall => {
                need(Role::Caller)?;
                let fx = lock(&self.relay).cancel(session, now)?;
                self.apply(fx);
            }
            ClientMsg::Accept { call_id } => {
                need(Role::Interpreter)?;
                let fx = lock(&self.relay).accept(session, call_id, now)?;
                tracing::info!(%session, call = %call_id, "call answered");
                self.apply(fx);
            }
            ClientMsg::Decline { call_id } => {
                need(Role::Interpreter)?;
                let fx = lock(&self.relay).decline(session, call_id, now)?;
                self.apply(fx);
            }
            ClientMsg::HangUp => {
                if role.is_none() {
                    return Err(refuse(
                        ErrorCode::NotIdentified,
                        "say hello or sign in first",
                    ));
                }
                let fx = lock(&self.relay).hang_up(session, now)?;
                self.apply(fx);
            }
            ClientMsg::CreateInvite => {
                let token = new_token();
                let (call_id, ttl) =
                    lock(&self.relay).create_invite(session, token.clone(), now)?;
                let path = format!("/guest#{token}");
                let base = self.cfg.service.public_url.trim_end_matches('/');
                self.deliver(
                    session,
                    ServerMsg::InviteCreated {
                        call_id,
                        token,
                        url: (!base.is_empty()).then(|| format!("{base}{path}")),
                        path,
                        expires_in_secs: ttl.as_secs(),
                    },
                );
            }
            ClientMsg::Chat { text } => {
                let text = text.trim();
                if text.is_empty() || text.chars().count() > MAX_CHAT_CHARS {
                    return Err(refuse(
                        ErrorCode::BadMessage,
                        format!("chat text must be 1 to {MAX_CHAT_CHARS} characters"),
                    ));
                }
                let call = self.connected_call(session)?;
                // The same budget as typing over the text channel: a page cannot flood a
                // call through the signaling socket either.
                let admitted = lock(&self.sessions)
                    .get_mut(&session)
                    .map(|s| s.text_flow.admit(text, Instant::now()));
                if let Some(Err(why)) = admitted {
                    return Err(refuse(ErrorCode::RateLimited, why.message()));
                }
                self.send_to_call(
                    call,
                    ServerMsg::Chat {
                        from: peer_of(session).to_string(),
                        name: self.name(session),
                        role: role.unwrap_or(Role::Caller),
                        text: text.to_owned(),
                    },
                );
            }
            m @ (ClientMsg::Transfer { .. }
            | ClientMsg::AskTeam { .. }
            | ClientMsg::CancelAsk
            | ClientMsg::SwitchActive
            | ClientMsg::LeaveTeam
            | ClientMsg::TeamNote { .. }) => {
                need(Role::Interpreter)?;
                self.team_request(session, m, now)?;
            }
            m @ (ClientMsg::WantCaptioner { .. }
            | ClientMsg::SuggestCaptioner
            | ClientMsg::CaptionerDuty { .. }
            | ClientMsg::CorrectCaption { .. }
            | ClientMsg::AcceptCaption { .. }
            | ClientMsg::TypeCaption { .. }
            | ClientMsg::CaptionRule { .. }) => {
                self.captioner_request(session, role, m)?;
            }
            m @ (ClientMsg::Answer { .. }
            | ClientMsg::Candidate { .. }
            | ClientMsg::RequestKeyframe) => {
                if let Some(room) = self
                    .recording_room(session)
                    .or_else(|| self.captioned_room(session))
                {
                    return self.media(room, session, m);
                }
                let call = self.connected_call(session)?;
                self.media(crate::sfu::RoomId::Call(call.0), session, m)?;
            }
        }
        Ok(())
    }
}
