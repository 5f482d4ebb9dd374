use std::collections::VecDeque;

use super::event::{DtmfError, digit_to_event, event_to_digit};
use crate::tone::{ToneSpec, goertzel_power};

const LOW: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
const HIGH: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

/// The dual tone of a keypad digit (ITU-T Q.23), each component at `level_dbfs`.
pub fn dtmf_tone(digit: char, level_dbfs: f64) -> Result<ToneSpec, DtmfError> {
    let event = digit_to_event(digit)?;
    // Keypad layout: rows are low tones, columns high tones.
    let (row, col) = match event {
        1..=9 => ((event - 1) / 3, (event - 1) % 3),
        0 => (3, 1),
        10 => (3, 0),
        11 => (3, 2),
        _ => (event - 12, 3),
    };
    Ok(ToneSpec::dual(
        LOW[usize::from(row)],
        HIGH[usize::from(col)],
        level_dbfs,
    ))
}

fn digit_at(row: usize, col: usize) -> char {
    let event = match (row, col) {
        (r @ 0..=2, c @ 0..=2) => (r * 3 + c + 1) as u8,
        (3, 0) => 10,
        (3, 1) => 0,
        (3, 2) => 11,
        (r, _) => (12 + r) as u8,
    };
    event_to_digit(event).unwrap_or('?')
}

/// Weakest tone component accepted: about -35 dBFS RMS.
const MIN_POWER: f64 = 170_000.0;
/// Allowed level difference of the two tones (normal and reverse twist).
const MAX_TWIST_DB: f64 = 8.0;
/// Share of the block's power the two tones must carry (rejects speech/noise).
const MIN_TONE_SHARE: f64 = 0.6;

/// In-band DTMF detector: Goertzel over blocks of 205 samples at 8 kHz
/// (25.6 ms, the classic size whose bins fall near all eight frequencies),
/// reporting a digit once when two blocks in a row agree.
#[derive(Debug, Clone)]
pub struct DtmfDetector {
    rate: u32,
    block: Vec<i16>,
    filled: usize,
    last: Option<char>,
    reported: Option<char>,
    out: VecDeque<char>,
}

impl DtmfDetector {
    pub fn new(rate: u32) -> Self {
        let n = (205 * rate / 8000).max(1) as usize;
        Self {
            rate,
            block: vec![0; n],
            filled: 0,
            last: None,
            reported: None,
            out: VecDeque::new(),
        }
    }

    pub fn process(&mut self, mut samples: &[i16]) {
        while !samples.is_empty() {
            let take = (self.block.len() - self.filled).min(samples.len());
            self.block[self.filled..self.filled + take].copy_from_slice(&samples[..take]);
            self.filled += take;
            samples = &samples[take..];
            if self.filled == self.block.len() {
                self.filled = 0;
                let d = self.classify();
                if d.is_some() && d == self.last && self.reported != d {
                    self.out.push_back(d.unwrap_or('?'));
                    self.reported = d;
                }
                if d.is_none() {
                    self.reported = None;
                }
                self.last = d;
            }
        }
    }

    fn classify(&self) -> Option<char> {
        let n = self.block.len() as f64;
        let total: f64 = self
            .block
            .iter()
            .map(|&s| f64::from(s) * f64::from(s))
            .sum::<f64>()
            / n;
        let strongest = |freqs: &[f64; 4]| {
            let mut best = (0, 0.0);
            for (i, &f) in freqs.iter().enumerate() {
                let p = goertzel_power(&self.block, f, self.rate);
                if p > best.1 {
                    best = (i, p);
                }
            }
            best
        };
        let (row, low) = strongest(&LOW);
        let (col, high) = strongest(&HIGH);
        if low < MIN_POWER || high < MIN_POWER {
            return None;
        }
        let twist = 10.0 * (high / low).log10();
        if twist.abs() > MAX_TWIST_DB {
            return None;
        }
        // A sine of power P in Goertzel terms carries 2P of mean power.
        if 2.0 * (low + high) < MIN_TONE_SHARE * total {
            return None;
        }
        Some(digit_at(row, col))
    }

    pub fn poll_digit(&mut self) -> Option<char> {
        self.out.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{NoiseGenerator, ToneGenerator, ToneSpec};

    fn keypad(digits: &str, rate: u32, noise_level: Option<u8>) -> Vec<i16> {
        let ms = rate as usize / 1000;
        let mut out = Vec::new();
        for d in digits.chars() {
            let mut g = ToneGenerator::new(dtmf_tone(d, -20.0).unwrap(), rate);
            let mut tone = vec![0i16; 70 * ms];
            g.fill(&mut tone);
            out.extend(tone);
            out.extend(std::iter::repeat_n(0, 60 * ms));
        }
        if let Some(level) = noise_level {
            let mut n = vec![0i16; out.len()];
            NoiseGenerator::new(level, 9).fill(&mut n);
            for (o, n) in out.iter_mut().zip(n) {
                *o = o.saturating_add(n);
            }
        }
        out
    }

    fn detect(samples: &[i16], rate: u32) -> String {
        let mut det = DtmfDetector::new(rate);
        for frame in samples.chunks(rate as usize / 50) {
            det.process(frame);
        }
        std::iter::from_fn(|| det.poll_digit()).collect()
    }

    #[test]
    fn every_key_is_detected_once_at_8k_and_16k() {
        let all = "123A456B789C*0#D";
        assert_eq!(detect(&keypad(all, 8000, None), 8000), all);
        assert_eq!(detect(&keypad(all, 16000, None), 16000), all);
    }

    #[test]
    fn detection_survives_background_noise() {
        assert_eq!(detect(&keypad("2468", 8000, Some(45)), 8000), "2468");
    }

    #[test]
    fn single_tones_noise_and_speechlike_signals_are_not_digits() {
        let mut s = vec![0i16; 8000];
        ToneGenerator::new(ToneSpec::sine(697.0, -10.0), 8000).fill(&mut s);
        assert_eq!(detect(&s, 8000), "");
        NoiseGenerator::new(15, 1).fill(&mut s);
        assert_eq!(detect(&s, 8000), "");
        // Two valid frequencies drowned in a louder third tone.
        let mut a = vec![0i16; 8000];
        ToneGenerator::new(dtmf_tone('5', -25.0).unwrap(), 8000).fill(&mut a);
        let mut b = vec![0i16; 8000];
        ToneGenerator::new(ToneSpec::sine(400.0, -10.0), 8000).fill(&mut b);
        let mix: Vec<i16> = a
            .iter()
            .zip(&b)
            .map(|(x, y)| x.saturating_add(*y))
            .collect();
        assert_eq!(detect(&mix, 8000), "");
    }

    #[test]
    fn tone_frequencies_follow_the_keypad() {
        let t = dtmf_tone('0', -10.0).unwrap();
        assert_eq!(t.frequencies, [941.0, 1336.0]);
        let t = dtmf_tone('C', -10.0).unwrap();
        assert_eq!(t.frequencies, [852.0, 1633.0]);
        assert!(dtmf_tone('E', -10.0).is_err());
    }
}
