//! name-addr / addr-spec values: From, To, Contact, Route, Record-Route (§20.10, §25.1).

use std::fmt;

use crate::params::{Params, parse_header_params};
use crate::text::{is_token_char, is_ws, quote, read_quoted, trim};
use crate::uri::Uri;

/// `[display] <uri> ;params` or `uri ;params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    pub display: Option<String>,
    pub uri: Uri,
    pub params: Params,
}

impl NameAddr {
    pub fn new(uri: impl Into<Uri>) -> NameAddr {
        NameAddr {
            display: None,
            uri: uri.into(),
            params: Params::new(),
        }
    }

    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").flatten()
    }

    pub fn with_tag(mut self, tag: &str) -> NameAddr {
        self.params.set("tag", Some(tag));
        self
    }

    pub fn parse(s: &str) -> Result<NameAddr, &'static str> {
        let s = trim(s);
        let (display, rest) = if s.starts_with('"') {
            let (d, rest) = read_quoted(s)?;
            let rest = trim(rest);
            if !rest.starts_with('<') {
                return Err("display name not followed by <uri>");
            }
            (Some(d), rest)
        } else if let Some(lt) = s.find('<') {
            let d = trim(&s[..lt]);
            if !d.bytes().all(|b| is_token_char(b) || is_ws(b)) {
                return Err("display name has characters that need quoting");
            }
            let d = d
                .split([' ', '\t'])
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>();
            ((!d.is_empty()).then(|| d.join(" ")), &s[lt..])
        } else {
            // addr-spec: its URI ends at the first ';', and cannot hold ',', ';' or '?'.
            let end = s.find(';').unwrap_or(s.len());
            let uri_text = trim(&s[..end]);
            if uri_text.contains(['?', ',']) {
                return Err("URI with headers must be enclosed in <>");
            }
            let uri = Uri::parse(uri_text).map_err(|e| e.0)?;
            let params = parse_header_params(&s[end..])?;
            return Ok(NameAddr {
                display: None,
                uri,
                params,
            });
        };
        let inner = rest.strip_prefix('<').ok_or("expected '<'")?;
        let gt = inner.find('>').ok_or("unclosed '<'")?;
        let uri = Uri::parse(&inner[..gt]).map_err(|e| e.0)?;
        let params = parse_header_params(&inner[gt + 1..])?;
        Ok(NameAddr {
            display,
            uri,
            params,
        })
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "{} ", quote(d))?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// A Contact value: `*` (only in REGISTER, to remove all bindings) or an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    Star,
    Addr(NameAddr),
}

impl Contact {
    pub fn parse(s: &str) -> Result<Contact, &'static str> {
        if trim(s) == "*" {
            return Ok(Contact::Star);
        }
        let a = NameAddr::parse(s)?;
        if let Some(e) = a.params.get("expires")
            && e.and_then(crate::text::parse_u32).is_none()
        {
            return Err("expires parameter not a 32-bit number");
        }
        if let Some(q) = a.params.get("q")
            && q.and_then(parse_q).is_none()
        {
            return Err("bad q value");
        }
        Ok(Contact::Addr(a))
    }

    pub fn addr(&self) -> Option<&NameAddr> {
        match self {
            Contact::Star => None,
            Contact::Addr(a) => Some(a),
        }
    }

    /// The `expires` parameter in seconds.
    pub fn expires(&self) -> Option<u32> {
        self.addr()?
            .params
            .get("expires")?
            .and_then(crate::text::parse_u32)
    }

    /// `q` in thousandths (0..=1000).
    pub fn q(&self) -> Option<u16> {
        self.addr()?.params.get("q")?.and_then(parse_q)
    }
}

fn parse_q(s: &str) -> Option<u16> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let f: u16 = format!("{frac:0<3}").parse().ok()?;
    match int {
        "0" => Some(f),
        "1" if f == 0 => Some(1000),
        _ => None,
    }
}

impl fmt::Display for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Contact::Star => f.write_str("*"),
            Contact::Addr(a) => write!(f, "{a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let a = NameAddr::parse(
            "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com> ;  tag = 98asjd8",
        )
        .unwrap();
        assert_eq!(a.display.as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(a.tag(), Some("98asjd8"));
        let a = NameAddr::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(a.display.as_deref(), Some("caller"));
        let a = NameAddr::parse("sip:user@example.com;tag=1").unwrap();
        assert_eq!(a.tag(), Some("1"));
        assert_eq!(a.uri.to_string(), "sip:user@example.com");
        assert!(NameAddr::parse("Bell, Alexander <sip:a.g.bell@example.com>").is_err());
        assert!(NameAddr::parse("\"Mr. J. User <sip:j.user@example.com>").is_err());
        assert!(NameAddr::parse("\"W\" < sip:t.watson@example.org >").is_err());
        assert!(NameAddr::parse("sip:user@example.com?Route=%3Csip:sip.example.com%3E").is_err());
    }

    #[test]
    fn contact_params() {
        let c = Contact::parse("<sip:a@b>;expires=60;q=0.7").unwrap();
        assert_eq!(c.expires(), Some(60));
        assert_eq!(c.q(), Some(700));
        assert_eq!(Contact::parse(" * ").unwrap(), Contact::Star);
        assert!(Contact::parse("<sip:a@b>;expires=280297596632815").is_err());
    }
}
