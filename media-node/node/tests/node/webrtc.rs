//! A browser leg against a real WebRTC peer (str0m playing the browser, in
//! memory, on a virtual clock): ICE, DTLS and SRTP come up, the browser's
//! audio reaches the bridge as plain RTP, and the bridge's RTP reaches the
//! browser.

use callisto_media::codec::CodecSpec;
use callisto_media::rtp::{RtpHeader, RtpPacket};
use callisto_node::webrtc::{WebRtcLeg, is_webrtc};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

const NODE: &str = "127.0.0.1:40000";
const BROWSER: &str = "127.0.0.1:50000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

struct Browser {
    rtc: Rtc,
    mid: Mid,
    heard: Vec<Vec<u8>>,
    connected: bool,
    timeout: Instant,
}

impl Browser {
    /// Drains the browser's output: datagrams go to `wire`.
    fn drain(&mut self, wire: &mut Vec<(SocketAddr, Vec<u8>)>) {
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(t) => {
                    self.timeout = t;
                    return;
                }
                Output::Transmit(t) => wire.push((t.destination, t.contents.to_vec())),
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(Event::MediaData(d)) => self.heard.push(d.data.to_vec()),
                Output::Event(_) => {}
            }
        }
    }

    fn receive(&mut self, now: Instant, data: &[u8], wire: &mut Vec<(SocketAddr, Vec<u8>)>) {
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: addr(NODE),
                destination: addr(BROWSER),
                contents: data.try_into().unwrap(),
            },
        );
        self.rtc.handle_input(input).unwrap();
        self.drain(wire);
    }
}

#[test]
fn a_browser_call_comes_up_and_carries_audio_both_ways() {
    let t0 = Instant::now();
    let mut builder = Rtc::builder()
        .clear_codecs()
        .enable_opus(true, false)
        .enable_pcmu(true, false);
    // Like Chromium: telephone events at 8 kHz beside PCMU.
    builder.codec_config().add_config(
        126.into(),
        None,
        str0m::format::Codec::Tele,
        str0m::media::Frequency::EIGHT_KHZ,
        None,
        str0m::format::FormatParams::parse_line("0-15"),
    );
    let mut rtc = builder.build(t0);
    rtc.add_local_candidate(Candidate::host(addr(BROWSER), "udp").unwrap());
    let mut change = rtc.sdp_api();
    let mid = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    let (offer, pending) = change.apply().unwrap();
    let offer = offer.to_sdp_string();
    assert!(is_webrtc(&offer), "{offer}");

    let (mut leg, answer) = WebRtcLeg::answer(t0, addr(NODE), &offer).unwrap();
    let media = leg.media().expect("audio negotiated");
    assert_eq!(
        media.codec,
        CodecSpec::Pcmu,
        "the trunk's codec is preferred"
    );
    assert_eq!(media.te_pt, Some(126), "the keypad's events: {answer}");
    assert!(answer.contains("a=ice-lite"), "{answer}");
    assert!(answer.contains("a=fingerprint:"), "{answer}");
    rtc.sdp_api()
        .accept_answer(
            pending,
            str0m::change::SdpAnswer::from_sdp_string(&answer).unwrap(),
        )
        .unwrap();
    let mut browser = Browser {
        rtc,
        mid,
        heard: Vec::new(),
        connected: false,
        timeout: t0,
    };

    // Run both on a virtual clock until DTLS is up, passing datagrams between them.
    let mut now = t0;
    let (mut to_node, mut to_browser) = (Vec::new(), Vec::new());
    browser.drain(&mut to_node);
    for _ in 0..2000 {
        for (_, d) in std::mem::take(&mut to_node) {
            leg.handle_datagram(now, addr(BROWSER), &d, &mut to_browser);
        }
        for (_, d) in std::mem::take(&mut to_browser) {
            browser.receive(now, &d, &mut to_node);
        }
        if browser.connected && to_node.is_empty() && to_browser.is_empty() {
            break;
        }
        now += Duration::from_millis(10);
        if browser.timeout <= now {
            browser.rtc.handle_input(Input::Timeout(now)).unwrap();
            browser.drain(&mut to_node);
        }
        if leg.poll_timeout() <= now {
            leg.handle_timeout(now, &mut to_browser);
        }
    }
    assert!(browser.connected, "ICE and DTLS came up");

    // The browser speaks: the bridge gets RTP with its payload.
    let pt = browser
        .rtc
        .codec_config()
        .iter()
        .find(|p| p.spec().codec == str0m::format::Codec::PCMU)
        .unwrap()
        .pt();
    for i in 0..5u64 {
        let w = browser.rtc.writer(browser.mid).unwrap();
        w.write(
            pt,
            now,
            MediaTime::new(160 * i, str0m::media::Frequency::EIGHT_KHZ),
            vec![i as u8; 160],
        )
        .unwrap();
        browser.drain(&mut to_node);
        // The browser's pacer lets packets go on its ticks.
        for _ in 0..4 {
            now += Duration::from_millis(5);
            browser.rtc.handle_input(Input::Timeout(now)).unwrap();
            browser.drain(&mut to_node);
        }
        for (_, d) in std::mem::take(&mut to_node) {
            leg.handle_datagram(now, addr(BROWSER), &d, &mut to_browser);
        }
    }
    let got: Vec<Vec<u8>> = leg.take_inbound().collect();
    assert!(got.len() >= 4, "{} packets", got.len());
    let p = RtpPacket::parse(&got[1]).unwrap();
    assert_eq!(
        (p.payload_type(), p.payload()[0], p.payload().len()),
        (0, 1, 160)
    );

    // A key on the browser's keypad: RFC 4733 events reach the bridge on
    // the negotiated payload type, digit 5 in each report.
    let w = browser.rtc.writer(browser.mid).unwrap();
    w.telephone_event(str0m::media::TelephoneEvent {
        event: 5,
        end: true,
        volume: 10,
        duration: Duration::from_millis(100),
    })
    .write(
        pt,
        now,
        MediaTime::new(160 * 5, str0m::media::Frequency::EIGHT_KHZ),
        vec![],
    )
    .unwrap();
    for _ in 0..40 {
        now += Duration::from_millis(5);
        browser.rtc.handle_input(Input::Timeout(now)).unwrap();
        browser.drain(&mut to_node);
        for (_, d) in std::mem::take(&mut to_node) {
            leg.handle_datagram(now, addr(BROWSER), &d, &mut to_browser);
        }
    }
    let events: Vec<Vec<u8>> = leg.take_inbound().collect();
    assert!(!events.is_empty(), "no telephone events arrived");
    for e in &events {
        let p = RtpPacket::parse(e).unwrap();
        assert_eq!((p.payload_type(), p.payload()[0]), (126, 5));
    }
    assert!(
        events
            .iter()
            .any(|e| RtpPacket::parse(e).unwrap().payload()[1] & 0x80 != 0),
        "the event's end was reported"
    );

    // The bridge speaks: the browser hears it.
    for i in 0..5u32 {
        let mut pkt = vec![0u8; 12 + 160];
        RtpHeader {
            marker: false,
            payload_type: 0,
            sequence: i as u16,
            timestamp: 160 * i,
            ssrc: 9,
            csrcs: &[],
            extension: None,
        }
        .write(&[7u8; 160], 0, &mut pkt)
        .unwrap();
        leg.send_rtp(now, &pkt, &mut to_browser);
        for (_, d) in std::mem::take(&mut to_browser) {
            browser.receive(now, &d, &mut to_node);
        }
        now += Duration::from_millis(20);
    }
    assert!(!browser.heard.is_empty(), "the browser heard the bridge");
    assert!(browser.heard.iter().all(|f| f.iter().all(|b| *b == 7)));

    // A customer's key from the bridge: digit 9 for 100 ms, reported three
    // times as it goes and three times at its end; the browser gets the event.
    browser.heard.clear();
    let te = media.te_pt.unwrap();
    for (i, (end, units)) in [
        (false, 160u16),
        (false, 480),
        (false, 800),
        (true, 800),
        (true, 800),
        (true, 800),
    ]
    .into_iter()
    .enumerate()
    {
        let mut pkt = vec![0u8; 12 + 4];
        RtpHeader {
            marker: i == 0,
            payload_type: te,
            sequence: 10 + i as u16,
            timestamp: 160 * 6,
            ssrc: 9,
            csrcs: &[],
            extension: None,
        }
        .write(
            &[
                9,
                if end { 0x80 | 10 } else { 10 },
                (units >> 8) as u8,
                units as u8,
            ],
            0,
            &mut pkt,
        )
        .unwrap();
        leg.send_rtp(now, &pkt, &mut to_browser);
        now += Duration::from_millis(20);
    }
    for _ in 0..60 {
        now += Duration::from_millis(10);
        if leg.poll_timeout() <= now {
            leg.handle_timeout(now, &mut to_browser);
        }
        for (_, d) in std::mem::take(&mut to_browser) {
            browser.receive(now, &d, &mut to_node);
        }
    }
    let events: Vec<&Vec<u8>> = browser.heard.iter().filter(|f| f.len() == 4).collect();
    assert!(!events.is_empty(), "the browser got no telephone event");
    assert!(events.iter().all(|e| e[0] == 9), "{events:?}");
    assert!(!leg.is_gone());
}

#[test]
fn plain_offers_are_not_webrtc_and_garbage_is_refused() {
    assert!(!is_webrtc("v=0\r\nm=audio 4000 RTP/AVP 0\r\n"));
    assert!(WebRtcLeg::answer(Instant::now(), addr(NODE), "v=0\r\nnot sdp").is_err());
}
