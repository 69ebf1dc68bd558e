//! Property-based fuzzing (proptest) of everything a remote peer or an operator hands the
//! server: signaling messages, candidate lines and SDP, RTP/Opus into the caption tap, typed
//! text, configuration files, and, against a live server, WHIP/WHEP bodies and the caption
//! stream's query and headers. Nothing may panic, every refusal must be a clear 4xx, and the
//! server must still answer afterwards.
//!
//! CI runs the default 256 cases per target; a longer run is
//! `PROPTEST_CASES=20000 cargo test --release --test fuzz`. Failing cases proptest finds are
//! kept in `tests/fuzz.proptest-regressions` and replayed first; the seeds below are inputs
//! that once mattered.

use proptest::prelude::*;
use signrelay::captions::tap::OpusTap;
use signrelay::sfu::candidates::CandidatePolicy;
use signrelay::sfu::text_flow::TextFlow;
use signrelay::signal::parse_client;
use std::time::{Duration, Instant};

/// Inputs that once mattered, replayed on every run.
const SIGNALING_SEEDS: &[&str] = &[
    "",
    "{",
    "null",
    "[]",
    r#"{"type":"candidate"}"#,
    r#"{"type":"hello","role":"caller","name":"\u0000"}"#,
    r#"{"type":"chat","text":""}"#,
    r#"{"type":"accept","call_id":18446744073709551615}"#,
    r#"{"type":"accept","call_id":-1}"#,
    r#"{"type":"place_call","purpose":"emergency","req":1e999}"#,
];

fn valid_messages() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(r#"{"type":"hello","role":"caller"}"#.to_owned()),
        Just(r#"{"type":"place_call","purpose":"daily_life"}"#.to_owned()),
        Just(r#"{"type":"chat","text":"你好"}"#.to_owned()),
        Just(r#"{"type":"answer","sdp":"v=0\r\n"}"#.to_owned()),
        Just(
            r#"{"type":"candidate","candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host","sdp_mid":"0","sdp_mline_index":0}"#
                .to_owned()
        ),
        Just(r#"{"type":"join_event","event":"abc","token":"t"}"#.to_owned()),
    ]
}

/// A valid message with bytes flipped, cut or repeated.
fn mutated() -> impl Strategy<Value = String> {
    (valid_messages(), any::<u64>(), 0usize..8).prop_map(|(m, seed, n)| {
        let mut b = m.into_bytes();
        let mut x = seed;
        for _ in 0..n {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if b.is_empty() {
                break;
            }
            let i = (x >> 33) as usize % b.len();
            match x % 3 {
                0 => b[i] = (x >> 8) as u8,
                1 => {
                    b.truncate(i);
                }
                _ => {
                    let tail = b[i..].to_vec();
                    b.extend(tail);
                }
            }
        }
        String::from_utf8_lossy(&b).into_owned()
    })
}

#[test]
fn signaling_seeds_are_refused_clearly() {
    for s in SIGNALING_SEEDS {
        // Either a message or an error to send back: never a panic.
        let _ = parse_client(s);
    }
}

proptest! {
    #[test]
    fn any_text_is_a_message_or_a_clear_error(s in ".{0,400}") {
        let _ = parse_client(&s);
    }

    #[test]
    fn mutated_messages_are_a_message_or_a_clear_error(s in mutated()) {
        let _ = parse_client(&s);
    }

    #[test]
    fn candidate_lines_and_sdp_never_panic_and_filtering_only_removes(
        addr in "[0-9a-f.:]{0,40}|[a-z.]{0,30}",
        extra in ".{0,60}",
        public in any::<bool>(),
    ) {
        let p = CandidatePolicy::for_bind(
            if public { "9.9.9.9".parse().unwrap() } else { "127.0.0.1".parse().unwrap() },
            false,
        );
        let line = format!("candidate:1 1 udp 2122260223 {addr} 5000 typ host {extra}");
        let _ = p.check_line(&line);
        let sdp = format!("v=0\r\na={line}\r\na=candidate:{extra}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n");
        let out = p.filter_sdp(&sdp);
        prop_assert!(out.len() <= sdp.len());
        prop_assert!(out.starts_with("v=0"));
    }

    #[test]
    fn rtp_into_the_caption_tap_costs_bounded_audio(
        packets in proptest::collection::vec(
            (any::<u16>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..200)),
            0..60,
        )
    ) {
        let mut tap = OpusTap::new().unwrap();
        let mut samples = 0usize;
        for (seq, ts, payload) in &packets {
            samples += tap.push(*seq, *ts, payload).len();
        }
        samples += tap.flush().len();
        // Each packet is at most 120 ms of audio plus a gap of at most 2 s of silence, and
        // concealment is bounded by time: never the 32 767-packet blow-up of a sequence jump.
        let bound = (packets.len() + 1) * (16_000 * 120 / 1000 + 16_000 * 2 + 5 * 320);
        prop_assert!(samples <= bound, "{samples} samples from {} packets", packets.len());
    }

    #[test]
    fn typed_text_is_admitted_or_refused(chunks in proptest::collection::vec(".{0,5000}", 0..20)) {
        let t0 = Instant::now();
        let mut flow = TextFlow::new(t0);
        for (i, c) in chunks.iter().enumerate() {
            let _ = flow.admit(c, t0 + Duration::from_millis(i as u64 * 10));
        }
    }

    #[test]
    fn any_config_file_loads_or_is_refused(s in ".{0,300}", key in "[a-z_]{1,20}", value in ".{0,20}") {
        let _ = toml::from_str::<signrelay::config::Config>(&s);
        let _ = toml::from_str::<signrelay::config::Config>(&format!("[media]\n{key} = {value}\n"));
        let _ = toml::from_str::<signrelay::config::Config>(&format!("[admission.per_address]\n{key} = {value}\n"));
    }
}

mod live {
    use proptest::prelude::*;
    use signrelay::config::Config;
    use signrelay::signal::NewEvent;
    use signrelay_bench::loadgen::http::request;
    use std::net::SocketAddr;
    use std::sync::OnceLock;

    struct Live {
        addr: SocketAddr,
        event: String,
        token: String,
        rt: tokio::runtime::Runtime,
    }

    /// One server for all cases (proptest cases are synchronous).
    fn live() -> &'static Live {
        static LIVE: OnceLock<Live> = OnceLock::new();
        LIVE.get_or_init(|| {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let (addr, event, token) = rt.block_on(async {
                let mut cfg = Config {
                    listen: "127.0.0.1:0".parse().unwrap(),
                    data_dir: std::env::temp_dir()
                        .join(format!("signrelay-fuzz-{}", std::process::id())),
                    ..Config::default()
                };
                let _ = std::fs::remove_dir_all(&cfg.data_dir);
                cfg.captions.enabled = false;
                let base = 41000 + (std::process::id() % 50) as u16 * 20;
                cfg.media.port_min = base;
                cfg.media.port_max = base + 19;
                // Every case comes from one address: lift its caps, keep the checks.
                cfg.admission.burst = 1_000_000;
                cfg.admission.per_second = 1_000_000.0;
                let srv = signrelay::server::start(cfg).await.unwrap();
                let created = srv
                    .switchboard
                    .create_event(
                        NewEvent {
                            title: "fuzz".into(),
                            language: None,
                            hotwords: vec![],
                            starts_at_unix_ms: None,
                            ..Default::default()
                        },
                        "fuzz",
                    )
                    .await
                    .unwrap();
                let addr = srv.addr;
                // The server lives as long as the process.
                std::mem::forget(srv);
                (addr, created.event.id, created.broadcaster_token)
            });
            Live {
                addr,
                event,
                token,
                rt,
            }
        })
    }

    fn sdp_like() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            Just("v=0".to_owned()),
            Just("o=- 1 1 IN IP4 0.0.0.0".to_owned()),
            Just("s=-".to_owned()),
            Just("t=0 0".to_owned()),
            Just("a=group:BUNDLE 0 1".to_owned()),
            Just("m=audio 9 UDP/TLS/RTP/SAVPF 111".to_owned()),
            Just("m=video 9 UDP/TLS/RTP/SAVPF 96".to_owned()),
            Just("a=rtpmap:111 opus/48000/2".to_owned()),
            Just("a=mid:0".to_owned()),
            Just("a=sendonly".to_owned()),
            Just("a=ice-ufrag:abcd".to_owned()),
            Just("a=ice-pwd:abcdefghijklmnopqrstuvwx".to_owned()),
            Just("a=fingerprint:sha-256 00:11".to_owned()),
            Just("a=setup:actpass".to_owned()),
            Just("a=candidate:1 1 udp 1 169.254.169.254 80 typ host".to_owned()),
            ".{0,80}",
        ];
        proptest::collection::vec(line, 0..25).prop_map(|ls| {
            let mut s = String::from("v=0\r\n");
            for l in ls {
                s.push_str(&l);
                s.push_str("\r\n");
            }
            s
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
            ..ProptestConfig::default()
        })]

        #[test]
        fn whip_and_whep_bodies_get_a_clear_answer(body in sdp_like(), whep in any::<bool>()) {
            let l = live();
            let auth = format!("Bearer {}", l.token);
            let path = if whep { format!("/whep/{}", l.event) } else { format!("/whip/{}", l.event) };
            let r = l.rt.block_on(request(
                l.addr,
                "POST",
                &path,
                &[("Content-Type", "application/sdp"), ("Authorization", &auth)],
                body.as_bytes(),
            )).unwrap();
            prop_assert!(
                matches!(r.status, 201 | 400 | 404 | 409 | 503),
                "{} for {:?}: {}", r.status, body, r.body
            );
            if r.status == 201 {
                // An accepted encoder is let go again.
                let loc = r.header("location").unwrap_or_default().to_owned();
                let _ = l.rt.block_on(request(l.addr, "DELETE", &loc, &[("Authorization", &auth)], b""));
            }
            // The server still answers after each case.
            let health = l.rt.block_on(request(l.addr, "GET", "/healthz", &[], b"")).unwrap();
            prop_assert_eq!(health.status, 200);
        }

        #[test]
        fn the_caption_stream_refuses_bad_queries_and_headers_clearly(
            query in "[a-z=&0-9%-]{0,30}",
            last in ".{0,24}",
        ) {
            let l = live();
            let path = format!("/events/{}/captions?{query}", l.event);
            // Header values must be visible ASCII to be sent at all.
            let last: String = last.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').collect();
            let r = l.rt.block_on(async {
                tokio::time::timeout(
                    std::time::Duration::from_secs(2),
                    request(l.addr, "GET", &path, &[("Last-Event-ID", &last)], b""),
                )
                .await
            });
            // A stream that opened keeps going (the timeout ends it); a refusal is a 400.
            if let Ok(Ok(r)) = r {
                prop_assert!(matches!(r.status, 200 | 400), "{}: {}", r.status, r.body);
                if r.status == 400 {
                    prop_assert!(r.body.contains("\"error\""), "{}", r.body);
                }
            }
        }
    }
}
