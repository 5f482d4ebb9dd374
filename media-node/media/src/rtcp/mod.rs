//! RTCP (RFC 3550 §6): compound packets (SR, RR, SDES, BYE) and the receiver
//! statistics behind report blocks (loss, jitter, round-trip time).

mod packet;
mod stats;

pub use packet::{
    ReportBlock, RtcpError, RtcpPacket, SdesChunk, SdesItem, SenderInfo, parse_compound,
    write_compound,
};
pub use stats::{ReceiverStats, StatsSnapshot, compact_ntp, round_trip_time};
