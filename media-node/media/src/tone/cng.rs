use thiserror::Error;

#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum CnError {
    #[error("comfort-noise payload is empty")]
    Empty,
    #[error("comfort-noise level {0} is outside 0..=127 (-dBov)")]
    BadLevel(u8),
    #[error("buffer of {available} bytes, payload needs {needed}")]
    BufferTooSmall { needed: usize, available: usize },
}

/// RFC 3389 comfort-noise payload: a level and optional spectral coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComfortNoise<'a> {
    /// Noise level in -dBov (0 is loudest, 127 quietest).
    pub level: u8,
    /// Reflection coefficients (model order = their count); empty for white noise.
    pub coefficients: &'a [u8],
}

impl<'a> ComfortNoise<'a> {
    pub fn parse(payload: &'a [u8]) -> Result<Self, CnError> {
        let (&level, coefficients) = payload.split_first().ok_or(CnError::Empty)?;
        if level > 127 {
            return Err(CnError::BadLevel(level));
        }
        Ok(Self {
            level,
            coefficients,
        })
    }

    pub fn write(&self, out: &mut [u8]) -> Result<usize, CnError> {
        if self.level > 127 {
            return Err(CnError::BadLevel(self.level));
        }
        let needed = 1 + self.coefficients.len();
        if out.len() < needed {
            return Err(CnError::BufferTooSmall {
                needed,
                available: out.len(),
            });
        }
        out[0] = self.level;
        out[1..needed].copy_from_slice(self.coefficients);
        Ok(needed)
    }

    /// The level to announce for background noise measured at `rms_dbfs`.
    pub fn level_for(rms_dbfs: f64) -> u8 {
        (-rms_dbfs).round().clamp(0.0, 127.0) as u8
    }
}

/// White noise at a given level: what a receiver plays for a CN packet, and
/// what keeps a held or muted line from sounding dead.
#[derive(Debug, Clone)]
pub struct NoiseGenerator {
    state: u64,
    /// Half-width of the uniform distribution giving the wanted RMS.
    scale: f64,
}

impl NoiseGenerator {
    /// `level` in -dBov as in the CN payload (e.g. 60 → -60 dBFS RMS).
    pub fn new(level: u8, seed: u64) -> Self {
        let rms = 32768.0 * 10f64.powf(-f64::from(level.min(127)) / 20.0);
        Self {
            // xorshift must not start at zero.
            state: seed | 1,
            // A uniform variable on [-a, a] has RMS a/√3.
            scale: rms * 3f64.sqrt(),
        }
    }

    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    pub fn fill(&mut self, out: &mut [i16]) {
        for o in out {
            let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
            *o = ((u * 2.0 - 1.0) * self.scale)
                .round()
                .clamp(-32768.0, 32767.0) as i16;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::rms_dbfs;

    #[test]
    fn payload_round_trip_and_errors() {
        let cn = ComfortNoise {
            level: 64,
            coefficients: &[10, 20, 30],
        };
        let mut buf = [0u8; 8];
        let n = cn.write(&mut buf).unwrap();
        assert_eq!(ComfortNoise::parse(&buf[..n]).unwrap(), cn);
        assert_eq!(ComfortNoise::parse(&[]), Err(CnError::Empty));
        assert_eq!(ComfortNoise::parse(&[200]), Err(CnError::BadLevel(200)));
        assert!(cn.write(&mut buf[..2]).is_err());
    }

    #[test]
    fn noise_has_the_announced_level() {
        let mut g = NoiseGenerator::new(50, 42);
        let mut s = vec![0i16; 8000];
        g.fill(&mut s);
        assert!((rms_dbfs(&s) - -50.0).abs() < 0.5, "{}", rms_dbfs(&s));
        assert_eq!(ComfortNoise::level_for(rms_dbfs(&s)), 50);
    }
}
