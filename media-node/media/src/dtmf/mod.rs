//! DTMF both ways: RFC 4733 telephone-events (payload, sender, receiver) and
//! in-band tones (generator, Goertzel detector).

mod event;
mod inband;
mod receiver;
mod sender;

pub use event::{DtmfError, TelephoneEvent, digit_to_event, event_to_digit};
pub use inband::{DtmfDetector, dtmf_tone};
pub use receiver::{DtmfReceiver, ReceivedDigit};
pub use sender::{DtmfPacket, DtmfSender};
