//! Dialogs (RFC 3261 §12): state shared by the requests of one call leg.

use crate::headers::{CSeq, HeaderName, NameAddr, Via};
use crate::message::{Method, Request, Response};
use crate::uri::Uri;

/// Call-ID plus both tags, seen from this side.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

impl DialogId {
    /// The id of the dialog an incoming request belongs to (its To tag is ours).
    pub fn of_incoming(req: &Request) -> Option<DialogId> {
        Some(DialogId {
            call_id: req.headers.call_id().ok()?.to_string(),
            local_tag: req.headers.to_addr().ok()?.tag()?.to_string(),
            remote_tag: req.headers.from_addr().ok()?.tag()?.to_string(),
        })
    }

    /// The id of the dialog a response to our request belongs to.
    pub fn of_response(resp: &Response) -> Option<DialogId> {
        Some(DialogId {
            call_id: resp.headers.call_id().ok()?.to_string(),
            local_tag: resp.headers.from_addr().ok()?.tag()?.to_string(),
            remote_tag: resp.headers.to_addr().ok()?.tag()?.to_string(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Uac,
    Uas,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    Early,
    Confirmed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    #[error("message cannot create a dialog: {0}")]
    NotDialogForming(&'static str),
    #[error("request does not belong to this dialog")]
    Mismatch,
    /// §12.2.2: answer `500 Server Internal Error`.
    #[error("CSeq {got} is lower than the last one seen ({last})")]
    CSeqOutOfOrder { got: u32, last: u32 },
}

impl DialogError {
    /// The response status a UAS should answer a failed in-dialog request with.
    pub fn status(&self) -> u16 {
        match self {
            DialogError::CSeqOutOfOrder { .. } => 500,
            DialogError::Mismatch => 481,
            DialogError::NotDialogForming(_) => 400,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub id: DialogId,
    pub role: Role,
    pub state: DialogState,
    /// Our address of record and the peer's, as in From/To (no tags).
    pub local_uri: NameAddr,
    pub remote_uri: NameAddr,
    /// Where in-dialog requests go (the peer's Contact).
    pub remote_target: Uri,
    /// Our Contact, sent in target-refresh requests.
    pub local_contact: NameAddr,
    pub route_set: Vec<NameAddr>,
    pub local_seq: u32,
    pub remote_seq: Option<u32>,
    pub secure: bool,
}

fn strip_tag(mut a: NameAddr) -> NameAddr {
    a.params.remove("tag");
    a
}

fn first_contact(contacts: Result<Vec<crate::headers::Contact>, crate::ParseError>) -> Option<Uri> {
    contacts
        .ok()?
        .into_iter()
        .find_map(|c| c.addr().map(|a| a.uri.clone()))
}

impl Dialog {
    /// UAC side, from a 1xx with a To tag (early) or a 2xx (confirmed) to `invite` (§12.1.2).
    pub fn uac(
        invite: &Request,
        resp: &Response,
        local_contact: NameAddr,
    ) -> Result<Dialog, DialogError> {
        if !(101..300).contains(&resp.status) {
            return Err(DialogError::NotDialogForming(
                "only 101-299 responses form dialogs",
            ));
        }
        let id = DialogId::of_response(resp).ok_or(DialogError::NotDialogForming("no tags"))?;
        let from = invite
            .headers
            .from_addr()
            .map_err(|_| DialogError::NotDialogForming("bad From"))?;
        let to = resp
            .headers
            .to_addr()
            .map_err(|_| DialogError::NotDialogForming("bad To"))?;
        let remote_target = first_contact(resp.headers.contacts())
            .ok_or(DialogError::NotDialogForming("response has no Contact"))?;
        let mut route_set = resp.headers.record_routes().unwrap_or_default();
        route_set.reverse();
        let seq = invite
            .headers
            .cseq()
            .map_err(|_| DialogError::NotDialogForming("bad CSeq"))?
            .seq;
        Ok(Dialog {
            id,
            role: Role::Uac,
            state: if resp.is_success() {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            secure: matches!(&invite.uri, Uri::Sip(u) if u.secure),
            local_uri: strip_tag(from),
            remote_uri: strip_tag(to),
            remote_target,
            local_contact,
            route_set,
            local_seq: seq,
            remote_seq: None,
        })
    }

    /// UAS side, for `invite` answered with a response carrying `local_tag` (§12.1.1).
    /// The answer must copy the INVITE's Record-Route ([`Dialog::prepare_response`]).
    pub fn uas(
        invite: &Request,
        local_tag: &str,
        local_contact: NameAddr,
    ) -> Result<Dialog, DialogError> {
        let h = &invite.headers;
        let from = h
            .from_addr()
            .map_err(|_| DialogError::NotDialogForming("bad From"))?;
        let remote_tag = from
            .tag()
            .ok_or(DialogError::NotDialogForming("From has no tag"))?
            .to_string();
        let to = h
            .to_addr()
            .map_err(|_| DialogError::NotDialogForming("bad To"))?;
        let remote_target = first_contact(h.contacts())
            .ok_or(DialogError::NotDialogForming("request has no Contact"))?;
        let seq = h
            .cseq()
            .map_err(|_| DialogError::NotDialogForming("bad CSeq"))?
            .seq;
        Ok(Dialog {
            id: DialogId {
                call_id: h
                    .call_id()
                    .map_err(|_| DialogError::NotDialogForming("bad Call-ID"))?
                    .to_string(),
                local_tag: local_tag.to_string(),
                remote_tag,
            },
            role: Role::Uas,
            state: DialogState::Early,
            secure: matches!(&invite.uri, Uri::Sip(u) if u.secure),
            local_uri: strip_tag(to),
            remote_uri: strip_tag(from),
            remote_target,
            local_contact,
            route_set: h.record_routes().unwrap_or_default(),
            local_seq: 0,
            remote_seq: Some(seq),
        })
    }

    /// Adds what a dialog-forming response from the UAS needs: the To tag,
    /// our Contact and the copied Record-Route. Marks the dialog confirmed on 2xx.
    pub fn prepare_response(&mut self, invite: &Request, resp: &mut Response) {
        if let Ok(to) = resp.headers.to_addr()
            && to.tag().is_none()
        {
            resp.headers
                .set(HeaderName::To, to.with_tag(&self.id.local_tag).to_string());
        }
        if resp.headers.get(&HeaderName::Contact).is_none() {
            resp.headers
                .push(HeaderName::Contact, self.local_contact.to_string());
        }
        if resp.headers.get(&HeaderName::RecordRoute).is_none() {
            for rr in invite.headers.get_all(&HeaderName::RecordRoute) {
                resp.headers.push(HeaderName::RecordRoute, rr);
            }
        }
        if resp.is_success() {
            self.state = DialogState::Confirmed;
        }
    }

    /// UAC: a later response on the dialog (e.g. the 2xx after an early 1xx,
    /// or a 2xx to a re-INVITE) — confirms it and refreshes the remote target.
    pub fn on_response(&mut self, resp: &Response) {
        if resp.is_success() && self.state == DialogState::Early && self.role == Role::Uac {
            // The route set is fixed by the 2xx (§12.2.1.2).
            let mut rs = resp.headers.record_routes().unwrap_or_default();
            rs.reverse();
            self.route_set = rs;
            self.state = DialogState::Confirmed;
        }
        let target_refresh = resp
            .headers
            .cseq()
            .is_ok_and(|c| matches!(c.method, Method::Invite | Method::Update));
        if resp.is_success()
            && target_refresh
            && let Some(t) = first_contact(resp.headers.contacts())
        {
            self.remote_target = t;
        }
    }

    /// Whether `req` belongs to this dialog.
    pub fn matches(&self, req: &Request) -> bool {
        DialogId::of_incoming(req).as_ref() == Some(&self.id)
    }

    /// Checks an incoming in-dialog request (§12.2.2): CSeq must not go back
    /// (ACK and CANCEL reuse numbers), and target refreshes update the remote target.
    pub fn on_request(&mut self, req: &Request) -> Result<(), DialogError> {
        if !self.matches(req) {
            return Err(DialogError::Mismatch);
        }
        let seq = req.headers.cseq().map_err(|_| DialogError::Mismatch)?.seq;
        if !matches!(req.method, Method::Ack | Method::Cancel) {
            if let Some(last) = self.remote_seq
                && seq <= last
            {
                // A retransmission is caught by the transaction layer before this,
                // so an equal number is a new request that went backwards.
                return Err(DialogError::CSeqOutOfOrder { got: seq, last });
            }
            self.remote_seq = Some(seq);
        }
        if matches!(req.method, Method::Invite | Method::Update)
            && let Some(t) = first_contact(req.headers.contacts())
        {
            self.remote_target = t;
        }
        Ok(())
    }

    /// Request-URI and Route of an in-dialog request (§12.2.1.1): loose routing
    /// keeps the remote target in the Request-URI; a strict first hop gets it
    /// and the remote target goes last in Route.
    fn target_and_routes(&self) -> (Uri, Vec<String>) {
        match self.route_set.first() {
            None => (self.remote_target.clone(), Vec::new()),
            Some(first) if first.uri.as_sip().is_some_and(|u| u.lr()) => (
                self.remote_target.clone(),
                self.route_set.iter().map(|r| r.to_string()).collect(),
            ),
            Some(first) => {
                let mut uri = first.uri.clone();
                if let Some(u) = uri.as_sip_mut() {
                    u.headers.clear();
                }
                let mut routes: Vec<String> =
                    self.route_set[1..].iter().map(|r| r.to_string()).collect();
                routes.push(format!("<{}>", self.remote_target));
                (uri, routes)
            }
        }
    }

    /// Where to send in-dialog requests: the first route, else the remote target.
    pub fn next_hop(&self) -> &Uri {
        self.route_set
            .first()
            .map(|r| &r.uri)
            .unwrap_or(&self.remote_target)
    }

    fn build(&self, method: Method, seq: u32, via: &Via) -> Request {
        let (uri, routes) = self.target_and_routes();
        let mut req = Request::new(method.clone(), uri);
        req.headers.push(HeaderName::Via, via.to_string());
        req.headers.push(HeaderName::MaxForwards, "70");
        req.headers.push(
            HeaderName::From,
            self.local_uri
                .clone()
                .with_tag(&self.id.local_tag)
                .to_string(),
        );
        req.headers.push(
            HeaderName::To,
            self.remote_uri
                .clone()
                .with_tag(&self.id.remote_tag)
                .to_string(),
        );
        req.headers
            .push(HeaderName::CallId, self.id.call_id.clone());
        req.headers
            .push(HeaderName::CSeq, CSeq::new(seq, method.clone()).to_string());
        for r in routes {
            req.headers.push(HeaderName::Route, r);
        }
        if matches!(
            method,
            Method::Invite | Method::Update | Method::Subscribe | Method::Refer
        ) {
            req.headers
                .push(HeaderName::Contact, self.local_contact.to_string());
        }
        req
    }

    /// A new in-dialog request (BYE, re-INVITE, INFO, UPDATE, ...) with the
    /// next local CSeq. `via` needs no branch: the endpoint adds one.
    pub fn request(&mut self, method: Method, via: &Via) -> Request {
        self.local_seq = self.local_seq.wrapping_add(1).max(1);
        self.build(method, self.local_seq, via)
    }

    /// ACK for a 2xx to the INVITE numbered `invite_seq` (§13.2.2.4): it takes
    /// the INVITE's CSeq number. It is no transaction, so `via` must already carry
    /// a fresh branch (`Endpoint::ids().branch()`).
    pub fn ack(&self, invite_seq: u32, via: &Via) -> Request {
        self.build(Method::Ack, invite_seq, via)
    }
}
