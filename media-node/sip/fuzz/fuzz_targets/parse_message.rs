//! Any bytes: the datagram parser and the stream framer must not panic, and
//! whatever parses must print to bytes that parse again.
#![no_main]

use callisto_sip::{Message, StreamFramer, bad_request_response, parse_message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_message(data) {
        Ok(msg) => {
            let again = parse_message(&msg.to_bytes());
            assert!(
                again.is_ok(),
                "reprint of a parsed message failed: {again:?}"
            );
            if let (Message::Request(a), Ok(Message::Request(b))) = (&msg, &again) {
                assert_eq!(a.method, b.method);
            }
        }
        Err(e) => {
            let _ = bad_request_response(data, &e);
        }
    }
    let mut framer = StreamFramer::new();
    framer.push(data);
    while let Ok(Some(_)) = framer.next_message() {}
});
