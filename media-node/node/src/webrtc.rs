//! A browser leg's media: ICE-lite, DTLS-SRTP and the RTP inside them, by
//! str0m (sans-IO). The leg turns datagrams from the browser into plain RTP
//! packets for the [`crate::bridge::Bridge`], and the bridge's RTP for the
//! browser into SRTP — so the bridge treats a browser like any other peer.
//! Decision: docs/decisions/009-webrtc.md.

use crate::bridge::LegMedia;
use callisto_media::codec::CodecSpec;
use callisto_media::rtp::{RtpHeader, RtpPacket, TimestampExtender};
use std::net::SocketAddr;
use std::time::Instant;
use str0m::format::{Codec, FormatParams};
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

/// Is this SDP a WebRTC offer (ICE + DTLS-SRTP) rather than plain RTP?
pub fn is_webrtc(sdp: &str) -> bool {
    sdp.lines()
        .any(|l| l.starts_with("m=audio") && (l.contains("SAVPF") || l.contains("UDP/TLS")))
}

/// The address the bridge knows a browser leg by: its packets come through
/// str0m, not from a socket address of their own.
pub const BROWSER: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 9)),
    9,
);

#[derive(Debug, thiserror::Error)]
pub enum WebRtcError {
    #[error("WebRTC offer: {0}")]
    Offer(String),
    #[error("WebRTC answer: {0}")]
    Answer(String),
    #[error("WebRTC: {0}")]
    Rtc(#[from] str0m::RtcError),
}

pub struct WebRtcLeg {
    rtc: Rtc,
    local: SocketAddr,
    mid: Option<Mid>,
    media: Option<LegMedia>,
    timeout: Instant,
    /// RTP from the browser, ready for the bridge.
    inbound: Vec<Vec<u8>>,
    in_seq: u16,
    out_ts: TimestampExtender,
    /// The RTP time of the last telephone event passed to the browser: an
    /// event's end is sent three times, and passed on once.
    last_event: Option<u32>,
    disconnected: bool,
}

impl std::fmt::Debug for WebRtcLeg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtcLeg")
            .field("local", &self.local)
            .field("mid", &self.mid)
            .finish_non_exhaustive()
    }
}

/// The telephone-event payload types the node offers, per audio clock rate.
const TELEPHONE_EVENTS: [(u8, Frequency); 2] = [
    (101, Frequency::EIGHT_KHZ),
    (110, Frequency::FORTY_EIGHT_KHZ),
];

fn config(now: Instant) -> Rtc {
    // PCMU first: a trunk speaks it, so most calls need no transcoding;
    // Opus is taken when the browser offers nothing else we share.
    let mut builder = Rtc::builder()
        .set_ice_lite(true)
        .clear_codecs()
        .enable_pcmu(true, false)
        .enable_opus(true, false);
    // RFC 4733 events let the browser's keypad (RTCDTMFSender) reach the
    // other side as the digits they are, not as tones in the audio.
    for (pt, rate) in TELEPHONE_EVENTS {
        builder.codec_config().add_config(
            pt.into(),
            None,
            Codec::Tele,
            rate,
            None,
            FormatParams::parse_line("0-16"),
        );
    }
    builder.build(now)
}

fn leg_media(codec: Codec, pt: u8, te_pt: Option<u8>) -> Option<LegMedia> {
    let codec = match codec {
        Codec::PCMU => CodecSpec::Pcmu,
        Codec::Opus => CodecSpec::Opus { pcm_rate: 8000 },
        _ => return None,
    };
    Some(LegMedia {
        remote: BROWSER,
        codec,
        pt,
        te_pt,
    })
}

impl WebRtcLeg {
    fn new(rtc: Rtc, local: SocketAddr, now: Instant) -> WebRtcLeg {
        WebRtcLeg {
            rtc,
            local,
            mid: None,
            media: None,
            timeout: now,
            inbound: Vec::new(),
            in_seq: 0,
            out_ts: TimestampExtender::new(),
            last_event: None,
            disconnected: false,
        }
    }

    /// Answers a browser's offer; `local` is the leg's UDP socket, announced
    /// as the one host candidate. Returns the leg and the answer's SDP.
    pub fn answer(
        now: Instant,
        local: SocketAddr,
        offer: &str,
    ) -> Result<(WebRtcLeg, String), WebRtcError> {
        let mut rtc = config(now);
        let candidate =
            Candidate::host(local, "udp").map_err(|e| WebRtcError::Offer(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        let offer = str0m::change::SdpOffer::from_sdp_string(offer)
            .map_err(|e| WebRtcError::Offer(e.to_string()))?;
        let answer = rtc.sdp_api().accept_offer(offer)?.to_sdp_string();
        let mut leg = WebRtcLeg::new(rtc, local, now);
        // The audio section's mid, as the answer names it (str0m tells
        // MediaAdded only once the session runs).
        leg.mid = answer
            .lines()
            .skip_while(|l| !l.starts_with("m=audio"))
            .find_map(|l| l.strip_prefix("a=mid:"))
            .map(|m| Mid::from(m.trim()));
        let mut sink = Vec::new();
        leg.drain(&mut sink)?;
        leg.settle_media();
        if leg.media.is_none() {
            return Err(WebRtcError::Offer("no audio in PCMU or Opus".into()));
        }
        Ok((leg, answer))
    }

    /// An offer to a browser (the node calls an agent's browser).
    pub fn offer(
        now: Instant,
        local: SocketAddr,
    ) -> Result<(WebRtcLeg, String, str0m::change::SdpPendingOffer), WebRtcError> {
        let mut rtc = config(now);
        let candidate =
            Candidate::host(local, "udp").map_err(|e| WebRtcError::Offer(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        let mut change = rtc.sdp_api();
        let mid = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = change
            .apply()
            .ok_or_else(|| WebRtcError::Offer("nothing to offer".into()))?;
        let mut leg = WebRtcLeg::new(rtc, local, now);
        leg.mid = Some(mid);
        let mut sink = Vec::new();
        leg.drain(&mut sink)?;
        Ok((leg, offer.to_sdp_string(), pending))
    }

    /// The browser's answer to [`WebRtcLeg::offer`].
    pub fn accept_answer(
        &mut self,
        pending: str0m::change::SdpPendingOffer,
        answer: &str,
    ) -> Result<(), WebRtcError> {
        let answer = str0m::change::SdpAnswer::from_sdp_string(answer)
            .map_err(|e| WebRtcError::Answer(e.to_string()))?;
        self.rtc.sdp_api().accept_answer(pending, answer)?;
        let mut sink = Vec::new();
        self.drain(&mut sink)?;
        self.settle_media();
        if self.media.is_none() {
            return Err(WebRtcError::Answer("no audio in PCMU or Opus".into()));
        }
        Ok(())
    }

    /// A new offer from the browser in the running session (a re-INVITE for
    /// hold or resume): answers it on the same ICE and DTLS. The audio keeps
    /// the codec the bridge was set up with; datagrams to send are pushed to
    /// `out`.
    pub fn accept_reoffer(
        &mut self,
        offer: &str,
        out: &mut Vec<(SocketAddr, Vec<u8>)>,
    ) -> Result<String, WebRtcError> {
        let offer = str0m::change::SdpOffer::from_sdp_string(offer)
            .map_err(|e| WebRtcError::Offer(e.to_string()))?;
        let answer = self.rtc.sdp_api().accept_offer(offer)?.to_sdp_string();
        self.drain(out)?;
        Ok(answer)
    }

    /// The negotiated audio: the first of our codecs the session agreed on.
    fn settle_media(&mut self) {
        let Some(mid) = self.mid else {
            return;
        };
        let Some(media) = self.rtc.media(mid) else {
            return;
        };
        let params = media.remote_pts();
        for codec in [Codec::PCMU, Codec::Opus] {
            if let Some(p) = self
                .rtc
                .codec_config()
                .iter()
                .find(|p| p.spec().codec == codec && params.contains(&p.pt()))
            {
                let rate = p.spec().clock_rate;
                let te_pt = self
                    .rtc
                    .codec_config()
                    .iter()
                    .find(|t| {
                        t.spec().codec == Codec::Tele
                            && t.spec().clock_rate == rate
                            && params.contains(&t.pt())
                    })
                    .map(|t| *t.pt());
                self.media = leg_media(codec, *p.pt(), te_pt);
                return;
            }
        }
    }

    pub fn media(&self) -> Option<LegMedia> {
        self.media
    }

    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The browser went away (ICE disconnected or the session closed).
    pub fn is_gone(&self) -> bool {
        self.disconnected || !self.rtc.is_alive()
    }

    pub fn poll_timeout(&self) -> Instant {
        self.timeout
    }

    /// A datagram on the leg's socket. Datagrams to send back are pushed to `out`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        src: SocketAddr,
        data: &[u8],
        out: &mut Vec<(SocketAddr, Vec<u8>)>,
    ) {
        let Ok(contents) = data.try_into() else {
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: src,
                destination: self.local,
                contents,
            },
        );
        if self.rtc.accepts(&input) && self.rtc.handle_input(input).is_ok() {
            let _ = self.drain(out);
        }
    }

    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<(SocketAddr, Vec<u8>)>) {
        if self.rtc.handle_input(Input::Timeout(now)).is_ok() {
            let _ = self.drain(out);
        }
    }

    /// RTP packets from the browser since the last call, for the bridge.
    pub fn take_inbound(&mut self) -> std::vec::Drain<'_, Vec<u8>> {
        self.inbound.drain(..)
    }

    /// Sends one RTP packet (as the bridge made it) to the browser.
    pub fn send_rtp(&mut self, now: Instant, packet: &[u8], out: &mut Vec<(SocketAddr, Vec<u8>)>) {
        let (Some(mid), Some(media)) = (self.mid, self.media) else {
            return;
        };
        let Ok(p) = RtpPacket::parse(packet) else {
            return;
        };
        if Some(p.payload_type()) == media.te_pt {
            return self.send_event(now, &p, mid, media, out);
        }
        let ts = self.out_ts.extend(p.timestamp());
        let Some(writer) = self.rtc.writer(mid) else {
            return;
        };
        let frequency = if matches!(media.codec, CodecSpec::Opus { .. }) {
            str0m::media::Frequency::FORTY_EIGHT_KHZ
        } else {
            str0m::media::Frequency::EIGHT_KHZ
        };
        let time = MediaTime::new(ts, frequency);
        if writer
            .write(p.payload_type().into(), now, time, p.payload().to_vec())
            .is_ok()
            && self.drain(out).is_ok()
            && self.timeout <= now
        {
            // The pacer lets the packet go on its next tick: now, not later.
            self.handle_timeout(now, out);
        }
    }

    /// An RFC 4733 event from the other side (a customer's key): str0m sends
    /// a whole event from one report, so it is passed on at its end, with the
    /// length the other side gave it.
    fn send_event(
        &mut self,
        now: Instant,
        p: &RtpPacket,
        mid: Mid,
        media: LegMedia,
        out: &mut Vec<(SocketAddr, Vec<u8>)>,
    ) {
        let frequency = if matches!(media.codec, CodecSpec::Opus { .. }) {
            str0m::media::Frequency::FORTY_EIGHT_KHZ
        } else {
            str0m::media::Frequency::EIGHT_KHZ
        };
        let Some(event) = str0m::media::TelephoneEvent::parse(p.payload(), frequency) else {
            return;
        };
        if !event.end || self.last_event == Some(p.timestamp()) {
            return;
        }
        self.last_event = Some(p.timestamp());
        let start = MediaTime::new(self.out_ts.extend(p.timestamp()), frequency);
        let Some(writer) = self.rtc.writer(mid) else {
            return;
        };
        match writer
            .telephone_event(event)
            .write(media.pt.into(), now, start, Vec::new())
        {
            Ok(()) => {
                let _ = self.drain(out);
            }
            // Keys pressed closer than str0m allows (50 ms apart) are dropped.
            Err(e) => tracing::debug!(error = %e, "telephone event not sent to the browser"),
        }
    }

    fn drain(&mut self, out: &mut Vec<(SocketAddr, Vec<u8>)>) -> Result<(), WebRtcError> {
        loop {
            match self.rtc.poll_output()? {
                Output::Timeout(t) => {
                    self.timeout = t;
                    return Ok(());
                }
                Output::Transmit(t) => out.push((t.destination, t.contents.to_vec())),
                Output::Event(Event::MediaAdded(m)) => {
                    if self.mid.is_none() {
                        self.mid = Some(m.mid);
                    }
                }
                Output::Event(Event::MediaData(d)) => {
                    self.in_seq = self.in_seq.wrapping_add(1);
                    let header = RtpHeader {
                        marker: false,
                        payload_type: *d.pt,
                        sequence: self.in_seq,
                        timestamp: d.time.numer() as u32,
                        ssrc: 0x5752_5443,
                        csrcs: &[],
                        extension: None,
                    };
                    let mut buf = vec![0u8; 12 + d.data.len()];
                    if header.write(&d.data, 0, &mut buf).is_ok() {
                        self.inbound.push(buf);
                    }
                }
                Output::Event(Event::IceConnectionStateChange(
                    IceConnectionState::Disconnected,
                )) => {
                    self.disconnected = true;
                }
                Output::Event(_) => {}
            }
        }
    }
}
