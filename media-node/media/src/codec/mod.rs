//! Audio codecs on 20 ms frames of i16 PCM: G.711 (PCMU/PCMA) and Opus
//! (through the system libopus), resampling between their rates, and a
//! transcoder that turns one payload format into another frame by frame.

mod g711_codec;
mod opus;
mod resample;
mod transcoder;

use thiserror::Error;

pub use opus::OpusConfig;
pub use resample::Resampler;
pub use transcoder::Transcoder;

use g711_codec::G711Decoder;
use opus::{OpusDecoder, OpusEncoder};

/// 20 ms at 48 kHz: the largest frame any codec here works on.
pub const MAX_FRAME_SAMPLES: usize = 960;
/// Largest Opus packet (RFC 6716 §3.4 R2), which also bounds G.711 at 20 ms.
pub const MAX_PAYLOAD: usize = 1275;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CodecError {
    #[error("libopus: {0}")]
    Opus(String),
    #[error("frame of {got} samples, the codec takes {expected} (20 ms)")]
    FrameLength { expected: usize, got: usize },
    #[error("output buffer of {available}, needs {needed}")]
    BufferTooSmall { needed: usize, available: usize },
    #[error("sample rate {0} Hz is not supported here")]
    UnsupportedRate(u32),
    #[error("cannot resample {from} Hz to {to} Hz: not an integer ratio")]
    UnsupportedRatio { from: u32, to: u32 },
}

/// A payload format as negotiated in SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecSpec {
    Pcmu,
    Pcma,
    /// Opus; the RTP clock is always 48 kHz (RFC 7587), `pcm_rate` is the rate
    /// the PCM side works at: 8000, 16000 or 48000.
    Opus {
        pcm_rate: u32,
    },
}

impl CodecSpec {
    /// Static payload type, if the format has one (RFC 3551).
    pub fn static_payload_type(&self) -> Option<u8> {
        match self {
            Self::Pcmu => Some(0),
            Self::Pcma => Some(8),
            Self::Opus { .. } => None,
        }
    }

    pub fn rtp_clock_rate(&self) -> u32 {
        match self {
            Self::Pcmu | Self::Pcma => 8000,
            Self::Opus { .. } => 48000,
        }
    }

    /// RTP timestamp units in one 20 ms frame.
    pub fn frame_units(&self) -> u32 {
        self.rtp_clock_rate() / 50
    }

    pub fn pcm_rate(&self) -> u32 {
        match self {
            Self::Pcmu | Self::Pcma => 8000,
            Self::Opus { pcm_rate } => *pcm_rate,
        }
    }

    /// PCM samples in one 20 ms frame.
    pub fn frame_samples(&self) -> usize {
        self.pcm_rate() as usize / 50
    }

    /// Wider than telephone band: the recorder then records at 16 kHz.
    pub fn is_wideband(&self) -> bool {
        self.pcm_rate() > 8000
    }
}

fn check_frame(expected: usize, got: usize) -> Result<(), CodecError> {
    if expected == got {
        Ok(())
    } else {
        Err(CodecError::FrameLength { expected, got })
    }
}

fn check_out(needed: usize, available: usize) -> Result<(), CodecError> {
    if available >= needed {
        Ok(())
    } else {
        Err(CodecError::BufferTooSmall { needed, available })
    }
}

/// Encodes 20 ms PCM frames into payloads.
#[derive(Debug)]
pub enum Encoder {
    Pcmu,
    Pcma,
    Opus(Box<OpusEncoder>),
}

impl Encoder {
    pub fn new(spec: CodecSpec) -> Result<Self, CodecError> {
        Self::with_opus_config(spec, OpusConfig::default())
    }

    pub fn with_opus_config(spec: CodecSpec, config: OpusConfig) -> Result<Self, CodecError> {
        Ok(match spec {
            CodecSpec::Pcmu => Self::Pcmu,
            CodecSpec::Pcma => Self::Pcma,
            CodecSpec::Opus { pcm_rate } => {
                Self::Opus(Box::new(OpusEncoder::new(pcm_rate, config)?))
            }
        })
    }

    /// Encodes one 20 ms frame; returns the payload length.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        match self {
            Self::Pcmu => {
                check_frame(160, pcm.len())?;
                check_out(160, out.len())?;
                Ok(crate::g711::encode_ulaw(pcm, out))
            }
            Self::Pcma => {
                check_frame(160, pcm.len())?;
                check_out(160, out.len())?;
                Ok(crate::g711::encode_alaw(pcm, out))
            }
            Self::Opus(e) => e.encode(pcm, out),
        }
    }
}

/// Decodes payloads into 20 ms PCM frames and conceals lost ones.
#[derive(Debug)]
pub enum Decoder {
    Pcmu(G711Decoder),
    Pcma(G711Decoder),
    Opus(Box<OpusDecoder>),
}

impl Decoder {
    pub fn new(spec: CodecSpec) -> Result<Self, CodecError> {
        Ok(match spec {
            CodecSpec::Pcmu => Self::Pcmu(G711Decoder::default()),
            CodecSpec::Pcma => Self::Pcma(G711Decoder::default()),
            CodecSpec::Opus { pcm_rate } => Self::Opus(Box::new(OpusDecoder::new(pcm_rate)?)),
        })
    }

    /// Decodes one packet's payload; returns the samples written.
    pub fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        match self {
            Self::Pcmu(d) => d.decode(payload, out, crate::g711::decode_ulaw),
            Self::Pcma(d) => d.decode(payload, out, crate::g711::decode_alaw),
            Self::Opus(d) => d.decode(payload, out),
        }
    }

    /// Fills one 20 ms frame for a lost packet: Opus's own concealment, or a
    /// fading repeat of the last G.711 frame.
    pub fn conceal(&mut self, out: &mut [i16]) -> Result<usize, CodecError> {
        match self {
            Self::Pcmu(d) | Self::Pcma(d) => d.conceal(out),
            Self::Opus(d) => d.conceal(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{ToneGenerator, ToneSpec, dominant_frequency, rms_dbfs};

    #[test]
    fn spec_figures() {
        assert_eq!(CodecSpec::Pcmu.static_payload_type(), Some(0));
        assert_eq!(CodecSpec::Pcma.static_payload_type(), Some(8));
        let opus = CodecSpec::Opus { pcm_rate: 16000 };
        assert_eq!(
            (
                opus.rtp_clock_rate(),
                opus.frame_units(),
                opus.frame_samples()
            ),
            (48000, 960, 320)
        );
        assert!(opus.is_wideband() && !CodecSpec::Pcmu.is_wideband());
    }

    #[test]
    fn every_codec_carries_a_tone_frame_by_frame() {
        for spec in [
            CodecSpec::Pcmu,
            CodecSpec::Pcma,
            CodecSpec::Opus { pcm_rate: 8000 },
            CodecSpec::Opus { pcm_rate: 16000 },
            CodecSpec::Opus { pcm_rate: 48000 },
        ] {
            let rate = spec.pcm_rate();
            let n = spec.frame_samples();
            let mut enc = Encoder::new(spec).unwrap();
            let mut dec = Decoder::new(spec).unwrap();
            let mut tone_gen = ToneGenerator::new(ToneSpec::sine(1000.0, -12.0), rate);
            let mut pcm = vec![0i16; n];
            let mut payload = [0u8; MAX_PAYLOAD];
            let mut decoded = Vec::new();
            let mut frame = vec![0i16; n];
            for _ in 0..50 {
                tone_gen.fill(&mut pcm);
                let len = enc.encode(&pcm, &mut payload).unwrap();
                assert_eq!(dec.decode(&payload[..len], &mut frame).unwrap(), n);
                decoded.extend_from_slice(&frame);
            }
            let tail = &decoded[decoded.len() / 2..];
            let f = dominant_frequency(tail, rate);
            assert!((f - 1000.0).abs() < 3.0, "{spec:?}: {f} Hz");
            let level = rms_dbfs(tail);
            assert!((level - -12.0).abs() < 1.0, "{spec:?}: {level} dBFS");
        }
    }

    #[test]
    fn wrong_frame_sizes_and_small_buffers_are_errors() {
        let mut enc = Encoder::new(CodecSpec::Pcmu).unwrap();
        assert_eq!(
            enc.encode(&[0; 100], &mut [0; 160]),
            Err(CodecError::FrameLength {
                expected: 160,
                got: 100
            })
        );
        let mut enc = Encoder::new(CodecSpec::Opus { pcm_rate: 48000 }).unwrap();
        assert!(enc.encode(&[0; 160], &mut [0; 1000]).is_err());
        let mut dec = Decoder::new(CodecSpec::Opus { pcm_rate: 48000 }).unwrap();
        assert!(dec.decode(&[0xff, 0xff, 0xff], &mut [0; 960]).is_err());
        assert!(matches!(
            Decoder::new(CodecSpec::Opus { pcm_rate: 44100 }),
            Err(CodecError::UnsupportedRate(44100))
        ));
    }

    #[test]
    fn concealment_fills_a_frame_and_fades() {
        let mut dec = Decoder::new(CodecSpec::Pcmu).unwrap();
        let mut frame = [0i16; 160];
        let loud = [0x80u8; 160];
        dec.decode(&loud, &mut frame).unwrap();
        let mut lost = [0i16; 160];
        assert_eq!(dec.conceal(&mut lost).unwrap(), 160);
        let first = rms_dbfs(&lost);
        assert!(first < rms_dbfs(&frame) && first > -20.0);
        for _ in 0..5 {
            dec.conceal(&mut lost).unwrap();
        }
        assert_eq!(rms_dbfs(&lost), f64::NEG_INFINITY);
        let mut opus = Decoder::new(CodecSpec::Opus { pcm_rate: 48000 }).unwrap();
        let mut big = [0i16; 960];
        assert_eq!(opus.conceal(&mut big).unwrap(), 960);
    }
}
