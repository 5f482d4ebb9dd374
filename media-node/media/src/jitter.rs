//! Sans-IO jitter buffer for the legs whose audio is decoded (transcoding,
//! recording, conferencing): packets in with their arrival time, one frame out
//! per packet interval on the caller's clock.

use std::time::{Duration, Instant};

use crate::rtp::{RtpPacket, TimestampExtender};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// RTP clock rate of the stream (8000 for G.711, 48000 for Opus).
    pub clock_rate: u32,
    /// Packet interval, which is also how often `pop` is called.
    pub frame: Duration,
    /// Playout delay, or the least one when adaptive.
    pub min_delay: Duration,
    /// Most delay an adaptive buffer grows to.
    pub max_delay: Duration,
    pub adaptive: bool,
    /// Frames held at most; a burst beyond this drops the oldest.
    pub capacity: usize,
    /// Longest payload kept; longer ones are cut (Opus at 20 ms stays far below).
    pub max_payload: usize,
}

impl JitterConfig {
    pub fn g711() -> Self {
        Self {
            clock_rate: 8000,
            frame: Duration::from_millis(20),
            min_delay: Duration::from_millis(40),
            max_delay: Duration::from_millis(300),
            adaptive: true,
            capacity: 50,
            max_payload: 480,
        }
    }

    pub fn opus() -> Self {
        Self {
            clock_rate: 48000,
            max_payload: 1275,
            ..Self::g711()
        }
    }
}

/// What to play for the next packet interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// Nothing yet: before the first packet or while the playout delay fills.
    Buffering,
    Audio {
        timestamp: u32,
        sequence: u16,
        payload: &'a [u8],
    },
    /// The packet for this interval is missing: conceal it (codec PLC, or silence).
    Lost { timestamp: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    Stored,
    /// Its time has already been played.
    Late,
    Duplicate,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    pub pushed: u64,
    pub played: u64,
    pub lost: u64,
    pub late: u64,
    pub duplicates: u64,
    /// Frames dropped because the buffer was full or to shorten the delay.
    pub dropped: u64,
    /// Restarts: new SSRC, timestamp jump, or a source that went back in time.
    pub resets: u64,
}

/// Consecutive late packets that make the buffer follow a new timeline.
const LATE_STREAK_RESET: u32 = 5;

#[derive(Debug, Clone)]
struct Slot {
    frame_no: u64,
    timestamp: u32,
    sequence: u16,
    len: usize,
    occupied: bool,
    data: Box<[u8]>,
}

#[derive(Debug, Clone)]
pub struct JitterBuffer {
    cfg: JitterConfig,
    frame_units: u64,
    slots: Vec<Slot>,
    count: usize,
    ssrc: Option<u32>,
    ts: TimestampExtender,
    /// Timestamp offset within a frame, so frame numbers are exact.
    phase: u64,
    /// Frame number to play next; None while buffering.
    playout: Option<u64>,
    start_at: Option<Instant>,
    highest: u64,
    late_streak: u32,
    /// RFC 3550-style interarrival jitter estimate, in seconds.
    jitter: f64,
    last_transit: Option<f64>,
    epoch: Option<Instant>,
    stats: JitterStats,
}

impl JitterBuffer {
    pub fn new(cfg: JitterConfig) -> Self {
        let capacity = cfg.capacity.max(2);
        let slot = Slot {
            frame_no: 0,
            timestamp: 0,
            sequence: 0,
            len: 0,
            occupied: false,
            data: vec![0; cfg.max_payload].into_boxed_slice(),
        };
        let frame_units =
            (cfg.frame.as_nanos() * u128::from(cfg.clock_rate) / 1_000_000_000).max(1) as u64;
        Self {
            cfg: JitterConfig { capacity, ..cfg },
            frame_units,
            slots: vec![slot; capacity],
            count: 0,
            ssrc: None,
            ts: TimestampExtender::new(),
            phase: 0,
            playout: None,
            start_at: None,
            highest: 0,
            late_streak: 0,
            jitter: 0.0,
            last_transit: None,
            epoch: None,
            stats: JitterStats::default(),
        }
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Frames held now.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The delay the buffer aims at now.
    pub fn target_delay(&self) -> Duration {
        if !self.cfg.adaptive {
            return self.cfg.min_delay;
        }
        let want = self.cfg.frame.as_secs_f64() + 3.0 * self.jitter;
        Duration::from_secs_f64(want).clamp(self.cfg.min_delay, self.cfg.max_delay)
    }

    fn reset(&mut self) {
        for s in &mut self.slots {
            s.occupied = false;
        }
        self.count = 0;
        self.highest = 0;
        self.ts = TimestampExtender::new();
        self.playout = None;
        self.start_at = None;
        self.late_streak = 0;
        self.last_transit = None;
        self.stats.resets += 1;
    }

    fn frame_no(&self, ext_ts: u64) -> u64 {
        (ext_ts + self.frame_units / 2 - self.phase) / self.frame_units
    }

    fn update_jitter(&mut self, now: Instant, ext_ts: u64) {
        let epoch = *self.epoch.get_or_insert(now);
        let arrival = now.saturating_duration_since(epoch).as_secs_f64();
        let transit = arrival - ext_ts as f64 / f64::from(self.cfg.clock_rate);
        if let Some(last) = self.last_transit {
            let d = (transit - last).abs();
            // Ignore jumps that are resyncs, not jitter.
            if d < 1.0 {
                self.jitter += (d - self.jitter) / 16.0;
            }
        }
        self.last_transit = Some(transit);
    }

    pub fn push_packet(&mut self, now: Instant, packet: &RtpPacket<'_>) -> PushOutcome {
        self.push(
            now,
            packet.ssrc(),
            packet.sequence(),
            packet.timestamp(),
            packet.payload(),
        )
    }

    pub fn push(
        &mut self,
        now: Instant,
        ssrc: u32,
        sequence: u16,
        timestamp: u32,
        payload: &[u8],
    ) -> PushOutcome {
        if self.ssrc.is_some_and(|s| s != ssrc) {
            self.reset();
        }
        self.ssrc = Some(ssrc);
        self.stats.pushed += 1;
        let first = self.ts.extend(timestamp);
        if self.count == 0 && self.playout.is_none() && self.start_at.is_none() {
            self.phase = first % self.frame_units;
            self.highest = 0;
        }
        let mut ext = first;
        let mut fno = self.frame_no(ext);
        let cap = self.slots.len() as u64;
        if let Some(play) = self.playout {
            if fno < play {
                // Late packets in a row mean the source's timeline moved back
                // (a restart under the same SSRC) or an outage long past the
                // delay: follow the new timeline instead of dropping it all.
                self.late_streak += 1;
                if self.late_streak < LATE_STREAK_RESET {
                    self.stats.late += 1;
                    return PushOutcome::Late;
                }
                self.reset();
                self.ssrc = Some(ssrc);
                ext = self.ts.extend(timestamp);
                self.phase = ext % self.frame_units;
                fno = self.frame_no(ext);
            } else if fno >= play + cap {
                // A timestamp jump (silence suppression, DTX, a restart): play
                // from here after the usual delay rather than wait it out.
                self.reset();
                self.ssrc = Some(ssrc);
                ext = self.ts.extend(timestamp);
                self.phase = ext % self.frame_units;
                fno = self.frame_no(ext);
            }
        }
        self.late_streak = 0;
        self.update_jitter(now, ext);
        if self.start_at.is_none() && self.playout.is_none() {
            self.start_at = Some(now + self.target_delay());
        }
        let idx = (fno % cap) as usize;
        let slot = &mut self.slots[idx];
        if slot.occupied {
            if slot.frame_no == fno {
                self.stats.duplicates += 1;
                return PushOutcome::Duplicate;
            }
            // Still buffering and a burst wrapped the ring: the oldest goes.
            self.stats.dropped += 1;
            self.count -= 1;
        }
        let len = payload.len().min(slot.data.len());
        slot.data[..len].copy_from_slice(&payload[..len]);
        slot.len = len;
        slot.frame_no = fno;
        slot.timestamp = timestamp;
        slot.sequence = sequence;
        slot.occupied = true;
        self.count += 1;
        self.highest = self.highest.max(fno);
        PushOutcome::Stored
    }

    fn take(&mut self, fno: u64) -> Option<usize> {
        let idx = (fno % self.slots.len() as u64) as usize;
        let slot = &mut self.slots[idx];
        if slot.occupied && slot.frame_no == fno {
            slot.occupied = false;
            self.count -= 1;
            Some(idx)
        } else {
            None
        }
    }

    fn lowest_held(&self) -> Option<u64> {
        self.slots
            .iter()
            .filter(|s| s.occupied)
            .map(|s| s.frame_no)
            .min()
    }

    fn timestamp_of(&self, fno: u64) -> u32 {
        (fno * self.frame_units + self.phase) as u32
    }

    /// The frame for the next packet interval; call once per interval.
    pub fn pop(&mut self, now: Instant) -> Frame<'_> {
        let play = match self.playout {
            Some(p) => p,
            None => {
                let ready = self.start_at.is_some_and(|t| now >= t);
                match self.lowest_held() {
                    Some(lowest) if ready => {
                        self.start_at = None;
                        lowest
                    }
                    _ => return Frame::Buffering,
                }
            }
        };
        let mut play = play;
        if self.cfg.adaptive && self.count > 0 {
            // Holding more than the target (plus a frame of slack) means needless delay:
            // skip one frame to catch up.
            let held = self.highest + 1 - play;
            let target =
                (self.target_delay().as_secs_f64() / self.cfg.frame.as_secs_f64()).ceil() as u64;
            if held > target + 1 {
                if self.take(play).is_some() {
                    self.stats.dropped += 1;
                }
                play += 1;
            }
        }
        if let Some(idx) = self.take(play) {
            self.playout = Some(play + 1);
            self.stats.played += 1;
            let slot = &self.slots[idx];
            return Frame::Audio {
                timestamp: slot.timestamp,
                sequence: slot.sequence,
                payload: &slot.data[..slot.len],
            };
        }
        self.stats.lost += 1;
        let timestamp = self.timestamp_of(play);
        // An adaptive buffer holding less than its target waits instead of
        // running ahead: the delay grows by one frame, which is what a late
        // stream needs (the catch-up above takes it back once calm).
        let held = (self.highest + 1).saturating_sub(play);
        let short = held as f64 * self.cfg.frame.as_secs_f64() < self.target_delay().as_secs_f64();
        let stall = self.cfg.adaptive && (self.count == 0 || short);
        self.playout = Some(if stall { play } else { play + 1 });
        Frame::Lost { timestamp }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: Duration = Duration::from_millis(20);

    fn fixed(delay_ms: u64) -> JitterConfig {
        JitterConfig {
            min_delay: Duration::from_millis(delay_ms),
            adaptive: false,
            ..JitterConfig::g711()
        }
    }

    #[derive(Debug, PartialEq)]
    enum Out {
        B,
        A(u32),
        L(u32),
    }

    fn out(f: Frame<'_>) -> Out {
        match f {
            Frame::Buffering => Out::B,
            Frame::Audio {
                timestamp, payload, ..
            } => {
                assert_eq!(payload, timestamp.to_be_bytes());
                Out::A(timestamp)
            }
            Frame::Lost { timestamp } => Out::L(timestamp),
        }
    }

    /// Packet i (timestamp ts0 + 160 i) arrives at `arrival(i)` ms; pops every
    /// 20 ms; returns what was played.
    fn simulate(jb: &mut JitterBuffer, packets: &[(u64, u32)], ms: u64, seq0: u16) -> Vec<Out> {
        let t0 = Instant::now();
        let mut played = Vec::new();
        let mut sorted: Vec<_> = packets.iter().enumerate().collect();
        sorted.sort_by_key(|(_, (at, _))| *at);
        let mut next = 0;
        for tick in 0..ms {
            let now = t0 + Duration::from_millis(tick);
            while next < sorted.len() && sorted[next].1.0 <= tick {
                let (i, &(_, ts)) = sorted[next];
                jb.push(now, 1, seq0.wrapping_add(i as u16), ts, &ts.to_be_bytes());
                next += 1;
            }
            if tick % 20 == 0 {
                played.push(out(jb.pop(now)));
            }
        }
        played
    }

    fn stream(n: u32, ts0: u32) -> Vec<(u64, u32)> {
        (0..n)
            .map(|i| (u64::from(i) * 20, ts0.wrapping_add(i * 160)))
            .collect()
    }

    fn audio(played: &[Out]) -> Vec<u32> {
        played
            .iter()
            .filter_map(|o| if let Out::A(t) = o { Some(*t) } else { None })
            .collect()
    }

    #[test]
    fn steady_stream_plays_in_order_after_the_delay() {
        let mut jb = JitterBuffer::new(fixed(60));
        let played = simulate(&mut jb, &stream(50, 1000), 1200, 0);
        assert_eq!(&played[..3], &[Out::B, Out::B, Out::B]);
        assert_eq!(played[3], Out::A(1000));
        assert_eq!(
            audio(&played),
            (0..50).map(|i| 1000 + i * 160).collect::<Vec<_>>()
        );
        assert_eq!(
            jb.stats().lost,
            played.iter().filter(|o| matches!(o, Out::L(_))).count() as u64
        );
    }

    #[test]
    fn reordered_packets_play_in_timestamp_order() {
        let mut packets = stream(40, 0);
        for pair in packets.chunks_mut(2) {
            // The second of each pair arrives first.
            pair[0].0 += 15;
        }
        let mut jb = JitterBuffer::new(fixed(60));
        let played = simulate(&mut jb, &packets, 1000, 0);
        assert_eq!(audio(&played), (0..40).map(|i| i * 160).collect::<Vec<_>>());
        assert_eq!(jb.stats().late, 0);
    }

    #[test]
    fn lost_packets_become_lost_frames_in_place() {
        let packets: Vec<_> = stream(30, 0)
            .into_iter()
            .filter(|(_, ts)| ![5 * 160, 6 * 160, 20 * 160].contains(ts))
            .collect();
        let mut jb = JitterBuffer::new(fixed(40));
        let played = simulate(&mut jb, &packets, 660, 0);
        let body: Vec<_> = played
            .into_iter()
            .skip_while(|o| *o == Out::B)
            .take(30)
            .collect();
        assert_eq!(body[5], Out::L(800));
        assert_eq!(body[6], Out::L(960));
        assert_eq!(body[20], Out::L(3200));
        assert_eq!(body.iter().filter(|o| matches!(o, Out::A(_))).count(), 27);
    }

    #[test]
    fn late_and_duplicate_packets_are_dropped() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(fixed(20));
        assert_eq!(jb.push(t0, 1, 0, 0, &[0; 4]), PushOutcome::Stored);
        assert_eq!(jb.push(t0, 1, 0, 0, &[0; 4]), PushOutcome::Duplicate);
        assert_eq!(jb.push(t0, 1, 2, 320, &[0; 4]), PushOutcome::Stored);
        assert!(matches!(jb.pop(t0 + F), Frame::Audio { timestamp: 0, .. }));
        assert!(matches!(jb.pop(t0 + 2 * F), Frame::Lost { timestamp: 160 }));
        // Packet 1 shows up after its turn.
        assert_eq!(jb.push(t0 + 2 * F, 1, 1, 160, &[0; 4]), PushOutcome::Late);
        assert!(matches!(
            jb.pop(t0 + 3 * F),
            Frame::Audio { timestamp: 320, .. }
        ));
        let s = jb.stats();
        assert_eq!((s.late, s.duplicates, s.played, s.lost), (1, 1, 2, 1));
    }

    #[test]
    fn sequence_and_timestamp_wrap_do_not_disturb_playout() {
        let ts0 = u32::MAX - 160 * 10 + 1;
        let mut packets = stream(30, ts0);
        packets.swap(9, 10);
        let mut jb = JitterBuffer::new(fixed(60));
        let played = simulate(&mut jb, &packets, 800, 65530);
        let expected: Vec<u32> = (0..30).map(|i| ts0.wrapping_add(i * 160)).collect();
        assert_eq!(audio(&played), expected);
    }

    #[test]
    fn bursts_within_the_delay_play_without_gaps() {
        // Packets come five at a time every 100 ms, the last of a burst 80 ms late.
        let packets: Vec<_> = (0..50u32)
            .map(|i| (u64::from(i / 5) * 100 + 80, i * 160))
            .collect();
        let mut jb = JitterBuffer::new(fixed(120));
        let played = simulate(&mut jb, &packets, 1400, 0);
        let body: Vec<_> = played
            .into_iter()
            .skip_while(|o| *o == Out::B)
            .take(50)
            .collect();
        assert!(body.iter().all(|o| matches!(o, Out::A(_))), "{body:?}");
    }

    #[test]
    fn adaptive_buffer_grows_under_jitter_and_recovers_later() {
        let mut jb = JitterBuffer::new(JitterConfig::g711());
        assert_eq!(jb.target_delay(), Duration::from_millis(40));
        // 2 s of packets jittering by 0..60 ms, then 4 s of steady ones.
        let mut packets = Vec::new();
        for i in 0..300u32 {
            let jitter = if i < 100 {
                u64::from((i * 37) % 4) * 20
            } else {
                0
            };
            packets.push((u64::from(i) * 20 + jitter, i * 160));
        }
        let played = simulate(&mut jb, &packets, 6100, 0);
        assert!(jb.stats().dropped > 0, "the grown delay is never shrunk");
        let lost_early = played[..100]
            .iter()
            .filter(|o| matches!(o, Out::L(_)))
            .count();
        let lost_late = played[200..295]
            .iter()
            .filter(|o| matches!(o, Out::L(_)))
            .count();
        assert!(lost_late == 0, "{lost_late} lost once steady");
        assert!(lost_early < 20, "{lost_early}");
        // Calm again: the target fell back to the minimum.
        assert_eq!(jb.target_delay(), Duration::from_millis(40));
    }

    #[test]
    fn ssrc_change_resets_and_the_new_stream_plays() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(fixed(20));
        jb.push(t0, 1, 100, 5000, &5000u32.to_be_bytes());
        assert!(matches!(
            jb.pop(t0 + F),
            Frame::Audio {
                timestamp: 5000,
                ..
            }
        ));
        jb.push(t0 + F, 2, 7, 90_000, &90_000u32.to_be_bytes());
        assert_eq!(jb.stats().resets, 1);
        assert_eq!(jb.pop(t0 + F), Frame::Buffering);
        assert!(matches!(
            jb.pop(t0 + 2 * F),
            Frame::Audio {
                timestamp: 90_000,
                ..
            }
        ));
    }

    #[test]
    fn timestamp_jump_resyncs_instead_of_playing_silence() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(fixed(20));
        jb.push(t0, 1, 0, 0, &0u32.to_be_bytes());
        assert!(matches!(jb.pop(t0 + F), Frame::Audio { .. }));
        // After 10 s of silence suppression the timestamp jumps 80 000 ahead.
        jb.push(t0 + F, 1, 1, 80_000, &80_000u32.to_be_bytes());
        assert!(matches!(
            jb.pop(t0 + 2 * F),
            Frame::Audio {
                timestamp: 80_000,
                ..
            }
        ));
    }

    #[test]
    fn memory_is_bounded_when_nobody_pops() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(fixed(1000));
        for i in 0..10_000u32 {
            jb.push(t0, 1, i as u16, i * 160, &[0u8; 2000]);
        }
        assert!(jb.len() <= 50);
        assert!(jb.stats().dropped + jb.stats().resets > 0);
    }
    #[test]
    fn source_restarting_its_clock_is_followed() {
        // The same SSRC restarts far back (at 0) or just 2 s back.
        for restart in [0u32, 10_000_000 - 16_000] {
            let t0 = Instant::now();
            let mut jb = JitterBuffer::new(JitterConfig::g711());
            let mut now = t0;
            let mut played = Vec::new();
            for i in 0..100u32 {
                let ts = if i < 50 {
                    10_000_000 + i * 160
                } else {
                    restart + (i - 50) * 160
                };
                jb.push(now, 1, i as u16, ts, &ts.to_be_bytes());
                if let Frame::Audio { timestamp, .. } = jb.pop(now) {
                    played.push(timestamp);
                }
                now += F;
            }
            // After the restart the new timeline plays in order.
            let after: Vec<u32> = played.iter().copied().filter(|&t| t < 10_000_000).collect();
            assert!(after.len() > 35, "{restart}: {after:?}");
            assert!(after.windows(2).all(|w| w[1] == w[0] + 160), "{after:?}");
            assert_eq!(jb.stats().resets, 1);
        }
    }
}
