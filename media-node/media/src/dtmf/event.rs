use thiserror::Error;

#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum DtmfError {
    #[error("telephone-event payload of {0} bytes, needs 4")]
    TooShort(usize),
    #[error("{0:?} is not a DTMF digit (0-9, *, #, A-D)")]
    NotADigit(char),
    #[error("buffer of {0} bytes, a telephone-event needs 4")]
    BufferTooSmall(usize),
}

/// Event codes 0-15 of RFC 4733 §3.2 in order.
const DIGITS: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
];

pub fn event_to_digit(event: u8) -> Option<char> {
    DIGITS.get(usize::from(event)).copied()
}

pub fn digit_to_event(digit: char) -> Result<u8, DtmfError> {
    let d = digit.to_ascii_uppercase();
    DIGITS
        .iter()
        .position(|&c| c == d)
        .map(|p| p as u8)
        .ok_or(DtmfError::NotADigit(digit))
}

/// One RFC 4733 telephone-event payload (4 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub event: u8,
    pub end: bool,
    /// Power level in -dBm0, 0..=63.
    pub volume: u8,
    /// Duration in RTP timestamp units since the event's timestamp.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Reads the first event; redundant events after it (RFC 4733 §2.5.1.5
    /// style blocks) are ignored.
    pub fn parse(payload: &[u8]) -> Result<Self, DtmfError> {
        if payload.len() < 4 {
            return Err(DtmfError::TooShort(payload.len()));
        }
        Ok(Self {
            event: payload[0],
            end: payload[1] & 0x80 != 0,
            volume: payload[1] & 0x3f,
            duration: u16::from_be_bytes([payload[2], payload[3]]),
        })
    }

    pub fn to_bytes(&self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            if self.end { 0x80 } else { 0 } | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }

    pub fn write(&self, out: &mut [u8]) -> Result<usize, DtmfError> {
        if out.len() < 4 {
            return Err(DtmfError::BufferTooSmall(out.len()));
        }
        out[..4].copy_from_slice(&self.to_bytes());
        Ok(4)
    }

    pub fn digit(&self) -> Option<char> {
        event_to_digit(self.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip_and_known_bytes() {
        let e = TelephoneEvent {
            event: 11,
            end: true,
            volume: 10,
            duration: 800,
        };
        assert_eq!(e.to_bytes(), [11, 0x8a, 0x03, 0x20]);
        assert_eq!(TelephoneEvent::parse(&e.to_bytes()).unwrap(), e);
        assert_eq!(e.digit(), Some('#'));
        assert_eq!(TelephoneEvent::parse(&[1, 2]), Err(DtmfError::TooShort(2)));
        // The reserved bit is ignored.
        assert!(!TelephoneEvent::parse(&[5, 0x40, 0, 0]).unwrap().end);
    }

    #[test]
    fn digits_map_both_ways() {
        for (i, d) in "0123456789*#ABCD".chars().enumerate() {
            assert_eq!(digit_to_event(d).unwrap() as usize, i);
            assert_eq!(event_to_digit(i as u8), Some(d));
        }
        assert_eq!(digit_to_event('a').unwrap(), 12);
        assert_eq!(digit_to_event('x'), Err(DtmfError::NotADigit('x')));
        assert_eq!(event_to_digit(16), None);
    }
}
