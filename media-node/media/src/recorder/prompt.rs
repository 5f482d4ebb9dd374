use std::io::{self, Read};
use std::sync::Arc;

use thiserror::Error;

use crate::g711::{alaw_decode, ulaw_decode};

#[derive(Debug, Error)]
pub enum WavError {
    #[error("reading the WAV failed: {0}")]
    Io(#[from] io::Error),
    #[error("not a WAV file (no RIFF/WAVE header)")]
    NotWav,
    #[error("WAV has no {0} chunk")]
    MissingChunk(&'static str),
    #[error("WAV format {format} with {bits} bits: prompts must be PCM 16-bit, µ-law or A-law")]
    UnsupportedFormat { format: u16, bits: u16 },
    #[error("WAV is {channels}-channel at {rate} Hz: prompts must be mono 8000 Hz")]
    UnsupportedLayout { channels: u16, rate: u32 },
    #[error("WAV data of {0} bytes is over the {MAX_PROMPT_BYTES}-byte limit for a prompt")]
    TooLarge(u64),
}

/// Ten minutes of 8 kHz 16-bit audio: any longer is not a prompt.
const MAX_PROMPT_BYTES: u64 = 10 * 60 * 8000 * 2;

const FORMAT_PCM: u16 = 1;
const FORMAT_ALAW: u16 = 6;
const FORMAT_MULAW: u16 = 7;

/// A decoded prompt (8 kHz mono), shared by every call that plays it.
#[derive(Debug, Clone)]
pub struct Prompt {
    samples: Arc<[i16]>,
}

fn read_exact_vec(r: &mut impl Read, n: u64) -> Result<Vec<u8>, WavError> {
    let mut v = Vec::new();
    r.take(n).read_to_end(&mut v)?;
    if (v.len() as u64) < n {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    Ok(v)
}

impl Prompt {
    /// Reads a WAV (PCM 16-bit, µ-law or A-law; 8 kHz mono), skipping chunks
    /// it does not need (LIST, fact…).
    pub fn from_wav(mut r: impl Read) -> Result<Self, WavError> {
        let mut riff = [0u8; 12];
        r.read_exact(&mut riff).map_err(|_| WavError::NotWav)?;
        if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
            return Err(WavError::NotWav);
        }
        let mut format = None;
        loop {
            let mut head = [0u8; 8];
            if r.read_exact(&mut head).is_err() {
                return Err(WavError::MissingChunk(if format.is_some() {
                    "data"
                } else {
                    "fmt "
                }));
            }
            let len = u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]]));
            // Chunks are padded to an even length.
            let padded = len + (len & 1);
            match &head[0..4] {
                b"fmt " => {
                    // 16-40 bytes in practice; a huge one is a broken file.
                    if padded > 1024 {
                        return Err(WavError::MissingChunk("fmt "));
                    }
                    let fmt = read_exact_vec(&mut r, padded)?;
                    if fmt.len() < 16 {
                        return Err(WavError::MissingChunk("fmt "));
                    }
                    let u16at = |i: usize| u16::from_le_bytes([fmt[i], fmt[i + 1]]);
                    let tag = u16at(0);
                    let channels = u16at(2);
                    let rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
                    let bits = u16at(14);
                    match (tag, bits) {
                        (FORMAT_PCM, 16) | (FORMAT_ALAW, 8) | (FORMAT_MULAW, 8) => {}
                        _ => return Err(WavError::UnsupportedFormat { format: tag, bits }),
                    }
                    if channels != 1 || rate != 8000 {
                        return Err(WavError::UnsupportedLayout { channels, rate });
                    }
                    format = Some(tag);
                }
                b"data" => {
                    let tag = format.ok_or(WavError::MissingChunk("fmt "))?;
                    if len > MAX_PROMPT_BYTES {
                        return Err(WavError::TooLarge(len));
                    }
                    let data = read_exact_vec(&mut r, len)?;
                    let samples: Vec<i16> = match tag {
                        FORMAT_PCM => data
                            .chunks_exact(2)
                            .map(|c| i16::from_le_bytes([c[0], c[1]]))
                            .collect(),
                        FORMAT_ALAW => data.iter().map(|&b| alaw_decode(b)).collect(),
                        _ => data.iter().map(|&b| ulaw_decode(b)).collect(),
                    };
                    return Ok(Self {
                        samples: samples.into(),
                    });
                }
                _ => {
                    io::copy(&mut (&mut r).take(padded), &mut io::sink())?;
                }
            }
        }
    }

    pub fn from_samples(samples: Vec<i16>) -> Self {
        Self {
            samples: samples.into(),
        }
    }

    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 / 8
    }

    /// A cursor for one call; cheap (the samples are shared).
    pub fn player(&self, looping: bool) -> PromptPlayer {
        PromptPlayer {
            samples: Arc::clone(&self.samples),
            position: 0,
            looping,
        }
    }
}

/// Plays a prompt in frames (20 ms = 160 samples at 8 kHz), looping if asked.
#[derive(Debug, Clone)]
pub struct PromptPlayer {
    samples: Arc<[i16]>,
    position: usize,
    looping: bool,
}

impl PromptPlayer {
    /// Fills `out`; past the end of a one-shot prompt the rest is silence and
    /// the result is false.
    pub fn next_frame(&mut self, out: &mut [i16]) -> bool {
        let mut filled = 0;
        while filled < out.len() {
            if self.position >= self.samples.len() {
                if self.looping && !self.samples.is_empty() {
                    self.position = 0;
                } else {
                    out[filled..].fill(0);
                    return filled > 0;
                }
            }
            let n = (out.len() - filled).min(self.samples.len() - self.position);
            out[filled..filled + n]
                .copy_from_slice(&self.samples[self.position..self.position + n]);
            filled += n;
            self.position += n;
        }
        true
    }

    pub fn is_finished(&self) -> bool {
        !self.looping && self.position >= self.samples.len()
    }

    pub fn rewind(&mut self) {
        self.position = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::wav::pcm16_header;

    fn wav(
        tag: u16,
        bits: u16,
        channels: u16,
        rate: u32,
        data: &[u8],
        extra_chunk: bool,
    ) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF\0\0\0\0WAVE");
        if extra_chunk {
            v.extend_from_slice(b"LIST\x03\0\0\0abc\0");
        }
        v.extend_from_slice(b"fmt \x10\0\0\0");
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * u32::from(bits / 8)).to_le_bytes());
        v.extend_from_slice(&(bits / 8).to_le_bytes());
        v.extend_from_slice(&bits.to_le_bytes());
        v.extend_from_slice(b"data");
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn reads_pcm_ulaw_and_alaw() {
        let pcm: Vec<u8> = [100i16, -200, 300]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let p = Prompt::from_wav(&wav(1, 16, 1, 8000, &pcm, true)[..]).unwrap();
        assert_eq!(p.samples(), &[100, -200, 300]);
        let p = Prompt::from_wav(&wav(7, 8, 1, 8000, &[0xff, 0x80], false)[..]).unwrap();
        assert_eq!(p.samples(), &[0, 32124]);
        let p = Prompt::from_wav(&wav(6, 8, 1, 8000, &[0xd5], false)[..]).unwrap();
        assert_eq!(p.samples(), &[8]);
        // Our own recorder's header reads back too (as mono it is a prompt).
        let mut own = pcm16_header(8000, 1, 2).to_vec();
        own.extend_from_slice(&7i16.to_le_bytes());
        assert_eq!(Prompt::from_wav(&own[..]).unwrap().samples(), &[7]);
    }

    #[test]
    fn refuses_other_formats_with_a_clear_error() {
        let e = Prompt::from_wav(&wav(1, 16, 2, 8000, &[0; 4], false)[..]).unwrap_err();
        assert!(matches!(
            e,
            WavError::UnsupportedLayout {
                channels: 2,
                rate: 8000
            }
        ));
        let e = Prompt::from_wav(&wav(1, 16, 1, 44100, &[0; 4], false)[..]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "WAV is 1-channel at 44100 Hz: prompts must be mono 8000 Hz"
        );
        let e = Prompt::from_wav(&wav(3, 32, 1, 8000, &[0; 4], false)[..]).unwrap_err();
        assert!(matches!(
            e,
            WavError::UnsupportedFormat {
                format: 3,
                bits: 32
            }
        ));
        assert!(matches!(
            Prompt::from_wav(&b"RIFX...."[..]),
            Err(WavError::NotWav)
        ));
        let mut truncated = wav(1, 16, 1, 8000, &[0; 10], false);
        truncated.truncate(truncated.len() - 4);
        assert!(Prompt::from_wav(&truncated[..]).is_err());
    }

    #[test]
    fn player_loops_or_ends_with_silence() {
        let p = Prompt::from_samples((1..=250).collect());
        let mut looping = p.player(true);
        let mut frame = [0i16; 160];
        assert!(looping.next_frame(&mut frame));
        assert!(looping.next_frame(&mut frame));
        // Second frame: samples 161..=250 then the start again.
        assert_eq!(frame[89], 250);
        assert_eq!(frame[90], 1);
        let mut once = p.player(false);
        assert!(once.next_frame(&mut frame));
        assert!(once.next_frame(&mut frame));
        assert_eq!(frame[90..], [0; 70]);
        assert!(once.is_finished());
        assert!(!once.next_frame(&mut frame));
        once.rewind();
        assert!(!once.is_finished());
    }
}
