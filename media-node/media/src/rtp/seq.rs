/// Signed distance from `b` to `a` in sequence-number space, assuming they are
/// less than half the space apart (the RFC 3550 convention).
pub fn seq_delta(a: u16, b: u16) -> i16 {
    a.wrapping_sub(b) as i16
}

/// Signed distance from `b` to `a` in RTP timestamp units, wrap-aware.
pub fn ts_delta(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// Turns 16-bit sequence numbers into a monotonic 64-bit count that survives
/// wraparound; a late packet from before a wrap gets the earlier cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqExtender {
    highest: Option<u64>,
}

impl SeqExtender {
    pub fn new() -> Self {
        Self::default()
    }

    /// Extends `seq` to the value nearest the highest seen so far, and moves the
    /// highest forward when it is newer.
    pub fn extend(&mut self, seq: u16) -> u64 {
        let Some(highest) = self.highest else {
            // Start one cycle in so a reordered packet just before the first one
            // can still be placed before it.
            let v = (1 << 16) + u64::from(seq);
            self.highest = Some(v);
            return v;
        };
        let delta = i64::from(seq_delta(seq, highest as u16));
        let v = (highest as i64 + delta).max(0) as u64;
        if v > highest {
            self.highest = Some(v);
        }
        v
    }

    pub fn highest(&self) -> Option<u64> {
        self.highest
    }
}

/// The same as [`SeqExtender`] for 32-bit RTP timestamps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimestampExtender {
    highest: Option<u64>,
}

impl TimestampExtender {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn extend(&mut self, ts: u32) -> u64 {
        let Some(highest) = self.highest else {
            let v = (1 << 32) + u64::from(ts);
            self.highest = Some(v);
            return v;
        };
        let delta = i64::from(ts_delta(ts, highest as u32));
        let v = (highest as i64 + delta).max(0) as u64;
        if v > highest {
            self.highest = Some(v);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_cross_wrap() {
        assert_eq!(seq_delta(2, 65534), 4);
        assert_eq!(seq_delta(65534, 2), -4);
        assert_eq!(ts_delta(80, u32::MAX - 79), 160);
    }

    #[test]
    fn sequence_extends_across_wrap_and_keeps_late_packets_in_their_cycle() {
        let mut e = SeqExtender::new();
        let a = e.extend(65534);
        let b = e.extend(65535);
        let c = e.extend(0);
        let d = e.extend(1);
        assert_eq!([b - a, c - a, d - a], [1, 2, 3]);
        // A late packet from before the wrap stays before it.
        assert_eq!(e.extend(65533), a - 1);
        assert_eq!(e.highest(), Some(d));
    }

    #[test]
    fn timestamp_extends_across_wrap() {
        let mut e = TimestampExtender::new();
        let a = e.extend(u32::MAX - 159);
        let b = e.extend(0);
        let c = e.extend(160);
        assert_eq!([b - a, c - a], [160, 320]);
    }
}
