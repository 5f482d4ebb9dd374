use std::f64::consts::TAU;

/// On/off pattern of a tone, in milliseconds; `off_ms == 0` is continuous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    pub on_ms: u32,
    pub off_ms: u32,
}

impl Cadence {
    pub const CONTINUOUS: Cadence = Cadence {
        on_ms: 1,
        off_ms: 0,
    };
}

/// Whose call-progress tones to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// Russia (GOST / ITU-T E.180 supplement: 425 Hz, ringback 0.8 s on 3.2 s off, busy 0.4/0.4).
    Russia,
    /// CEPT recommendation T/CS 20-15 as most of Europe uses it (425 Hz, ringback 1/4 s, busy 0.5/0.5).
    Europe,
}

/// What a tone sounds like: one or two frequencies, a level and a cadence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneSpec {
    pub frequencies: [f64; 2],
    /// Number of frequencies in use (1 or 2).
    pub count: usize,
    /// RMS level of each frequency component, dBFS (full-scale square wave = 0).
    pub level_dbfs: f64,
    pub cadence: Cadence,
}

/// Level of call-progress tones: about -10 dBm0 on a G.711 line.
const PROGRESS_LEVEL: f64 = -16.0;

impl ToneSpec {
    pub fn sine(freq: f64, level_dbfs: f64) -> Self {
        Self {
            frequencies: [freq, 0.0],
            count: 1,
            level_dbfs,
            cadence: Cadence::CONTINUOUS,
        }
    }

    pub fn dual(f1: f64, f2: f64, level_dbfs: f64) -> Self {
        Self {
            frequencies: [f1, f2],
            count: 2,
            level_dbfs,
            cadence: Cadence::CONTINUOUS,
        }
    }

    pub fn with_cadence(mut self, on_ms: u32, off_ms: u32) -> Self {
        self.cadence = Cadence { on_ms, off_ms };
        self
    }

    pub fn dial(_region: Region) -> Self {
        Self::sine(425.0, PROGRESS_LEVEL)
    }

    pub fn ringback(region: Region) -> Self {
        let tone = Self::sine(425.0, PROGRESS_LEVEL);
        match region {
            Region::Russia => tone.with_cadence(800, 3200),
            Region::Europe => tone.with_cadence(1000, 4000),
        }
    }

    pub fn busy(region: Region) -> Self {
        let tone = Self::sine(425.0, PROGRESS_LEVEL);
        match region {
            Region::Russia => tone.with_cadence(400, 400),
            Region::Europe => tone.with_cadence(500, 500),
        }
    }

    /// Congestion ("all lines busy"): the fast cadence.
    pub fn congestion(_region: Region) -> Self {
        Self::sine(425.0, PROGRESS_LEVEL).with_cadence(200, 200)
    }
}

/// Produces a tone into caller buffers, sample-exact across calls, so 20 ms
/// frames join without clicks and cadences keep their length.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    spec: ToneSpec,
    rate: u32,
    phase: [f64; 2],
    step: [f64; 2],
    amplitude: f64,
    /// Samples produced since the start, for the cadence.
    position: u64,
}

impl ToneGenerator {
    pub fn new(spec: ToneSpec, rate: u32) -> Self {
        let step = spec.frequencies.map(|f| TAU * f / f64::from(rate));
        // RMS level → peak of a sine.
        let amplitude = 32768.0 * 10f64.powf(spec.level_dbfs / 20.0) * std::f64::consts::SQRT_2;
        Self {
            spec,
            rate,
            phase: [0.0; 2],
            step,
            amplitude,
            position: 0,
        }
    }

    pub fn spec(&self) -> &ToneSpec {
        &self.spec
    }

    fn is_on(&self, position: u64) -> bool {
        let c = self.spec.cadence;
        if c.off_ms == 0 {
            return true;
        }
        let period = u64::from(c.on_ms + c.off_ms) * u64::from(self.rate) / 1000;
        let on = u64::from(c.on_ms) * u64::from(self.rate) / 1000;
        position % period.max(1) < on
    }

    /// Fills `out` with the next samples of the tone.
    pub fn fill(&mut self, out: &mut [i16]) {
        let count = self.spec.count.min(2);
        for o in out.iter_mut() {
            let mut v = 0.0;
            if self.is_on(self.position) {
                for k in 0..count {
                    v += self.phase[k].sin();
                }
            }
            for k in 0..count {
                self.phase[k] += self.step[k];
                if self.phase[k] > TAU {
                    self.phase[k] -= TAU;
                }
            }
            self.position += 1;
            *o = (v * self.amplitude).round().clamp(-32768.0, 32767.0) as i16;
        }
    }

    /// Restarts the cadence (a new ringback starts with its tone on).
    pub fn restart(&mut self) {
        self.position = 0;
        self.phase = [0.0; 2];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{dominant_frequency, rms_dbfs};

    fn render(spec: ToneSpec, ms: usize) -> Vec<i16> {
        let mut g = ToneGenerator::new(spec, 8000);
        let mut out = vec![0i16; ms * 8];
        // In 20 ms frames, as a call would.
        for frame in out.chunks_mut(160) {
            g.fill(frame);
        }
        out
    }

    #[test]
    fn sine_has_its_frequency_and_level() {
        let s = render(ToneSpec::sine(1000.0, -10.0), 1000);
        assert!((dominant_frequency(&s, 8000) - 1000.0).abs() < 2.0);
        assert!((rms_dbfs(&s) - -10.0).abs() < 0.1);
    }

    #[test]
    fn russian_ringback_is_425_hz_for_800_ms_then_silent() {
        let s = render(ToneSpec::ringback(Region::Russia), 4000);
        let on = &s[..800 * 8];
        let off = &s[800 * 8..4000 * 8];
        assert!((dominant_frequency(on, 8000) - 425.0).abs() < 2.0);
        assert!(off.iter().all(|&x| x == 0));
        // Next period starts with the tone again.
        let s = render(ToneSpec::ringback(Region::Russia), 4100);
        assert!(rms_dbfs(&s[4000 * 8..]) > -20.0);
    }

    #[test]
    fn busy_cadences_differ_by_region() {
        let ru = render(ToneSpec::busy(Region::Russia), 1000);
        let eu = render(ToneSpec::busy(Region::Europe), 1000);
        // At 450 ms the Russian tone is off, the European one still on.
        assert_eq!(rms_dbfs(&ru[450 * 8..460 * 8]), f64::NEG_INFINITY);
        assert!(rms_dbfs(&eu[450 * 8..460 * 8]) > -20.0);
    }
}
