//! Message parsing (RFC 3261 §7, §25) with size caps; never panics.

use crate::error::ParseError;
use crate::headers::{HeaderName, Headers};
use crate::message::{Message, Method, Request, Response};
use crate::text::{is_token, trim};
use crate::uri::Uri;

/// Largest message accepted (head and body).
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;
/// Most header lines accepted.
pub const MAX_HEADERS: usize = 256;

/// Parses one message from a datagram. Bytes after the Content-Length body are
/// ignored (RFC 4475 dblreq); without Content-Length the rest is the body.
pub fn parse_message(buf: &[u8]) -> Result<Message, ParseError> {
    let (msg, _) = parse_framed(buf, false)?;
    Ok(msg)
}

/// Finds the end of the head (index after the blank line), skipping leading CRLFs.
pub(crate) fn head_end(buf: &[u8]) -> Option<(usize, usize)> {
    let start = buf
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    let b = &buf[start..];
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\n' {
            if b.get(i + 1) == Some(&b'\n') {
                return Some((start, start + i + 2));
            }
            if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                return Some((start, start + i + 3));
            }
        }
        i += 1;
    }
    None
}

/// Parses a message at the start of `buf`; returns it and the bytes consumed.
/// On streams (`stream == true`) Content-Length is mandatory.
pub(crate) fn parse_framed(buf: &[u8], stream: bool) -> Result<(Message, usize), ParseError> {
    let (start, end) = match head_end(buf) {
        Some(x) => x,
        None if buf.len() > MAX_MESSAGE_SIZE => return Err(ParseError::TooLarge(MAX_MESSAGE_SIZE)),
        None => return Err(ParseError::Incomplete),
    };
    if end - start > MAX_MESSAGE_SIZE {
        return Err(ParseError::TooLarge(MAX_MESSAGE_SIZE));
    }
    let head = std::str::from_utf8(&buf[start..end]).map_err(|_| ParseError::NotUtf8)?;
    let mut msg = parse_head(head)?;
    let headers = match &msg {
        Message::Request(r) => &r.headers,
        Message::Response(r) => &r.headers,
    };
    let rest = &buf[end..];
    let body_len = match headers.content_length()? {
        Some(n) => {
            if end - start + n > MAX_MESSAGE_SIZE {
                return Err(ParseError::TooLarge(MAX_MESSAGE_SIZE));
            }
            if rest.len() < n {
                return Err(if stream {
                    ParseError::Incomplete
                } else {
                    ParseError::BodyTruncated
                });
            }
            n
        }
        None if stream => return Err(ParseError::NoContentLength),
        None if end - start + rest.len() > MAX_MESSAGE_SIZE => {
            return Err(ParseError::TooLarge(MAX_MESSAGE_SIZE));
        }
        None => rest.len(),
    };
    let body = rest[..body_len].to_vec();
    match &mut msg {
        Message::Request(r) => r.body = body,
        Message::Response(r) => r.body = body,
    }
    validate(&msg)?;
    Ok((msg, end + body_len))
}

/// Start line and header lines, without checking header values.
pub(crate) fn parse_head(head: &str) -> Result<Message, ParseError> {
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().ok_or(ParseError::StartLine("empty message"))?;
    let mut headers = Headers::new();
    for (n, line) in lines.enumerate() {
        if line.is_empty() {
            break;
        }
        if line.contains('\r') {
            return Err(ParseError::HeaderLine {
                line: n + 2,
                reason: "stray carriage return",
            });
        }
        if line.starts_with([' ', '\t']) {
            // Folded continuation: joined with one space (§7.3.1).
            let last = headers.0.last_mut().ok_or(ParseError::HeaderLine {
                line: n + 2,
                reason: "continuation line before any header",
            })?;
            let cont = trim(line);
            if !cont.is_empty() {
                if !last.value.is_empty() {
                    last.value.push(' ');
                }
                last.value.push_str(cont);
            }
            continue;
        }
        let colon = line.find(':').ok_or(ParseError::HeaderLine {
            line: n + 2,
            reason: "no ':' in header line",
        })?;
        let name = trim(&line[..colon]);
        if !is_token(name) {
            return Err(ParseError::HeaderLine {
                line: n + 2,
                reason: "header name is not a token",
            });
        }
        if headers.len() >= MAX_HEADERS {
            return Err(ParseError::TooManyHeaders(MAX_HEADERS));
        }
        headers.push(HeaderName::parse(name), trim(&line[colon + 1..]));
    }
    if let Some(rest) = first.strip_prefix("SIP/") {
        return parse_status_line(rest, headers);
    }
    let mut parts = first.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::StartLine(
            "request line is not 'method SP URI SP version'",
        ));
    };
    if !is_token(method) {
        return Err(ParseError::StartLine("method is not a token"));
    }
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        return Err(ParseError::StartLine("unsupported SIP version"));
    }
    let uri = Uri::parse(uri).map_err(|e| ParseError::StartLine(e.0))?;
    Ok(Message::Request(Request {
        method: Method::from(method),
        uri,
        headers,
        body: Vec::new(),
    }))
}

fn parse_status_line(rest: &str, headers: Headers) -> Result<Message, ParseError> {
    let rest = rest
        .strip_prefix("2.0 ")
        .ok_or(ParseError::StartLine("unsupported SIP version"))?;
    let code = rest
        .get(..3)
        .ok_or(ParseError::StartLine("short status code"))?;
    let after = &rest[3..];
    if !code.bytes().all(|b| b.is_ascii_digit()) || !(after.is_empty() || after.starts_with(' ')) {
        return Err(ParseError::StartLine("status code is not three digits"));
    }
    let status: u16 = code
        .parse()
        .map_err(|_| ParseError::StartLine("bad status code"))?;
    if !(100..=699).contains(&status) {
        return Err(ParseError::StartLine("status code out of range"));
    }
    let reason = after.strip_prefix(' ').unwrap_or(after);
    if reason.bytes().any(|b| b < b' ' && b != b'\t') {
        return Err(ParseError::StartLine("control character in reason phrase"));
    }
    Ok(Message::Response(Response {
        status,
        reason: reason.to_string(),
        headers,
        body: Vec::new(),
    }))
}

fn bad(name: &str, reason: &'static str) -> ParseError {
    ParseError::Header {
        name: name.to_string(),
        reason,
    }
}

/// Checks the values every element relies on, so a message that passes can be
/// handed to transactions and dialogs without further error paths.
pub(crate) fn validate(msg: &Message) -> Result<(), ParseError> {
    let h = msg.headers();
    h.vias()?;
    h.top_via()?;
    h.from_addr()?;
    h.to_addr()?;
    h.call_id()?;
    let cseq = h.cseq()?;
    h.contacts()?;
    h.expires()?;
    h.min_expires()?;
    h.routes()?;
    h.record_routes()?;
    if h.get_all(&HeaderName::ContentLength).count() > 1 {
        return Err(bad("Content-Length", "appears more than once"));
    }
    if let Some(ct) = h.content_type() {
        let ok = ct
            .split(';')
            .next()
            .and_then(|t| t.split_once('/'))
            .is_some_and(|(a, b)| is_token(trim(a)) && is_token(trim(b)));
        if !ok {
            return Err(bad("Content-Type", "not type/subtype"));
        }
    }
    if let Some(date) = h.get(&HeaderName::Date)
        && !date.ends_with(" GMT")
    {
        return Err(bad("Date", "time zone must be GMT"));
    }
    if let Message::Request(req) = msg {
        h.max_forwards()?;
        if cseq.method != req.method {
            return Err(ParseError::CSeqMismatch);
        }
        if let Uri::Sip(u) = &req.uri
            && !u.headers.is_empty()
        {
            return Err(ParseError::StartLine(
                "headers are not allowed in the Request-URI",
            ));
        }
        if req.method == Method::Register || h.contacts()?.len() > 1 {
            // '*' is legal only alone in a REGISTER (§10.2.2).
            let contacts = h.contacts()?;
            if contacts.len() > 1 && contacts.contains(&crate::headers::Contact::Star) {
                return Err(bad("Contact", "'*' must be the only contact"));
            }
        }
    }
    Ok(())
}

/// A `400 Bad Request` for a datagram or stream message that failed with `err`,
/// when enough of it is a request to answer (§8.2.6 copies its headers as they are).
pub fn bad_request_response(buf: &[u8], err: &ParseError) -> Option<Response> {
    let (start, end) = head_end(buf)?;
    let head = std::str::from_utf8(&buf[start..end]).ok()?;
    // The error may be in the head itself: read what can be read, leaving
    // out the lines that are no header, so the sender still learns why.
    let parsed = parse_head(head).or_else(|_| {
        let mut lines = head.split("\r\n");
        let first = lines.next().unwrap_or_default();
        let kept: Vec<&str> = std::iter::once(first)
            .chain(lines.filter(|l| l.contains(':') || l.starts_with([' ', '\t'])))
            .collect();
        parse_head(&kept.join("\r\n"))
    });
    let Message::Request(req) = parsed.ok()? else {
        return None;
    };
    if req.method == Method::Ack {
        return None;
    }
    // Without a usable top Via there is nowhere to send the answer.
    req.headers.top_via().ok()?;
    Some(Response::from_request(&req, 400, None).with_reason(&format!("Bad Request ({err})")))
}
