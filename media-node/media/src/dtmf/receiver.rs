use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::event::{DtmfError, TelephoneEvent};
use crate::rtp::ts_delta;

/// A key press seen on the wire, reported once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedDigit {
    pub digit: char,
    /// The event's RTP timestamp: its identity on the wire.
    pub timestamp: u32,
    /// Longest duration seen, in RTP timestamp units.
    pub duration: u16,
    /// False when no end packet arrived and the digit was concluded by a newer
    /// event or by the timeout.
    pub ended: bool,
}

#[derive(Debug, Clone, Copy)]
struct Current {
    timestamp: u32,
    event: u8,
    duration: u16,
    last_at: Instant,
}

/// How many reported events are remembered to drop their late or repeated
/// packets; far more than can be in flight at once.
const REMEMBERED: usize = 16;

/// Turns telephone-event packets into digits exactly once, whatever arrives:
/// retransmitted end packets, lost start or end packets, reordering.
#[derive(Debug, Clone)]
pub struct DtmfReceiver {
    current: Option<Current>,
    done: [Option<u32>; REMEMBERED],
    done_next: usize,
    timeout: Duration,
    out: VecDeque<ReceivedDigit>,
}

impl Default for DtmfReceiver {
    fn default() -> Self {
        Self::new()
    }
}

impl DtmfReceiver {
    pub fn new() -> Self {
        Self {
            current: None,
            done: [None; REMEMBERED],
            done_next: 0,
            // Several update intervals of 50 ms: all end packets are lost.
            timeout: Duration::from_millis(400),
            out: VecDeque::new(),
        }
    }

    fn is_done(&self, ts: u32) -> bool {
        self.done.contains(&Some(ts))
    }

    fn finish(&mut self, timestamp: u32, event: u8, duration: u16, ended: bool) {
        self.done[self.done_next] = Some(timestamp);
        self.done_next = (self.done_next + 1) % REMEMBERED;
        if let Some(digit) = super::event::event_to_digit(event) {
            self.out.push_back(ReceivedDigit {
                digit,
                timestamp,
                duration,
                ended,
            });
        }
    }

    /// Feeds one telephone-event payload with its packet's RTP timestamp.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        timestamp: u32,
        payload: &[u8],
    ) -> Result<(), DtmfError> {
        let ev = TelephoneEvent::parse(payload)?;
        if self.is_done(timestamp) {
            return Ok(());
        }
        if let Some(cur) = self.current {
            if cur.timestamp == timestamp {
                let duration = cur.duration.max(ev.duration);
                if ev.end {
                    self.current = None;
                    self.finish(timestamp, cur.event, duration, true);
                } else {
                    self.current = Some(Current {
                        duration,
                        last_at: now,
                        ..cur
                    });
                }
                return Ok(());
            }
            if ts_delta(timestamp, cur.timestamp) < 0 {
                // A stray packet of an older event we never tracked: only its
                // end is worth reporting.
                if ev.end {
                    self.finish(timestamp, ev.event, ev.duration, true);
                }
                return Ok(());
            }
            // A newer event began while this one had no end: its ends were lost.
            self.current = None;
            self.finish(cur.timestamp, cur.event, cur.duration, false);
        }
        if ev.end {
            // Start and updates lost; the end alone is the whole digit.
            self.finish(timestamp, ev.event, ev.duration, true);
        } else {
            self.current = Some(Current {
                timestamp,
                event: ev.event,
                duration: ev.duration,
                last_at: now,
            });
        }
        Ok(())
    }

    /// Concludes a digit whose packets stopped without an end packet.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(cur) = self.current
            && now >= cur.last_at + self.timeout
        {
            self.current = None;
            self.finish(cur.timestamp, cur.event, cur.duration, false);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.current.map(|c| c.last_at + self.timeout)
    }

    pub fn poll_digit(&mut self) -> Option<ReceivedDigit> {
        self.out.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::{DtmfPacket, DtmfSender};
    use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};

    fn packets_for(digits: &str) -> Vec<DtmfPacket> {
        let t0 = Instant::now();
        let mut s = DtmfSender::new(8000, Duration::from_millis(20));
        for d in digits.chars() {
            s.send_digit(d, Duration::from_millis(120)).unwrap();
        }
        let mut out = Vec::new();
        for tick in 0..10_000u64 {
            let now = t0 + Duration::from_millis(tick);
            // Start just below the timestamp wrap.
            let rtp_now = (u32::MAX - 4000).wrapping_add(tick as u32 * 8);
            while let Some(p) = s.poll_transmit(now, rtp_now) {
                out.push(p);
            }
        }
        out
    }

    fn receive(packets: &[DtmfPacket]) -> String {
        let t0 = Instant::now();
        let mut r = DtmfReceiver::new();
        let mut now = t0;
        for p in packets {
            now += Duration::from_millis(20);
            r.handle_packet(now, p.timestamp, &p.payload()).unwrap();
        }
        r.handle_timeout(now + Duration::from_secs(1));
        std::iter::from_fn(|| r.poll_digit())
            .map(|d| d.digit)
            .collect()
    }

    #[test]
    fn clean_stream_gives_each_digit_once_with_duration() {
        let packets = packets_for("159#");
        let t0 = Instant::now();
        let mut r = DtmfReceiver::new();
        for p in &packets {
            r.handle_packet(t0, p.timestamp, &p.payload()).unwrap();
        }
        let got: Vec<_> = std::iter::from_fn(|| r.poll_digit()).collect();
        assert_eq!(got.iter().map(|d| d.digit).collect::<String>(), "159#");
        assert!(got.iter().all(|d| d.ended && d.duration == 960));
    }

    #[test]
    fn digits_survive_loss_of_all_end_packets() {
        let packets: Vec<_> = packets_for("2580")
            .into_iter()
            .filter(|p| !p.event.end)
            .collect();
        assert_eq!(receive(&packets), "2580");
    }

    #[test]
    fn digits_survive_loss_of_start_and_updates() {
        let packets: Vec<_> = packets_for("147")
            .into_iter()
            .filter(|p| p.event.end)
            .collect();
        assert_eq!(receive(&packets), "147");
    }

    #[test]
    fn last_digit_without_end_is_reported_after_timeout() {
        let packets: Vec<_> = packets_for("9")
            .into_iter()
            .filter(|p| !p.event.end)
            .collect();
        let t0 = Instant::now();
        let mut r = DtmfReceiver::new();
        for p in &packets {
            r.handle_packet(t0, p.timestamp, &p.payload()).unwrap();
        }
        assert_eq!(r.poll_digit(), None);
        assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_millis(400)));
        r.handle_timeout(t0 + Duration::from_millis(399));
        assert_eq!(r.poll_digit(), None);
        r.handle_timeout(t0 + Duration::from_millis(400));
        let d = r.poll_digit().unwrap();
        assert_eq!((d.digit, d.ended), ('9', false));
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn random_loss_duplication_and_local_reordering_never_double_a_digit() {
        let mut rng = StdRng::seed_from_u64(3);
        let digits = "0123456789*#";
        for _ in 0..200 {
            let mut packets = Vec::new();
            for p in packets_for(digits) {
                if rng.random_bool(0.25) {
                    continue;
                }
                packets.push(p);
                if rng.random_bool(0.1) {
                    packets.push(p);
                }
            }
            // Swap neighbours within a digit's packets now and then.
            for i in 1..packets.len() {
                if rng.random_bool(0.1) && packets[i].timestamp == packets[i - 1].timestamp {
                    packets.swap(i, i - 1);
                }
            }
            let got = receive(&packets);
            // A digit can vanish only if all its packets were lost; never repeat.
            let mut expected_iter = digits.chars();
            for c in got.chars() {
                assert!(expected_iter.any(|e| e == c), "{got}");
            }
        }
        // With only end packets lost, nothing is missing either.
        let mut packets: Vec<_> = packets_for(digits)
            .into_iter()
            .filter(|p| !p.event.end || rng.random_bool(0.3))
            .collect();
        packets.shuffle(&mut rng);
        packets.sort_by_key(|p| p.timestamp.wrapping_sub(u32::MAX - 4000));
        assert_eq!(receive(&packets), digits);
    }

    #[test]
    fn short_payload_is_an_error() {
        let mut r = DtmfReceiver::new();
        assert_eq!(
            r.handle_packet(Instant::now(), 0, &[1, 2, 3]),
            Err(DtmfError::TooShort(3))
        );
    }
}
