//! Building requests that start outside a dialog (INVITE to a trunk, OPTIONS,
//! MESSAGE). In-dialog requests come from [`crate::Dialog::request`].

use crate::headers::{CSeq, HeaderName, NameAddr, Via};
use crate::message::{Method, Request};
use crate::uri::Uri;

/// Fluent construction of a [`Request`]; header order follows the calls.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    req: Request,
}

impl Request {
    pub fn builder(method: Method, uri: impl Into<Uri>) -> RequestBuilder {
        RequestBuilder {
            req: Request::new(method, uri.into()),
        }
    }
}

impl RequestBuilder {
    /// A Via without branch is fine: `Endpoint::send_request` adds one.
    pub fn via(mut self, via: &Via) -> Self {
        self.req.headers.push(HeaderName::Via, via.to_string());
        self
    }

    pub fn max_forwards(mut self, n: u8) -> Self {
        self.req.headers.set(HeaderName::MaxForwards, n.to_string());
        self
    }

    /// From with its tag (make one with `Ids::tag`).
    pub fn from(mut self, from: &NameAddr) -> Self {
        self.req.headers.push(HeaderName::From, from.to_string());
        self
    }

    /// To, without a tag outside a dialog.
    pub fn to(mut self, to: &NameAddr) -> Self {
        self.req.headers.push(HeaderName::To, to.to_string());
        self
    }

    pub fn call_id(mut self, id: &str) -> Self {
        self.req.headers.push(HeaderName::CallId, id);
        self
    }

    /// CSeq with the request's own method.
    pub fn cseq(mut self, seq: u32) -> Self {
        let c = CSeq::new(seq, self.req.method.clone());
        self.req.headers.push(HeaderName::CSeq, c.to_string());
        self
    }

    pub fn contact(mut self, contact: &NameAddr) -> Self {
        self.req
            .headers
            .push(HeaderName::Contact, contact.to_string());
        self
    }

    pub fn route(mut self, route: &NameAddr) -> Self {
        self.req.headers.push(HeaderName::Route, route.to_string());
        self
    }

    pub fn header(mut self, name: impl Into<HeaderName>, value: impl Into<String>) -> Self {
        self.req.headers.push(name, value);
        self
    }

    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.req.set_body(content_type, body);
        self
    }

    pub fn build(self) -> Request {
        self.req
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Ids;
    use crate::message::Message;
    use crate::parse::parse_message;
    use crate::uri::{Host, SipUri};

    #[test]
    fn builds_a_parseable_invite() {
        let mut ids = Ids::new(3);
        let trunk = SipUri::parse("sip:+15551234567@sip.carrier.example").unwrap();
        let me = NameAddr::new(SipUri::parse("sip:agent@callisto.example").unwrap());
        let req = Request::builder(Method::Invite, trunk.clone())
            .via(&Via::new(
                "UDP",
                Host::V4([192, 0, 2, 1].into()),
                Some(5060),
                &ids.branch(),
            ))
            .max_forwards(70)
            .from(&me.clone().with_tag(&ids.tag()))
            .to(&NameAddr::new(trunk))
            .call_id(&ids.call_id(Some("callisto.example")))
            .cseq(1)
            .contact(&NameAddr::new(
                SipUri::parse("sip:agent@192.0.2.1:5060").unwrap(),
            ))
            .header("X-Tenant", "t1")
            .body("application/sdp", b"v=0\r\n".to_vec())
            .build();
        let Ok(Message::Request(back)) = parse_message(&req.to_bytes()) else {
            panic!("does not parse")
        };
        assert_eq!(back.headers.cseq().unwrap().method, Method::Invite);
        assert_eq!(back.headers.content_length().unwrap(), Some(5));
        assert_eq!(
            back.headers.get(&HeaderName::Other("X-Tenant".into())),
            Some("t1")
        );
        assert_eq!(back, req_with_length(req));
    }

    fn req_with_length(mut r: Request) -> Request {
        r.headers
            .push(HeaderName::ContentLength, r.body.len().to_string());
        r
    }
}
