//! Digest: published vectors, SHA-256 vectors computed independently
//! (Python hashlib), and the server's stateless nonces.

use callisto_sip::digest::{self, Algorithm, DigestServer, Verdict};
use callisto_sip::{Challenge, Credentials, Ids, Method};

#[test]
fn rfc2617_md5_example() {
    let h1 = digest::ha1(
        Algorithm::Md5,
        "Mufasa",
        "testrealm@host.com",
        "Circle Of Life",
    );
    let r = digest::response(
        Algorithm::Md5,
        &h1,
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        "GET",
        "/dir/index.html",
        Some(("00000001", "0a4f113b")),
    );
    assert_eq!(r, "6629fae49393a05397450978507c4ef1");
}

#[test]
fn rfc7616_sha256_and_md5_examples() {
    let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    let resp = |alg| {
        let h1 = digest::ha1(alg, "Mufasa", "http-auth@example.org", "Circle of Life");
        digest::response(
            alg,
            &h1,
            nonce,
            "GET",
            "/dir/index.html",
            Some(("00000001", cnonce)),
        )
    };
    assert_eq!(
        resp(Algorithm::Sha256),
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );
    assert_eq!(resp(Algorithm::Md5), "8ca523f5e9506fed4657c9700eebdbec");
}

#[test]
fn client_answers_a_sip_challenge_without_qop() {
    let ch =
        Challenge::parse(r#"Digest realm="callisto.example", nonce="abc123", algorithm=SHA-256"#)
            .unwrap();
    let c = digest::answer(
        &ch,
        &Method::Register,
        "sip:callisto.example",
        "alice",
        "secret",
        "unused",
        1,
    )
    .unwrap();
    assert_eq!(
        c.get("response"),
        Some("4b1fbf1958de618438549c39dcdacd3e25d7d7626d51b97bf3476696721b0871")
    );
    assert_eq!(c.get("qop"), None);
    assert_eq!(c.get("algorithm"), Some("SHA-256"));
    let ch = Challenge::parse(r#"Digest realm="callisto.example", nonce="abc123""#).unwrap();
    let c = digest::answer(
        &ch,
        &Method::Invite,
        "sip:bob@callisto.example",
        "alice",
        "secret",
        "x",
        1,
    )
    .unwrap();
    assert_eq!(c.get("response"), Some("bcd7db678dcb33987a3eab5e48e8e5ae"));
    // What goes on the wire parses back to the same credentials.
    assert_eq!(Credentials::parse(&c.to_string()).unwrap(), c);
}

#[test]
fn client_rejects_what_it_cannot_answer() {
    let ch = Challenge::parse(r#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#).unwrap();
    assert!(digest::answer(&ch, &Method::Register, "sip:r", "u", "p", "c", 1).is_err());
    let ch = Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth-int""#).unwrap();
    assert!(digest::answer(&ch, &Method::Register, "sip:r", "u", "p", "c", 1).is_err());
    let ch = Challenge::parse(r#"Basic realm="r""#).unwrap();
    assert!(digest::answer(&ch, &Method::Register, "sip:r", "u", "p", "c", 1).is_err());
}

fn store(user: &str, alg: Algorithm) -> Option<String> {
    (user == "alice").then(|| digest::ha1(alg, "alice", "callisto.example", "s3cret"))
}

#[test]
fn server_challenge_round_trip_for_both_algorithms() {
    let server = DigestServer::new("callisto.example", b"node secret", 300);
    let mut ids = Ids::new(1);
    for alg in [Algorithm::Md5, Algorithm::Sha256] {
        let ch = server.challenge(1_000, alg, false, &mut ids);
        let wire = Challenge::parse(&ch.to_string()).unwrap();
        assert_eq!(wire.get("qop"), Some("auth"));
        assert_eq!(wire.get("algorithm"), Some(alg.name()));
        let c = digest::answer(
            &wire,
            &Method::Register,
            "sip:callisto.example",
            "alice",
            "s3cret",
            &ids.hex(),
            1,
        )
        .unwrap();
        assert_eq!(
            server.verify(1_010, &Method::Register, &c, store),
            Verdict::Ok {
                user: "alice".into()
            }
        );
        // Stale after the TTL, but only with the right password.
        assert_eq!(
            server.verify(1_400, &Method::Register, &c, store),
            Verdict::Stale
        );
        let wrong = digest::answer(
            &wire,
            &Method::Register,
            "sip:callisto.example",
            "alice",
            "guess",
            "c",
            1,
        )
        .unwrap();
        assert!(matches!(
            server.verify(1_010, &Method::Register, &wrong, store),
            Verdict::Rejected(_)
        ));
        // Same credentials replayed for another method fail.
        assert!(matches!(
            server.verify(1_010, &Method::Invite, &c, store),
            Verdict::Rejected(_)
        ));
    }
    let stale = server.challenge(2_000, Algorithm::Md5, true, &mut ids);
    assert_eq!(stale.get("stale"), Some("true"));
}

#[test]
fn server_rejects_foreign_nonces_and_unknown_users() {
    let server = DigestServer::new("callisto.example", b"node secret", 300);
    let other = DigestServer::new("callisto.example", b"another secret", 300);
    let mut ids = Ids::new(2);
    let ch = other.challenge(1_000, Algorithm::Md5, false, &mut ids);
    let c = digest::answer(&ch, &Method::Register, "sip:x", "alice", "s3cret", "c", 1).unwrap();
    assert_eq!(
        server.verify(1_001, &Method::Register, &c, store),
        Verdict::Rejected("nonce not issued here")
    );
    let ch = server.challenge(1_000, Algorithm::Md5, false, &mut ids);
    let c = digest::answer(&ch, &Method::Register, "sip:x", "mallory", "s3cret", "c", 1).unwrap();
    assert_eq!(
        server.verify(1_001, &Method::Register, &c, store),
        Verdict::Rejected("unknown user")
    );
    // A node restarted with the same secret still accepts its nonces.
    let restarted = DigestServer::new("callisto.example", b"node secret", 300);
    let c = digest::answer(&ch, &Method::Register, "sip:x", "alice", "s3cret", "c", 1).unwrap();
    assert!(matches!(
        restarted.verify(1_001, &Method::Register, &c, store),
        Verdict::Ok { .. }
    ));
}
