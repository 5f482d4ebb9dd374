//! Dialogs: creation on both sides, in-dialog requests, matching and CSeq order.

use callisto_sip::{
    Dialog, DialogError, DialogId, DialogState, HeaderName, Host, Message, Method, NameAddr,
    Request, Response, Role, Uri, Via, parse_message,
};

fn req(text: &str) -> Request {
    match parse_message(text.replace('\n', "\r\n").as_bytes()).expect("request parses") {
        Message::Request(r) => r,
        Message::Response(_) => panic!("not a request"),
    }
}

fn resp(text: &str) -> Response {
    match parse_message(text.replace('\n', "\r\n").as_bytes()).expect("response parses") {
        Message::Response(r) => r,
        Message::Request(_) => panic!("not a response"),
    }
}

const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds
Max-Forwards: 70
To: Bob <sip:bob@biloxi.example.com>
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.example.com>
Record-Route: <sip:p2.biloxi.example.com;lr>
Record-Route: <sip:p1.atlanta.example.com;lr>
Content-Length: 0

";

const OK: &str = "SIP/2.0 200 OK
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds
To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Contact: <sip:bob@192.0.2.4>
Record-Route: <sip:p2.biloxi.example.com;lr>
Record-Route: <sip:p1.atlanta.example.com;lr>
Content-Length: 0

";

fn via() -> Via {
    Via::new(
        "UDP",
        Host::Domain("pc33.atlanta.example.com".into()),
        None,
        "z9hG4bKnew",
    )
}

fn contact(s: &str) -> NameAddr {
    NameAddr::new(Uri::parse(s).expect("uri"))
}

#[test]
fn uac_dialog_from_2xx_reverses_record_route_and_builds_bye() {
    let invite = req(INVITE);
    let mut d = Dialog::uac(
        &invite,
        &resp(OK),
        contact("sip:alice@pc33.atlanta.example.com"),
    )
    .unwrap();
    assert_eq!(d.role, Role::Uac);
    assert_eq!(d.state, DialogState::Confirmed);
    assert_eq!(d.id.local_tag, "1928301774");
    assert_eq!(d.id.remote_tag, "a6c85cf");
    assert_eq!(d.remote_target.to_string(), "sip:bob@192.0.2.4");
    assert_eq!(
        d.route_set[0].uri.to_string(),
        "sip:p1.atlanta.example.com;lr"
    );
    assert_eq!(d.next_hop().to_string(), "sip:p1.atlanta.example.com;lr");

    let bye = d.request(Method::Bye, &via());
    assert_eq!(bye.uri.to_string(), "sip:bob@192.0.2.4");
    let routes: Vec<String> = bye
        .headers
        .routes()
        .unwrap()
        .iter()
        .map(|r| r.uri.to_string())
        .collect();
    assert_eq!(
        routes,
        [
            "sip:p1.atlanta.example.com;lr",
            "sip:p2.biloxi.example.com;lr"
        ]
    );
    let cseq = bye.headers.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (314_160, Method::Bye));
    assert_eq!(bye.headers.from_addr().unwrap().tag(), Some("1928301774"));
    assert_eq!(bye.headers.to_addr().unwrap().tag(), Some("a6c85cf"));
    assert_eq!(
        bye.headers.call_id().unwrap(),
        "a84b4c76e66710@pc33.atlanta.example.com"
    );
    // Round trip through the parser: what the peer gets is valid.
    parse_message(&bye.to_bytes()).unwrap();

    let ack = d.ack(314_159, &via());
    assert_eq!(ack.headers.cseq().unwrap().seq, 314_159);
    assert_eq!(ack.headers.cseq().unwrap().method, Method::Ack);

    let mut hold = d.request(Method::Invite, &via());
    hold.set_body("application/sdp", b"v=0\r\na=sendonly\r\n".to_vec());
    assert_eq!(hold.headers.cseq().unwrap().seq, 314_161);
    assert_eq!(
        hold.headers.contacts().unwrap().len(),
        1,
        "re-INVITE refreshes our target"
    );
    let info = d.request(Method::Info, &via());
    assert_eq!(info.headers.cseq().unwrap().seq, 314_162);
}

#[test]
fn uac_early_dialog_confirms_on_2xx() {
    let invite = req(INVITE);
    let ringing = resp(&OK.replace("200 OK", "180 Ringing"));
    let mut d = Dialog::uac(&invite, &ringing, contact("sip:a@h")).unwrap();
    assert_eq!(d.state, DialogState::Early);
    d.on_response(&resp(&OK.replace("sip:bob@192.0.2.4", "sip:bob@192.0.2.5")));
    assert_eq!(d.state, DialogState::Confirmed);
    assert_eq!(d.remote_target.to_string(), "sip:bob@192.0.2.5");
    let no_tag = resp(
        &OK.replace(";tag=a6c85cf", "")
            .replace("200 OK", "180 Ringing"),
    );
    assert!(Dialog::uac(&invite, &no_tag, contact("sip:a@h")).is_err());
    assert!(
        Dialog::uac(
            &invite,
            &resp(&OK.replace("200 OK", "100 Trying")),
            contact("sip:a@h")
        )
        .is_err()
    );
}

#[test]
fn uas_dialog_matches_requests_and_rejects_old_cseq_with_500() {
    let invite = req(INVITE);
    let mut d = Dialog::uas(&invite, "uas-tag", contact("sip:bob@192.0.2.4")).unwrap();
    let mut ok = Response::from_request(&invite, 200, None);
    d.prepare_response(&invite, &mut ok);
    assert_eq!(d.state, DialogState::Confirmed);
    assert_eq!(ok.headers.to_addr().unwrap().tag(), Some("uas-tag"));
    assert_eq!(ok.headers.record_routes().unwrap().len(), 2);
    assert_eq!(ok.headers.contacts().unwrap().len(), 1);
    assert_eq!(
        d.route_set[0].uri.to_string(),
        "sip:p2.biloxi.example.com;lr",
        "UAS keeps the order"
    );

    // The caller's BYE, with the tags swapped to our view.
    let bye_text = INVITE
        .replace("INVITE sip:bob@biloxi.example.com", "BYE sip:bob@192.0.2.4")
        .replace(
            "To: Bob <sip:bob@biloxi.example.com>",
            "To: Bob <sip:bob@biloxi.example.com>;tag=uas-tag",
        )
        .replace("CSeq: 314159 INVITE", "CSeq: 314160 BYE");
    let bye = req(&bye_text);
    assert_eq!(DialogId::of_incoming(&bye).as_ref(), Some(&d.id));
    assert!(d.matches(&bye));
    d.on_request(&bye).unwrap();
    let old = req(&bye_text.replace("CSeq: 314160 BYE", "CSeq: 3 BYE"));
    let err = d.on_request(&old).unwrap_err();
    assert_eq!(
        err,
        DialogError::CSeqOutOfOrder {
            got: 3,
            last: 314_160
        }
    );
    assert_eq!(err.status(), 500);
    let other = req(&bye_text.replace("tag=uas-tag", "tag=someone-else"));
    assert_eq!(d.on_request(&other).unwrap_err().status(), 481);

    // A re-INVITE from the peer moves its target.
    let reinvite = req(&bye_text
        .replace("BYE sip", "INVITE sip")
        .replace("CSeq: 314160 BYE", "CSeq: 314161 INVITE")
        .replace(
            "<sip:alice@pc33.atlanta.example.com>\n",
            "<sip:alice@198.51.100.9>\n",
        ));
    d.on_request(&reinvite).unwrap();
    assert_eq!(d.remote_target.to_string(), "sip:alice@198.51.100.9");

    // Our own requests start at 1 and go to the caller's contact via the route set.
    let our_bye = d.request(Method::Bye, &via());
    assert_eq!(our_bye.headers.cseq().unwrap().seq, 1);
    assert_eq!(our_bye.headers.from_addr().unwrap().tag(), Some("uas-tag"));
    assert_eq!(our_bye.headers.to_addr().unwrap().tag(), Some("1928301774"));
    assert_eq!(our_bye.uri.to_string(), "sip:alice@198.51.100.9");
}

#[test]
fn strict_first_route_takes_the_request_uri() {
    let invite = req(&INVITE.replace(";lr>", ">"));
    let ok = resp(&OK.replace(";lr>", ">"));
    let mut d = Dialog::uac(&invite, &ok, contact("sip:a@h")).unwrap();
    let bye = d.request(Method::Bye, &via());
    assert_eq!(bye.uri.to_string(), "sip:p1.atlanta.example.com");
    let routes: Vec<String> = bye
        .headers
        .routes()
        .unwrap()
        .iter()
        .map(|r| r.uri.to_string())
        .collect();
    assert_eq!(routes, ["sip:p2.biloxi.example.com", "sip:bob@192.0.2.4"]);
    assert!(bye.headers.get(&HeaderName::Route).is_some());
}
