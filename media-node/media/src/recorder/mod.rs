//! Call recording (a streaming stereo WAV writer aligned by media time), a
//! mono mixer, and WAV prompts for playback (hold music, announcements).

mod mix;
mod prompt;
mod stereo;
mod wav;

pub use mix::mix_into;
pub use prompt::{Prompt, PromptPlayer, WavError};
pub use stereo::{Leg, RecorderError, StereoRecorder};
