//! Which remote ICE candidates the server will send connectivity checks to. A page chooses
//! its candidates, so without a rule it could point the server's STUN checks at the server
//! itself, the machines beside it or a multicast group. Pure, unit-tested.

use std::net::IpAddr;

/// What may be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CandidatePolicy {
    /// Loopback addresses (only for a server bound to loopback: development and tests).
    pub loopback: bool,
    /// Private networks (RFC 1918, unique local IPv6, CGNAT): an intranet deployment.
    pub private: bool,
}

impl CandidatePolicy {
    /// The policy for a server bound to `bind_ip`: one bound to loopback talks to its own
    /// machine only, so everything local is fine there.
    pub fn for_bind(bind_ip: IpAddr, allow_private: bool) -> Self {
        let local = bind_ip.is_loopback();
        Self {
            loopback: local,
            private: local || allow_private,
        }
    }

    /// May checks go to `ip`?
    pub fn allows(&self, ip: IpAddr) -> bool {
        if ip.is_unspecified() || ip.is_multicast() {
            return false;
        }
        if ip.is_loopback() {
            return self.loopback;
        }
        match ip {
            IpAddr::V4(v4) => {
                if v4.is_link_local() || v4.is_broadcast() || v4.is_documentation() {
                    return false;
                }
                let cgnat = v4.octets()[0] == 100 && (v4.octets()[1] & 0xC0) == 64;
                if v4.is_private() || cgnat {
                    return self.private;
                }
                true
            }
            IpAddr::V6(v6) => {
                let seg = v6.segments()[0];
                if (seg & 0xffc0) == 0xfe80 {
                    return false; // link-local
                }
                if let Some(v4) = v6.to_ipv4_mapped() {
                    return self.allows(IpAddr::V4(v4));
                }
                if (seg & 0xfe00) == 0xfc00 {
                    return self.private; // unique local
                }
                true
            }
        }
    }

    /// Checks one `candidate:` line (as trickled, or an SDP `a=candidate:` line): its
    /// address must be a literal IP the policy allows (a host name would make the server
    /// resolve whatever the page names).
    pub fn check_line(&self, line: &str) -> Result<(), String> {
        let body = line
            .trim()
            .trim_start_matches("a=")
            .trim_start_matches("candidate:");
        // foundation component transport priority address port typ ...
        let Some(addr) = body.split_whitespace().nth(4) else {
            return Err("the candidate has no address".into());
        };
        match addr.parse::<IpAddr>() {
            Ok(ip) if self.allows(ip) => Ok(()),
            Ok(_) => Err("candidates toward this kind of address are not accepted".into()),
            Err(_) => Err("a candidate's address must be an IP address".into()),
        }
    }

    /// An SDP with the candidate lines the policy refuses taken out.
    pub fn filter_sdp(&self, sdp: &str) -> String {
        let mut out = String::with_capacity(sdp.len());
        for line in sdp.split_inclusive('\n') {
            if line.starts_with("a=candidate:") && self.check_line(line).is_err() {
                continue;
            }
            out.push_str(line);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(addr: &str) -> String {
        format!("candidate:1 1 udp 2122260223 {addr} 54321 typ host generation 0")
    }

    #[test]
    fn a_public_server_refuses_its_own_neighbourhood() {
        let p = CandidatePolicy::for_bind("9.9.9.9".parse().unwrap(), false);
        assert!(p.check_line(&line("8.8.8.8")).is_ok());
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.9",
            "100.64.1.1",
            "169.254.169.254",
            "224.0.0.251",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::5",
            "::ffff:10.0.0.1",
            "ff02::1",
            "metadata.internal",
            "x.local",
        ] {
            assert!(p.check_line(&line(bad)).is_err(), "{bad} accepted");
        }
        assert!(p.check_line("candidate:1 1 udp").is_err());
        assert!(p.check_line(&line("2001:db8:1::7")).is_ok());
    }

    #[test]
    fn an_intranet_server_may_reach_private_addresses_but_never_link_local() {
        let p = CandidatePolicy::for_bind("10.0.0.2".parse().unwrap(), true);
        assert!(p.check_line(&line("10.1.2.3")).is_ok());
        assert!(p.check_line(&line("127.0.0.1")).is_err());
        assert!(p.check_line(&line("169.254.1.1")).is_err());
        let dev = CandidatePolicy::for_bind("127.0.0.1".parse().unwrap(), false);
        assert!(dev.check_line(&line("127.0.0.1")).is_ok());
        assert!(dev.check_line(&line("192.168.0.4")).is_ok());
    }

    #[test]
    fn refused_candidates_are_taken_out_of_an_sdp() {
        let p = CandidatePolicy::for_bind("9.9.9.9".parse().unwrap(), false);
        let sdp = "v=0\r\na=candidate:1 1 udp 1 10.0.0.1 5 typ host\r\na=candidate:2 1 udp 1 8.8.8.8 5 typ host\r\na=end\r\n";
        assert_eq!(
            p.filter_sdp(sdp),
            "v=0\r\na=candidate:2 1 udp 1 8.8.8.8 5 typ host\r\na=end\r\n"
        );
    }
}
