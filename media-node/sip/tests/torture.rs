//! RFC 4475 torture messages (§3.1.1 valid, §3.1.2 invalid) and a mutation
//! run over the same corpus that must never panic.

use std::path::PathBuf;

use callisto_sip::{
    Contact, HeaderName, Message, Method, ParseError, StreamFramer, Uri, bad_request_response,
    parse_message,
};

fn fixture(kind: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/torture")
        .join(kind)
        .join(format!("{name}.sip"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn valid(name: &str) -> Message {
    parse_message(&fixture("valid", name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn request(name: &str) -> callisto_sip::Request {
    match valid(name) {
        Message::Request(r) => r,
        Message::Response(_) => panic!("{name} is a request"),
    }
}

fn response(name: &str) -> callisto_sip::Response {
    match valid(name) {
        Message::Response(r) => r,
        Message::Request(_) => panic!("{name} is a response"),
    }
}

const VALID: &[&str] = &[
    "wsinv",
    "intmeth",
    "esc01",
    "escnull",
    "esc02",
    "lwsdisp",
    "longreq",
    "dblreq",
    "semiuri",
    "transports",
    "mpart01",
    "unreason",
    "noreason",
];

const INVALID: &[&str] = &[
    "badinv01",
    "clerr",
    "ncl",
    "scalar02",
    "scalarlg",
    "quotbal",
    "ltgtruri",
    "lwsruri",
    "lwsstart",
    "trws",
    "escruri",
    "baddate",
    "regbadct",
    "badaspec",
    "baddn",
    "badvers",
    "mismatch01",
    "mismatch02",
    "bigcode",
];

#[test]
fn all_valid_messages_parse_and_print_back_parseable() {
    for name in VALID {
        let msg = valid(name);
        let again =
            parse_message(&msg.to_bytes()).unwrap_or_else(|e| panic!("{name} reprint: {e}"));
        assert_eq!(again.body(), msg.body(), "{name}");
        assert_eq!(again.headers().len(), msg.headers().len(), "{name}");
    }
}

#[test]
fn wsinv_short_tortuous_invite() {
    let r = request("wsinv");
    assert_eq!(r.method, Method::Invite);
    assert_eq!(
        r.uri.to_string(),
        "sip:vivekg@chair-dnrc.example.com;unknownparam"
    );
    let h = &r.headers;
    assert_eq!(h.to_addr().unwrap().tag(), Some("1918181833n"));
    let from = h.from_addr().unwrap();
    assert_eq!(from.display.as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(h.max_forwards().unwrap(), Some(68));
    assert_eq!(h.call_id().unwrap(), "wsinv.ndaksdj@192.0.2.1");
    let cseq = h.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
    let vias = h.vias().unwrap();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].branch(), Some("390skdjuw"));
    assert_eq!(vias[1].transport, "TCP");
    assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(vias[2].sent_by(), "192.168.255.111");
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(h.get(&HeaderName::Subject), Some(""));
    assert_eq!(
        h.get(&HeaderName::Other("NewFangledHeader".into())),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(
        h.get(&HeaderName::Other("UnknownHeaderWithUnusualValue".into())),
        Some(";;,,;;,;")
    );
    let contact = &h.contacts().unwrap()[0];
    assert_eq!(contact.q(), Some(330));
    assert_eq!(
        contact.addr().unwrap().display.as_deref(),
        Some("Quoted string \"\"")
    );
    assert!(h.routes().unwrap()[0].uri.as_sip().unwrap().lr());
    assert_eq!(r.body.len(), 150);
}

#[test]
fn intmeth_unusual_characters() {
    let r = request("intmeth");
    assert_eq!(
        r.method.as_str(),
        "!interesting-Method0123456789_*+`.%indeed'~"
    );
    let uri = r.uri.as_sip().unwrap();
    assert_eq!(
        uri.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        uri.password.as_deref(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    let to = r.headers.to_addr().unwrap();
    assert_eq!(to.display.as_deref(), Some("BEL:\x07 NUL:\0 DEL:\x7f"));
    assert_eq!(
        r.headers.call_id().unwrap(),
        "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    );
    assert_eq!(r.headers.cseq().unwrap().method, r.method);
    assert_eq!(
        r.headers.from_addr().unwrap().tag(),
        Some("_token~1'+`*%!-.")
    );
}

#[test]
fn esc01_escaped_uris() {
    let r = request("esc01");
    let uri = r.uri.as_sip().unwrap();
    assert_eq!(
        uri.user_unescaped().as_deref(),
        Some("sips:user@example.com")
    );
    assert_eq!(uri.host.to_string(), "example.net");
    let to = r.headers.to_addr().unwrap();
    assert!(
        to.uri
            .equivalent(&Uri::parse("sip:user@example.com").unwrap())
    );
    let from = r.headers.from_addr().unwrap();
    assert_eq!(
        from.uri.as_sip().unwrap().user_unescaped().as_deref(),
        Some("I have spaces")
    );
    assert_eq!(r.headers.content_type(), Some("application/sdp"));
    let contact = r.headers.contacts().unwrap()[0].addr().unwrap().uri.clone();
    assert!(
        contact.equivalent(&Uri::parse("sip:caller@host5.example.net;lr;name=value%41").unwrap())
    );
}

#[test]
fn escnull_escaped_nulls() {
    let r = request("escnull");
    let to = r.headers.to_addr().unwrap();
    assert_eq!(
        to.uri.as_sip().unwrap().user_unescaped().as_deref(),
        Some("null-\0-null")
    );
    let contacts = r.headers.contacts().unwrap();
    assert_eq!(contacts.len(), 2);
    assert_eq!(
        contacts[1]
            .addr()
            .unwrap()
            .uri
            .as_sip()
            .unwrap()
            .user_unescaped()
            .as_deref(),
        Some("\0\0")
    );
}

#[test]
fn esc02_percent_not_an_escape() {
    let r = request("esc02");
    assert_eq!(r.method, Method::Other("RE%47IST%45R".into()));
    assert_ne!(r.method, Method::Register);
    assert_eq!(
        r.headers.to_addr().unwrap().display.as_deref(),
        Some("%Z%45")
    );
    // `C%6Fntact` is an unknown header, not a Contact.
    assert_eq!(r.headers.contacts().unwrap().len(), 2);
    assert_eq!(r.headers.top_via().unwrap().rport(), Some(None));
}

#[test]
fn lwsdisp_and_semiuri_and_transports() {
    let r = request("lwsdisp");
    assert_eq!(
        r.headers.from_addr().unwrap().display.as_deref(),
        Some("caller")
    );
    let r = request("semiuri");
    let uri = r.uri.as_sip().unwrap();
    assert_eq!(uri.user.as_deref(), Some("user;par=u%40example.net"));
    assert!(uri.params.is_empty());
    assert_eq!(r.headers.tokens(&HeaderName::Accept).len(), 6);
    let r = request("transports");
    let t: Vec<String> = r
        .headers
        .vias()
        .unwrap()
        .into_iter()
        .map(|v| v.transport)
        .collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
}

#[test]
fn longreq_long_values() {
    let r = request("longreq");
    assert_eq!(r.headers.vias().unwrap().len(), 33);
    assert!(r.headers.call_id().unwrap().len() > 240);
    assert!(r.headers.to_addr().unwrap().display.unwrap().len() > 240);
    assert_eq!(r.headers.from_addr().unwrap().tag(), Some("12982424"));
    assert_eq!(r.body.len(), 150);
}

#[test]
fn dblreq_takes_the_first_message_of_a_datagram() {
    let r = request("dblreq");
    assert_eq!(r.method, Method::Register);
    assert!(r.body.is_empty());
    assert_eq!(r.headers.contacts().unwrap().len(), 1);
}

#[test]
fn mpart01_binary_body_kept_exactly() {
    let raw = fixture("valid", "mpart01");
    let r = request("mpart01");
    assert_eq!(r.method, Method::Message);
    assert!(raw.ends_with(&r.body));
    assert!(r.body.contains(&0xff));
    assert_eq!(
        r.headers.content_type(),
        Some("multipart/mixed;boundary=++")
    );
}

#[test]
fn unreason_and_noreason() {
    let r = response("unreason");
    assert_eq!(r.status, 200);
    assert!(r.reason.contains("но сто девяносто девять"));
    let r = response("noreason");
    assert_eq!(r.status, 100);
    assert_eq!(r.reason, "");
}

#[test]
fn all_invalid_messages_are_rejected() {
    for name in INVALID {
        let raw = fixture("invalid", name);
        let err = parse_message(&raw).expect_err(name);
        assert_eq!(err.status(), 400, "{name}");
        // A request that failed on a header value can still be answered,
        // unless its Via is the broken part: then there is nowhere to answer.
        if *name == "badinv01" {
            assert!(bad_request_response(&raw, &err).is_none());
        } else if !raw.starts_with(b"SIP/") && !matches!(err, ParseError::StartLine(_)) {
            let resp = bad_request_response(&raw, &err).unwrap_or_else(|| panic!("{name}: no 400"));
            assert_eq!(resp.status, 400);
            assert!(resp.reason.starts_with("Bad Request ("), "{name}");
        }
    }
}

#[test]
fn invalid_messages_fail_for_the_right_reason() {
    let err = |n| parse_message(&fixture("invalid", n)).unwrap_err();
    assert!(
        matches!(err("badinv01"), ParseError::Header { ref name, .. } if name == "Via" || name == "From")
    );
    assert_eq!(err("clerr"), ParseError::BodyTruncated);
    assert!(matches!(err("ncl"), ParseError::Header { ref name, .. } if name == "Content-Length"));
    assert!(matches!(err("scalar02"), ParseError::Header { ref name, .. } if name == "CSeq"));
    assert!(matches!(err("scalarlg"), ParseError::Header { ref name, .. } if name == "CSeq"));
    assert!(matches!(err("quotbal"), ParseError::Header { ref name, .. } if name == "To"));
    for n in [
        "ltgtruri", "lwsruri", "lwsstart", "trws", "escruri", "badvers", "bigcode",
    ] {
        assert!(
            matches!(err(n), ParseError::StartLine(_)),
            "{n}: {:?}",
            err(n)
        );
    }
    assert!(matches!(err("baddate"), ParseError::Header { ref name, .. } if name == "Date"));
    assert!(matches!(err("regbadct"), ParseError::Header { ref name, .. } if name == "Contact"));
    assert!(matches!(err("badaspec"), ParseError::Header { ref name, .. } if name == "To"));
    assert!(matches!(err("baddn"), ParseError::Header { ref name, .. } if name == "From"));
    assert_eq!(err("mismatch01"), ParseError::CSeqMismatch);
    assert_eq!(err("mismatch02"), ParseError::CSeqMismatch);
}

#[test]
fn clerr_on_a_stream_waits_for_the_body() {
    let mut f = StreamFramer::new();
    f.push(&fixture("invalid", "clerr"));
    assert_eq!(f.next_message(), Ok(None));
}

#[test]
fn star_contact_parses() {
    let raw = b"REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: x\r\nCSeq: 2 REGISTER\r\nContact: *\r\nExpires: 0\r\nContent-Length: 0\r\n\r\n";
    let Message::Request(r) = parse_message(raw).unwrap() else {
        panic!()
    };
    assert_eq!(r.headers.contacts().unwrap(), [Contact::Star]);
}

/// xorshift64*: deterministic so a failing mutation can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(3) {
        match rng.below(6) {
            0 => v.truncate(rng.below(v.len() + 1)),
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            2 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = *b"\r\n :;,<>\"%@=/\\\t0".get(rng.below(17)).unwrap_or(&b'x');
            }
            3 => {
                // Duplicate a line.
                let lines: Vec<&[u8]> = v.split(|&b| b == b'\n').collect();
                let i = rng.below(lines.len());
                let mut out = Vec::new();
                for (n, l) in lines.iter().enumerate() {
                    out.extend_from_slice(l);
                    out.push(b'\n');
                    if n == i {
                        out.extend_from_slice(l);
                        out.push(b'\n');
                    }
                }
                v = out;
            }
            4 if !v.is_empty() => {
                let i = rng.below(v.len());
                let n = rng.below(8).min(v.len() - i);
                v.drain(i..i + n);
            }
            _ => {
                let i = rng.below(v.len() + 1);
                let digits = b"99999999999999999999";
                v.splice(i..i, digits[..rng.below(digits.len())].iter().copied());
            }
        }
    }
    v
}

#[test]
fn mutated_corpus_never_panics() {
    let mut corpus: Vec<Vec<u8>> = VALID.iter().map(|n| fixture("valid", n)).collect();
    corpus.extend(INVALID.iter().map(|n| fixture("invalid", n)));
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut parsed = 0;
    let rounds = 40_000;
    for i in 0..rounds {
        let input = mutate(&mut rng, &corpus[i % corpus.len()]);
        if let Ok(msg) = parse_message(&input) {
            parsed += 1;
            // Whatever parses must print to something that parses again.
            let again = parse_message(&msg.to_bytes());
            assert!(again.is_ok(), "round {i}: reprint failed: {again:?}");
        } else if let Err(e) = parse_message(&input) {
            let _ = bad_request_response(&input, &e);
        }
        let mut f = StreamFramer::new();
        f.push(&input);
        let _ = f.next_message();
    }
    assert!(
        parsed > rounds / 20,
        "mutations too destructive: {parsed} parsed"
    );
}

#[test]
fn a_line_that_is_no_header_still_gets_a_400_naming_it() {
    let raw = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-x\r\n\
        From: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\
        this is no header\r\nContent-Length: 0\r\n\r\n";
    let err = parse_message(raw).unwrap_err();
    let resp = bad_request_response(raw, &err).expect("answered");
    assert_eq!(resp.status, 400);
    assert!(resp.reason.contains("line 7"), "{}", resp.reason);
    assert_eq!(resp.headers.call_id().unwrap(), "c");
}
