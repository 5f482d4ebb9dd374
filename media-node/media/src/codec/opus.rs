use std::fmt;

use opusic_c::{Application, Bitrate, Channels, ErrorCode, SampleRate};

use super::{CodecError, MAX_FRAME_SAMPLES, check_frame, check_out};

/// Encoder settings; the defaults suit a voice leg to a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusConfig {
    pub bitrate: u32,
    /// 0-10: CPU against quality. 5 keeps 100+ transcoded calls on a core.
    pub complexity: u8,
    /// In-band forward error correction (costs bitrate, helps lossy links).
    pub fec: bool,
    pub expected_loss_percent: u8,
}

impl Default for OpusConfig {
    fn default() -> Self {
        Self {
            bitrate: 32_000,
            complexity: 5,
            fec: false,
            expected_loss_percent: 0,
        }
    }
}

fn opus_err(e: ErrorCode) -> CodecError {
    CodecError::Opus(format!("{e:?}"))
}

fn sample_rate(rate: u32) -> Result<SampleRate, CodecError> {
    Ok(match rate {
        8000 => SampleRate::Hz8000,
        16000 => SampleRate::Hz16000,
        48000 => SampleRate::Hz48000,
        other => return Err(CodecError::UnsupportedRate(other)),
    })
}

/// The libopus int16 API takes `u16` in this binding; the bits are the same.
fn to_bits(pcm: &[i16], scratch: &mut [u16]) {
    for (d, &s) in scratch.iter_mut().zip(pcm) {
        *d = s as u16;
    }
}

pub struct OpusEncoder {
    inner: opusic_c::Encoder,
    frame: usize,
    scratch: [u16; MAX_FRAME_SAMPLES],
}

impl fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("frame", &self.frame)
            .finish()
    }
}

impl OpusEncoder {
    pub fn new(rate: u32, config: OpusConfig) -> Result<Self, CodecError> {
        let mut inner =
            opusic_c::Encoder::new(Channels::Mono, sample_rate(rate)?, Application::Voip)
                .map_err(opus_err)?;
        inner
            .set_bitrate(Bitrate::Value(config.bitrate))
            .map_err(opus_err)?;
        inner
            .set_complexity(config.complexity.min(10))
            .map_err(opus_err)?;
        inner
            .set_inband_fec(if config.fec {
                opusic_c::InbandFec::Mode1
            } else {
                opusic_c::InbandFec::Off
            })
            .map_err(opus_err)?;
        inner
            .set_packet_loss(config.expected_loss_percent.min(100))
            .map_err(opus_err)?;
        Ok(Self {
            inner,
            frame: rate as usize / 50,
            scratch: [0; MAX_FRAME_SAMPLES],
        })
    }

    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        check_frame(self.frame, pcm.len())?;
        to_bits(pcm, &mut self.scratch);
        self.inner
            .encode_to_slice(&self.scratch[..self.frame], out)
            .map_err(opus_err)
    }
}

/// Largest frame libopus may return: 120 ms at 48 kHz.
const MAX_DECODED: usize = 5760;

pub struct OpusDecoder {
    inner: opusic_c::Decoder,
    frame: usize,
    scratch: Box<[u16; MAX_DECODED]>,
}

impl fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpusDecoder")
            .field("frame", &self.frame)
            .finish()
    }
}

impl OpusDecoder {
    pub fn new(rate: u32) -> Result<Self, CodecError> {
        let inner = opusic_c::Decoder::new(Channels::Mono, sample_rate(rate)?).map_err(opus_err)?;
        Ok(Self {
            inner,
            frame: rate as usize / 50,
            scratch: Box::new([0; MAX_DECODED]),
        })
    }

    fn copy_out(&self, n: usize, out: &mut [i16]) -> Result<usize, CodecError> {
        check_out(n, out.len())?;
        for (o, &s) in out.iter_mut().zip(&self.scratch[..n]) {
            *o = s as i16;
        }
        Ok(n)
    }

    /// Decodes a packet of any duration libopus accepts (2.5-120 ms); callers
    /// on 20 ms frames get `rate / 50` samples.
    pub fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        if payload.is_empty() {
            return self.conceal(out);
        }
        let n = self
            .inner
            .decode_to_slice(payload, &mut self.scratch[..], false)
            .map_err(opus_err)?;
        self.copy_out(n, out)
    }

    pub fn conceal(&mut self, out: &mut [i16]) -> Result<usize, CodecError> {
        let frame = self.frame;
        let n = self
            .inner
            .decode_to_slice(&[], &mut self.scratch[..frame], false)
            .map_err(opus_err)?;
        self.copy_out(n, out)
    }
}
