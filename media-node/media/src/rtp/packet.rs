use thiserror::Error;

/// The only RTP version in use (RFC 3550 §5.1).
pub const RTP_VERSION: u8 = 2;
/// Fixed header length, before CSRCs and extension.
pub const RTP_HEADER_LEN: usize = 12;

/// Why bytes are not an RTP packet, or a packet does not fit a buffer.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum RtpError {
    #[error("packet of {len} bytes is shorter than its RTP header needs ({needed})")]
    TooShort { len: usize, needed: usize },
    #[error("RTP version {0}, expected 2")]
    BadVersion(u8),
    #[error("padding length {padding} does not fit a {available}-byte body")]
    BadPadding { padding: usize, available: usize },
    #[error("{0} CSRCs given, at most 15 fit a header")]
    TooManyCsrcs(usize),
    #[error("header extension of {0} bytes is not a whole number of 32-bit words")]
    ExtensionNotAligned(usize),
    #[error("payload type {0} does not fit 7 bits")]
    BadPayloadType(u8),
    #[error("buffer of {available} bytes, packet needs {needed}")]
    BufferTooSmall { needed: usize, available: usize },
}

/// A header extension (RFC 3550 §5.3.1): profile word and data, in 32-bit words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    pub profile: u16,
    pub data: &'a [u8],
}

/// A validated view over one received RTP packet; nothing is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    buf: &'a [u8],
    header_len: usize,
    payload_end: usize,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<'a> RtpPacket<'a> {
    /// Validates the header, CSRC list, extension and padding lengths, so every
    /// accessor after this is infallible.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        if buf.len() < RTP_HEADER_LEN {
            return Err(RtpError::TooShort {
                len: buf.len(),
                needed: RTP_HEADER_LEN,
            });
        }
        let version = buf[0] >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::BadVersion(version));
        }
        let csrc_count = usize::from(buf[0] & 0x0f);
        let mut header_len = RTP_HEADER_LEN + 4 * csrc_count;
        if buf.len() < header_len {
            return Err(RtpError::TooShort {
                len: buf.len(),
                needed: header_len,
            });
        }
        if buf[0] & 0x10 != 0 {
            if buf.len() < header_len + 4 {
                return Err(RtpError::TooShort {
                    len: buf.len(),
                    needed: header_len + 4,
                });
            }
            let words = usize::from(be16(buf, header_len + 2));
            header_len += 4 + 4 * words;
            if buf.len() < header_len {
                return Err(RtpError::TooShort {
                    len: buf.len(),
                    needed: header_len,
                });
            }
        }
        let mut payload_end = buf.len();
        if buf[0] & 0x20 != 0 {
            let padding = usize::from(buf[buf.len() - 1]);
            let available = buf.len() - header_len;
            // The count includes its own byte, so zero is malformed too.
            if padding == 0 || padding > available {
                return Err(RtpError::BadPadding { padding, available });
            }
            payload_end -= padding;
        }
        Ok(Self {
            buf,
            header_len,
            payload_end,
        })
    }

    pub fn version(&self) -> u8 {
        self.buf[0] >> 6
    }
    pub fn has_padding(&self) -> bool {
        self.buf[0] & 0x20 != 0
    }
    pub fn padding_len(&self) -> usize {
        self.buf.len() - self.payload_end
    }
    pub fn csrc_count(&self) -> usize {
        usize::from(self.buf[0] & 0x0f)
    }
    pub fn marker(&self) -> bool {
        self.buf[1] & 0x80 != 0
    }
    pub fn payload_type(&self) -> u8 {
        self.buf[1] & 0x7f
    }
    pub fn sequence(&self) -> u16 {
        be16(self.buf, 2)
    }
    pub fn timestamp(&self) -> u32 {
        be32(self.buf, 4)
    }
    pub fn ssrc(&self) -> u32 {
        be32(self.buf, 8)
    }
    pub fn csrcs(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        let buf = self.buf;
        (0..self.csrc_count()).map(move |i| be32(buf, RTP_HEADER_LEN + 4 * i))
    }
    pub fn extension(&self) -> Option<Extension<'a>> {
        if self.buf[0] & 0x10 == 0 {
            return None;
        }
        let at = RTP_HEADER_LEN + 4 * self.csrc_count();
        Some(Extension {
            profile: be16(self.buf, at),
            data: &self.buf[at + 4..self.header_len],
        })
    }
    /// Header length including CSRCs and extension: where the payload starts.
    pub fn header_len(&self) -> usize {
        self.header_len
    }
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[self.header_len..self.payload_end]
    }
    /// The whole packet as received.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }
    /// The fields a writer needs to send the same header again.
    pub fn header(&self) -> RtpHeader<'a> {
        RtpHeader {
            marker: self.marker(),
            payload_type: self.payload_type(),
            sequence: self.sequence(),
            timestamp: self.timestamp(),
            ssrc: self.ssrc(),
            csrcs: &[],
            extension: self.extension(),
        }
    }
}

/// Header fields of a packet to send. CSRCs are borrowed so building a packet
/// needs no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RtpHeader<'a> {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub csrcs: &'a [u32],
    pub extension: Option<Extension<'a>>,
}

impl RtpHeader<'_> {
    /// Bytes the header takes on the wire.
    pub fn encoded_len(&self) -> usize {
        RTP_HEADER_LEN + 4 * self.csrcs.len() + self.extension.map_or(0, |e| 4 + e.data.len())
    }

    /// Writes header + payload + `padding` bytes of padding (0 for none) into
    /// `out`; returns the packet length.
    pub fn write(&self, payload: &[u8], padding: u8, out: &mut [u8]) -> Result<usize, RtpError> {
        if self.csrcs.len() > 15 {
            return Err(RtpError::TooManyCsrcs(self.csrcs.len()));
        }
        if self.payload_type > 0x7f {
            return Err(RtpError::BadPayloadType(self.payload_type));
        }
        if let Some(ext) = self.extension
            && (ext.data.len() % 4 != 0 || ext.data.len() / 4 > usize::from(u16::MAX))
        {
            return Err(RtpError::ExtensionNotAligned(ext.data.len()));
        }
        let header_len = self.encoded_len();
        let needed = header_len + payload.len() + usize::from(padding);
        if out.len() < needed {
            return Err(RtpError::BufferTooSmall {
                needed,
                available: out.len(),
            });
        }
        // csrcs.len() <= 15 was checked above.
        let cc = self.csrcs.len() as u8;
        out[0] = (RTP_VERSION << 6)
            | if padding > 0 { 0x20 } else { 0 }
            | if self.extension.is_some() { 0x10 } else { 0 }
            | cc;
        out[1] = if self.marker { 0x80 } else { 0 } | self.payload_type;
        out[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        out[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        out[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        let mut at = RTP_HEADER_LEN;
        for csrc in self.csrcs {
            out[at..at + 4].copy_from_slice(&csrc.to_be_bytes());
            at += 4;
        }
        if let Some(ext) = self.extension {
            out[at..at + 2].copy_from_slice(&ext.profile.to_be_bytes());
            // Fits u16: checked above.
            let words = (ext.data.len() / 4) as u16;
            out[at + 2..at + 4].copy_from_slice(&words.to_be_bytes());
            at += 4;
            out[at..at + ext.data.len()].copy_from_slice(ext.data);
            at += ext.data.len();
        }
        out[at..at + payload.len()].copy_from_slice(payload);
        at += payload.len();
        if padding > 0 {
            let pad = usize::from(padding);
            out[at..at + pad - 1].fill(0);
            out[at + pad - 1] = padding;
            at += pad;
        }
        Ok(at)
    }
}

/// Header fields to replace when relaying a packet to the other leg; `None`
/// keeps the received value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeaderRewrite {
    pub marker: Option<bool>,
    pub payload_type: Option<u8>,
    pub sequence: Option<u16>,
    pub timestamp: Option<u32>,
    pub ssrc: Option<u32>,
}

/// Rewrites fixed-header fields in place, so a relayed packet keeps its buffer
/// (no copy of the payload).
pub fn rewrite_header(buf: &mut [u8], rewrite: &HeaderRewrite) -> Result<(), RtpError> {
    if buf.len() < RTP_HEADER_LEN {
        return Err(RtpError::TooShort {
            len: buf.len(),
            needed: RTP_HEADER_LEN,
        });
    }
    if buf[0] >> 6 != RTP_VERSION {
        return Err(RtpError::BadVersion(buf[0] >> 6));
    }
    if let Some(pt) = rewrite.payload_type {
        if pt > 0x7f {
            return Err(RtpError::BadPayloadType(pt));
        }
        buf[1] = (buf[1] & 0x80) | pt;
    }
    if let Some(m) = rewrite.marker {
        buf[1] = (buf[1] & 0x7f) | if m { 0x80 } else { 0 };
    }
    if let Some(seq) = rewrite.sequence {
        buf[2..4].copy_from_slice(&seq.to_be_bytes());
    }
    if let Some(ts) = rewrite.timestamp {
        buf[4..8].copy_from_slice(&ts.to_be_bytes());
    }
    if let Some(ssrc) = rewrite.ssrc {
        buf[8..12].copy_from_slice(&ssrc.to_be_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    #[test]
    fn round_trip_with_csrcs_extension_and_padding() {
        let csrcs = [1, 0xdead_beef];
        let ext_data = [1, 2, 3, 4, 5, 6, 7, 8];
        let header = RtpHeader {
            marker: true,
            payload_type: 101,
            sequence: 65535,
            timestamp: 0xffff_fff0,
            ssrc: 0x1234_5678,
            csrcs: &csrcs,
            extension: Some(Extension {
                profile: 0xbede,
                data: &ext_data,
            }),
        };
        let mut buf = [0u8; 64];
        let n = header.write(b"hello", 3, &mut buf).unwrap();
        assert_eq!(n, 12 + 8 + 4 + 8 + 5 + 3);
        let p = RtpPacket::parse(&buf[..n]).unwrap();
        assert_eq!(p.version(), 2);
        assert!(p.marker());
        assert_eq!(p.payload_type(), 101);
        assert_eq!(p.sequence(), 65535);
        assert_eq!(p.timestamp(), 0xffff_fff0);
        assert_eq!(p.ssrc(), 0x1234_5678);
        assert_eq!(p.csrcs().collect::<Vec<_>>(), csrcs);
        assert_eq!(p.extension().unwrap().profile, 0xbede);
        assert_eq!(p.extension().unwrap().data, ext_data);
        assert_eq!(p.payload(), b"hello");
        assert_eq!(p.padding_len(), 3);
    }

    #[test]
    fn known_pcmu_packet() {
        // V=2, PT=0, seq 1, ts 160, ssrc 0x01020304, 4 payload bytes.
        let bytes = [
            0x80, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 1, 2, 3, 4, 0xff, 0xff, 0x7f, 0x7f,
        ];
        let p = RtpPacket::parse(&bytes).unwrap();
        assert_eq!((p.payload_type(), p.sequence(), p.timestamp()), (0, 1, 160));
        assert_eq!(p.ssrc(), 0x0102_0304);
        assert_eq!(p.payload(), &[0xff, 0xff, 0x7f, 0x7f]);
        assert!(!p.marker());
        assert!(p.extension().is_none());
    }

    #[test]
    fn malformed_packets_are_refused() {
        assert_eq!(
            RtpPacket::parse(&[0x80; 11]),
            Err(RtpError::TooShort {
                len: 11,
                needed: 12
            })
        );
        assert_eq!(RtpPacket::parse(&[0x40; 12]), Err(RtpError::BadVersion(1)));
        // Two CSRCs announced, none present.
        assert!(matches!(
            RtpPacket::parse(&[0x82, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(RtpError::TooShort { needed: 20, .. })
        ));
        // Padding count larger than the body.
        let mut b = [0u8; 14];
        b[0] = 0xa0;
        b[13] = 5;
        assert!(matches!(
            RtpPacket::parse(&b),
            Err(RtpError::BadPadding { .. })
        ));
        // Extension header announcing more words than present.
        let mut b = [0u8; 16];
        b[0] = 0x90;
        b[15] = 1;
        assert!(matches!(
            RtpPacket::parse(&b),
            Err(RtpError::TooShort { .. })
        ));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut buf = [0u8; 80];
        for _ in 0..200_000 {
            let len = rng.random_range(0..buf.len());
            rng.fill(&mut buf[..len]);
            if rng.random_bool(0.7) && len > 0 {
                buf[0] = (buf[0] & 0x3f) | 0x80;
            }
            if let Ok(p) = RtpPacket::parse(&buf[..len]) {
                let _ = (
                    p.payload(),
                    p.extension(),
                    p.csrcs().count(),
                    p.padding_len(),
                );
                assert!(p.header_len() + p.payload().len() + p.padding_len() == len);
            }
        }
    }

    #[test]
    fn writer_refuses_small_buffers_and_bad_fields() {
        let h = RtpHeader::default();
        let mut small = [0u8; 12];
        assert_eq!(
            h.write(b"x", 0, &mut small),
            Err(RtpError::BufferTooSmall {
                needed: 13,
                available: 12
            })
        );
        let bad_pt = RtpHeader {
            payload_type: 200,
            ..h
        };
        assert_eq!(
            bad_pt.write(&[], 0, &mut [0; 20]),
            Err(RtpError::BadPayloadType(200))
        );
        let csrcs = [0u32; 16];
        let many = RtpHeader { csrcs: &csrcs, ..h };
        assert_eq!(
            many.write(&[], 0, &mut [0; 200]),
            Err(RtpError::TooManyCsrcs(16))
        );
    }

    #[test]
    fn rewrite_changes_only_named_fields() {
        let mut buf = [0u8; 32];
        let n = RtpHeader {
            marker: true,
            payload_type: 0,
            sequence: 10,
            timestamp: 1000,
            ssrc: 5,
            ..Default::default()
        }
        .write(&[1, 2, 3], 0, &mut buf)
        .unwrap();
        rewrite_header(
            &mut buf[..n],
            &HeaderRewrite {
                payload_type: Some(8),
                sequence: Some(77),
                ssrc: Some(9),
                ..Default::default()
            },
        )
        .unwrap();
        let p = RtpPacket::parse(&buf[..n]).unwrap();
        assert!(p.marker());
        assert_eq!(
            (p.payload_type(), p.sequence(), p.timestamp(), p.ssrc()),
            (8, 77, 1000, 9)
        );
        assert_eq!(p.payload(), &[1, 2, 3]);
    }
}
