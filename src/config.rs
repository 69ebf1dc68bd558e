//! Server configuration: embedded defaults, an optional TOML file, then `SIGNRELAY_*` env vars and
//! command-line flags (the last one set wins).

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use thiserror::Error;

pub use crate::sfu::{IceServer, MediaConfig};

/// Everything `signrelay serve` can be told.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP/WebSocket listen address.
    pub listen: SocketAddr,
    /// Where the server keeps its files.
    pub data_dir: PathBuf,
    /// Database: `sqlite://FILE` or `postgres://…`; empty means `signrelay.db` in `data_dir`.
    pub database_url: String,
    /// Call records.
    pub records: RecordsConfig,
    /// Media (WebRTC) transport settings.
    pub media: MediaConfig,
    /// Interpreting-service rules.
    pub service: ServiceConfig,
    /// Interpreter accounts (a configured list until the accounts store lands).
    pub interpreters: Vec<InterpreterAccount>,
    /// Organizers who may create press-briefing events (HTTP Basic sign-in).
    pub organizers: Vec<OrganizerAccount>,
    /// Live captions.
    pub captions: CaptionsConfig,
    /// What one client address may hold open, and the headroom kept for staff and emergencies.
    pub admission: AdmissionConfig,
    /// Signed messages left when nobody can answer.
    pub videomail: VideomailConfig,
}

/// Videomail (README "Videomail").
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct VideomailConfig {
    /// Whether callers are offered a message.
    pub enabled: bool,
    /// 64 hex digits sealing the files at rest; empty: a key kept in `videomail.key` in the
    /// data directory, made at the first start.
    pub key: String,
    /// Longest message, in seconds.
    pub max_secs: u32,
    /// The caller page offers a message after this long in the queue (and at once when no
    /// interpreter works now, the queue is full or the service is closed).
    pub offer_after_secs: u32,
    /// Days a message (and its answer) is kept after it was left.
    pub retention_days: u32,
    /// Largest message file, in MiB (a longer or heavier stream stops there).
    pub max_mib: u32,
    /// Most messages being recorded at once.
    pub max_recording: usize,
}

impl Default for VideomailConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            key: String::new(),
            max_secs: 180,
            offer_after_secs: 120,
            retention_days: 14,
            max_mib: 64,
            max_recording: 8,
        }
    }
}

/// Admission limits (README "Security").
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdmissionConfig {
    /// Reverse proxies whose `X-Forwarded-For` is believed; the client is then the right-most
    /// address in it that is not one of these.
    pub trusted_proxies: Vec<IpAddr>,
    /// Most one address may hold open at once.
    pub per_address: ResourceCaps,
    /// Most the server holds open at once.
    pub global: ResourceCaps,
    /// Percent of each global cap anonymous clients may not use (kept for staff, emergencies).
    pub reserve_percent: usize,
    /// New sockets, streams and WHIP/WHEP sessions one address may open in a burst...
    pub burst: u32,
    /// ...and per second after it.
    pub per_second: f64,
}

/// One cap per kind of thing a client opens.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResourceCaps {
    /// Signaling WebSockets.
    pub socket: usize,
    /// Calls (waiting, ringing, connected).
    pub call: usize,
    /// Captioned calls.
    pub captioned_call: usize,
    /// Pages in briefings.
    pub briefing: usize,
    /// WHIP encoders.
    pub whip: usize,
    /// WHEP players.
    pub whep: usize,
    /// Caption streams (SSE).
    pub sse: usize,
}

impl ResourceCaps {
    fn from_array(a: [usize; 7]) -> Self {
        let [socket, call, captioned_call, briefing, whip, whep, sse] = a;
        Self {
            socket,
            call,
            captioned_call,
            briefing,
            whip,
            whep,
            sse,
        }
    }

    fn to_array(self) -> [usize; 7] {
        [
            self.socket,
            self.call,
            self.captioned_call,
            self.briefing,
            self.whip,
            self.whep,
            self.sse,
        ]
    }
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        let l = crate::admission::Limits::default();
        Self {
            trusted_proxies: Vec::new(),
            per_address: ResourceCaps::from_array(l.per_address),
            global: ResourceCaps::from_array(l.global),
            reserve_percent: l.reserve_percent,
            burst: l.burst,
            per_second: l.per_second,
        }
    }
}

impl AdmissionConfig {
    /// The limits the admission rule runs with.
    pub fn limits(&self) -> crate::admission::Limits {
        crate::admission::Limits {
            per_address: self.per_address.to_array(),
            global: self.global.to_array(),
            reserve_percent: self.reserve_percent,
            burst: self.burst,
            per_second: self.per_second,
        }
    }

    /// Who is really asking: the peer, or for a trusted proxy the right-most address in
    /// `X-Forwarded-For` that is not a trusted proxy (the left part is the client's to forge).
    pub fn client_addr(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if !self.trusted_proxies.contains(&peer) {
            return peer;
        }
        let Some(chain) = forwarded_for else {
            return peer;
        };
        chain
            .rsplit(',')
            .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
            .find(|hop| !self.trusted_proxies.contains(hop))
            .unwrap_or(peer)
    }
}

/// What is kept of calls, and for how long (PIPL: state the retention, keep the minimum).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordsConfig {
    /// Days a call record is kept; older ones are deleted every hour.
    pub retention_days: u32,
    /// Days an audit-log entry is kept.
    pub audit_retention_days: u32,
    /// Days a caller profile is kept after it was last saved.
    pub profile_retention_days: u32,
    /// Days an ended briefing (with its transcript) is kept after it was created.
    pub transcript_retention_days: u32,
}

impl Default for RecordsConfig {
    fn default() -> Self {
        Self {
            retention_days: 180,
            audit_retention_days: 365,
            profile_retention_days: 365,
            transcript_retention_days: 365,
        }
    }
}

/// Live captions of calls and events.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptionsConfig {
    /// Caption at all (needs the speech model; without it the server runs without captions).
    pub enabled: bool,
    /// The ggml model file; `$SIGNRELAY_MODEL` or `models/ggml-whisper-base-q8_0.bin` if unset.
    pub model: Option<PathBuf>,
    /// Language spoken in calls: `zh` or `en`.
    pub language: String,
    /// Names and terms every stream favours (place names, agencies).
    pub hotwords: Vec<String>,
    /// Concurrent decodes. Each uses `threads_per_worker` cores; more than the machine's cores
    /// made decoding many times slower in measurements.
    pub workers: usize,
    /// whisper.cpp threads per decode.
    pub threads_per_worker: usize,
    /// Decodes of the settling pass at once. They run at idle CPU priority, beside the live
    /// decodes, and use only the time those leave; 0 runs them on the live workers.
    pub background_workers: usize,
}

impl Default for CaptionsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            model: None,
            language: "zh".into(),
            hotwords: Vec::new(),
            workers: 1,
            threads_per_worker: 2,
            background_workers: 1,
        }
    }
}

/// Someone who may create events.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizerAccount {
    /// Sign-in name.
    pub username: String,
    /// Password (plain, in a file only root reads, until the accounts store replaces this list).
    pub password: String,
}

/// The interpreting service's rules.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Seconds an interpreter's console rings before the call moves on.
    pub ring_timeout_secs: u64,
    /// Seconds a guest invitation link stays valid (it also dies with its call).
    pub invite_ttl_secs: u64,
    /// Most calls waiting at once, emergencies not counted; more get `queue_full`.
    pub max_queue: usize,
    /// Most emergency calls waiting at once (their own lane: other calls never fill it).
    pub max_emergency_queue: usize,
    /// Sign languages callers may ask for; the first is the default.
    pub sign_languages: Vec<SignLanguage>,
    /// Public base URL used in invitation links (e.g. `https://relay.example.gov.cn`); empty means
    /// "the address the browser used".
    pub public_url: String,
    /// When set, `/metrics` answers only with `Authorization: Bearer <this>`.
    pub metrics_token: String,
    /// Other ways to reach the emergency services, shown to emergency callers at once; set
    /// them to what the city really offers.
    pub emergency_contacts: Vec<crate::signal::EmergencyContact>,
    /// Seconds into a call after which the interpreter's console suggests handing over
    /// (errors rise after 20–30 minutes of interpreting); 0 never suggests.
    pub handover_suggest_secs: u32,
    /// After a warm transfer, seconds the first interpreter stays in the call with the new
    /// one (to introduce them) before the call lets them go.
    pub transfer_overlap_secs: u16,
    /// Opening hours; left out, the service never closes. Out of hours only emergency calls
    /// ring (if an interpreter is on duty).
    pub hours: Option<crate::hours::HoursConfig>,
}

/// A sign language a caller can choose.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SignLanguage {
    /// Stable code, e.g. `csl`.
    pub code: String,
    /// Name in Chinese.
    pub name_zh: String,
    /// Name in English.
    pub name_en: String,
}

/// An interpreter who may sign in.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InterpreterAccount {
    /// Sign-in name.
    pub username: String,
    /// Password (plain, in a file only root reads, until the accounts store replaces this list).
    pub password: String,
    /// Name shown to callers.
    pub display_name: String,
    /// Sign-language codes this interpreter works in; empty means all.
    #[serde(default)]
    pub sign_languages: Vec<String>,
    /// `female` or `male`, for callers who would rather have one (empty: not given).
    #[serde(default)]
    pub gender: String,
    /// Call purposes they know best (`medical`, `legal`, `policy_consultation`...).
    #[serde(default)]
    pub topics: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            data_dir: PathBuf::from("./data"),
            database_url: String::new(),
            records: RecordsConfig::default(),
            media: MediaConfig::default(),
            service: ServiceConfig::default(),
            interpreters: Vec::new(),
            organizers: Vec::new(),
            captions: CaptionsConfig::default(),
            admission: AdmissionConfig::default(),
            videomail: VideomailConfig::default(),
        }
    }
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            ring_timeout_secs: 20,
            invite_ttl_secs: 600,
            max_queue: 500,
            max_emergency_queue: 100,
            sign_languages: vec![
                SignLanguage {
                    code: "csl".into(),
                    name_zh: "国家通用手语".into(),
                    name_en: "Chinese Sign Language (national)".into(),
                },
                SignLanguage {
                    code: "csl-local".into(),
                    name_zh: "本地手语".into(),
                    name_en: "Local sign variety".into(),
                },
            ],
            public_url: String::new(),
            metrics_token: String::new(),
            hours: None,
            handover_suggest_secs: 20 * 60,
            transfer_overlap_secs: 15,
            emergency_contacts: default_emergency_contacts(),
        }
    }
}

/// China's nationwide text-message line to the police (12110) and the 120/119 text services
/// many cities run for deaf residents; an operator replaces them with the local ones.
fn default_emergency_contacts() -> Vec<crate::signal::EmergencyContact> {
    let sms = |zh: &str, en: &str, number: &str| crate::signal::EmergencyContact {
        label_zh: zh.into(),
        label_en: en.into(),
        contact: number.into(),
        href: Some(format!("sms:{number}")),
    };
    vec![
        sms("短信报警（公安）", "Police by text message", "12110"),
        sms(
            "急救短信（120，以本地开通为准）",
            "Ambulance by text (120, where offered)",
            "120",
        ),
        sms(
            "火警短信（119，以本地开通为准）",
            "Fire by text (119, where offered)",
            "119",
        ),
    ]
}

/// Why the configuration could not be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("config file {path} is invalid: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: toml::de::Error,
    },
    /// A value makes no sense.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Reads a TOML file over the defaults.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The database URL in effect.
    pub fn database(&self) -> String {
        if self.database_url.is_empty() {
            crate::store::Store::default_url(&self.data_dir)
        } else {
            self.database_url.clone()
        }
    }

    /// Checks values that TOML types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let vm = &self.videomail;
        if !vm.key.is_empty() {
            crate::videomail::seal::Key::from_hex(&vm.key)
                .map_err(|e| ConfigError::Invalid(format!("videomail.key: {e}")))?;
        }
        if vm.enabled && (vm.max_secs == 0 || vm.max_mib == 0 || vm.retention_days == 0) {
            return Err(ConfigError::Invalid(
                "videomail.max_secs, max_mib and retention_days must be at least 1".into(),
            ));
        }
        if self.records.retention_days == 0 {
            return Err(ConfigError::Invalid(
                "records.retention_days must be at least 1".into(),
            ));
        }
        if self.media.port_min == 0 || self.media.port_min > self.media.port_max {
            return Err(ConfigError::Invalid(format!(
                "media port range {}-{} is empty or starts at 0",
                self.media.port_min, self.media.port_max
            )));
        }
        if let Some(h) = &self.service.hours {
            crate::hours::Schedule::new(h).map_err(ConfigError::Invalid)?;
        }
        if let Some(why) = self.media.turn.as_ref().and_then(crate::turn::problem) {
            return Err(ConfigError::Invalid(why));
        }
        if self.service.sign_languages.is_empty() {
            return Err(ConfigError::Invalid(
                "service.sign_languages needs at least one entry".into(),
            ));
        }
        if self.service.ring_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "service.ring_timeout_secs must be > 0".into(),
            ));
        }
        if crate::asr::Lang::parse(&self.captions.language).is_none() {
            return Err(ConfigError::Invalid(format!(
                "captions.language {:?} is not zh or en",
                self.captions.language
            )));
        }
        if self.captions.workers == 0 || self.captions.threads_per_worker == 0 {
            return Err(ConfigError::Invalid(
                "captions.workers and captions.threads_per_worker must be > 0".into(),
            ));
        }
        if self
            .organizers
            .iter()
            .any(|o| o.username.is_empty() || o.password.is_empty())
        {
            return Err(ConfigError::Invalid(
                "every organizer needs a username and a password".into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for a in &self.interpreters {
            if a.username.is_empty() || a.password.is_empty() {
                return Err(ConfigError::Invalid(
                    "every interpreter needs a username and a password".into(),
                ));
            }
            if !seen.insert(a.username.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "interpreter {} is listed twice",
                    a.username
                )));
            }
        }
        Ok(())
    }

    /// Parses `MIN-MAX` into the media port range.
    pub fn set_port_range(&mut self, spec: &str) -> Result<(), ConfigError> {
        let bad = || ConfigError::Invalid(format!("port range {spec:?} is not MIN-MAX"));
        let (a, b) = spec.split_once('-').ok_or_else(bad)?;
        self.media.port_min = a.trim().parse().map_err(|_| bad())?;
        self.media.port_max = b.trim().parse().map_err(|_| bad())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_table_without_its_secret_is_refused_by_name() {
        let toml = "[media.turn]\nurls = [\"turns:turn.example.org:443?transport=tcp\"]\n";
        let c: Config = toml::from_str(toml).unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("media.turn.secret is missing"), "{e}");
        let toml = "[media.turn]\nurls = [\"turn:t.example.org\"]\nsecret = \"s\"\n";
        let c: Config = toml::from_str(toml).unwrap();
        c.validate().unwrap();
        assert_eq!(c.media.turn.unwrap().ttl_secs, 12 * 3600);
    }

    #[test]
    fn the_client_is_the_nearest_hop_that_is_not_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let a = AdmissionConfig {
            trusted_proxies: vec![proxy, "10.0.0.2".parse().unwrap()],
            ..AdmissionConfig::default()
        };
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        // Not from a proxy: the header is the client's to forge and is ignored.
        assert_eq!(a.client_addr(client, Some("1.2.3.4")), client);
        assert_eq!(a.client_addr(proxy, Some("203.0.113.7")), client);
        // A forged left part does not matter; trusted hops on the right are skipped.
        assert_eq!(
            a.client_addr(proxy, Some("9.9.9.9, 203.0.113.7, 10.0.0.2")),
            client
        );
        assert_eq!(a.client_addr(proxy, Some("garbage")), proxy);
        assert_eq!(a.client_addr(proxy, None), proxy);
        let toml = "[admission]\nreserve_percent = 20\n[admission.per_address]\nsocket = 5\ncall = 1\ncaptioned_call = 1\nbriefing = 2\nwhip = 1\nwhep = 2\nsse = 3\n";
        let c: Config = toml::from_str(toml).unwrap();
        assert_eq!(c.admission.limits().per_address, [5, 1, 1, 2, 1, 2, 3]);
        assert_eq!(c.admission.limits().reserve_percent, 20);
    }

    #[test]
    fn file_overrides_defaults_and_rejects_unknown_keys() {
        let c: Config = toml::from_str(
            "listen = \"0.0.0.0:9000\"\n[media]\nport_min = 50000\nport_max = 50010\n",
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.media.port_max, 50010);
        assert_eq!(c.service.ring_timeout_secs, 20);
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err());
    }

    #[test]
    fn port_range_parsing_and_validation() {
        let mut c = Config::default();
        c.set_port_range("41000-41010").unwrap();
        assert_eq!((c.media.port_min, c.media.port_max), (41000, 41010));
        assert!(c.set_port_range("41000").is_err());
        c.media.port_min = 42000;
        assert!(c.validate().is_err());
    }
}
