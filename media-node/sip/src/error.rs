//! Why a message was refused. Every variant maps to `400 Bad Request`
//! (or silent discard for responses); `Display` is a usable reason phrase.

/// A message the parser refused, naming the line or header at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("message larger than {0} bytes")]
    TooLarge(usize),
    #[error("more than {0} header fields")]
    TooManyHeaders(usize),
    #[error("incomplete message")]
    Incomplete,
    #[error("message head is not UTF-8")]
    NotUtf8,
    #[error("bad start line: {0}")]
    StartLine(&'static str),
    #[error("bad header line {line}: {reason}")]
    HeaderLine { line: usize, reason: &'static str },
    #[error("bad {name} header: {reason}")]
    Header { name: String, reason: &'static str },
    #[error("missing {0} header")]
    Missing(&'static str),
    #[error("body shorter than Content-Length")]
    BodyTruncated,
    #[error("Content-Length is required on stream transports")]
    NoContentLength,
    #[error("CSeq method does not match the request method")]
    CSeqMismatch,
}

impl ParseError {
    /// The status a UAS answers a request with when it fails to parse.
    pub fn status(&self) -> u16 {
        400
    }
}
