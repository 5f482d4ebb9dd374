//! The media of an echo test (`*43`), sans-IO: every RTP packet the caller
//! sends goes straight back to it, audio and RFC 4733 events alike, as
//! Asterisk's Echo() does. Nothing is decoded, buffered or recorded.
//!
//! The packets go back in the node's own stream (its SSRC, RFC 3550 §8.2: a
//! phone seeing its own SSRC come in may take it for a loop), but with the
//! caller's sequence numbers and timestamps moved by a fixed offset: a gap,
//! a reordering or jitter on the way in stays visible on the way back, so
//! the caller's receive statistics are those of the whole path.

use crate::bridge::{LegMedia, LegStats, admit};
use callisto_media::rtp::{HeaderRewrite, rewrite_header};
use std::net::SocketAddr;

#[derive(Debug)]
pub struct Echo {
    media: LegMedia,
    /// Where the caller's packets actually come from (symmetric RTP).
    latched: Option<SocketAddr>,
    ssrc: u32,
    seq_offset: u16,
    ts_offset: u32,
    stats: LegStats,
}

impl Echo {
    /// `seed` makes the stream's SSRC, sequence and timestamp start
    /// unpredictable (RFC 3550 §5.1).
    pub fn new(media: LegMedia, seed: u32) -> Echo {
        Echo {
            media,
            latched: None,
            ssrc: seed,
            seq_offset: (seed >> 16) as u16,
            ts_offset: seed.rotate_left(7),
            stats: LegStats::default(),
        }
    }

    pub fn stats(&self) -> LegStats {
        self.stats
    }

    /// A datagram from `src`: returns where to send the echoed packet and its
    /// length in `out`, or `None` if it is not echoed.
    pub fn handle_packet(
        &mut self,
        src: SocketAddr,
        data: &[u8],
        out: &mut [u8],
    ) -> Option<(SocketAddr, usize)> {
        // The caller's source is latched as a bridge's leg's is.
        let (pkt, _) = admit(&self.media, &mut self.latched, &mut self.stats, src, data)?;
        let rewrite = HeaderRewrite {
            marker: None,
            payload_type: None,
            sequence: Some(pkt.sequence().wrapping_add(self.seq_offset)),
            timestamp: Some(pkt.timestamp().wrapping_add(self.ts_offset)),
            ssrc: Some(self.ssrc),
        };
        let len = data.len();
        if len > out.len() {
            return None;
        }
        out[..len].copy_from_slice(data);
        rewrite_header(&mut out[..len], &rewrite).ok()?;
        self.stats.packets_out += 1;
        Some((src, len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callisto_media::codec::CodecSpec;
    use callisto_media::rtp::{RtpHeader, RtpPacket};

    fn media() -> LegMedia {
        LegMedia {
            remote: "127.0.0.1:4000".parse().unwrap(),
            codec: CodecSpec::Pcmu,
            pt: 0,
            te_pt: Some(101),
        }
    }

    fn packet(pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
        let header = RtpHeader {
            marker: false,
            payload_type: pt,
            sequence: seq,
            timestamp: ts,
            ssrc: 0x1234,
            csrcs: &[],
            extension: None,
        };
        let mut buf = vec![0u8; 12 + payload.len()];
        header.write(payload, 0, &mut buf).unwrap();
        buf
    }

    #[test]
    fn audio_and_events_go_back_to_the_caller_in_the_nodes_stream_keeping_gaps() {
        let mut e = Echo::new(media(), 0xdead_beef);
        let caller: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let mut out = [0u8; 1500];
        let mut back = Vec::new();
        // Packets 1, 2 and 4 (3 lost on the way in), then a DTMF event.
        for (pt, seq, ts) in [(0u8, 1u16, 160u32), (0, 2, 320), (0, 4, 640), (101, 5, 800)] {
            let p = packet(pt, seq, ts, &[0x55; 160]);
            let (to, len) = e.handle_packet(caller, &p, &mut out).unwrap();
            assert_eq!(to, caller);
            let r = RtpPacket::parse(&out[..len]).unwrap();
            assert_eq!(r.payload(), &[0x55; 160][..], "the payload as sent");
            assert_eq!(r.payload_type(), pt);
            assert_ne!(r.ssrc(), 0x1234, "the node's own SSRC");
            back.push((r.sequence(), r.timestamp()));
        }
        let d: Vec<(u16, u32)> = back
            .windows(2)
            .map(|w| (w[1].0.wrapping_sub(w[0].0), w[1].1.wrapping_sub(w[0].1)))
            .collect();
        assert_eq!(d, vec![(1, 160), (2, 320), (1, 160)], "the gap stays a gap");
        assert_eq!(e.stats().packets_out, 4);
    }

    #[test]
    fn other_sources_and_payload_types_are_not_echoed() {
        let mut e = Echo::new(media(), 7);
        let mut out = [0u8; 1500];
        let caller: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let stranger: SocketAddr = "127.0.0.1:4444".parse().unwrap();
        assert!(
            e.handle_packet(caller, &packet(0, 1, 0, &[1; 160]), &mut out)
                .is_some()
        );
        assert!(
            e.handle_packet(stranger, &packet(0, 2, 160, &[1; 160]), &mut out)
                .is_none()
        );
        assert!(
            e.handle_packet(caller, &packet(8, 3, 320, &[1; 160]), &mut out)
                .is_none(),
            "PCMA was not negotiated"
        );
        assert!(e.handle_packet(caller, b"junk", &mut out).is_none());
        let s = e.stats();
        assert_eq!(
            (s.packets_in, s.dropped_source, s.dropped_invalid),
            (1, 1, 2)
        );
    }
}
