//! The media plane's own settings: where it binds, what it announces, which STUN/TURN
//! servers it uses. The server configuration embeds these as its `[media]` table.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

/// WebRTC transport settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// Local IP the media sockets bind to; `0.0.0.0` binds every non-loopback interface.
    pub bind_ip: IpAddr,
    /// Address written into our ICE candidates instead of the bound one (1:1 NAT, cloud VMs).
    pub public_ip: Option<IpAddr>,
    /// First UDP port of the media range (inclusive), so a firewall can be opened for it.
    pub port_min: u16,
    /// Last UDP port of the media range (inclusive).
    pub port_max: u16,
    /// STUN/TURN servers handed to browsers and used by the server.
    pub ice_servers: Vec<IceServer>,
    /// Seconds without ICE traffic before a peer counts as disconnected.
    pub ice_disconnected_secs: u64,
    /// Seconds after disconnection before a peer counts as failed and leaves its call.
    pub ice_failed_secs: u64,
    /// Seconds a peer has, from our first offer or answer, to connect; one that has not
    /// loses its connection and its port (a caller keeps the call and its place in line).
    pub ice_connect_timeout_secs: u64,
    /// Accept ICE candidates on private networks (an intranet deployment). Loopback, link-local
    /// and multicast ones are never accepted, except on a server bound to loopback.
    pub allow_private_candidates: bool,
    /// A TURN server sharing a secret with us (coturn's `use-auth-secret`): browsers get
    /// credentials of their own that expire, instead of one static password for everyone.
    pub turn: Option<TurnConfig>,
}

/// `[media.turn]`: TURN REST API credentials (draft-uberti-behave-turn-rest).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TurnConfig {
    /// `turn:` / `turns:` URLs, e.g. `turns:turn.example.org:443?transport=tcp` for networks
    /// that allow only TLS on 443.
    pub urls: Vec<String>,
    /// coturn's `static-auth-secret`. May be left out of the file and given in the
    /// `SIGNRELAY_TURN_SECRET` environment variable instead.
    #[serde(default)]
    pub secret: String,
    /// How long a credential lives, seconds; pages ask for new ones before it runs out.
    #[serde(default = "default_turn_ttl")]
    pub ttl_secs: u64,
}

fn default_turn_ttl() -> u64 {
    12 * 3600
}

/// One STUN or TURN server, as a browser's `RTCIceServer`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IceServer {
    /// `stun:` / `turn:` / `turns:` URLs.
    pub urls: Vec<String>,
    /// TURN user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            public_ip: None,
            port_min: 40000,
            port_max: 40999,
            ice_servers: Vec::new(),
            ice_disconnected_secs: 3,
            ice_failed_secs: 10,
            ice_connect_timeout_secs: 10,
            allow_private_candidates: false,
            turn: None,
        }
    }
}
