use std::f64::consts::PI;

/// RMS level in dBFS, where a full-scale square wave is 0 dBFS (a full-scale
/// sine is -3 dBFS). Silence is negative infinity.
pub fn rms_dbfs(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return f64::NEG_INFINITY;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / samples.len() as f64).sqrt();
    if rms == 0.0 {
        return f64::NEG_INFINITY;
    }
    20.0 * (rms / 32768.0).log10()
}

/// Power of one frequency in a block (Goertzel), normalised so a sine of
/// amplitude A gives about A²/4 independent of the block length.
pub fn goertzel_power(samples: &[i16], freq: f64, rate: u32) -> f64 {
    goertzel_windowed(samples, freq, rate, false)
}

fn goertzel_windowed(samples: &[i16], freq: f64, rate: u32, hann: bool) -> f64 {
    let n = samples.len();
    if n == 0 {
        return 0.0;
    }
    let w = 2.0 * PI * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let mut wsum = 0.0;
    for (i, &x) in samples.iter().enumerate() {
        let win = if hann {
            0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos()
        } else {
            1.0
        };
        wsum += win;
        let s0 = f64::from(x) * win + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    power / (wsum * wsum)
}

/// Level of one frequency component in dBFS (same reference as [`rms_dbfs`]).
pub fn tone_dbfs(samples: &[i16], freq: f64, rate: u32) -> f64 {
    let p = goertzel_windowed(samples, freq, rate, false);
    // |X|² / N² = A²/4 for a sine of amplitude A; its RMS is A/√2.
    let rms = (p * 4.0).sqrt() / 2f64.sqrt();
    if rms == 0.0 {
        return f64::NEG_INFINITY;
    }
    20.0 * (rms / 32768.0).log10()
}

/// The strongest frequency in `samples`, to within about 1 Hz: a coarse scan of
/// a Hann-windowed block, then a fine scan around the peak.
pub fn dominant_frequency(samples: &[i16], rate: u32) -> f64 {
    // A few thousand samples resolve a tone well; more only costs time.
    let max = 4096.min(samples.len());
    let start = (samples.len() - max) / 2;
    let block = &samples[start..start + max];
    if block.is_empty() {
        return 0.0;
    }
    let nyquist = f64::from(rate) / 2.0;
    let coarse = f64::from(rate) / block.len() as f64 / 2.0;
    let mut best = (0.0, 0.0);
    let mut f = coarse;
    while f < nyquist {
        let p = goertzel_windowed(block, f, rate, true);
        if p > best.1 {
            best = (f, p);
        }
        f += coarse;
    }
    let centre = best.0;
    let fine = coarse / 20.0;
    for i in -20..=20 {
        let f = centre + f64::from(i) * fine;
        if f <= 0.0 || f >= nyquist {
            continue;
        }
        let p = goertzel_windowed(block, f, rate, true);
        if p > best.1 {
            best = (f, p);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, amp: f64, rate: u32, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| (amp * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()) as i16)
            .collect()
    }

    #[test]
    fn finds_frequency_at_8k_and_48k() {
        assert!((dominant_frequency(&sine(1004.0, 8000.0, 8000, 8000), 8000) - 1004.0).abs() < 1.0);
        assert!(
            (dominant_frequency(&sine(3333.0, 8000.0, 48000, 9600), 48000) - 3333.0).abs() < 3.0
        );
    }

    #[test]
    fn levels() {
        let s = sine(1000.0, 32767.0, 8000, 8000);
        assert!((rms_dbfs(&s) - -3.01).abs() < 0.05);
        assert!((tone_dbfs(&s, 1000.0, 8000) - -3.01).abs() < 0.1);
        assert!(tone_dbfs(&s, 2000.0, 8000) < -40.0);
        assert_eq!(rms_dbfs(&[0; 10]), f64::NEG_INFINITY);
        assert_eq!(dominant_frequency(&[], 8000), 0.0);
    }
}
