/// Mixes N streams into `out` (sum with saturation), e.g. for a conference
/// or a mono recording. `out` is overwritten; shorter inputs count as silence
/// past their end.
pub fn mix_into(out: &mut [i16], inputs: &[&[i16]]) {
    for (i, o) in out.iter_mut().enumerate() {
        let sum: i32 = inputs
            .iter()
            .map(|s| s.get(i).copied().map_or(0, i32::from))
            .sum();
        *o = sum.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_clips() {
        let a = [1000i16, 30000, -30000, 5];
        let b = [2000i16, 10000, -10000];
        let mut out = [0i16; 4];
        mix_into(&mut out, &[&a, &b]);
        assert_eq!(out, [3000, 32767, -32768, 5]);
        mix_into(&mut out, &[]);
        assert_eq!(out, [0; 4]);
    }
}
