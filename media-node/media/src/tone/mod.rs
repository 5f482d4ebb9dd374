//! Call-progress tones, silence, comfort noise and the analysis tests use to
//! check what a listener would hear.

mod analysis;
mod cng;
mod generator;

pub use analysis::{dominant_frequency, goertzel_power, rms_dbfs, tone_dbfs};
pub use cng::{CnError, ComfortNoise, NoiseGenerator};
pub use generator::{Cadence, Region, ToneGenerator, ToneSpec};
