//! Splits a TCP/TLS/WebSocket byte stream into messages (RFC 3261 §18.3).

use crate::error::ParseError;
use crate::message::Message;
use crate::parse::{MAX_MESSAGE_SIZE, parse_framed};

/// Accumulates stream bytes and yields whole messages. Content-Length is
/// mandatory on streams; CRLF keep-alives (RFC 5626 §3.5.1) between messages
/// are skipped and reported so the node can answer a double-CRLF ping.
#[derive(Debug, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
    keepalives: usize,
}

/// What the framer found next.
#[derive(Debug, PartialEq, Eq)]
pub enum Framed {
    Message(Box<Message>),
    /// A double CRLF ping; answer with a single CRLF pong.
    KeepAlive,
}

impl StreamFramer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held for an incomplete message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete message, `Ok(None)` when more bytes are needed.
    /// After an `Err` the stream cannot be re-synchronised: close the connection.
    pub fn next_message(&mut self) -> Result<Option<Framed>, ParseError> {
        let lead = self
            .buf
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        if lead > 0 {
            let pings = self.buf[..lead]
                .windows(4)
                .filter(|w| w == b"\r\n\r\n")
                .count();
            if lead == self.buf.len() && pings == 0 {
                return Ok(None);
            }
            self.buf.drain(..lead);
            self.keepalives += pings.max(usize::from(lead >= 4));
        }
        if self.keepalives > 0 {
            self.keepalives -= 1;
            return Ok(Some(Framed::KeepAlive));
        }
        if self.buf.is_empty() {
            return Ok(None);
        }
        match parse_framed(&self.buf, true) {
            Ok((msg, used)) => {
                self.buf.drain(..used);
                Ok(Some(Framed::Message(Box::new(msg))))
            }
            Err(ParseError::Incomplete) if self.buf.len() <= MAX_MESSAGE_SIZE => Ok(None),
            Err(ParseError::Incomplete) => Err(ParseError::TooLarge(MAX_MESSAGE_SIZE)),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 4\r\n\r\nbody";

    #[test]
    fn frames_byte_by_byte_with_keepalives() {
        let mut f = StreamFramer::new();
        let mut stream = b"\r\n\r\n".to_vec();
        stream.extend_from_slice(MSG);
        stream.extend_from_slice(MSG);
        let mut got = Vec::new();
        for b in stream {
            f.push(&[b]);
            while let Some(x) = f.next_message().unwrap() {
                got.push(x);
            }
        }
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], Framed::KeepAlive);
        assert!(matches!(&got[2], Framed::Message(m) if m.body() == b"body"));
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn content_length_required() {
        let mut f = StreamFramer::new();
        f.push(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n");
        assert_eq!(f.next_message(), Err(ParseError::NoContentLength));
    }
}
