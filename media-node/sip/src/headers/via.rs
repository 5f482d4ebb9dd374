//! Via (§20.42): protocol, transport, sent-by and the parameters transactions use.

use std::fmt;

use crate::params::{Params, parse_header_params};
use crate::text::{is_token_char, is_ws, trim, trim_start};
use crate::uri::{Host, parse_hostport};

/// The branch prefix of RFC 3261 transaction ids (§8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Upper-cased transport token: UDP, TCP, TLS, WS, WSS, SCTP or another.
    pub transport: String,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Params,
}

impl Via {
    /// An empty `branch` leaves it out: [`crate::Endpoint::send_request`] adds one.
    pub fn new(transport: &str, host: Host, port: Option<u16>, branch: &str) -> Via {
        let mut params = Params::new();
        if !branch.is_empty() {
            params.set("branch", Some(branch));
        }
        Via {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            params,
        }
    }

    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").flatten()
    }

    /// True when the branch carries the RFC 3261 magic cookie.
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with(MAGIC_COOKIE))
    }

    pub fn received(&self) -> Option<&str> {
        self.params.get("received").flatten()
    }

    /// `None`: no rport; `Some(None)`: rport asked for (RFC 3581); `Some(Some(p))`: filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|v| v.and_then(|p| p.parse().ok()))
    }

    /// `host:port` as it appears, for transaction matching (§17.2.3).
    pub fn sent_by(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.to_string(),
        }
    }

    pub fn parse(s: &str) -> Result<Via, &'static str> {
        // sent-protocol = name SLASH version SLASH transport, SLASH = SWS "/" SWS.
        let mut rest = trim_start(s);
        let mut parts = [""; 2];
        for part in &mut parts {
            let n = rest.bytes().take_while(|&b| is_token_char(b)).count();
            *part = &rest[..n];
            rest = trim_start(&rest[n..])
                .strip_prefix('/')
                .ok_or("bad sent-protocol")?;
            rest = trim_start(rest);
        }
        if !parts[0].eq_ignore_ascii_case("SIP") || parts[1] != "2.0" {
            return Err("unsupported protocol version");
        }
        let n = rest.bytes().take_while(|&b| is_token_char(b)).count();
        if n == 0 {
            return Err("missing transport");
        }
        let transport = rest[..n].to_ascii_uppercase();
        rest = &rest[n..];
        if !rest.starts_with(|c: char| is_ws(c as u8)) {
            return Err("missing space before sent-by");
        }
        rest = trim_start(rest);
        let end = rest.find(';').unwrap_or(rest.len());
        let sent_by = trim(&rest[..end]);
        // LWS is allowed around the ':' of sent-by.
        let compact: String = sent_by
            .chars()
            .filter(|c| *c != ' ' && *c != '\t')
            .collect();
        if compact.len() != sent_by.len() && !sent_by.contains(':') {
            return Err("space inside sent-by");
        }
        let (host, port) = parse_hostport(&compact).map_err(|e| e.0)?;
        let params = parse_header_params(&rest[end..])?;
        if let Some(v) = params.get("branch")
            && v.is_none_or(str::is_empty)
        {
            return Err("empty branch");
        }
        Ok(Via {
            transport,
            host,
            port,
            params,
        })
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SIP/2.0/{} {}{}",
            self.transport,
            self.sent_by(),
            self.params
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spaced_via() {
        let v =
            Via::parse("SIP  / 2.0  / TCP     spindle.example.com   ;  branch  =   z9hG4bK9ikj8")
                .unwrap();
        assert_eq!(v.transport, "TCP");
        assert_eq!(v.branch(), Some("z9hG4bK9ikj8"));
        assert_eq!(v.sent_by(), "spindle.example.com");
    }

    #[test]
    fn rport_and_received() {
        let v =
            Via::parse("SIP/2.0/UDP [2001:db8::9]:5070;rport;branch=z9hG4bKx;received=192.0.2.1")
                .unwrap();
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.received(), Some("192.0.2.1"));
        assert_eq!(v.port, Some(5070));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP [2001:db8::9]:5070;rport;branch=z9hG4bKx;received=192.0.2.1"
        );
    }

    #[test]
    fn rejects_empty_params() {
        assert!(Via::parse("SIP/2.0/UDP 192.0.2.15;;").is_err());
        assert!(Via::parse("SIP/3.0/UDP h").is_err());
    }
}
