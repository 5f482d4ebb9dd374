//! G.711 µ-law (PCMU) and A-law (PCMA), ITU-T G.711.
//!
//! Decoding is a 256-entry table built at compile time; encoding finds the
//! segment from the position of the top bit, so neither needs a branch per
//! segment nor a 64 KiB table that would crowd the cache of a busy relay.

const ULAW_BIAS: i32 = 0x84;
const ALAW_AMI_MASK: u8 = 0x55;

const fn ulaw_to_linear(u: u8) -> i16 {
    let u = !u as i32;
    let t = (((u & 0x0f) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);
    (if u & 0x80 != 0 {
        ULAW_BIAS - t
    } else {
        t - ULAW_BIAS
    }) as i16
}

const fn alaw_to_linear(a: u8) -> i16 {
    let a = a ^ ALAW_AMI_MASK;
    let mut i = ((a & 0x0f) as i32) << 4;
    let seg = ((a & 0x70) >> 4) as i32;
    if seg != 0 {
        i = (i + 0x108) << (seg - 1);
    } else {
        i += 8;
    }
    (if a & 0x80 != 0 { i } else { -i }) as i16
}

const fn table(alaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if alaw {
            alaw_to_linear(i as u8)
        } else {
            ulaw_to_linear(i as u8)
        };
        i += 1;
    }
    t
}

static ULAW_DECODE: [i16; 256] = table(false);
static ALAW_DECODE: [i16; 256] = table(true);

fn top_bit(v: i32) -> i32 {
    31 - v.leading_zeros() as i32
}

#[inline]
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut pcm = i32::from(sample);
    let mask = if pcm < 0 {
        pcm = ULAW_BIAS - pcm;
        0x7f
    } else {
        pcm += ULAW_BIAS;
        0xff
    };
    let seg = top_bit(pcm | 0xff) - 7;
    let code = if seg >= 8 {
        0x7f
    } else {
        (seg << 4) | ((pcm >> (seg + 3)) & 0x0f)
    };
    (code as u8) ^ mask
}

#[inline]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_DECODE[usize::from(code)]
}

#[inline]
pub fn alaw_encode(sample: i16) -> u8 {
    let (mask, mag) = if sample >= 0 {
        (ALAW_AMI_MASK | 0x80, i32::from(sample))
    } else {
        (ALAW_AMI_MASK, -i32::from(sample) - 1)
    };
    // mag <= 32767, so the segment never exceeds 7.
    let seg = top_bit(mag | 0xff) - 7;
    let shift = if seg == 0 { 4 } else { seg + 3 };
    (((seg << 4) | ((mag >> shift) & 0x0f)) as u8) ^ mask
}

#[inline]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_DECODE[usize::from(code)]
}

/// Encodes `min(pcm.len(), out.len())` samples; returns how many.
pub fn encode_ulaw(pcm: &[i16], out: &mut [u8]) -> usize {
    let n = pcm.len().min(out.len());
    for (o, &s) in out[..n].iter_mut().zip(&pcm[..n]) {
        *o = ulaw_encode(s);
    }
    n
}

pub fn decode_ulaw(codes: &[u8], out: &mut [i16]) -> usize {
    let n = codes.len().min(out.len());
    for (o, &c) in out[..n].iter_mut().zip(&codes[..n]) {
        *o = ulaw_decode(c);
    }
    n
}

pub fn encode_alaw(pcm: &[i16], out: &mut [u8]) -> usize {
    let n = pcm.len().min(out.len());
    for (o, &s) in out[..n].iter_mut().zip(&pcm[..n]) {
        *o = alaw_encode(s);
    }
    n
}

pub fn decode_alaw(codes: &[u8], out: &mut [i16]) -> usize {
    let n = codes.len().min(out.len());
    for (o, &c) in out[..n].iter_mut().zip(&codes[..n]) {
        *o = alaw_decode(c);
    }
    n
}

/// PCMA → PCMU without going through the caller's PCM buffers.
pub fn alaw_to_ulaw(code: u8) -> u8 {
    ulaw_encode(alaw_decode(code))
}

/// PCMU → PCMA.
pub fn ulaw_to_alaw(code: u8) -> u8 {
    alaw_encode(ulaw_decode(code))
}

/// The byte a silent 20 ms frame is filled with.
pub const ULAW_SILENCE: u8 = 0xff;
pub const ALAW_SILENCE: u8 = 0xd5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_values() {
        // Values from the G.711 tables (and the widely used Sun reference code).
        assert_eq!(ulaw_decode(0xff), 0);
        assert_eq!(ulaw_decode(0x7f), 0);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0xfe), 8);
        assert_eq!(ulaw_decode(0xef), 132);
        assert_eq!(alaw_decode(0xd5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xaa), 32256);
        assert_eq!(alaw_decode(0x2a), -32256);
        assert_eq!(alaw_decode(0xd4), 24);
        assert_eq!(ulaw_encode(0), 0xff);
        assert_eq!(ulaw_encode(32767), 0x80);
        assert_eq!(ulaw_encode(-32768), 0x00);
        assert_eq!(ulaw_encode(-1), 0x7f);
        assert_eq!(alaw_encode(0), 0xd5);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(alaw_encode(32767), 0xaa);
        assert_eq!(alaw_encode(-32768), 0x2a);
        assert_eq!(ULAW_SILENCE, ulaw_encode(0));
        assert_eq!(ALAW_SILENCE, alaw_encode(0));
    }

    #[test]
    fn every_code_survives_decode_then_encode() {
        for c in 0..=255u8 {
            // µ-law has two zeros (0x7f and 0xff); both decode to 0.
            if c != 0x7f {
                assert_eq!(ulaw_encode(ulaw_decode(c)), c, "ulaw {c:#x}");
            }
            assert_eq!(alaw_encode(alaw_decode(c)), c, "alaw {c:#x}");
        }
    }

    #[test]
    fn encoding_is_monotonic_and_error_is_bounded() {
        let mut prev_u = i32::MIN;
        let mut prev_a = i32::MIN;
        for s in i16::MIN..=i16::MAX {
            let u = ulaw_decode(ulaw_encode(s));
            let a = alaw_decode(alaw_encode(s));
            assert!(i32::from(u) >= prev_u && i32::from(a) >= prev_a, "at {s}");
            prev_u = i32::from(u);
            prev_a = i32::from(a);
            // Log quantisation: error within half a step of the top segment
            // (plus clipping at full scale).
            let limit =
                (i32::from(s).abs() / 16).max(16) + 700 * i32::from(s.unsigned_abs() > 32000);
            assert!(
                (i32::from(u) - i32::from(s)).abs() <= limit,
                "ulaw {s} -> {u}"
            );
            assert!(
                (i32::from(a) - i32::from(s)).abs() <= limit,
                "alaw {s} -> {a}"
            );
        }
    }

    #[test]
    fn slice_helpers_and_cross_law() {
        let pcm: Vec<i16> = (0..160).map(|i| (i * 200 - 16000) as i16).collect();
        let mut codes = [0u8; 160];
        let mut back = [0i16; 160];
        assert_eq!(encode_ulaw(&pcm, &mut codes), 160);
        assert_eq!(decode_ulaw(&codes, &mut back), 160);
        assert!(pcm.iter().zip(back).all(|(&a, b)| (a - b).abs() <= 512));
        encode_alaw(&pcm, &mut codes);
        decode_alaw(&codes, &mut back);
        assert!(pcm.iter().zip(back).all(|(&a, b)| (a - b).abs() <= 512));
        assert_eq!(ulaw_decode(alaw_to_ulaw(0xd5)), 8);
        assert!(alaw_decode(ulaw_to_alaw(0x80)).abs_diff(32124) <= 512);
    }
}
