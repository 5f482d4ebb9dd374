//! RTP (RFC 3550): a zero-copy view over received packets, a writer into caller
//! buffers, in-place header rewriting for relaying, and wraparound helpers.

mod packet;
mod seq;

pub use packet::{
    Extension, HeaderRewrite, RTP_HEADER_LEN, RTP_VERSION, RtpError, RtpHeader, RtpPacket,
    rewrite_header,
};
pub use seq::{SeqExtender, TimestampExtender, seq_delta, ts_delta};
