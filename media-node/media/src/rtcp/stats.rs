use std::time::{Duration, Instant};

use super::packet::ReportBlock;

const SEQ_MOD: u32 = 1 << 16;
const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u16 = 100;
const MIN_SEQUENTIAL: u16 = 2;

/// Middle 32 bits of a 64-bit NTP timestamp: the LSR/DLSR time base.
pub fn compact_ntp(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// Round-trip time from a report block about our own stream (RFC 3550 §6.4.1):
/// `arrival` is the compact NTP time the report arrived. `None` when the peer
/// has not received an SR from us yet.
pub fn round_trip_time(arrival: u32, block: &ReportBlock) -> Option<Duration> {
    if block.last_sr == 0 {
        return None;
    }
    let rtt = arrival
        .wrapping_sub(block.last_sr)
        .wrapping_sub(block.delay_since_last_sr);
    // A negative result (clock steps, bogus peers) shows as a huge value.
    if rtt > u32::MAX / 2 {
        return None;
    }
    Some(Duration::from_micros(u64::from(rtt) * 1_000_000 / 65_536))
}

/// What a pre-flight check or a quality report shows about one received stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatsSnapshot {
    pub expected: u64,
    pub received: u64,
    pub lost: i64,
    /// Share of expected packets that never came, 0.0 ..= 1.0.
    pub loss_ratio: f64,
    pub jitter: Duration,
}

/// Receiver-side statistics of one source: sequence tracking with probation
/// (RFC 3550 A.1), loss (A.3) and interarrival jitter (A.8).
#[derive(Debug, Clone)]
pub struct ReceiverStats {
    clock_rate: u32,
    epoch: Option<Instant>,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u16,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    last_transit: Option<i64>,
    /// Jitter in timestamp units, scaled by 16 as in A.8 to keep precision.
    jitter_q4: u32,
    last_sr: Option<(u32, Instant)>,
}

impl ReceiverStats {
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate,
            epoch: None,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: SEQ_MOD + 1,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            last_transit: None,
            jitter_q4: 0,
            last_sr: None,
        }
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// Records one received RTP packet. Returns false while the source is on
    /// probation or for a packet that looks like a restart it has not confirmed.
    pub fn on_rtp(&mut self, now: Instant, seq: u16, timestamp: u32) -> bool {
        let epoch = *self.epoch.get_or_insert_with(|| {
            self.max_seq = seq.wrapping_sub(1);
            now
        });
        self.update_jitter(now.saturating_duration_since(epoch), timestamp);
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return true;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return false;
        }
        if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles += SEQ_MOD;
            }
            self.max_seq = seq;
        } else if u32::from(udelta) <= SEQ_MOD - u32::from(MAX_MISORDER) {
            if u32::from(seq) == self.bad_seq {
                // Two sequential packets after a big jump: the source restarted.
                self.init_seq(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (SEQ_MOD - 1);
                return false;
            }
        }
        self.received += 1;
        true
    }

    fn update_jitter(&mut self, since_epoch: Duration, timestamp: u32) {
        let arrival = (since_epoch.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000) as i64;
        let transit = arrival - i64::from(timestamp);
        if let Some(last) = self.last_transit {
            // Timestamps wrap at 2^32; the difference of transits does too.
            let d = i64::from(((transit - last) as i32).unsigned_abs());
            let j = i64::from(self.jitter_q4);
            self.jitter_q4 = (j + d - ((j + 8) >> 4)).clamp(0, i64::from(u32::MAX)) as u32;
        }
        self.last_transit = Some(transit);
    }

    /// Remembers an SR from this source so our next report carries LSR/DLSR.
    pub fn on_sender_report(&mut self, now: Instant, ntp_timestamp: u64) {
        self.last_sr = Some((compact_ntp(ntp_timestamp), now));
    }

    pub fn extended_max(&self) -> u32 {
        self.cycles + u32::from(self.max_seq)
    }

    pub fn expected(&self) -> u32 {
        if self.received == 0 {
            return 0;
        }
        self.extended_max().wrapping_sub(self.base_seq) + 1
    }

    pub fn received(&self) -> u32 {
        self.received
    }

    pub fn lost(&self) -> i64 {
        i64::from(self.expected()) - i64::from(self.received)
    }

    pub fn jitter(&self) -> Duration {
        let units = u64::from(self.jitter_q4 >> 4);
        Duration::from_micros(units * 1_000_000 / u64::from(self.clock_rate.max(1)))
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let expected = u64::from(self.expected());
        let lost = self.lost();
        StatsSnapshot {
            expected,
            received: u64::from(self.received),
            lost,
            loss_ratio: if expected == 0 {
                0.0
            } else {
                (lost.max(0) as f64 / expected as f64).min(1.0)
            },
            jitter: self.jitter(),
        }
    }

    /// The report block for the next RR/SR; starts a new interval for the
    /// fraction-lost figure.
    pub fn report_block(&mut self, now: Instant, ssrc: u32) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => {
                let d = now.saturating_duration_since(at);
                (lsr, (d.as_micros() * 65_536 / 1_000_000) as u32)
            }
            None => (0, 0),
        };
        ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.lost().clamp(-0x80_0000, 0x7f_ffff) as i32,
            highest_seq: self.extended_max(),
            jitter: self.jitter_q4 >> 4,
            last_sr,
            delay_since_last_sr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS20: Duration = Duration::from_millis(20);

    #[test]
    fn counts_loss_across_sequence_wrap() {
        let t0 = Instant::now();
        let mut s = ReceiverStats::new(8000);
        let mut seq: u16 = 65000;
        let mut ts: u32 = 0;
        let mut now = t0;
        for i in 0..1000 {
            // Lose every 20th packet: 5 %.
            if i % 20 != 10 {
                s.on_rtp(now, seq, ts);
            }
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(160);
            now += MS20;
        }
        let snap = s.snapshot();
        // The first packet is spent on probation.
        assert_eq!(snap.expected, 999);
        assert_eq!(snap.lost, 50);
        assert!((snap.loss_ratio - 0.05).abs() < 0.001);
        assert_eq!(snap.jitter, Duration::ZERO);
        let block = s.report_block(now, 1);
        assert_eq!(block.fraction_lost, (50 * 256 / 999) as u8);
        assert_eq!(block.cumulative_lost, 50);
        assert_eq!(
            block.highest_seq,
            (1 << 16) + u32::from(seq.wrapping_sub(1))
        );
        // A second report with nothing new shows no fresh loss.
        assert_eq!(s.report_block(now, 1).fraction_lost, 0);
    }

    #[test]
    fn jitter_follows_arrival_variation() {
        let t0 = Instant::now();
        let mut s = ReceiverStats::new(8000);
        for i in 0..2000u32 {
            // Every other packet 10 ms late: |D| = 80 units each time.
            let late = if i % 2 == 1 {
                Duration::from_millis(10)
            } else {
                Duration::ZERO
            };
            s.on_rtp(t0 + MS20 * i + late, i as u16, i * 160);
        }
        let j = s.jitter().as_secs_f64() * 1000.0;
        assert!((j - 10.0).abs() < 0.5, "jitter {j} ms");
    }

    #[test]
    fn duplicates_do_not_hide_loss_forever_and_restart_is_detected() {
        let t0 = Instant::now();
        let mut s = ReceiverStats::new(8000);
        for i in 0..10u16 {
            s.on_rtp(t0, i, 0);
        }
        // A jump far ahead counts only when a second sequential packet confirms it.
        assert!(!s.on_rtp(t0, 40_000, 0));
        assert!(s.on_rtp(t0, 40_001, 0));
        assert_eq!(s.expected(), 1);
    }

    #[test]
    fn lsr_dlsr_give_round_trip_time() {
        let t0 = Instant::now();
        let mut far = ReceiverStats::new(8000);
        // We sent an SR at NTP second 100.0; the peer got it and reports 250 ms later.
        let sr_ntp: u64 = 100 << 32;
        far.on_sender_report(t0, sr_ntp);
        far.on_rtp(t0, 1, 0);
        let block = far.report_block(t0 + Duration::from_millis(250), 5);
        assert_eq!(block.last_sr, compact_ntp(sr_ntp));
        // It reaches us 400 ms after our SR: RTT = 400 - 250 = 150 ms.
        let arrival = compact_ntp(sr_ntp + (4u64 << 32) / 10);
        let rtt = round_trip_time(arrival, &block).unwrap();
        assert!((rtt.as_secs_f64() - 0.150).abs() < 0.001, "{rtt:?}");
        assert_eq!(round_trip_time(arrival, &ReportBlock::default()), None);
    }
}
