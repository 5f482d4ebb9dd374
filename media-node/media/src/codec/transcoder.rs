use super::{CodecError, CodecSpec, Decoder, Encoder, MAX_FRAME_SAMPLES, OpusConfig, Resampler};

/// Turns one payload format into another, one 20 ms frame at a time:
/// decode → resample → encode. The decoded source frame stays readable for
/// the recorder, so a transcoded leg is decoded once.
#[derive(Debug)]
pub struct Transcoder {
    from: CodecSpec,
    to: CodecSpec,
    decoder: Decoder,
    encoder: Encoder,
    resampler: Resampler,
    decoded: Box<[i16; MAX_FRAME_SAMPLES]>,
    decoded_len: usize,
    resampled: Box<[i16; MAX_FRAME_SAMPLES]>,
}

impl Transcoder {
    pub fn new(from: CodecSpec, to: CodecSpec) -> Result<Self, CodecError> {
        Self::with_opus_config(from, to, OpusConfig::default())
    }

    pub fn with_opus_config(
        from: CodecSpec,
        to: CodecSpec,
        config: OpusConfig,
    ) -> Result<Self, CodecError> {
        Ok(Self {
            from,
            to,
            decoder: Decoder::new(from)?,
            encoder: Encoder::with_opus_config(to, config)?,
            resampler: Resampler::new(from.pcm_rate(), to.pcm_rate())?,
            decoded: Box::new([0; MAX_FRAME_SAMPLES]),
            decoded_len: 0,
            resampled: Box::new([0; MAX_FRAME_SAMPLES]),
        })
    }

    pub fn from(&self) -> CodecSpec {
        self.from
    }

    pub fn to(&self) -> CodecSpec {
        self.to
    }

    /// Transcodes one received payload; returns the output payload length.
    pub fn transcode(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, CodecError> {
        let n = self.decoder.decode(payload, &mut self.decoded[..])?;
        self.finish(n, out)
    }

    /// Produces an output frame for a lost input packet (source concealment).
    pub fn conceal(&mut self, out: &mut [u8]) -> Result<usize, CodecError> {
        let n = self.decoder.conceal(&mut self.decoded[..])?;
        self.finish(n, out)
    }

    fn finish(&mut self, n: usize, out: &mut [u8]) -> Result<usize, CodecError> {
        let expected = self.from.frame_samples();
        if n != expected {
            return Err(CodecError::FrameLength { expected, got: n });
        }
        self.decoded_len = n;
        let m = self
            .resampler
            .process(&self.decoded[..n], &mut self.resampled[..])?;
        self.encoder.encode(&self.resampled[..m], out)
    }

    /// The last decoded source frame, at the source's PCM rate.
    pub fn source_pcm(&self) -> &[i16] {
        &self.decoded[..self.decoded_len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::MAX_PAYLOAD;
    use crate::tone::{ToneGenerator, ToneSpec, dominant_frequency, rms_dbfs};

    const PCMU: CodecSpec = CodecSpec::Pcmu;
    const OPUS48: CodecSpec = CodecSpec::Opus { pcm_rate: 48000 };

    /// A 1 kHz tone leaves the trunk as PCMU, crosses to the browser as Opus
    /// and comes back as PCMU: what the far party hears on a loop-back.
    #[test]
    fn tone_through_pcmu_opus_pcmu_keeps_frequency_and_level() {
        let mut tone_gen = ToneGenerator::new(ToneSpec::sine(1000.0, -12.0), 8000);
        let mut enc = Encoder::new(PCMU).unwrap();
        let mut to_opus = Transcoder::new(PCMU, OPUS48).unwrap();
        let mut to_pcmu = Transcoder::new(OPUS48, PCMU).unwrap();
        let mut dec = Decoder::new(PCMU).unwrap();
        let mut pcm = [0i16; 160];
        let (mut a, mut b, mut c) = ([0u8; MAX_PAYLOAD], [0u8; MAX_PAYLOAD], [0u8; MAX_PAYLOAD]);
        let mut heard = Vec::new();
        let mut out = [0i16; 160];
        for _ in 0..100 {
            tone_gen.fill(&mut pcm);
            let n = enc.encode(&pcm, &mut a).unwrap();
            let n = to_opus.transcode(&a[..n], &mut b).unwrap();
            assert!(n < 200, "opus payload {n}");
            let n = to_pcmu.transcode(&b[..n], &mut c).unwrap();
            assert_eq!(n, 160);
            dec.decode(&c[..n], &mut out).unwrap();
            heard.extend_from_slice(&out);
        }
        let tail = &heard[8000..];
        assert!((dominant_frequency(tail, 8000) - 1000.0).abs() < 2.0);
        let level = rms_dbfs(tail);
        assert!((level - -12.0).abs() < 1.0, "{level} dBFS");
        assert_eq!(to_opus.source_pcm().len(), 160);
    }

    #[test]
    fn lost_frames_are_concealed_on_the_way() {
        let mut t = Transcoder::new(OPUS48, CodecSpec::Pcma).unwrap();
        let mut out = [0u8; MAX_PAYLOAD];
        assert_eq!(t.conceal(&mut out).unwrap(), 160);
        let mut t = Transcoder::new(PCMU, CodecSpec::Opus { pcm_rate: 16000 }).unwrap();
        assert!(t.conceal(&mut out).unwrap() > 0);
        assert_eq!(t.source_pcm().len(), 160);
    }

    #[test]
    fn pcmu_to_pcma_needs_no_resampling() {
        let mut t = Transcoder::new(PCMU, CodecSpec::Pcma).unwrap();
        let mut out = [0u8; 160];
        assert_eq!(t.transcode(&[0xff; 160], &mut out).unwrap(), 160);
        assert!(out.iter().all(|&b| crate::g711::alaw_decode(b) == 8));
        assert!(t.transcode(&[0xff; 80], &mut out).is_err());
    }
}
