use thiserror::Error;

const SR: u8 = 200;
const RR: u8 = 201;
const SDES: u8 = 202;
const BYE: u8 = 203;
const CNAME: u8 = 1;

#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum RtcpError {
    #[error("RTCP packet truncated: {len} bytes, needs {needed}")]
    TooShort { len: usize, needed: usize },
    #[error("RTCP version {0}, expected 2")]
    BadVersion(u8),
    #[error("RTCP padding is malformed")]
    BadPadding,
    #[error("SDES item or chunk runs past its packet")]
    BadSdes,
    #[error("{0} entries do not fit the 5-bit count of one RTCP packet")]
    TooMany(usize),
    #[error("SDES or BYE text longer than 255 bytes")]
    TextTooLong,
    #[error("buffer of {available} bytes, compound packet needs {needed}")]
    BufferTooSmall { needed: usize, available: usize },
}

/// The sender-info part of an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// 64-bit NTP timestamp (seconds since 1900 in the high word).
    pub ntp_timestamp: u64,
    pub rtp_timestamp: u32,
    pub packet_count: u32,
    pub octet_count: u32,
}

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost; 24-bit signed on the wire (duplicates can make it negative).
    pub cumulative_lost: i32,
    pub highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP time of the last SR received from this source.
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesItem {
    pub kind: u8,
    pub text: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesChunk {
    pub ssrc: u32,
    pub items: Vec<SdesItem>,
}

impl SdesChunk {
    pub fn cname(ssrc: u32, cname: &str) -> Self {
        Self {
            ssrc,
            items: vec![SdesItem {
                kind: CNAME,
                text: cname.as_bytes().to_vec(),
            }],
        }
    }

    pub fn get_cname(&self) -> Option<&[u8]> {
        self.items
            .iter()
            .find(|i| i.kind == CNAME)
            .map(|i| i.text.as_slice())
    }
}

/// One packet of a compound RTCP packet. RTCP arrives a few times a second per
/// call, so owning the parts is cheaper to use than it costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    SenderReport {
        ssrc: u32,
        info: SenderInfo,
        reports: Vec<ReportBlock>,
    },
    ReceiverReport {
        ssrc: u32,
        reports: Vec<ReportBlock>,
    },
    Sdes(Vec<SdesChunk>),
    Bye {
        ssrcs: Vec<u32>,
        reason: Option<Vec<u8>>,
    },
    /// Any other type (APP, feedback, XR…): kept raw so it can be relayed.
    Other {
        packet_type: u8,
        count: u8,
        body: Vec<u8>,
    },
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn parse_block(b: &[u8]) -> ReportBlock {
    // Sign-extend the 24-bit cumulative loss.
    let lost = (be32(b, 4) << 8) as i32 >> 8;
    ReportBlock {
        ssrc: be32(b, 0),
        fraction_lost: b[4],
        cumulative_lost: lost,
        highest_seq: be32(b, 8),
        jitter: be32(b, 12),
        last_sr: be32(b, 16),
        delay_since_last_sr: be32(b, 20),
    }
}

fn parse_blocks(body: &[u8], count: usize) -> Result<Vec<ReportBlock>, RtcpError> {
    let needed = count * 24;
    if body.len() < needed {
        return Err(RtcpError::TooShort {
            len: body.len(),
            needed,
        });
    }
    Ok(body[..needed].chunks_exact(24).map(parse_block).collect())
}

fn parse_sdes(body: &[u8], count: usize) -> Result<Vec<SdesChunk>, RtcpError> {
    let mut chunks = Vec::with_capacity(count);
    let mut at = 0;
    for _ in 0..count {
        if body.len() < at + 4 {
            return Err(RtcpError::BadSdes);
        }
        let ssrc = be32(body, at);
        at += 4;
        let mut items = Vec::new();
        loop {
            let kind = *body.get(at).ok_or(RtcpError::BadSdes)?;
            if kind == 0 {
                // The null item ends the list; the chunk pads to a word.
                at = (at + 4) & !3;
                break;
            }
            let len = usize::from(*body.get(at + 1).ok_or(RtcpError::BadSdes)?);
            let text = body.get(at + 2..at + 2 + len).ok_or(RtcpError::BadSdes)?;
            items.push(SdesItem {
                kind,
                text: text.to_vec(),
            });
            at += 2 + len;
        }
        chunks.push(SdesChunk { ssrc, items });
    }
    Ok(chunks)
}

fn parse_one(packet_type: u8, count: u8, body: &[u8]) -> Result<RtcpPacket, RtcpError> {
    let n = usize::from(count);
    let short = |needed: usize| RtcpError::TooShort {
        len: body.len(),
        needed,
    };
    Ok(match packet_type {
        SR => {
            if body.len() < 24 {
                return Err(short(24));
            }
            RtcpPacket::SenderReport {
                ssrc: be32(body, 0),
                info: SenderInfo {
                    ntp_timestamp: (u64::from(be32(body, 4)) << 32) | u64::from(be32(body, 8)),
                    rtp_timestamp: be32(body, 12),
                    packet_count: be32(body, 16),
                    octet_count: be32(body, 20),
                },
                reports: parse_blocks(&body[24..], n)?,
            }
        }
        RR => {
            if body.len() < 4 {
                return Err(short(4));
            }
            RtcpPacket::ReceiverReport {
                ssrc: be32(body, 0),
                reports: parse_blocks(&body[4..], n)?,
            }
        }
        SDES => RtcpPacket::Sdes(parse_sdes(body, n)?),
        BYE => {
            if body.len() < 4 * n {
                return Err(short(4 * n));
            }
            let ssrcs = (0..n).map(|i| be32(body, 4 * i)).collect();
            let rest = &body[4 * n..];
            let reason = match rest.first() {
                Some(&len) => Some(
                    rest.get(1..1 + usize::from(len))
                        .ok_or(short(4 * n + 1 + usize::from(len)))?
                        .to_vec(),
                ),
                None => None,
            };
            RtcpPacket::Bye { ssrcs, reason }
        }
        _ => RtcpPacket::Other {
            packet_type,
            count,
            body: body.to_vec(),
        },
    })
}

/// Parses every packet of a compound RTCP packet. Any malformed packet fails
/// the whole compound, as RFC 3550 §A.2 asks of receivers.
pub fn parse_compound(buf: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let rest = &buf[at..];
        if rest.len() < 4 {
            return Err(RtcpError::TooShort {
                len: rest.len(),
                needed: 4,
            });
        }
        let version = rest[0] >> 6;
        if version != 2 {
            return Err(RtcpError::BadVersion(version));
        }
        let len = 4 * (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1);
        if rest.len() < len {
            return Err(RtcpError::TooShort {
                len: rest.len(),
                needed: len,
            });
        }
        let mut body = &rest[4..len];
        if rest[0] & 0x20 != 0 {
            // Only the last packet of a compound may be padded.
            let pad = usize::from(*body.last().ok_or(RtcpError::BadPadding)?);
            if at + len != buf.len() || pad == 0 || pad > body.len() {
                return Err(RtcpError::BadPadding);
            }
            body = &body[..body.len() - pad];
        }
        out.push(parse_one(rest[1], rest[0] & 0x1f, body)?);
        at += len;
    }
    Ok(out)
}

struct Cursor<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Cursor<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), RtcpError> {
        let end = self.at + bytes.len();
        if end > self.out.len() {
            return Err(RtcpError::BufferTooSmall {
                needed: end,
                available: self.out.len(),
            });
        }
        self.out[self.at..end].copy_from_slice(bytes);
        self.at = end;
        Ok(())
    }
    fn u32(&mut self, v: u32) -> Result<(), RtcpError> {
        self.put(&v.to_be_bytes())
    }
}

fn count5(n: usize) -> Result<u8, RtcpError> {
    if n > 31 {
        return Err(RtcpError::TooMany(n));
    }
    Ok(n as u8)
}

fn write_block(c: &mut Cursor<'_>, b: &ReportBlock) -> Result<(), RtcpError> {
    c.u32(b.ssrc)?;
    let lost = (b.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32) & 0x00ff_ffff;
    c.u32((u32::from(b.fraction_lost) << 24) | lost)?;
    c.u32(b.highest_seq)?;
    c.u32(b.jitter)?;
    c.u32(b.last_sr)?;
    c.u32(b.delay_since_last_sr)
}

fn write_one(c: &mut Cursor<'_>, p: &RtcpPacket) -> Result<(), RtcpError> {
    let start = c.at;
    // Header first with a zero length, fixed once the body is written.
    let (pt, count) = match p {
        RtcpPacket::SenderReport { reports, .. } => (SR, count5(reports.len())?),
        RtcpPacket::ReceiverReport { reports, .. } => (RR, count5(reports.len())?),
        RtcpPacket::Sdes(chunks) => (SDES, count5(chunks.len())?),
        RtcpPacket::Bye { ssrcs, .. } => (BYE, count5(ssrcs.len())?),
        RtcpPacket::Other {
            packet_type, count, ..
        } => (*packet_type, count5(usize::from(*count))?),
    };
    c.put(&[0x80 | count, pt, 0, 0])?;
    match p {
        RtcpPacket::SenderReport {
            ssrc,
            info,
            reports,
        } => {
            c.u32(*ssrc)?;
            c.u32((info.ntp_timestamp >> 32) as u32)?;
            c.u32(info.ntp_timestamp as u32)?;
            c.u32(info.rtp_timestamp)?;
            c.u32(info.packet_count)?;
            c.u32(info.octet_count)?;
            for b in reports {
                write_block(c, b)?;
            }
        }
        RtcpPacket::ReceiverReport { ssrc, reports } => {
            c.u32(*ssrc)?;
            for b in reports {
                write_block(c, b)?;
            }
        }
        RtcpPacket::Sdes(chunks) => {
            for chunk in chunks {
                c.u32(chunk.ssrc)?;
                let chunk_start = c.at;
                for item in &chunk.items {
                    let len = u8::try_from(item.text.len()).map_err(|_| RtcpError::TextTooLong)?;
                    c.put(&[item.kind, len])?;
                    c.put(&item.text)?;
                }
                // At least one null octet ends the list, then pad to a word.
                let used = c.at - chunk_start;
                let pad = 4 - used % 4;
                c.put(&[0u8; 4][..pad])?;
            }
        }
        RtcpPacket::Bye { ssrcs, reason } => {
            for s in ssrcs {
                c.u32(*s)?;
            }
            if let Some(reason) = reason {
                let len = u8::try_from(reason.len()).map_err(|_| RtcpError::TextTooLong)?;
                c.put(&[len])?;
                c.put(reason)?;
                let pad = (4 - (1 + reason.len()) % 4) % 4;
                c.put(&[0u8; 4][..pad])?;
            }
        }
        RtcpPacket::Other { body, .. } => {
            c.put(body)?;
            let pad = (4 - body.len() % 4) % 4;
            c.put(&[0u8; 4][..pad])?;
        }
    }
    let words = (c.at - start) / 4 - 1;
    let words = u16::try_from(words).map_err(|_| RtcpError::TooMany(words))?;
    c.out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
    Ok(())
}

/// Writes packets one after another as one compound packet; returns its length.
pub fn write_compound(packets: &[RtcpPacket], out: &mut [u8]) -> Result<usize, RtcpError> {
    let mut c = Cursor { out, at: 0 };
    for p in packets {
        write_one(&mut c, p)?;
    }
    Ok(c.at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    fn block(ssrc: u32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 25,
            cumulative_lost: -3,
            highest_seq: 0x0001_0010,
            jitter: 42,
            last_sr: 0x1234_5678,
            delay_since_last_sr: 65536,
        }
    }

    #[test]
    fn compound_sr_sdes_bye_round_trip() {
        let packets = vec![
            RtcpPacket::SenderReport {
                ssrc: 1,
                info: SenderInfo {
                    ntp_timestamp: 0xe000_0000_8000_0000,
                    rtp_timestamp: 160,
                    packet_count: 10,
                    octet_count: 1600,
                },
                reports: vec![block(2), block(3)],
            },
            RtcpPacket::Sdes(vec![SdesChunk::cname(1, "agent-7@callisto")]),
            RtcpPacket::Bye {
                ssrcs: vec![1],
                reason: Some(b"hangup".to_vec()),
            },
        ];
        let mut buf = [0u8; 256];
        let n = write_compound(&packets, &mut buf).unwrap();
        assert_eq!(n % 4, 0);
        let parsed = parse_compound(&buf[..n]).unwrap();
        assert_eq!(parsed, packets);
        let RtcpPacket::Sdes(chunks) = &parsed[1] else {
            panic!("not SDES")
        };
        assert_eq!(chunks[0].get_cname(), Some(&b"agent-7@callisto"[..]));
    }

    #[test]
    fn receiver_report_and_unknown_types() {
        let packets = vec![
            RtcpPacket::ReceiverReport {
                ssrc: 9,
                reports: vec![block(4)],
            },
            RtcpPacket::Other {
                packet_type: 205,
                count: 1,
                body: vec![0, 0, 0, 9, 0, 0, 0, 4],
            },
        ];
        let mut buf = [0u8; 128];
        let n = write_compound(&packets, &mut buf).unwrap();
        assert_eq!(parse_compound(&buf[..n]).unwrap(), packets);
        assert!(matches!(
            write_compound(&packets, &mut buf[..20]),
            Err(RtcpError::BufferTooSmall { .. })
        ));
    }

    #[test]
    fn truncated_and_bad_packets_are_refused() {
        let mut buf = [0u8; 64];
        let n = write_compound(
            &[RtcpPacket::ReceiverReport {
                ssrc: 1,
                reports: vec![block(2)],
            }],
            &mut buf,
        )
        .unwrap();
        assert!(parse_compound(&buf[..n - 4]).is_err());
        buf[0] = 0x41;
        assert_eq!(parse_compound(&buf[..n]), Err(RtcpError::BadVersion(1)));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut buf = [0u8; 120];
        for _ in 0..200_000 {
            let len = rng.random_range(0..buf.len());
            rng.fill(&mut buf[..len]);
            if len > 4 {
                buf[0] = (buf[0] & 0x3f) | 0x80;
                let words = ((len / 4).saturating_sub(1)) as u16;
                if rng.random_bool(0.5) {
                    buf[2..4].copy_from_slice(&words.to_be_bytes());
                }
                if rng.random_bool(0.5) {
                    buf[1] = rng.random_range(200..=204);
                }
            }
            let _ = parse_compound(&buf[..len]);
        }
    }
}
