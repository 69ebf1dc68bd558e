//! A scripted participant: speaks the signaling protocol over a real WebSocket, answers the
//! server's offers with a real webrtc-rs peer connection, publishes synthetic RTP and counts
//! what it receives. Used by the integration tests and the `signrelay-bench calls` load benchmark.
//! Also a WHIP encoder (`whip`) and a minimal HTTP/1.1 client with an SSE reader (`http`).

pub mod http;
pub mod whip;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use signrelay::signal::{ClientEnvelope, ClientMsg, ServerMsg};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    register_default_interceptors, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCIceGatheringState, RTCSessionDescription, Registry,
    SettingEngineBuilder,
};

/// Why a scripted participant failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The WebSocket failed (boxed: the error is large and rare).
    #[error("websocket: {0}")]
    Ws(Box<tokio_tungstenite::tungstenite::Error>),
    /// webrtc-rs failed.
    #[error("webrtc: {0}")]
    WebRtc(#[from] webrtc::error::Error),
    /// The SFU's media setup failed.
    #[error("sfu: {0}")]
    Sfu(#[from] signrelay::sfu::SfuError),
    /// The expected message did not come.
    #[error("timed out waiting for {0}")]
    Timeout(String),
    /// The socket closed.
    #[error("signaling socket closed")]
    Closed,
    /// An HTTP exchange failed.
    #[error("http: {0}")]
    Http(String),
    /// I/O failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl From<tokio_tungstenite::tungstenite::Error> for ClientError {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        ClientError::Ws(Box::new(e))
    }
}

/// What a participant sent and received.
#[derive(Debug, Default)]
pub struct Counters {
    /// RTP packets written by this participant.
    pub sent: AtomicU64,
    /// Audio RTP packets received from others.
    pub audio_in: AtomicU64,
    /// Video RTP packets received from others.
    pub video_in: AtomicU64,
    /// Offers answered.
    pub offers: AtomicU64,
    /// Time the first media packet arrived.
    pub first_media: Mutex<Option<Instant>>,
}

impl Counters {
    /// All media packets received.
    pub fn received(&self) -> u64 {
        self.audio_in.load(Ordering::Relaxed) + self.video_in.load(Ordering::Relaxed)
    }
}

/// A connected participant.
pub struct Participant {
    out: mpsc::UnboundedSender<Message>,
    inbox: mpsc::UnboundedReceiver<ServerMsg>,
    /// Media counters.
    pub counters: Arc<Counters>,
    audio: (Arc<TrackLocalStaticRTP>, u32),
    video: (Arc<TrackLocalStaticRTP>, u32),
    pc: Arc<dyn PeerConnection>,
}

struct ClientEvents {
    counters: Arc<Counters>,
    gathered: watch::Sender<bool>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for ClientEvents {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let counters = self.counters.clone();
        tokio::spawn(async move {
            let kind = track.kind().await;
            while let Some(ev) = track.poll().await {
                match ev {
                    TrackRemoteEvent::OnRtpPacket(_) => {
                        {
                            let mut first = counters
                                .first_media
                                .lock()
                                .unwrap_or_else(|p| p.into_inner());
                            first.get_or_insert_with(Instant::now);
                        }
                        let c = if kind == RtpCodecKind::Audio {
                            &counters.audio_in
                        } else {
                            &counters.video_in
                        };
                        c.fetch_add(1, Ordering::Relaxed);
                    }
                    TrackRemoteEvent::OnEnded => break,
                    _ => {}
                }
            }
        });
    }
}

/// A client-side peer connection on loopback that counts what it receives.
async fn client_peer(
    counters: Arc<Counters>,
) -> Result<(Arc<dyn PeerConnection>, watch::Receiver<bool>), ClientError> {
    let mut me = signrelay::sfu::media_engine()?;
    let registry = register_default_interceptors(Registry::new(), &mut me)?;
    let (gtx, grx) = watch::channel(false);
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .with_include_loopback_candidate(true)
        .with_ice_connection_attempts(Some(Duration::from_millis(50)), Some(28))
        .build();
    let pc: Arc<dyn PeerConnection> = Arc::new(
        PeerConnectionBuilder::new()
            .with_media_engine(me)
            .with_setting_engine(settings)
            .with_interceptor_registry(registry)
            .with_handler(Arc::new(ClientEvents {
                counters,
                gathered: gtx,
            }))
            .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
            .build()
            .await?,
    );
    Ok((pc, grx))
}

fn local_track(codec: signrelay::sfu::Codec, ssrc: u32) -> Arc<TrackLocalStaticRTP> {
    let kind = codec.kind();
    let name = if kind == RtpCodecKind::Audio {
        "audio"
    } else {
        "video"
    };
    Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "loadgen".to_owned(),
        name.to_owned(),
        name.to_owned(),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            active: true,
            codec: signrelay::sfu::codec_for(codec),
            ..Default::default()
        }],
    )))
}

impl Participant {
    /// Opens the signaling socket at `ws_url` (e.g. `ws://127.0.0.1:8080/ws`).
    pub async fn connect(ws_url: &str) -> Result<Self, ClientError> {
        Self::connect_from(None, ws_url).await
    }

    /// Connects from a given local address (`127.0.0.x` stands for another client's network).
    pub async fn connect_from(
        from: Option<std::net::IpAddr>,
        ws_url: &str,
    ) -> Result<Self, ClientError> {
        Self::open(from, ws_url, None).await
    }

    /// Connects with an `Authorization` header, as a signed-in console's socket carries its
    /// session cookie.
    pub async fn connect_signed_in(ws_url: &str, authorization: &str) -> Result<Self, ClientError> {
        Self::open(None, ws_url, Some(authorization)).await
    }

    async fn open(
        from: Option<std::net::IpAddr>,
        ws_url: &str,
        authorization: Option<&str>,
    ) -> Result<Self, ClientError> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let ws = match (from, authorization) {
            (None, Some(auth)) => {
                let mut req = ws_url.into_client_request()?;
                let value = auth
                    .parse()
                    .map_err(|_| ClientError::Http("bad authorization header".into()))?;
                req.headers_mut().insert("Authorization", value);
                tokio_tungstenite::connect_async(req).await?.0
            }
            (None, None) => tokio_tungstenite::connect_async(ws_url).await?.0,
            (Some(ip), _) => {
                let host = ws_url
                    .trim_start_matches("ws://")
                    .split('/')
                    .next()
                    .unwrap_or_default();
                let server: std::net::SocketAddr = host
                    .parse()
                    .map_err(|_| ClientError::Http(format!("not an address: {host}")))?;
                let sock = tokio::net::TcpSocket::new_v4()?;
                sock.bind(std::net::SocketAddr::new(ip, 0))?;
                let tcp = sock.connect(server).await?;
                tokio_tungstenite::client_async(
                    ws_url,
                    tokio_tungstenite::MaybeTlsStream::Plain(tcp),
                )
                .await?
                .0
            }
        };
        let (mut sink, mut stream) = ws.split();
        let counters = Arc::new(Counters::default());
        let (pc, grx) = client_peer(counters.clone()).await?;
        let (assrc, vssrc): (u32, u32) = (rand::random(), rand::random());
        let audio = (local_track(signrelay::sfu::Codec::Opus, assrc), assrc);
        let video = (local_track(signrelay::sfu::Codec::Vp8, vssrc), vssrc);
        pc.add_track(audio.0.clone() as Arc<dyn TrackLocal>).await?;
        pc.add_track(video.0.clone() as Arc<dyn TrackLocal>).await?;

        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                let closing = matches!(m, Message::Close(_));
                if sink.send(m).await.is_err() || closing {
                    break;
                }
            }
            // Dropping the participant closes its socket, as a closed tab does.
            let _ = sink.close().await;
        });
        // Ping like the pages do, so the server's idle timeout never closes a quiet participant.
        let pinger = out_tx.clone();
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(Duration::from_secs(20));
            iv.tick().await;
            loop {
                iv.tick().await;
                let ping = ClientEnvelope {
                    req: None,
                    msg: ClientMsg::Ping,
                };
                let Ok(t) = serde_json::to_string(&ping) else {
                    break;
                };
                if pinger.send(Message::Text(t.into())).is_err() {
                    break;
                }
            }
        });
        let (in_tx, inbox) = mpsc::unbounded_channel();
        let (pc2, out2, counters2) = (pc.clone(), out_tx.clone(), counters.clone());
        tokio::spawn(async move {
            while let Some(Ok(frame)) = stream.next().await {
                let Message::Text(text) = frame else { continue };
                let Ok(msg) = serde_json::from_str::<ServerMsg>(text.as_str()) else {
                    continue;
                };
                if let ServerMsg::Offer { sdp } = &msg {
                    match answer(&pc2, sdp, grx.clone()).await {
                        Ok(ans) => {
                            counters2.offers.fetch_add(1, Ordering::Relaxed);
                            let env = ClientEnvelope {
                                req: None,
                                msg: ClientMsg::Answer { sdp: ans },
                            };
                            if let Ok(t) = serde_json::to_string(&env) {
                                let _ = out2.send(Message::Text(t.into()));
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "loadgen could not answer"),
                    }
                }
                if in_tx.send(msg).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            out: out_tx,
            inbox,
            counters,
            audio,
            video,
            pc,
        })
    }

    /// Opens a socket as an anonymous caller, waiting for the welcome.
    pub async fn caller(ws_url: &str) -> Result<Self, ClientError> {
        Self::caller_from(None, ws_url).await
    }

    /// A caller connecting from a given local address.
    pub async fn caller_from(
        from: Option<std::net::IpAddr>,
        ws_url: &str,
    ) -> Result<Self, ClientError> {
        let mut p = Self::connect_from(from, ws_url).await?;
        p.send(ClientMsg::Hello {
            role: signrelay::signal::Role::Caller,
            name: None,
            invite: None,
        });
        p.expect("welcome", Duration::from_secs(10), |m| {
            matches!(m, ServerMsg::Welcome { .. })
        })
        .await?;
        Ok(p)
    }

    /// Sends a protocol message.
    pub fn send(&self, msg: ClientMsg) {
        let env = ClientEnvelope { req: None, msg };
        if let Ok(t) = serde_json::to_string(&env) {
            let _ = self.out.send(Message::Text(t.into()));
        }
    }

    /// Sends raw text (for malformed-input tests).
    pub fn send_raw(&self, text: &str) {
        let _ = self.out.send(Message::Text(text.to_owned().into()));
    }

    /// Sends a binary frame.
    pub fn send_binary(&self, data: Vec<u8>) {
        let _ = self.out.send(Message::Binary(data.into()));
    }

    /// Waits for the first message that `pred` accepts, skipping others.
    pub async fn expect(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&ServerMsg) -> bool,
    ) -> Result<ServerMsg, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.inbox.recv()).await {
                Err(_) => return Err(ClientError::Timeout(what.to_owned())),
                Ok(None) => return Err(ClientError::Closed),
                Ok(Some(m)) if pred(&m) => return Ok(m),
                Ok(Some(_)) => {}
            }
        }
    }

    /// Waits for this interpreter's console to ring and returns the ringing call.
    pub async fn expect_incoming(
        &mut self,
        timeout: Duration,
    ) -> Result<signrelay::signal::CallId, ClientError> {
        match self
            .expect("incoming call", timeout, |m| {
                matches!(m, ServerMsg::Incoming { .. })
            })
            .await?
        {
            ServerMsg::Incoming { call_id, .. } => Ok(call_id),
            _ => Err(ClientError::Timeout("incoming call".into())),
        }
    }

    /// Publishes synthetic media until the task is aborted: 50 audio packets/s (Opus-sized) and
    /// `video_fps` frames/s of three 1 000-byte packets each.
    pub fn start_media(&self, video_fps: u32) -> tokio::task::JoinHandle<()> {
        let ((audio, assrc), (video, vssrc)) = (self.audio.clone(), self.video.clone());
        let counters = self.counters.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            let (mut aseq, mut vseq, mut n) = (0u16, 0u16, 0u64);
            let frame_every = (50 / video_fps.clamp(1, 50)) as u64;
            let audio_payload = Bytes::from(vec![0xf8u8; 80]);
            let video_payload = Bytes::from(vec![0x10u8; 1000]);
            loop {
                tick.tick().await;
                n += 1;
                aseq = aseq.wrapping_add(1);
                let a = packet(
                    signrelay::sfu::OPUS_PT,
                    assrc,
                    aseq,
                    (n * 960) as u32,
                    true,
                    audio_payload.clone(),
                );
                if audio.write_rtp(a).await.is_ok() {
                    counters.sent.fetch_add(1, Ordering::Relaxed);
                }
                if n % frame_every == 0 {
                    for i in 0..3 {
                        vseq = vseq.wrapping_add(1);
                        let v = packet(
                            signrelay::sfu::VP8_PT,
                            vssrc,
                            vseq,
                            (n * 1800) as u32,
                            i == 2,
                            video_payload.clone(),
                        );
                        if video.write_rtp(v).await.is_ok() {
                            counters.sent.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        })
    }

    /// Closes the peer connection.
    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }

    /// Leaves altogether: media and the signaling socket both close (as a page that is shut).
    pub async fn disconnect(self) {
        let _ = self.pc.close().await;
        let _ = self.out.send(Message::Close(None));
    }
}

impl Drop for Participant {
    fn drop(&mut self) {
        let _ = self.out.send(Message::Close(None));
    }
}

fn packet(pt: u8, ssrc: u32, seq: u16, ts: u32, marker: bool, payload: Bytes) -> rtp::Packet {
    rtp::Packet {
        header: rtp::header::Header {
            version: 2,
            marker,
            ssrc,
            payload_type: pt,
            sequence_number: seq,
            timestamp: ts,
            ..Default::default()
        },
        payload,
    }
}

async fn answer(
    pc: &Arc<dyn PeerConnection>,
    sdp: &str,
    mut gathered: watch::Receiver<bool>,
) -> Result<String, ClientError> {
    pc.set_remote_description(RTCSessionDescription::offer(sdp.to_owned())?)
        .await?;
    let ans = pc.create_answer(None).await?;
    pc.set_local_description(ans).await?;
    let _ = tokio::time::timeout(Duration::from_secs(3), gathered.wait_for(|d| *d)).await;
    pc.local_description()
        .await
        .map(|d| d.sdp)
        .ok_or_else(|| ClientError::Timeout("local description".into()))
}
