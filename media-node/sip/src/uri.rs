//! SIP, SIPS and TEL URIs (RFC 3261 §19.1, RFC 3966) and their comparison (§19.1.4).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::params::{Param, Params};
use crate::text::{eq_ic, escapes_valid, unescape};

/// Why a URI was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad URI: {0}")]
pub struct UriError(pub &'static str);

/// The host of a URI or Via sent-by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    Domain(String),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl Host {
    pub fn parse(s: &str) -> Result<Host, UriError> {
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or(UriError("unclosed IPv6 reference"))?;
            return inner
                .parse()
                .map(Host::V6)
                .map_err(|_| UriError("bad IPv6 address"));
        }
        if s.is_empty() {
            return Err(UriError("empty host"));
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return s
                .parse()
                .map(Host::V4)
                .map_err(|_| UriError("bad IPv4 address"));
        }
        let labels_ok = s.trim_end_matches('.').split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        if !labels_ok {
            return Err(UriError("bad host name"));
        }
        Ok(Host::Domain(s.to_string()))
    }

    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::V4(a) => Some(IpAddr::V4(*a)),
            Host::V6(a) => Some(IpAddr::V6(*a)),
            Host::Domain(_) => None,
        }
    }

    fn same(&self, other: &Host) -> bool {
        match (self, other) {
            (Host::Domain(a), Host::Domain(b)) => {
                eq_ic(a.trim_end_matches('.'), b.trim_end_matches('.'))
            }
            (a, b) => a == b,
        }
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Host::V4(a),
            IpAddr::V6(a) => Host::V6(a),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::V4(a) => write!(f, "{a}"),
            Host::V6(a) => write!(f, "[{a}]"),
        }
    }
}

/// `host[:port]`.
pub(crate) fn parse_hostport(s: &str) -> Result<(Host, Option<u16>), UriError> {
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']').ok_or(UriError("unclosed IPv6 reference"))?;
        let rest = &s[end + 1..];
        let port = match rest {
            "" => None,
            r => Some(
                r.strip_prefix(':')
                    .ok_or(UriError("junk after IPv6 reference"))?,
            ),
        };
        (&s[..=end], port)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => Some(
            p.parse::<u16>()
                .map_err(|_| UriError("port out of range"))?,
        ),
        Some(_) => return Err(UriError("bad port")),
    };
    Ok((Host::parse(host)?, port))
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b)
}

fn all_chars(s: &str, extra: &[u8]) -> bool {
    s.bytes()
        .all(|b| is_unreserved(b) || b == b'%' || extra.contains(&b))
        && escapes_valid(s)
}

/// A `sip:` or `sips:` URI. `user`, `password`, parameter and header values
/// are kept escaped as received so that printing gives back the same text;
/// comparison unescapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    pub secure: bool,
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Params,
    pub headers: Vec<(String, String)>,
}

impl SipUri {
    pub fn new(host: Host) -> Self {
        SipUri {
            secure: false,
            user: None,
            password: None,
            host,
            port: None,
            params: Params::new(),
            headers: Vec::new(),
        }
    }

    pub fn with_user(mut self, user: &str) -> Self {
        self.user = Some(user.to_string());
        self
    }

    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Self {
        self.params.set(name, value);
        self
    }

    /// The user part with escapes decoded (bytes that are not UTF-8 are replaced).
    pub fn user_unescaped(&self) -> Option<String> {
        self.user
            .as_deref()
            .map(|u| String::from_utf8_lossy(&unescape(u)).into_owned())
    }

    /// `transport` parameter, lower-cased.
    pub fn transport(&self) -> Option<String> {
        self.params
            .value("transport")
            .map(|t| t.to_ascii_lowercase())
    }

    /// Loose routing (`;lr`) marker of a route-set entry.
    pub fn lr(&self) -> bool {
        self.params.has("lr")
    }

    pub fn parse(s: &str) -> Result<SipUri, UriError> {
        let (scheme, rest) = s.split_once(':').ok_or(UriError("missing scheme"))?;
        let secure = if eq_ic(scheme, "sip") {
            false
        } else if eq_ic(scheme, "sips") {
            true
        } else {
            return Err(UriError("not a sip or sips URI"));
        };
        if rest.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(UriError("whitespace or control character in URI"));
        }
        let (user, password, hostpart) = match rest.find('@') {
            Some(at) => {
                let (userinfo, hostpart) = (&rest[..at], &rest[at + 1..]);
                let (user, password) = match userinfo.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (userinfo, None),
                };
                if user.is_empty() || !all_chars(user, b"&=+$,;?/") {
                    return Err(UriError("bad user part"));
                }
                if let Some(p) = password
                    && !all_chars(p, b"&=+$,")
                {
                    return Err(UriError("bad password"));
                }
                (
                    Some(user.to_string()),
                    password.map(str::to_string),
                    hostpart,
                )
            }
            None => (None, None, rest),
        };
        let (before_headers, headers_part) = match hostpart.split_once('?') {
            Some((a, b)) => (a, Some(b)),
            None => (hostpart, None),
        };
        let mut segments = before_headers.split(';');
        let hostport = segments.next().unwrap_or_default();
        let (host, port) = parse_hostport(hostport)?;
        let mut params = Params::new();
        for seg in segments {
            let (name, value) = match seg.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (seg, None),
            };
            if name.is_empty() || !all_chars(name, b"[]/:&+$") {
                return Err(UriError("bad URI parameter name"));
            }
            if let Some(v) = value
                && (v.is_empty() || !all_chars(v, b"[]/:&+$"))
            {
                return Err(UriError("bad URI parameter value"));
            }
            params.0.push(Param {
                name: name.to_string(),
                value: value.map(str::to_string),
            });
        }
        let mut headers = Vec::new();
        if let Some(h) = headers_part {
            for pair in h.split('&') {
                let (n, v) = pair
                    .split_once('=')
                    .ok_or(UriError("URI header without '='"))?;
                if n.is_empty() || !all_chars(n, b"[]/?:+$") || !all_chars(v, b"[]/?:+$") {
                    return Err(UriError("bad URI header"));
                }
                headers.push((n.to_string(), v.to_string()));
            }
        }
        Ok(SipUri {
            secure,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// URI equivalence of RFC 3261 §19.1.4.
    pub fn equivalent(&self, other: &SipUri) -> bool {
        let esc = |a: &Option<String>| a.as_deref().map(unescape);
        if self.secure != other.secure
            || esc(&self.user) != esc(&other.user)
            || esc(&self.password) != esc(&other.password)
            || !self.host.same(&other.host)
            || self.port != other.port
        {
            return false;
        }
        let pval = |p: &Params, n: &str| -> Option<Option<Vec<u8>>> {
            p.get(n)
                .map(|v| v.map(|v| unescape(v).to_ascii_lowercase()))
        };
        for p in self.params.iter().chain(other.params.iter()) {
            let a = pval(&self.params, &p.name);
            let b = pval(&other.params, &p.name);
            let strict = ["transport", "user", "ttl", "method", "maddr"]
                .iter()
                .any(|n| eq_ic(n, &p.name));
            let ok = match (&a, &b) {
                (Some(x), Some(y)) => x == y,
                _ => !strict,
            };
            if !ok {
                return false;
            }
        }
        let norm = |h: &[(String, String)]| {
            let mut v: Vec<(String, Vec<u8>)> = h
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), unescape(v).to_ascii_lowercase()))
                .collect();
            v.sort();
            v
        };
        norm(&self.headers) == norm(&other.headers)
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)?;
        for (i, (n, v)) in self.headers.iter().enumerate() {
            write!(f, "{}{n}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

/// A `tel:` URI (RFC 3966): the number as written and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelUri {
    pub number: String,
    pub params: Params,
}

/// Any URI a SIP message may carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri {
    Sip(SipUri),
    Tel(TelUri),
    /// Another absolute URI, kept verbatim.
    Other(String),
}

impl Uri {
    pub fn parse(s: &str) -> Result<Uri, UriError> {
        let (scheme, rest) = s.split_once(':').ok_or(UriError("missing scheme"))?;
        if scheme.is_empty()
            || !scheme.as_bytes()[0].is_ascii_alphabetic()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(UriError("bad scheme"));
        }
        if eq_ic(scheme, "sip") || eq_ic(scheme, "sips") {
            return SipUri::parse(s).map(Uri::Sip);
        }
        if rest.is_empty() || rest.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(UriError("bad absolute URI"));
        }
        if eq_ic(scheme, "tel") {
            let mut segs = rest.split(';');
            let number = segs.next().unwrap_or_default();
            if number.is_empty()
                || !number
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b"+-.()*#pw".contains(&b))
            {
                return Err(UriError("bad telephone number"));
            }
            let mut params = Params::new();
            for seg in segs {
                let (n, v) = match seg.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (seg, None),
                };
                if n.is_empty() {
                    return Err(UriError("empty tel parameter"));
                }
                params.0.push(Param {
                    name: n.to_string(),
                    value: v,
                });
            }
            return Ok(Uri::Tel(TelUri {
                number: number.to_string(),
                params,
            }));
        }
        Ok(Uri::Other(s.to_string()))
    }

    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    pub fn as_sip_mut(&mut self) -> Option<&mut SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// §19.1.4 for SIP URIs; other schemes compare as text, ignoring case.
    pub fn equivalent(&self, other: &Uri) -> bool {
        match (self, other) {
            (Uri::Sip(a), Uri::Sip(b)) => a.equivalent(b),
            (a, b) => eq_ic(&a.to_string(), &b.to_string()),
        }
    }
}

impl From<SipUri> for Uri {
    fn from(u: SipUri) -> Self {
        Uri::Sip(u)
    }
}

impl FromStr for Uri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uri::parse(s)
    }
}

impl FromStr for SipUri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SipUri::parse(s)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(u) => write!(f, "{u}"),
            Uri::Tel(t) => write!(f, "tel:{}{}", t.number, t.params),
            Uri::Other(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> SipUri {
        SipUri::parse(s).unwrap()
    }

    #[test]
    fn rfc3261_equivalent_uris() {
        let pairs = [
            (
                "sip:%61lice@atlanta.com;transport=TCP",
                "sip:alice@AtLanTa.CoM;Transport=tcp",
            ),
            ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
            (
                "sip:carol@chicago.com;security=on",
                "sip:carol@chicago.com;newparam=5",
            ),
            (
                "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
            ),
            (
                "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
            ),
        ];
        for (a, b) in pairs {
            assert!(u(a).equivalent(&u(b)), "{a} == {b}");
            assert!(u(b).equivalent(&u(a)), "{b} == {a}");
        }
    }

    #[test]
    fn rfc3261_different_uris() {
        let pairs = [
            (
                "SIP:ALICE@AtLanTa.CoM;Transport=udp",
                "sip:alice@AtLanTa.CoM;Transport=UDP",
            ),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),
            (
                "sip:bob@biloxi.com",
                "sip:bob@biloxi.com:6000;transport=tcp",
            ),
            (
                "sip:carol@chicago.com",
                "sip:carol@chicago.com?Subject=next%20meeting",
            ),
            ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
            (
                "sip:carol@chicago.com;security=on",
                "sip:carol@chicago.com;security=off",
            ),
        ];
        for (a, b) in pairs {
            assert!(!u(a).equivalent(&u(b)), "{a} != {b}");
        }
    }

    #[test]
    fn parts_and_printing() {
        let s = "sips:alice:secret@[2001:db8::1]:5061;transport=tls;lr?subject=x";
        let uri = u(s);
        assert!(uri.secure);
        assert_eq!(uri.user.as_deref(), Some("alice"));
        assert_eq!(uri.password.as_deref(), Some("secret"));
        assert_eq!(uri.host, Host::V6("2001:db8::1".parse().unwrap()));
        assert_eq!(uri.port, Some(5061));
        assert_eq!(uri.transport().as_deref(), Some("tls"));
        assert!(uri.lr());
        assert_eq!(uri.to_string(), s);
        let tel = Uri::parse("tel:+1-201-555-0123;phone-context=example.com").unwrap();
        assert!(matches!(&tel, Uri::Tel(t) if t.number == "+1-201-555-0123"));
        assert_eq!(
            tel.to_string(),
            "tel:+1-201-555-0123;phone-context=example.com"
        );
    }

    #[test]
    fn rejects_bad_uris() {
        for s in [
            "sip:",
            "sip:@host",
            "sip:user@",
            "sip:user@host:99999",
            "sip:user@ho st",
            "sip:user@[::1",
            "sip:us%zzer@host",
            "<sip:user@host>",
            "sip:user@host;=x",
        ] {
            assert!(Uri::parse(s).is_err(), "{s}");
        }
    }
}
