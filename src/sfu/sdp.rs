//! Small SDP edits webrtc-rs does not do itself.

use std::net::IpAddr;

/// Replaces the connection address of every `a=candidate` line with `public_ip`.
///
/// webrtc-rs 0.21 stores its NAT 1:1 setting but never applies it, so behind a 1:1 NAT (cloud
/// VMs, a DMZ host) the browser would be told a private address it cannot reach.
pub fn rewrite_candidates(sdp: &str, public_ip: IpAddr) -> String {
    let ip = public_ip.to_string();
    let mut out = String::with_capacity(sdp.len() + 64);
    for line in sdp.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        if body.starts_with("a=candidate:") {
            let mut fields: Vec<&str> = body.split(' ').collect();
            // candidate:<foundation> <component> <transport> <priority> <address> <port> typ ...
            if fields.len() > 5 {
                fields[4] = &ip;
                out.push_str(&fields.join(" "));
                out.push_str(ending);
                continue;
            }
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_candidate_addresses() {
        let sdp = "v=0\r\nc=IN IP4 10.0.0.5\r\na=candidate:1 1 udp 2130706431 10.0.0.5 40001 typ host\r\na=mid:0\r\n";
        let out = rewrite_candidates(sdp, "203.0.113.9".parse().unwrap());
        assert_eq!(
            out,
            "v=0\r\nc=IN IP4 10.0.0.5\r\na=candidate:1 1 udp 2130706431 203.0.113.9 40001 typ host\r\na=mid:0\r\n"
        );
    }

    #[test]
    fn leaves_short_or_odd_lines_alone() {
        let sdp = "a=candidate:broken\na=end";
        assert_eq!(rewrite_candidates(sdp, "1.2.3.4".parse().unwrap()), sdp);
    }
}
