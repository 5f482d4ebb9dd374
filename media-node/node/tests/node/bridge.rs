//! One bridged call's media on a virtual clock: what each party receives, and
//! what the recording holds.

use callisto_media::codec::{CodecSpec, Encoder};
use callisto_media::g711::alaw_decode;
use callisto_media::recorder::Prompt;
use callisto_media::rtp::{RtpHeader, RtpPacket};
use callisto_media::tone::{ToneGenerator, ToneSpec, dominant_frequency};
use callisto_node::bridge::{Bridge, LegMedia, Side};
use std::io::Cursor;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const A_PEER: &str = "127.0.0.1:40000";
const B_PEER: &str = "127.0.0.2:50000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn pcmu(remote: &str) -> LegMedia {
    LegMedia {
        remote: addr(remote),
        codec: CodecSpec::Pcmu,
        pt: 0,
        te_pt: Some(101),
    }
}

/// A peer's 20 ms RTP stream of a tone.
struct Talker {
    tone: ToneGenerator,
    enc: Encoder,
    pt: u8,
    seq: u16,
    ts: u32,
}

impl Talker {
    fn new(freq: f64, codec: CodecSpec, pt: u8) -> Talker {
        Talker {
            tone: ToneGenerator::new(ToneSpec::sine(freq, -12.0), 8000),
            enc: Encoder::new(codec).unwrap(),
            pt,
            seq: 100,
            ts: 5000,
        }
    }
    fn packet(&mut self) -> Vec<u8> {
        let mut pcm = [0i16; 160];
        self.tone.fill(&mut pcm);
        let mut payload = [0u8; 400];
        let n = self.enc.encode(&pcm, &mut payload).unwrap();
        let mut out = vec![0u8; 12 + n];
        RtpHeader {
            marker: false,
            payload_type: self.pt,
            sequence: self.seq,
            timestamp: self.ts,
            ssrc: 0xabcd,
            csrcs: &[],
            extension: None,
        }
        .write(&payload[..n], 0, &mut out)
        .unwrap();
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(160);
        out
    }
}

fn wav_channels(wav: &[u8]) -> (Vec<i16>, Vec<i16>) {
    let data = &wav[44..];
    let frames: Vec<(i16, i16)> = data
        .chunks_exact(4)
        .map(|c| {
            (
                i16::from_le_bytes([c[0], c[1]]),
                i16::from_le_bytes([c[2], c[3]]),
            )
        })
        .collect();
    (
        frames.iter().map(|f| f.0).collect(),
        frames.iter().map(|f| f.1).collect(),
    )
}

#[test]
fn both_parties_hear_each_other_and_are_recorded_on_their_own_channel() {
    let t0 = Instant::now();
    let mut bridge = Bridge::new(
        t0,
        pcmu(A_PEER),
        pcmu(B_PEER),
        [1, 2],
        Some(Cursor::new(Vec::new())),
    )
    .unwrap();
    let (mut a, mut b) = (
        Talker::new(1000.0, CodecSpec::Pcmu, 0),
        Talker::new(440.0, CodecSpec::Pcmu, 0),
    );
    let mut out = [0u8; 1500];
    let mut seqs_at_b = Vec::new();
    let mut send = Vec::new();
    for i in 0..150u64 {
        let now = t0 + Duration::from_millis(20 * i);
        let (dest, len) = bridge
            .handle_packet(now, Side::A, addr(A_PEER), &a.packet(), &mut out)
            .unwrap();
        assert_eq!(dest, addr(B_PEER));
        let p = RtpPacket::parse(&out[..len]).unwrap();
        assert_eq!((p.payload_type(), p.ssrc()), (0, 2), "B's own stream");
        seqs_at_b.push(p.sequence());
        let (dest, _) = bridge
            .handle_packet(now, Side::B, addr(B_PEER), &b.packet(), &mut out)
            .unwrap();
        assert_eq!(dest, addr(A_PEER));
        bridge.tick(now, &mut send);
    }
    assert!(send.is_empty(), "no music was asked for");
    assert!(seqs_at_b.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
    let (wav, ms) = bridge
        .finish(t0 + Duration::from_millis(3000))
        .unwrap()
        .unwrap();
    assert!((2900..=3100).contains(&ms), "{ms} ms recorded");
    let (left, right) = wav_channels(&wav.into_inner());
    let mid = left.len() / 2;
    let f_left = dominant_frequency(&left[mid..mid + 1600], 8000);
    let f_right = dominant_frequency(&right[mid..mid + 1600], 8000);
    assert!((f_left - 1000.0).abs() < 20.0, "caller channel {f_left} Hz");
    assert!(
        (f_right - 440.0).abs() < 20.0,
        "callee channel {f_right} Hz"
    );
}

#[test]
fn the_peer_is_latched_and_strangers_garbage_and_unnegotiated_payloads_are_dropped() {
    let t0 = Instant::now();
    let mut bridge: Bridge<Cursor<Vec<u8>>> =
        Bridge::new(t0, pcmu(A_PEER), pcmu(B_PEER), [1, 2], None).unwrap();
    let mut a = Talker::new(1000.0, CodecSpec::Pcmu, 0);
    let mut out = [0u8; 1500];
    let mut b = Talker::new(440.0, CodecSpec::Pcmu, 0);
    let mut send = |bridge: &mut Bridge<Cursor<Vec<u8>>>, side, src: &str, pkt: &[u8]| {
        bridge
            .handle_packet(t0, side, addr(src), pkt, &mut out)
            .map(|(d, _)| d)
    };
    // The first source is taken as the peer (a NAT or a second interface
    // hides the address the SDP named), and answered where it came from ...
    assert!(send(&mut bridge, Side::A, "10.9.9.9:40000", &a.packet()).is_some());
    assert_eq!(
        send(&mut bridge, Side::B, B_PEER, &b.packet()),
        Some(addr("10.9.9.9:40000"))
    );
    // ... until the host the SDP named shows up (any port: NATs move it) ...
    assert!(send(&mut bridge, Side::A, "127.0.0.1:40002", &a.packet()).is_some());
    assert_eq!(
        send(&mut bridge, Side::B, B_PEER, &b.packet()),
        Some(addr("127.0.0.1:40002"))
    );
    // ... and from then on nobody else is heard, the first source included.
    assert!(send(&mut bridge, Side::A, "10.9.9.9:40000", &a.packet()).is_none());
    assert!(send(&mut bridge, Side::A, A_PEER, &a.packet()).is_none());
    assert!(
        bridge
            .handle_packet(
                t0,
                Side::A,
                addr("127.0.0.1:40002"),
                b"not rtp at all",
                &mut out
            )
            .is_none()
    );
    let mut g729 = Talker::new(1000.0, CodecSpec::Pcmu, 18);
    assert!(
        bridge
            .handle_packet(
                t0,
                Side::A,
                addr("127.0.0.1:40002"),
                &g729.packet(),
                &mut out
            )
            .is_none()
    );
    let s = bridge.stats(Side::A);
    assert_eq!(
        (s.packets_in, s.dropped_source, s.dropped_invalid),
        (2, 2, 2)
    );
}

#[test]
fn different_codecs_are_transcoded_and_dtmf_events_follow_the_peers_payload_type() {
    let t0 = Instant::now();
    let b_leg = LegMedia {
        remote: addr(B_PEER),
        codec: CodecSpec::Pcma,
        pt: 8,
        te_pt: Some(96),
    };
    let mut bridge: Bridge<Cursor<Vec<u8>>> =
        Bridge::new(t0, pcmu(A_PEER), b_leg, [1, 2], None).unwrap();
    let mut a = Talker::new(1000.0, CodecSpec::Pcmu, 0);
    let mut out = [0u8; 1500];
    let mut heard = Vec::new();
    for _ in 0..20 {
        let (_, len) = bridge
            .handle_packet(t0, Side::A, addr(A_PEER), &a.packet(), &mut out)
            .unwrap();
        let p = RtpPacket::parse(&out[..len]).unwrap();
        assert_eq!(p.payload_type(), 8);
        heard.extend(p.payload().iter().map(|c| alaw_decode(*c)));
    }
    let f = dominant_frequency(&heard[800..], 8000);
    assert!((f - 1000.0).abs() < 20.0, "B hears {f} Hz in A-law");
    // An RFC 4733 event (digit 5) goes out with B's event payload type.
    let mut ev = vec![0u8; 16];
    RtpHeader {
        marker: true,
        payload_type: 101,
        sequence: 999,
        timestamp: 9000,
        ssrc: 7,
        csrcs: &[],
        extension: None,
    }
    .write(&[5, 0x0a, 0, 160], 0, &mut ev)
    .unwrap();
    let (_, len) = bridge
        .handle_packet(t0, Side::A, addr(A_PEER), &ev, &mut out)
        .unwrap();
    let p = RtpPacket::parse(&out[..len]).unwrap();
    assert_eq!(
        (p.payload_type(), p.payload()[0], p.marker()),
        (96, 5, true)
    );
}

#[test]
fn hold_music_replaces_the_other_party_and_the_stream_stays_continuous() {
    let t0 = Instant::now();
    let mut bridge: Bridge<Cursor<Vec<u8>>> =
        Bridge::new(t0, pcmu(A_PEER), pcmu(B_PEER), [1, 2], None).unwrap();
    let mut b = Talker::new(440.0, CodecSpec::Pcmu, 0);
    let mut out = [0u8; 1500];
    let (_, len) = bridge
        .handle_packet(t0, Side::B, addr(B_PEER), &b.packet(), &mut out)
        .unwrap();
    let first_seq = RtpPacket::parse(&out[..len]).unwrap().sequence();
    // B holds: A gets music, B's packets no longer reach A.
    let music = Prompt::from_samples(vec![1000; 8000]);
    bridge.set_music(t0, Side::A, Some(music.player(true)));
    let mut send = Vec::new();
    bridge.tick(t0 + Duration::from_millis(100), &mut send);
    assert_eq!(send.len(), 6, "frames due at 0, 20, … 100 ms");
    assert!(
        send.iter()
            .all(|(s, d, _)| *s == Side::A && *d == addr(A_PEER))
    );
    let seqs: Vec<u16> = send
        .iter()
        .map(|(_, _, p)| RtpPacket::parse(p).unwrap().sequence())
        .collect();
    assert_eq!(seqs[0], first_seq.wrapping_add(1));
    assert!(
        bridge
            .handle_packet(t0, Side::B, addr(B_PEER), &b.packet(), &mut out)
            .is_none()
    );
    // Resumed: relaying carries on with the next sequence number.
    bridge.set_music(t0, Side::A, None);
    let (_, len) = bridge
        .handle_packet(t0, Side::B, addr(B_PEER), &b.packet(), &mut out)
        .unwrap();
    assert_eq!(
        RtpPacket::parse(&out[..len]).unwrap().sequence(),
        seqs[5].wrapping_add(1)
    );
}
