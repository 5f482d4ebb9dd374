//! CSeq (§20.16).

use std::fmt;

use crate::message::Method;
use crate::text::{is_token, parse_u32, trim};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub fn new(seq: u32, method: Method) -> CSeq {
        CSeq { seq, method }
    }

    pub fn parse(s: &str) -> Result<CSeq, &'static str> {
        let s = trim(s);
        let split = s.find([' ', '\t']).ok_or("missing method")?;
        let seq = parse_u32(&s[..split]).ok_or("sequence number not a 32-bit number")?;
        let method = trim(&s[split..]);
        if !is_token(method) {
            return Err("bad method");
        }
        Ok(CSeq {
            seq,
            method: Method::from(method),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}
