//! A call as the media node will carry it: trunk (PCMU over RTP, jittery) to a
//! browser (Opus), both parties recorded in one stereo file.

use std::io::Cursor;
use std::time::{Duration, Instant};

use callisto_media::codec::{CodecSpec, Decoder, Encoder, MAX_PAYLOAD, Transcoder};
use callisto_media::jitter::{Frame, JitterBuffer, JitterConfig};
use callisto_media::recorder::{Leg, StereoRecorder};
use callisto_media::rtp::{RtpHeader, RtpPacket};
use callisto_media::tone::{ToneGenerator, ToneSpec, dominant_frequency, rms_dbfs};

const OPUS: CodecSpec = CodecSpec::Opus { pcm_rate: 8000 };

#[test]
fn tones_cross_a_jittery_call_and_both_parties_are_recorded() {
    let t0 = Instant::now();
    let frames = 150u32; // 3 s
    // The trunk side: 1 kHz tone as PCMU packets; every 7th pair swapped in flight.
    let mut trunk_tone = ToneGenerator::new(ToneSpec::sine(1000.0, -12.0), 8000);
    let mut trunk_enc = Encoder::new(CodecSpec::Pcmu).unwrap();
    let mut wire: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut pcm = [0i16; 160];
    let mut payload = [0u8; MAX_PAYLOAD];
    for i in 0..frames {
        trunk_tone.fill(&mut pcm);
        let n = trunk_enc.encode(&pcm, &mut payload).unwrap();
        let mut buf = vec![0u8; 12 + n];
        RtpHeader {
            payload_type: 0,
            sequence: 65_500u16.wrapping_add(i as u16),
            timestamp: (u32::MAX - 8000).wrapping_add(i * 160),
            ssrc: 0xca11,
            ..Default::default()
        }
        .write(&payload[..n], 0, &mut buf)
        .unwrap();
        let delay = if i % 7 == 3 { 30 } else { 5 };
        wire.push((u64::from(i) * 20 + delay, buf));
    }
    wire.sort_by_key(|(at, _)| *at);

    // The browser side: a 425 Hz tone as Opus.
    let mut agent_tone = ToneGenerator::new(ToneSpec::sine(425.0, -12.0), 8000);
    let mut agent_enc = Encoder::new(OPUS).unwrap();
    let mut node_agent_dec = Decoder::new(OPUS).unwrap();

    let mut jb = JitterBuffer::new(JitterConfig::g711());
    let mut to_browser = Transcoder::new(CodecSpec::Pcmu, OPUS).unwrap();
    let mut browser_dec = Decoder::new(OPUS).unwrap();
    let mut recorder = StereoRecorder::new(Cursor::new(Vec::new()), 8000).unwrap();
    let mut browser_heard = Vec::new();
    let mut media_time = 0u64;
    let mut next = 0;
    let mut out = [0i16; 960];
    for tick in 0..(u64::from(frames) * 20 + 200) {
        let now = t0 + Duration::from_millis(tick);
        while next < wire.len() && wire[next].0 <= tick {
            let packet = RtpPacket::parse(&wire[next].1).unwrap();
            jb.push_packet(now, &packet);
            next += 1;
        }
        if tick % 20 != 0 {
            continue;
        }
        // Trunk → browser, via the jitter buffer and the transcoder.
        let mut opus = [0u8; MAX_PAYLOAD];
        let sent = match jb.pop(now) {
            Frame::Buffering => None,
            Frame::Audio { payload, .. } => Some(to_browser.transcode(payload, &mut opus).unwrap()),
            Frame::Lost { .. } => Some(to_browser.conceal(&mut opus).unwrap()),
        };
        if let Some(n) = sent {
            recorder
                .write(Leg::Left, media_time, to_browser.source_pcm())
                .unwrap();
            let m = browser_dec.decode(&opus[..n], &mut out).unwrap();
            browser_heard.extend_from_slice(&out[..m]);
        }
        // Browser → node: decoded for the recorder (and the trunk).
        agent_tone.fill(&mut pcm);
        let n = agent_enc.encode(&pcm, &mut payload).unwrap();
        let m = node_agent_dec.decode(&payload[..n], &mut out).unwrap();
        recorder.write(Leg::Right, media_time, &out[..m]).unwrap();
        media_time += 160;
        recorder.advance(media_time).unwrap();
    }
    assert_eq!(jb.stats().late, 0);

    let heard = &browser_heard[browser_heard.len() / 3..];
    assert!((dominant_frequency(heard, 8000) - 1000.0).abs() < 2.0);
    assert!((rms_dbfs(heard) - -12.0).abs() < 1.5, "{}", rms_dbfs(heard));

    let wav = recorder.finish().unwrap().into_inner();
    let (left, right): (Vec<i16>, Vec<i16>) = wav[44..]
        .chunks_exact(4)
        .map(|c| {
            (
                i16::from_le_bytes([c[0], c[1]]),
                i16::from_le_bytes([c[2], c[3]]),
            )
        })
        .unzip();
    assert_eq!(left.len() as u64, media_time);
    let (l, r) = (&left[8000..], &right[8000..]);
    assert!((dominant_frequency(l, 8000) - 1000.0).abs() < 2.0);
    assert!((dominant_frequency(r, 8000) - 425.0).abs() < 2.0);
    assert!((rms_dbfs(l) - -12.0).abs() < 1.5 && (rms_dbfs(r) - -12.0).abs() < 1.5);
}
