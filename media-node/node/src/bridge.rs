//! The media of one bridged call, sans-IO: packets in from either leg, packets
//! out to the other, both parties recorded, hold music on demand. The relay
//! task (`relay.rs`) owns the sockets and calls `handle_packet` and `tick`.
//!
//! Each leg gets one continuous RTP stream from the node (its own SSRC,
//! sequence and timestamps), whether the audio is relayed from the other
//! party, transcoded, or generated (hold music), so a phone never sees a
//! stream jump when the source changes.

use callisto_media::codec::{CodecSpec, Decoder, Encoder, Transcoder};
use callisto_media::recorder::{Leg, PromptPlayer, StereoRecorder};
use callisto_media::rtp::{HeaderRewrite, RtpPacket, rewrite_header};
use std::io::{Seek, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The recording rate: telephone band, which every leg carries.
pub const RECORD_RATE: u32 = 8_000;
/// Audio that arrives later than this behind real time is not recorded.
const RECORD_LAG: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The caller's leg (recorded on the left channel).
    A,
    /// The callee's leg (right channel).
    B,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }
    fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// One leg's negotiated media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegMedia {
    /// Where the peer asked for its audio (SDP `c=`/`m=`).
    pub remote: SocketAddr,
    pub codec: CodecSpec,
    /// The audio payload type the peer uses.
    pub pt: u8,
    /// The peer's RFC 4733 payload type, if it takes events.
    pub te_pt: Option<u8>,
}

/// A leg's incoming datagram checked: returns it as RTP, and whether it is
/// an RFC 4733 event, or `None` (counted in `stats`) if it is dropped.
///
/// Symmetric RTP: the first source is the peer (behind a NAT or on a
/// multi-homed host it is not what the SDP says), and the audio for it goes
/// back there. Once the host the SDP named shows up, it wins over an earlier
/// other source; any other source after that is dropped. Then only RTP with
/// a payload type the leg negotiated is taken.
pub(crate) fn admit<'a>(
    media: &LegMedia,
    latched: &mut Option<SocketAddr>,
    stats: &mut LegStats,
    src: SocketAddr,
    data: &'a [u8],
) -> Option<(RtpPacket<'a>, bool)> {
    let sdp_ip = media.remote.ip();
    match *latched {
        Some(l) if l == src => {}
        Some(l) if src.ip() == sdp_ip && l.ip() != sdp_ip => *latched = Some(src),
        Some(_) => {
            stats.dropped_source += 1;
            return None;
        }
        None => *latched = Some(src),
    }
    let Ok(pkt) = RtpPacket::parse(data) else {
        stats.dropped_invalid += 1;
        return None;
    };
    let pt = pkt.payload_type();
    let is_event = Some(pt) == media.te_pt;
    if pt != media.pt && !is_event {
        stats.dropped_invalid += 1;
        return None;
    }
    stats.packets_in += 1;
    Some((pkt, is_event))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LegStats {
    pub packets_in: u64,
    pub packets_out: u64,
    /// From an address other than the leg's peer.
    pub dropped_source: u64,
    /// Not RTP, or a payload type the leg did not negotiate.
    pub dropped_invalid: u64,
}

#[derive(Debug)]
struct OutStream {
    ssrc: u32,
    seq: u16,
    ts: u32,
    started: bool,
    /// The source timestamp of the last relayed packet, to carry its spacing.
    last_src_ts: Option<u32>,
}

impl OutStream {
    fn next(&mut self, advance: u32, marker: bool) -> HeaderRewrite {
        if self.started {
            self.seq = self.seq.wrapping_add(1);
            self.ts = self.ts.wrapping_add(advance);
        }
        self.started = true;
        HeaderRewrite {
            marker: Some(marker),
            payload_type: None,
            sequence: Some(self.seq),
            timestamp: Some(self.ts),
            ssrc: Some(self.ssrc),
        }
    }
}

#[derive(Debug)]
struct LegState {
    media: LegMedia,
    /// The address packets actually come from (symmetric RTP: sent back there).
    latched: Option<SocketAddr>,
    decoder: Decoder,
    encoder: Encoder,
    /// From the other leg's codec into this leg's, when they differ.
    transcoder: Option<Transcoder>,
    /// Media-time base of this leg's recording: (RTP timestamp, sample index).
    rec_base: Option<(u32, u64)>,
    out: OutStream,
    music: Option<PromptPlayer>,
    /// The next music frame is due at this instant.
    music_due: Option<Instant>,
    stats: LegStats,
}

#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("codec: {0}")]
    Codec(#[from] callisto_media::codec::CodecError),
    #[error("recording: {0}")]
    Recording(#[from] callisto_media::recorder::RecorderError),
}

#[derive(Debug)]
pub struct Bridge<W: Write + Seek> {
    legs: [LegState; 2],
    recorder: Option<StereoRecorder<W>>,
    started: Instant,
    pcm: Vec<i16>,
    scratch: Vec<u8>,
}

impl<W: Write + Seek> Bridge<W> {
    /// `seeds` make each leg's outgoing SSRC and sequence start unpredictable
    /// (RFC 3550 §5.1); `recording` receives the stereo WAV, if the call is recorded.
    pub fn new(
        now: Instant,
        a: LegMedia,
        b: LegMedia,
        seeds: [u32; 2],
        recording: Option<W>,
    ) -> Result<Bridge<W>, BridgeError> {
        let leg = |m: LegMedia, from: LegMedia, seed: u32| -> Result<LegState, BridgeError> {
            Ok(LegState {
                media: m,
                latched: None,
                decoder: Decoder::new(m.codec)?,
                encoder: Encoder::new(m.codec)?,
                transcoder: if from.codec == m.codec {
                    None
                } else {
                    Some(Transcoder::new(from.codec, m.codec)?)
                },
                rec_base: None,
                out: OutStream {
                    ssrc: seed,
                    seq: (seed >> 16) as u16,
                    ts: seed.rotate_left(7),
                    started: false,
                    last_src_ts: None,
                },
                music: None,
                music_due: None,
                stats: LegStats::default(),
            })
        };
        let recorder = recording
            .map(|w| StereoRecorder::new(w, RECORD_RATE))
            .transpose()?;
        Ok(Bridge {
            legs: [leg(a, b, seeds[0])?, leg(b, a, seeds[1])?],
            recorder,
            started: now,
            pcm: vec![0; 960],
            scratch: vec![0; 1500],
        })
    }

    pub fn stats(&self, side: Side) -> LegStats {
        self.legs[side.index()].stats
    }

    fn elapsed_samples(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.started);
        (d.as_micros() as u64) * u64::from(RECORD_RATE) / 1_000_000
    }

    /// A datagram arrived on `side`'s socket from `src`. Returns where to send
    /// the relayed packet and its length in `out`, or `None` if nothing is sent.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        side: Side,
        src: SocketAddr,
        data: &[u8],
        out: &mut [u8],
    ) -> Option<(SocketAddr, usize)> {
        let elapsed = self.elapsed_samples(now);
        let from = &mut self.legs[side.index()];
        let (pkt, is_event) = admit(&from.media, &mut from.latched, &mut from.stats, src, data)?;
        let ts = pkt.timestamp();

        // Record this party (events are not audio).
        if !is_event && let Some(rec) = self.recorder.as_mut() {
            let from = &mut self.legs[side.index()];
            let n = from
                .decoder
                .decode(pkt.payload(), &mut self.pcm)
                .unwrap_or(0);
            let per_sample = from.media.codec.rtp_clock_rate() / RECORD_RATE;
            let (base_ts, base_at) = *from.rec_base.get_or_insert((ts, elapsed));
            let offset = u64::from(ts.wrapping_sub(base_ts) / per_sample.max(1));
            let mut at = base_at + offset;
            // A stream whose timestamps left real time far behind (a restart,
            // a jump) is placed anew where it is heard now.
            if at.abs_diff(elapsed) > u64::from(RECORD_RATE) * 2 {
                from.rec_base = Some((ts, elapsed));
                at = elapsed;
            }
            let frame = &self.pcm[..n.min(self.pcm.len())];
            let channel = match side {
                Side::A => Leg::Left,
                Side::B => Leg::Right,
            };
            if let Err(e) = rec.write(channel, at, frame) {
                tracing::warn!(error = %e, "recording stopped");
                self.recorder = None;
            }
        }

        let src_codec = self.legs[side.index()].media.codec;
        let to = &mut self.legs[side.other().index()];
        if to.music.is_some() {
            return None;
        }
        let dest = to.latched.unwrap_or(to.media.remote);
        if dest.ip().is_unspecified() {
            return None;
        }
        let advance = to
            .out
            .last_src_ts
            .map(|last| {
                let units = ts.wrapping_sub(last);
                // Carry the source's spacing, scaled to this leg's clock.
                (u64::from(units) * u64::from(to.media.codec.rtp_clock_rate())
                    / u64::from(src_codec.rtp_clock_rate())) as u32
            })
            .unwrap_or(to.media.codec.frame_units());
        to.out.last_src_ts = Some(ts);
        if is_event {
            let te = to.media.te_pt?;
            let mut rewrite = to.out.next(advance, pkt.marker());
            rewrite.payload_type = Some(te);
            let len = data.len().min(out.len());
            out[..len].copy_from_slice(&data[..len]);
            rewrite_header(&mut out[..len], &rewrite).ok()?;
            to.stats.packets_out += 1;
            return Some((dest, len));
        }
        let mut rewrite = to.out.next(advance, pkt.marker());
        rewrite.payload_type = Some(to.media.pt);
        let header = pkt.header();
        let hlen = header.encoded_len();
        let len = match to.transcoder.as_mut() {
            None => {
                let len = data.len().min(out.len());
                out[..len].copy_from_slice(&data[..len]);
                len
            }
            Some(t) => {
                let n = t.transcode(pkt.payload(), &mut self.scratch).ok()?;
                if hlen + n > out.len() {
                    return None;
                }
                out[..hlen].copy_from_slice(&data[..hlen]);
                out[hlen..hlen + n].copy_from_slice(&self.scratch[..n]);
                // A transcoded packet carries no padding of the source.
                out[0] &= !0x20;
                hlen + n
            }
        };
        rewrite_header(&mut out[..len], &rewrite).ok()?;
        to.stats.packets_out += 1;
        Some((dest, len))
    }

    /// Starts or stops hold music towards `side` (its peer put it on hold).
    pub fn set_music(&mut self, now: Instant, side: Side, music: Option<PromptPlayer>) {
        let leg = &mut self.legs[side.index()];
        leg.music_due = music.as_ref().map(|_| now);
        leg.music = music;
        // The next relayed packet continues from the music's timestamps.
        leg.out.last_src_ts = None;
    }

    /// Call every 20 ms or so: sends hold-music frames that are due and writes
    /// the recording up to a little behind real time. Each packet to send is
    /// tagged with the leg it is for (send it from that leg's socket).
    pub fn tick(&mut self, now: Instant, send: &mut Vec<(Side, SocketAddr, Vec<u8>)>) {
        for (i, leg) in self.legs.iter_mut().enumerate() {
            let side = if i == 0 { Side::A } else { Side::B };
            let (Some(player), Some(due)) = (leg.music.as_mut(), leg.music_due) else {
                continue;
            };
            let mut due = due;
            let frame = leg.media.codec.frame_samples();
            while due <= now {
                let pcm = &mut self.pcm[..frame];
                player.next_frame(pcm);
                let Ok(n) = leg.encoder.encode(pcm, &mut self.scratch) else {
                    break;
                };
                let header = callisto_media::rtp::RtpHeader {
                    marker: false,
                    payload_type: leg.media.pt,
                    sequence: 0,
                    timestamp: 0,
                    ssrc: 0,
                    csrcs: &[],
                    extension: None,
                };
                let mut buf = vec![0u8; 12 + n];
                if header.write(&self.scratch[..n], 0, &mut buf).is_ok() {
                    let rewrite = leg.out.next(leg.media.codec.frame_units(), false);
                    if rewrite_header(&mut buf, &rewrite).is_ok() {
                        let dest = leg.latched.unwrap_or(leg.media.remote);
                        if !dest.ip().is_unspecified() {
                            leg.stats.packets_out += 1;
                            send.push((side, dest, buf));
                        }
                    }
                }
                due += Duration::from_millis(20);
            }
            leg.music_due = Some(due);
        }
        let lag = u64::from(RECORD_RATE) * RECORD_LAG.as_millis() as u64 / 1000;
        let until = self.elapsed_samples(now).saturating_sub(lag);
        if let Some(rec) = self.recorder.as_mut()
            && let Err(e) = rec.advance(until)
        {
            tracing::warn!(error = %e, "recording stopped");
            self.recorder = None;
        }
    }

    /// Ends the bridge: the recording is completed up to now and handed back
    /// with its length in milliseconds.
    pub fn finish(mut self, now: Instant) -> Result<Option<(W, u64)>, BridgeError> {
        let end = self.elapsed_samples(now);
        match self.recorder.take() {
            None => Ok(None),
            Some(mut rec) => {
                rec.advance(end)?;
                let samples = rec.duration_samples();
                let w = rec.finish()?;
                Ok(Some((w, samples * 1000 / u64::from(RECORD_RATE))))
            }
        }
    }
}
