//! Requests a transaction builds itself: ACK for a non-2xx final (§17.1.1.3)
//! and CANCEL (§9.1).

use crate::headers::{CSeq, HeaderName};
use crate::message::{Method, Request, Response};

/// Copies the headers both builders share from the original request: the top
/// Via only, Call-ID, From, Route, and the CSeq number with the new method.
fn from_invite(invite: &Request, method: Method) -> Request {
    let mut req = Request::new(method.clone(), invite.uri.clone());
    if let Some(via) = invite.headers.values(&HeaderName::Via).next() {
        req.headers.push(HeaderName::Via, via);
    }
    req.headers.push(HeaderName::MaxForwards, "70");
    for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
        if let Some(v) = invite.headers.get(&name) {
            req.headers.push(name, v);
        }
    }
    if let Ok(cseq) = invite.headers.cseq() {
        req.headers
            .push(HeaderName::CSeq, CSeq::new(cseq.seq, method).to_string());
    }
    for r in invite.headers.get_all(&HeaderName::Route) {
        req.headers.push(HeaderName::Route, r);
    }
    req
}

/// ACK for a 300-699 answer: the To comes from the response (it has the tag).
pub(crate) fn ack_for_failure(invite: &Request, resp: &Response) -> Request {
    let mut ack = from_invite(invite, Method::Ack);
    if let Some(to) = resp.headers.get(&HeaderName::To) {
        ack.headers.set(HeaderName::To, to);
    }
    ack
}

pub(crate) fn cancel_for(invite: &Request) -> Request {
    from_invite(invite, Method::Cancel)
}
