use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::event::{DtmfError, TelephoneEvent, digit_to_event};

/// One telephone-event packet to send; the caller adds sequence number, SSRC
/// and the negotiated payload type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    pub marker: bool,
    pub timestamp: u32,
    pub event: TelephoneEvent,
}

impl DtmfPacket {
    pub fn payload(&self) -> [u8; 4] {
        self.event.to_bytes()
    }
}

/// End packets are sent three times (RFC 4733 §2.5.1.4) so one or two losses
/// do not leave the far end waiting for the end of a key press.
const END_REPEATS: u32 = 3;
/// Longest queue of digits not yet sent; more is a caller bug, not a dial string.
const MAX_QUEUED: usize = 64;

#[derive(Debug, Clone, Copy)]
struct Active {
    event: u8,
    timestamp: u32,
    total: u16,
    /// Packets sent so far for this event.
    sent: u32,
    ends_sent: u32,
    next_at: Instant,
}

/// RFC 4733 sender: a start packet with the marker bit, updates every packet
/// interval with growing duration, then three end packets with the same
/// timestamp and final duration; digits queue with a gap between them.
#[derive(Debug, Clone)]
pub struct DtmfSender {
    clock_rate: u32,
    interval: Duration,
    gap: Duration,
    volume: u8,
    queue: VecDeque<(u8, Duration)>,
    active: Option<Active>,
    idle_until: Option<Instant>,
}

impl DtmfSender {
    /// `interval` is the update period (20 or 50 ms, normally the audio ptime).
    pub fn new(clock_rate: u32, interval: Duration) -> Self {
        Self {
            clock_rate,
            interval,
            gap: Duration::from_millis(60),
            volume: 10,
            queue: VecDeque::new(),
            active: None,
            idle_until: None,
        }
    }

    /// Pause between two digits of a string (default 60 ms).
    pub fn set_gap(&mut self, gap: Duration) {
        self.gap = gap;
    }

    /// Queues a digit held for `duration` (at least one interval; long presses
    /// are capped at what the 16-bit duration field holds).
    pub fn send_digit(&mut self, digit: char, duration: Duration) -> Result<(), DtmfError> {
        let event = digit_to_event(digit)?;
        if self.queue.len() < MAX_QUEUED {
            self.queue.push_back((event, duration.max(self.interval)));
        }
        Ok(())
    }

    /// True while an event is being sent: the caller mutes audio meanwhile, as
    /// the far end would otherwise hear the digit twice.
    pub fn is_sending(&self) -> bool {
        self.active.is_some()
    }

    fn units(&self, d: Duration) -> u64 {
        (d.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000) as u64
    }

    /// The next packet due at `now`; `rtp_now` is the outgoing stream's current
    /// timestamp, which a new event takes as its own. Call until `None`.
    pub fn poll_transmit(&mut self, now: Instant, rtp_now: u32) -> Option<DtmfPacket> {
        if self.active.is_none() {
            if self.idle_until.is_some_and(|t| now < t) {
                return None;
            }
            let (event, duration) = self.queue.pop_front()?;
            self.active = Some(Active {
                event,
                timestamp: rtp_now,
                total: self.units(duration).min(u64::from(u16::MAX)) as u16,
                sent: 0,
                ends_sent: 0,
                next_at: now,
            });
        }
        let step = self.units(self.interval);
        let interval = self.interval;
        let volume = self.volume;
        let a = self.active.as_mut()?;
        if now < a.next_at {
            return None;
        }
        a.sent += 1;
        let grown = (u64::from(a.sent) * step).min(u64::from(a.total)) as u16;
        let end = grown >= a.total;
        if end {
            a.ends_sent += 1;
        }
        let packet = DtmfPacket {
            marker: a.sent == 1,
            timestamp: a.timestamp,
            event: TelephoneEvent {
                event: a.event,
                end,
                volume,
                duration: grown,
            },
        };
        a.next_at += interval;
        if a.ends_sent >= END_REPEATS {
            self.active = None;
            self.idle_until = Some(now + self.gap);
        }
        Some(packet)
    }

    /// When to call `poll_transmit` next, if anything is pending.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (&self.active, self.queue.is_empty()) {
            (Some(a), _) => Some(a.next_at),
            (None, false) => self.idle_until,
            (None, true) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives the sender on a virtual clock, as the node's timer would.
    fn run(sender: &mut DtmfSender, t0: Instant, ms: u64) -> Vec<(u64, DtmfPacket)> {
        let mut out = Vec::new();
        for tick in 0..ms {
            let now = t0 + Duration::from_millis(tick);
            let rtp_now = 1000 + tick as u32 * 8;
            while let Some(p) = sender.poll_transmit(now, rtp_now) {
                out.push((tick, p));
            }
        }
        out
    }

    #[test]
    fn one_digit_start_updates_and_three_ends() {
        let t0 = Instant::now();
        let mut s = DtmfSender::new(8000, Duration::from_millis(20));
        s.send_digit('5', Duration::from_millis(100)).unwrap();
        assert_eq!(s.poll_timeout(), None);
        let packets = run(&mut s, t0, 300);
        let durations: Vec<u16> = packets.iter().map(|(_, p)| p.event.duration).collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        let ends: Vec<bool> = packets.iter().map(|(_, p)| p.event.end).collect();
        assert_eq!(ends, [false, false, false, false, true, true, true]);
        assert!(packets[0].1.marker);
        assert!(packets[1..].iter().all(|(_, p)| !p.marker));
        assert!(
            packets
                .iter()
                .all(|(_, p)| p.timestamp == 1000 && p.event.event == 5)
        );
        let times: Vec<u64> = packets.iter().map(|(t, _)| *t).collect();
        assert_eq!(times, [0, 20, 40, 60, 80, 100, 120]);
        assert!(!s.is_sending());
    }

    #[test]
    fn digit_string_has_gaps_and_new_timestamps() {
        let t0 = Instant::now();
        let mut s = DtmfSender::new(8000, Duration::from_millis(50));
        for d in "12#".chars() {
            s.send_digit(d, Duration::from_millis(100)).unwrap();
        }
        assert!(s.send_digit('x', Duration::from_millis(100)).is_err());
        let packets = run(&mut s, t0, 2000);
        let starts: Vec<_> = packets.iter().filter(|(_, p)| p.marker).collect();
        assert_eq!(starts.len(), 3);
        assert_eq!(
            starts
                .iter()
                .map(|(_, p)| p.event.digit().unwrap())
                .collect::<String>(),
            "12#"
        );
        // Each start comes after the previous third end packet plus the gap.
        let last_end_of_first = packets.iter().rfind(|(_, p)| p.event.event == 1).unwrap().0;
        assert!(starts[1].0 >= last_end_of_first + 60);
        assert!(starts[1].1.timestamp > starts[0].1.timestamp);
        assert_eq!(packets.iter().filter(|(_, p)| p.event.end).count(), 9);
    }
}
