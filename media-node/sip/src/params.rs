//! `;name=value` parameter lists of headers and URIs.

use std::fmt;

use crate::text::{is_token_char, quoted_len, read_quoted, trim_start};

/// One parameter; `value` is kept as written (a quoted value keeps its quotes)
/// so that printing reproduces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub value: Option<String>,
}

/// Parameters in their order; names compare case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params(pub Vec<Param>);

impl Params {
    pub fn new() -> Self {
        Self::default()
    }

    /// `Some(None)` for a parameter without value, `None` when absent.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_deref())
    }

    /// The value with surrounding quotes removed (and unescaped).
    pub fn value(&self, name: &str) -> Option<String> {
        let v = self.get(name)??;
        if v.starts_with('"') {
            read_quoted(v).ok().map(|(s, _)| s)
        } else {
            Some(v.to_string())
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Replaces or appends a parameter.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_string);
        match self
            .0
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            Some(p) => p.value = value,
            None => self.0.push(Param {
                name: name.to_string(),
                value,
            }),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|p| !p.name.eq_ignore_ascii_case(name));
    }

    pub fn iter(&self) -> impl Iterator<Item = &Param> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            write!(f, ";{}", p.name)?;
            if let Some(v) = &p.value {
                write!(f, "={v}")?;
            }
        }
        Ok(())
    }
}

fn is_value_char(b: u8) -> bool {
    // gen-value = token / host / quoted-string; hosts add ':' '[' ']' for IPv6.
    is_token_char(b) || b == b':' || b == b'[' || b == b']'
}

/// Parses header parameters `*( SEMI generic-param )` where LWS may surround
/// `;` and `=` (RFC 4475 wsinv). `s` must be empty or start (after LWS) with `;`.
pub(crate) fn parse_header_params(s: &str) -> Result<Params, &'static str> {
    let mut params = Params::new();
    let mut rest = trim_start(s);
    while !rest.is_empty() {
        rest = rest
            .strip_prefix(';')
            .ok_or("expected ';' before parameter")?;
        rest = trim_start(rest);
        let n = rest.bytes().take_while(|&b| is_token_char(b)).count();
        if n == 0 {
            return Err("empty parameter name");
        }
        let name = rest[..n].to_string();
        rest = trim_start(&rest[n..]);
        let mut value = None;
        if let Some(r) = rest.strip_prefix('=') {
            let r = trim_start(r);
            let len = if r.starts_with('"') {
                quoted_len(r)?
            } else {
                r.bytes().take_while(|&b| is_value_char(b)).count()
            };
            if len == 0 {
                return Err("empty parameter value");
            }
            value = Some(r[..len].to_string());
            rest = trim_start(&r[len..]);
        }
        params.0.push(Param { name, value });
    }
    Ok(params)
}
