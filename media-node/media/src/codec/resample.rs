use std::f64::consts::PI;

use super::CodecError;

/// Taps per polyphase branch: with a Kaiser window (β = 8, ≈ 80 dB stop band)
/// this gives a transition of ≈ 0.1 of the low rate, i.e. a pass band to
/// ≈ 3.3 kHz and a stop band from ≈ 4.2 kHz between 8 and 48 kHz.
const TAPS_PER_PHASE: usize = 48;
const KAISER_BETA: f64 = 8.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Same,
    Up(usize),
    Down(usize),
}

/// Integer-ratio resampler (8↔16↔48 kHz) with a windowed-sinc polyphase FIR.
/// State carries across calls, so 20 ms frames join seamlessly. No allocation
/// after the first call of a given frame size.
#[derive(Debug, Clone)]
pub struct Resampler {
    kind: Kind,
    /// Up: taps grouped by phase ([phase][k]); down: taps reversed.
    taps: Vec<f32>,
    /// Last input samples needed by the next call, then the current input.
    work: Vec<f32>,
    history: usize,
}

/// Dot product with eight independent sums, so the compiler can keep them in
/// vector registers (a single running f32 sum is a serial chain).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in a8.zip(b8) {
        for i in 0..8 {
            acc[i] += ca[i] * cb[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let half = x / 2.0;
    for k in 1..50 {
        term *= (half / k as f64) * (half / k as f64);
        sum += term;
        if term < 1e-12 * sum {
            break;
        }
    }
    sum
}

/// Low-pass at `cutoff` (fraction of the sample rate) of `n` taps.
fn design(n: usize, cutoff: f64) -> Vec<f64> {
    let mid = (n - 1) as f64 / 2.0;
    let norm = bessel_i0(KAISER_BETA);
    (0..n)
        .map(|i| {
            let t = i as f64 - mid;
            let sinc = if t == 0.0 {
                2.0 * cutoff
            } else {
                (2.0 * PI * cutoff * t).sin() / (PI * t)
            };
            let r = t / mid;
            let w = bessel_i0(KAISER_BETA * (1.0 - r * r).max(0.0).sqrt()) / norm;
            sinc * w
        })
        .collect()
}

impl Resampler {
    pub fn new(from: u32, to: u32) -> Result<Self, CodecError> {
        if from == 0 || to == 0 {
            return Err(CodecError::UnsupportedRatio { from, to });
        }
        let kind = if from == to {
            Kind::Same
        } else if to.is_multiple_of(from) {
            Kind::Up((to / from) as usize)
        } else if from.is_multiple_of(to) {
            Kind::Down((from / to) as usize)
        } else {
            return Err(CodecError::UnsupportedRatio { from, to });
        };
        let (taps, history) = match kind {
            Kind::Same => (Vec::new(), 0),
            Kind::Up(l) => {
                let n = l * TAPS_PER_PHASE;
                // Cut just below the low rate's Nyquist, relative to the high rate.
                let h = design(n, 0.5 / l as f64 * 0.92);
                let mut grouped = Vec::with_capacity(n);
                for p in 0..l {
                    // Reversed within a phase so it lines up with the input
                    // window oldest-first; gain L restores the level lost to
                    // zero stuffing.
                    for k in (0..TAPS_PER_PHASE).rev() {
                        grouped.push((h[k * l + p] * l as f64) as f32);
                    }
                }
                (grouped, TAPS_PER_PHASE - 1)
            }
            Kind::Down(m) => {
                let n = m * TAPS_PER_PHASE;
                let h = design(n, 0.5 / m as f64 * 0.92);
                (h.iter().rev().map(|&v| v as f32).collect(), n - 1)
            }
        };
        Ok(Self {
            kind,
            taps,
            work: vec![0.0; history],
            history,
        })
    }

    /// Output samples produced for `input_len` input samples.
    pub fn output_len(&self, input_len: usize) -> usize {
        match self.kind {
            Kind::Same => input_len,
            Kind::Up(l) => input_len * l,
            Kind::Down(m) => input_len / m,
        }
    }

    /// Resamples one block; down-sampling needs a multiple of the ratio (any
    /// 20 ms frame is). Returns the samples written.
    pub fn process(&mut self, input: &[i16], out: &mut [i16]) -> Result<usize, CodecError> {
        let n_out = self.output_len(input.len());
        super::check_out(n_out, out.len())?;
        match self.kind {
            Kind::Same => {
                out[..input.len()].copy_from_slice(input);
                return Ok(input.len());
            }
            Kind::Down(m) if !input.len().is_multiple_of(m) => {
                return Err(CodecError::FrameLength {
                    expected: input.len() / m * m,
                    got: input.len(),
                });
            }
            _ => {}
        }
        self.work.truncate(self.history);
        self.work.extend(input.iter().map(|&s| f32::from(s)));
        let clamp = |v: f32| v.round().clamp(-32768.0, 32767.0) as i16;
        match self.kind {
            Kind::Up(l) => {
                for n in 0..input.len() {
                    // Window of the last TAPS_PER_PHASE inputs, oldest first.
                    let window = &self.work[n..n + TAPS_PER_PHASE];
                    for p in 0..l {
                        let taps = &self.taps[p * TAPS_PER_PHASE..(p + 1) * TAPS_PER_PHASE];
                        out[n * l + p] = clamp(dot(taps, window));
                    }
                }
            }
            Kind::Down(m) => {
                let len = self.taps.len();
                for (k, o) in out[..n_out].iter_mut().enumerate() {
                    let window = &self.work[k * m + m - 1 + self.history + 1 - len..][..len];
                    *o = clamp(dot(&self.taps, window));
                }
            }
            Kind::Same => {}
        }
        let keep_from = self.work.len() - self.history;
        self.work.copy_within(keep_from.., 0);
        self.work.truncate(self.history);
        Ok(n_out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{ToneGenerator, ToneSpec, dominant_frequency, rms_dbfs, tone_dbfs};

    fn run(r: &mut Resampler, input: &[i16], frame: usize) -> Vec<i16> {
        let mut out = Vec::new();
        let mut buf = vec![0i16; r.output_len(frame)];
        for chunk in input.chunks(frame) {
            let n = r.process(chunk, &mut buf).unwrap();
            out.extend_from_slice(&buf[..n]);
        }
        out
    }

    fn tone(freq: f64, rate: u32, ms: usize) -> Vec<i16> {
        let mut s = vec![0i16; rate as usize / 1000 * ms];
        ToneGenerator::new(ToneSpec::sine(freq, -10.0), rate).fill(&mut s);
        s
    }

    #[test]
    fn up_and_down_keep_frequency_and_level_in_the_voice_band() {
        for f in [300.0, 1000.0, 3000.0] {
            let mut up = Resampler::new(8000, 48000).unwrap();
            let mut down = Resampler::new(48000, 8000).unwrap();
            let high = run(&mut up, &tone(f, 8000, 1000), 160);
            assert_eq!(high.len(), 48000);
            let tail = &high[4800..];
            assert!((dominant_frequency(tail, 48000) - f).abs() < 2.0);
            assert!(
                (rms_dbfs(tail) - -10.0).abs() < 0.5,
                "{f} up: {}",
                rms_dbfs(tail)
            );
            let back = run(&mut down, &high, 960);
            assert_eq!(back.len(), 8000);
            let tail = &back[800..];
            assert!((dominant_frequency(tail, 8000) - f).abs() < 2.0);
            assert!(
                (rms_dbfs(tail) - -10.0).abs() < 1.0,
                "{f} round trip: {}",
                rms_dbfs(tail)
            );
        }
    }

    #[test]
    fn down_sampling_removes_what_would_alias() {
        // 6 kHz at 48 kHz would fold onto 2 kHz at 8 kHz.
        let mut down = Resampler::new(48000, 8000).unwrap();
        let out = run(&mut down, &tone(6000.0, 48000, 500), 960);
        assert!(tone_dbfs(&out[800..], 2000.0, 8000) < -70.0);
        // Up-sampling leaves no images of a 1 kHz tone at 7 kHz.
        let mut up = Resampler::new(8000, 48000).unwrap();
        let out = run(&mut up, &tone(1000.0, 8000, 500), 160);
        assert!(tone_dbfs(&out[4800..], 7000.0, 48000) < -70.0);
    }

    #[test]
    fn frames_join_like_one_block() {
        let input = tone(440.0, 16000, 200);
        let mut a = Resampler::new(16000, 48000).unwrap();
        let mut b = Resampler::new(16000, 48000).unwrap();
        assert_eq!(run(&mut a, &input, 320), run(&mut b, &input, input.len()));
        let mut c = Resampler::new(16000, 8000).unwrap();
        assert_eq!(run(&mut c, &input, 320).len(), 1600);
        let mut same = Resampler::new(8000, 8000).unwrap();
        assert_eq!(run(&mut same, &input, 160), input);
    }

    #[test]
    fn refuses_odd_ratios_and_ragged_blocks() {
        assert!(Resampler::new(44100, 48000).is_err());
        assert!(Resampler::new(0, 8000).is_err());
        let mut d = Resampler::new(48000, 8000).unwrap();
        assert!(d.process(&[0; 7], &mut [0; 10]).is_err());
        assert!(d.process(&[0; 960], &mut [0; 100]).is_err());
    }
}
