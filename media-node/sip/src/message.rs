//! Requests, responses and their printing (RFC 3261 §7).

use std::fmt;

use crate::error::ParseError;
use crate::headers::{CSeq, Challenge, Contact, Credentials, HeaderName, Headers, NameAddr, Via};
use crate::text::{parse_u32, split_commas, trim};
use crate::uri::Uri;

/// A request method; extension methods keep their text (methods are case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Options,
    Info,
    Update,
    Prack,
    Subscribe,
    Notify,
    Refer,
    Message,
    Publish,
    Other(String),
}

impl Method {
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s,
        }
    }
}

impl From<&str> for Method {
    fn from(s: &str) -> Self {
        match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "PRACK" => Method::Prack,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "PUBLISH" => Method::Publish,
            other => Method::Other(other.to_string()),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    pub headers: Headers,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Message {
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    pub fn body(&self) -> &[u8] {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

impl From<Request> for Message {
    fn from(r: Request) -> Self {
        Message::Request(r)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Self {
        Message::Response(r)
    }
}

/// Writes headers and body; Content-Length always states the real body
/// length (kept in place if present, appended otherwise), since a wrong one
/// breaks stream framing at the peer.
fn write_rest(out: &mut Vec<u8>, headers: &Headers, body: &[u8]) {
    let mut wrote_len = false;
    for h in headers.iter() {
        if h.name == HeaderName::ContentLength {
            if wrote_len {
                continue;
            }
            wrote_len = true;
            out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
            continue;
        }
        out.extend_from_slice(h.name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !wrote_len {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

impl Request {
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri,
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{} {} SIP/2.0\r\n", self.method, self.uri).into_bytes();
        write_rest(&mut out, &self.headers, &self.body);
        out
    }

    /// Sets the body and its Content-Type.
    pub fn set_body(&mut self, content_type: &str, body: Vec<u8>) {
        self.headers.set(HeaderName::ContentType, content_type);
        self.body = body;
    }
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            reason: reason_phrase(status).to_string(),
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// A response to `req` per §8.2.6: Via (all, in order), From, To, Call-ID
    /// and CSeq copied; `to_tag` added to To when it has none (never on 100).
    pub fn from_request(req: &Request, status: u16, to_tag: Option<&str>) -> Response {
        let mut resp = Response::new(status);
        for h in req.headers.iter() {
            match h.name {
                HeaderName::Via | HeaderName::From | HeaderName::CallId | HeaderName::CSeq => {
                    resp.headers.push(h.name.clone(), h.value.clone());
                }
                HeaderName::To => {
                    let mut value = h.value.clone();
                    if let (Some(tag), true) = (to_tag, status > 100)
                        && let Ok(to) = NameAddr::parse(&h.value)
                        && to.tag().is_none()
                    {
                        value = to.with_tag(tag).to_string();
                    }
                    resp.headers.push(HeaderName::To, value);
                }
                HeaderName::Timestamp if status == 100 => {
                    resp.headers.push(HeaderName::Timestamp, h.value.clone());
                }
                _ => {}
            }
        }
        resp
    }

    pub fn with_reason(mut self, reason: &str) -> Response {
        self.reason = reason.replace(['\r', '\n'], " ");
        self
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("SIP/2.0 {} {}\r\n", self.status, self.reason).into_bytes();
        write_rest(&mut out, &self.headers, &self.body);
        out
    }

    pub fn set_body(&mut self, content_type: &str, body: Vec<u8>) {
        self.headers.set(HeaderName::ContentType, content_type);
        self.body = body;
    }

    pub fn is_provisional(&self) -> bool {
        self.status < 200
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The default reason phrase of a status code (§21).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        415 => "Unsupported Media Type",
        420 => "Bad Extension",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        600 => "Busy Everywhere",
        603 => "Decline",
        _ => match status / 100 {
            1 => "Progress",
            2 => "Success",
            3 => "Redirection",
            4 => "Client Error",
            5 => "Server Error",
            _ => "Global Failure",
        },
    }
}

fn bad(name: &HeaderName, reason: &'static str) -> ParseError {
    ParseError::Header {
        name: name.as_str().to_string(),
        reason,
    }
}

/// Typed access to the headers transactions, dialogs and the registrar need.
/// Each returns an error naming the header when its value does not parse.
impl Headers {
    fn single(&self, name: HeaderName) -> Result<&str, ParseError> {
        let mut it = self.get_all(&name);
        let v = it.next().ok_or(ParseError::Missing(static_name(&name)))?;
        if it.next().is_some() {
            return Err(bad(&name, "appears more than once"));
        }
        Ok(v)
    }

    pub fn vias(&self) -> Result<Vec<Via>, ParseError> {
        self.values(&HeaderName::Via)
            .map(|v| Via::parse(v).map_err(|r| bad(&HeaderName::Via, r)))
            .collect()
    }

    pub fn top_via(&self) -> Result<Via, ParseError> {
        let v = self
            .values(&HeaderName::Via)
            .next()
            .ok_or(ParseError::Missing("Via"))?;
        Via::parse(v).map_err(|r| bad(&HeaderName::Via, r))
    }

    pub fn from_addr(&self) -> Result<NameAddr, ParseError> {
        NameAddr::parse(self.single(HeaderName::From)?).map_err(|r| bad(&HeaderName::From, r))
    }

    pub fn to_addr(&self) -> Result<NameAddr, ParseError> {
        NameAddr::parse(self.single(HeaderName::To)?).map_err(|r| bad(&HeaderName::To, r))
    }

    pub fn call_id(&self) -> Result<&str, ParseError> {
        let v = trim(self.single(HeaderName::CallId)?);
        let ok = !v.is_empty()
            && v.split_once('@')
                .is_none_or(|(a, b)| !a.is_empty() && !b.is_empty() && !b.contains('@'))
            && v.bytes().all(|b| crate::text::is_word_char(b) || b == b'@');
        if !ok {
            return Err(bad(&HeaderName::CallId, "not a valid Call-ID"));
        }
        Ok(v)
    }

    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        CSeq::parse(self.single(HeaderName::CSeq)?).map_err(|r| bad(&HeaderName::CSeq, r))
    }

    /// Max-Forwards (0..=255), `None` when absent.
    pub fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
        match self.get(&HeaderName::MaxForwards) {
            None => Ok(None),
            Some(v) => parse_u32(trim(v))
                .and_then(|n| u8::try_from(n).ok())
                .map(Some)
                .ok_or(bad(&HeaderName::MaxForwards, "not a number in 0..=255")),
        }
    }

    pub fn contacts(&self) -> Result<Vec<Contact>, ParseError> {
        self.values(&HeaderName::Contact)
            .map(|v| Contact::parse(v).map_err(|r| bad(&HeaderName::Contact, r)))
            .collect()
    }

    fn seconds(&self, name: HeaderName) -> Result<Option<u32>, ParseError> {
        match self.get(&name) {
            None => Ok(None),
            Some(v) => parse_u32(trim(v))
                .map(Some)
                .ok_or(bad(&name, "not a 32-bit number of seconds")),
        }
    }

    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.seconds(HeaderName::Expires)
    }

    pub fn min_expires(&self) -> Result<Option<u32>, ParseError> {
        self.seconds(HeaderName::MinExpires)
    }

    pub fn content_length(&self) -> Result<Option<usize>, ParseError> {
        Ok(self.seconds(HeaderName::ContentLength)?.map(|n| n as usize))
    }

    pub fn content_type(&self) -> Option<&str> {
        self.get(&HeaderName::ContentType).map(trim)
    }

    fn addrs(&self, name: HeaderName) -> Result<Vec<NameAddr>, ParseError> {
        self.values(&name)
            .map(|v| NameAddr::parse(v).map_err(|r| bad(&name, r)))
            .collect()
    }

    pub fn routes(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.addrs(HeaderName::Route)
    }

    pub fn record_routes(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.addrs(HeaderName::RecordRoute)
    }

    /// Challenges of WWW-Authenticate (`proxy == false`) or Proxy-Authenticate.
    pub fn challenges(&self, proxy: bool) -> Result<Vec<Challenge>, ParseError> {
        let name = if proxy {
            HeaderName::ProxyAuthenticate
        } else {
            HeaderName::WwwAuthenticate
        };
        self.get_all(&name)
            .map(|v| Challenge::parse(v).map_err(|r| bad(&name, r)))
            .collect()
    }

    /// Credentials of Authorization (`proxy == false`) or Proxy-Authorization.
    pub fn credentials(&self, proxy: bool) -> Result<Vec<Credentials>, ParseError> {
        let name = if proxy {
            HeaderName::ProxyAuthorization
        } else {
            HeaderName::Authorization
        };
        self.get_all(&name)
            .map(|v| Credentials::parse(v).map_err(|r| bad(&name, r)))
            .collect()
    }

    /// Tokens of a list header such as Allow, Supported or Require.
    pub fn tokens(&self, name: &HeaderName) -> Vec<String> {
        self.get_all(name)
            .flat_map(split_commas)
            .map(trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.get(&HeaderName::UserAgent).map(trim)
    }
}

fn static_name(name: &HeaderName) -> &'static str {
    match name {
        HeaderName::From => "From",
        HeaderName::To => "To",
        HeaderName::CallId => "Call-ID",
        HeaderName::CSeq => "CSeq",
        HeaderName::Via => "Via",
        _ => "header",
    }
}
