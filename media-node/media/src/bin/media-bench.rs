//! Media processing benchmark: what one core does per 20 ms frame or packet.
//! Run in release: `cargo run --release -p callisto-media --bin media-bench`.

use std::hint::black_box;
use std::io::{self, Seek, SeekFrom, Write};
use std::time::{Duration, Instant};

use callisto_media::codec::{CodecSpec, MAX_PAYLOAD, OpusConfig, Transcoder};
use callisto_media::g711;
use callisto_media::recorder::{Leg, Prompt, StereoRecorder};
use callisto_media::rtp::{HeaderRewrite, RtpHeader, RtpPacket, rewrite_header};
use callisto_media::tone::{NoiseGenerator, ToneGenerator, ToneSpec};

/// A recording sink that keeps nothing: the cost measured is the media work,
/// not the disk.
#[derive(Debug, Default)]
struct Discard {
    pos: u64,
    len: u64,
}

impl Write for Discard {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pos += buf.len() as u64;
        self.len = self.len.max(self.pos);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for Discard {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => self.len.saturating_add_signed(d),
            SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
        };
        Ok(self.pos)
    }
}

/// Eight seconds of test audio at 8 kHz: the hold music if it is at hand
/// (music is harder on Opus than speech), else tones over noise.
fn test_audio() -> Vec<i16> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../samplesdata/audio/hold-music.wav"
    );
    if let Ok(file) = std::fs::File::open(path)
        && let Ok(p) = Prompt::from_wav(io::BufReader::new(file))
    {
        return p.samples()[..64_000].to_vec();
    }
    let mut s = vec![0i16; 64_000];
    ToneGenerator::new(ToneSpec::dual(440.0, 1300.0, -18.0), 8000).fill(&mut s);
    let mut n = vec![0i16; 64_000];
    NoiseGenerator::new(40, 1).fill(&mut n);
    s.iter().zip(n).map(|(a, b)| a.saturating_add(b)).collect()
}

fn per_iter(elapsed: Duration, iters: u64) -> f64 {
    elapsed.as_nanos() as f64 / iters as f64
}

fn bench_g711(audio: &[i16]) {
    let frames: Vec<&[i16]> = audio.chunks_exact(160).collect();
    let mut codes = [0u8; 160];
    let mut pcm = [0i16; 160];
    for (name, enc, dec) in [
        (
            "PCMU",
            g711::encode_ulaw as fn(&[i16], &mut [u8]) -> usize,
            g711::decode_ulaw as fn(&[u8], &mut [i16]) -> usize,
        ),
        ("PCMA", g711::encode_alaw, g711::decode_alaw),
    ] {
        let iters = 100_000u64;
        let mut best = f64::MAX;
        for _ in 0..ROUNDS {
            let t = Instant::now();
            for i in 0..iters {
                let f = frames[i as usize % frames.len()];
                enc(black_box(f), &mut codes);
                dec(black_box(&codes), &mut pcm);
                black_box(&pcm);
            }
            best = best.min(per_iter(t.elapsed(), iters));
        }
        println!("g711 {name}: encode+decode {best:.0} ns per 20 ms frame (160 samples)");
    }
}

struct Call {
    recorder: StereoRecorder<Discard>,
    packets: [Vec<u8>; 2],
    seq: u16,
}

fn bench_relay(audio: &[i16]) {
    const CALLS: usize = 1000;
    const TICKS: u64 = 500;
    let mut payload = [0u8; 160];
    let mut calls: Vec<Call> = (0..CALLS)
        .map(|c| {
            let packets = [0usize, 1].map(|leg| {
                let start = ((c * 7 + leg * 3) % 390) * 160;
                g711::encode_ulaw(&audio[start..start + 160], &mut payload);
                let mut buf = vec![0u8; 172];
                let header = RtpHeader {
                    payload_type: 0,
                    ssrc: (c * 2 + leg) as u32,
                    ..Default::default()
                };
                let n = header.write(&payload, 0, &mut buf).unwrap_or(0);
                buf.truncate(n);
                buf
            });
            Call {
                recorder: StereoRecorder::new(Discard::default(), 8000).expect("8 kHz recorder"),
                packets,
                seq: 0,
            }
        })
        .collect();
    let mut pcm = [0i16; 160];
    let t = Instant::now();
    let mut handled = 0u64;
    for tick in 0..TICKS {
        for call in &mut calls {
            call.seq = call.seq.wrapping_add(1);
            for (leg, side) in [(0, Leg::Left), (1, Leg::Right)] {
                let buf = &mut call.packets[leg];
                // What the relay does per packet: parse, decode for the
                // recorder, place the frame, rewrite the header for the other leg.
                let Ok(packet) = RtpPacket::parse(buf) else {
                    continue;
                };
                let n = g711::decode_ulaw(packet.payload(), &mut pcm);
                let _ = call.recorder.write(side, tick * 160, &pcm[..n]);
                let _ = rewrite_header(
                    buf,
                    &HeaderRewrite {
                        sequence: Some(call.seq),
                        timestamp: Some(tick as u32 * 160),
                        ssrc: Some(0x5eed),
                        ..Default::default()
                    },
                );
                black_box(&buf);
                handled += 1;
            }
            let _ = call.recorder.advance(tick * 160);
        }
    }
    let elapsed = t.elapsed();
    let ns = per_iter(elapsed, handled);
    let pps = 1e9 / ns;
    println!(
        "relay+record PCMU: {ns:.0} ns per packet ({handled} packets over {CALLS} calls): \
         {pps:.0} packets/s per core -> {:.0} relayed+recorded calls per core (100 pps per call)",
        pps / 100.0
    );
    let bytes: u64 = calls
        .into_iter()
        .map(|c| c.recorder.finish().map(|d| d.len).unwrap_or(0))
        .sum();
    black_box(bytes);
}

/// Best of several rounds: on a shared machine the fastest round is the
/// closest to what an idle core does.
const ROUNDS: usize = 5;

fn bench_transcode(audio: &[i16], opus: CodecSpec, config: OpusConfig) {
    let mut to_opus = Transcoder::with_opus_config(CodecSpec::Pcmu, opus, config).expect("encoder");
    let mut to_pcmu = Transcoder::with_opus_config(opus, CodecSpec::Pcmu, config).expect("decoder");
    let mut ulaw = [0u8; 160];
    let mut opus_buf = [0u8; MAX_PAYLOAD];
    let mut back = [0u8; MAX_PAYLOAD];
    let frames: Vec<&[i16]> = audio.chunks_exact(160).collect();
    let iters = 1000u64;
    let (mut best_up, mut best_down, mut bytes) = (f64::MAX, f64::MAX, 0usize);
    let mut i = 0usize;
    for _ in 0..ROUNDS {
        let (mut t_up, mut t_down) = (Duration::ZERO, Duration::ZERO);
        bytes = 0;
        for _ in 0..iters {
            g711::encode_ulaw(frames[i % frames.len()], &mut ulaw);
            i += 1;
            let t = Instant::now();
            let n = to_opus
                .transcode(black_box(&ulaw), &mut opus_buf)
                .unwrap_or(0);
            t_up += t.elapsed();
            bytes += n;
            let t = Instant::now();
            let m = to_pcmu
                .transcode(black_box(&opus_buf[..n]), &mut back)
                .unwrap_or(0);
            t_down += t.elapsed();
            black_box(m);
        }
        best_up = best_up.min(per_iter(t_up, iters));
        best_down = best_down.min(per_iter(t_down, iters));
    }
    let per_call = best_up + best_down;
    let resampling = if opus.pcm_rate() == 8000 {
        "no resampling: libopus takes and gives 8 kHz".to_string()
    } else {
        format!("incl. 8<->{} kHz resampling", opus.pcm_rate() / 1000)
    };
    println!(
        "transcode PCMU<->Opus (PCM side {} kHz, {} kbit/s, complexity {}): PCMU->Opus {:.1} us, \
         Opus->PCMU {:.1} us per 20 ms frame ({resampling}); {:.1} us per call per 20 ms \
         -> {:.0} transcoded calls per core (avg Opus payload {} bytes)",
        opus.pcm_rate() / 1000,
        config.bitrate / 1000,
        config.complexity,
        best_up / 1000.0,
        best_down / 1000.0,
        per_call / 1000.0,
        20e6 / per_call,
        bytes / iters as usize
    );
}

fn bench_resampler() {
    use callisto_media::codec::Resampler;
    let mut up = Resampler::new(8000, 48000).expect("8->48");
    let mut down = Resampler::new(48000, 8000).expect("48->8");
    let input = [1000i16; 160];
    let mut high = [0i16; 960];
    let mut low = [0i16; 160];
    let iters = 5_000u64;
    let mut best = f64::MAX;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        for _ in 0..iters {
            up.process(black_box(&input), &mut high).unwrap_or(0);
            down.process(black_box(&high), &mut low).unwrap_or(0);
        }
        best = best.min(per_iter(t.elapsed(), iters));
    }
    println!(
        "resample 8->48->8 kHz: {:.1} us per 20 ms frame (both ways)",
        best / 1000.0
    );
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("callisto-media bench, one thread ({cores} cores on the machine)");
    let audio = test_audio();
    bench_g711(&audio);
    bench_relay(&audio);
    bench_resampler();
    let opus48 = CodecSpec::Opus { pcm_rate: 48000 };
    let opus8 = CodecSpec::Opus { pcm_rate: 8000 };
    for complexity in [1, 5, 10] {
        let config = OpusConfig {
            complexity,
            ..OpusConfig::default()
        };
        bench_transcode(&audio, opus48, config);
        bench_transcode(&audio, opus8, config);
    }
}
