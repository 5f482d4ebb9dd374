//! WWW-Authenticate / Proxy-Authenticate / Authorization / Proxy-Authorization
//! values (§20.7, §20.27, §20.28, §20.44): a scheme and comma-separated auth-params.

use std::fmt;

use crate::text::{is_token_char, quote, quoted_len, read_quoted, trim, trim_start};

/// One `name=value` of a challenge or credentials; `quoted` remembers the form
/// so printing matches what peers expect (e.g. `algorithm` and `nc` unquoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthParam {
    pub name: String,
    pub value: String,
    pub quoted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthParams {
    pub scheme: String,
    pub params: Vec<AuthParam>,
}

/// A challenge from WWW-Authenticate / Proxy-Authenticate.
pub type Challenge = AuthParams;
/// Credentials in Authorization / Proxy-Authorization.
pub type Credentials = AuthParams;

impl AuthParams {
    pub fn new(scheme: &str) -> AuthParams {
        AuthParams {
            scheme: scheme.to_string(),
            params: Vec::new(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_str())
    }

    pub fn push(&mut self, name: &str, value: &str, quoted: bool) {
        self.params.push(AuthParam {
            name: name.to_string(),
            value: value.to_string(),
            quoted,
        });
    }

    pub fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("Digest")
    }

    pub fn parse(s: &str) -> Result<AuthParams, &'static str> {
        let s = trim(s);
        let n = s.bytes().take_while(|&b| is_token_char(b)).count();
        if n == 0 {
            return Err("missing auth scheme");
        }
        let mut out = AuthParams::new(&s[..n]);
        let mut rest = trim_start(&s[n..]);
        while !rest.is_empty() {
            let n = rest.bytes().take_while(|&b| is_token_char(b)).count();
            if n == 0 {
                return Err("bad auth parameter");
            }
            let name = &rest[..n];
            rest = trim_start(&rest[n..]);
            rest = trim_start(rest.strip_prefix('=').ok_or("auth parameter without '='")?);
            let (value, quoted, len) = if rest.starts_with('"') {
                let len = quoted_len(rest)?;
                (read_quoted(rest)?.0, true, len)
            } else {
                let len = rest
                    .bytes()
                    .take_while(|&b| is_token_char(b) || b == b'/' || b == b':')
                    .count();
                if len == 0 {
                    return Err("empty auth parameter value");
                }
                (rest[..len].to_string(), false, len)
            };
            out.params.push(AuthParam {
                name: name.to_string(),
                value,
                quoted,
            });
            rest = trim_start(&rest[len..]);
            if let Some(r) = rest.strip_prefix(',') {
                rest = trim_start(r);
                if rest.is_empty() {
                    return Err("trailing comma in auth parameters");
                }
            } else if !rest.is_empty() {
                return Err("expected ',' between auth parameters");
            }
        }
        Ok(out)
    }
}

impl fmt::Display for AuthParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        for (i, p) in self.params.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            if p.quoted {
                write!(f, "{sep}{}={}", p.name, quote(&p.value))?;
            } else {
                write!(f, "{sep}{}={}", p.name, p.value)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = r#"Digest realm="atlanta.com", nonce="84a4cc6f3082121f32b42a2187831a9e", algorithm=MD5, qop="auth""#;
        let c = AuthParams::parse(s).unwrap();
        assert!(c.is_digest());
        assert_eq!(c.get("REALM"), Some("atlanta.com"));
        assert_eq!(c.get("algorithm"), Some("MD5"));
        assert_eq!(c.to_string(), s);
        assert!(AuthParams::parse("Digest realm=").is_err());
        assert!(AuthParams::parse("Digest realm=\"x").is_err());
    }
}
