use super::{CodecError, check_out};

/// G.711 decoding with a simple concealment: the last frame repeated at
/// falling level for a few frames, then silence. A repeat hides a single lost
/// packet better than a gap; longer repeats would buzz.
#[derive(Debug, Clone)]
pub struct G711Decoder {
    last: [i16; 160],
    lost_in_row: u32,
}

impl Default for G711Decoder {
    fn default() -> Self {
        Self {
            last: [0; 160],
            lost_in_row: 0,
        }
    }
}

const FADE_FRAMES: u32 = 3;

impl G711Decoder {
    pub fn decode(
        &mut self,
        payload: &[u8],
        out: &mut [i16],
        decode: fn(&[u8], &mut [i16]) -> usize,
    ) -> Result<usize, CodecError> {
        check_out(payload.len(), out.len())?;
        let n = decode(payload, out);
        let keep = n.min(160);
        self.last[..keep].copy_from_slice(&out[..keep]);
        self.last[keep..].fill(0);
        self.lost_in_row = 0;
        Ok(n)
    }

    pub fn conceal(&mut self, out: &mut [i16]) -> Result<usize, CodecError> {
        check_out(160, out.len())?;
        self.lost_in_row += 1;
        let gain = FADE_FRAMES.saturating_sub(self.lost_in_row - 1) as i32;
        for (o, &s) in out[..160].iter_mut().zip(&self.last) {
            *o = (i32::from(s) * gain / (FADE_FRAMES as i32 + 1)) as i16;
        }
        Ok(160)
    }
}
