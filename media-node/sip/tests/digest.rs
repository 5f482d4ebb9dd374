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
    let mut server = DigestServer::new("callisto.example", b"node secret", 300);
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
    let mut server = DigestServer::new("callisto.example", b"node secret", 300);
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
    let mut restarted = DigestServer::new("callisto.example", b"node secret", 300);
    let c = digest::answer(&ch, &Method::Register, "sip:x", "alice", "s3cret", "c", 1).unwrap();
    assert!(matches!(
        restarted.verify(1_001, &Method::Register, &c, store),
        Verdict::Ok { .. }
    ));
}

/// Alice's answer to `ch` with nonce-count `nc`.
fn alice(ch: &Challenge, nc: u32) -> Credentials {
    digest::answer(
        ch,
        &Method::Register,
        "sip:callisto.example",
        "alice",
        "s3cret",
        "c0ffee",
        nc,
    )
    .expect("an answer")
}

#[test]
fn a_replayed_nonce_count_is_refused_and_a_rising_one_accepted() {
    let mut server = DigestServer::new("callisto.example", b"node secret", 300);
    let mut ids = Ids::new(4);
    let ch = server.challenge(1_000, Algorithm::Md5, false, &mut ids);
    let ok = Verdict::Ok {
        user: "alice".into(),
    };
    assert_eq!(
        server.verify(1_001, &Method::Register, &alice(&ch, 1), store),
        ok
    );
    // The same request again (a capture sent back): refused.
    assert_eq!(
        server.verify(1_002, &Method::Register, &alice(&ch, 1), store),
        Verdict::Replayed
    );
    // A phone reusing its nonce counts up: accepted, even with a gap.
    assert_eq!(
        server.verify(1_003, &Method::Register, &alice(&ch, 2), store),
        ok
    );
    assert_eq!(
        server.verify(1_004, &Method::Register, &alice(&ch, 5), store),
        ok
    );
    for nc in [5, 4, 1] {
        assert_eq!(
            server.verify(1_005, &Method::Register, &alice(&ch, nc), store),
            Verdict::Replayed,
            "nc {nc} after 5"
        );
    }
    // A wrong password does not use up a count.
    let guess = digest::answer(
        &ch,
        &Method::Register,
        "sip:callisto.example",
        "alice",
        "guess",
        "c",
        6,
    )
    .unwrap();
    assert!(matches!(
        server.verify(1_006, &Method::Register, &guess, store),
        Verdict::Rejected(_)
    ));
    assert_eq!(
        server.verify(1_007, &Method::Register, &alice(&ch, 6), store),
        ok
    );
    // Another nonce has its own count.
    let other = server.challenge(1_010, Algorithm::Sha256, false, &mut ids);
    assert_eq!(
        server.verify(1_011, &Method::Register, &alice(&other, 1), store),
        ok
    );
    assert_eq!(server.nonces_remembered(), 2);
}

#[test]
fn a_nonce_without_qop_is_good_once() {
    let mut server = DigestServer::new("callisto.example", b"node secret", 300);
    let mut ids = Ids::new(5);
    let offered = server.challenge(1_000, Algorithm::Md5, false, &mut ids);
    // A client of RFC 2069's kind ignores qop and sends no nc.
    let mut plain = Challenge::new("Digest");
    for p in ["realm", "nonce", "opaque", "algorithm"] {
        plain.push(p, offered.get(p).unwrap(), p != "algorithm");
    }
    let c = alice(&plain, 1);
    assert_eq!(c.get("nc"), None);
    assert!(matches!(
        server.verify(1_001, &Method::Register, &c, store),
        Verdict::Ok { .. }
    ));
    assert_eq!(
        server.verify(1_002, &Method::Register, &c, store),
        Verdict::Replayed
    );
    // Nor can the used nonce be taken up again with qop.
    assert_eq!(
        server.verify(1_003, &Method::Register, &alice(&offered, 1), store),
        Verdict::Replayed
    );
}

#[test]
fn an_expired_nonce_leaves_the_record() {
    let mut server = DigestServer::new("callisto.example", b"node secret", 300);
    let mut ids = Ids::new(6);
    let first = server.challenge(1_000, Algorithm::Md5, false, &mut ids);
    assert!(matches!(
        server.verify(1_000, &Method::Register, &alice(&first, 1), store),
        Verdict::Ok { .. }
    ));
    assert_eq!(server.nonces_remembered(), 1);
    // Still remembered at the last second of its life.
    assert_eq!(
        server.verify(1_300, &Method::Register, &alice(&first, 1), store),
        Verdict::Replayed
    );
    // Past it the nonce is stale, and the next request forgets it.
    assert_eq!(
        server.verify(1_301, &Method::Register, &alice(&first, 2), store),
        Verdict::Stale
    );
    let next = server.challenge(1_301, Algorithm::Md5, true, &mut ids);
    assert!(matches!(
        server.verify(1_302, &Method::Register, &alice(&next, 1), store),
        Verdict::Ok { .. }
    ));
    assert_eq!(server.nonces_remembered(), 1, "only the new nonce is kept");
}

#[test]
fn the_record_stays_bounded_under_a_flood_of_nonces_and_forgets_none_into_a_replay() {
    let mut server =
        DigestServer::new("callisto.example", b"node secret", 300).with_replay_capacity(100);
    let mut ids = Ids::new(7);
    let mut used = Vec::new();
    // 1 000 fresh nonces, 10 a second, each used once.
    for i in 0..1_000u64 {
        let now = 10_000 + i / 10;
        let ch = server.challenge(now, Algorithm::Md5, false, &mut ids);
        let c = alice(&ch, 1);
        assert!(matches!(
            server.verify(now, &Method::Register, &c, store),
            Verdict::Ok { .. }
        ));
        assert!(server.nonces_remembered() <= 100);
        used.push(c);
    }
    let now = 10_100;
    // Every one of them, forgotten or not, is refused when sent again.
    for (i, c) in used.iter().enumerate() {
        assert_eq!(
            server.verify(now, &Method::Register, c, store),
            Verdict::Replayed,
            "nonce {i}"
        );
    }
    // A forgotten nonce is refused even with a count it never used: its
    // owner gets a fresh challenge (stale) and goes on.
    assert_eq!(
        server.verify(
            now,
            &Method::Register,
            &alice(&server_nonce(&used[0]), 2),
            store
        ),
        Verdict::Replayed
    );
    let ch = server.challenge(now + 1, Algorithm::Md5, true, &mut ids);
    assert!(matches!(
        server.verify(now + 1, &Method::Register, &alice(&ch, 1), store),
        Verdict::Ok { .. }
    ));
    assert!(server.nonces_remembered() <= 100);
}

/// The challenge a set of credentials answered (its nonce and realm).
fn server_nonce(c: &Credentials) -> Challenge {
    let mut ch = Challenge::new("Digest");
    ch.push("realm", c.get("realm").expect("realm"), true);
    ch.push("nonce", c.get("nonce").expect("nonce"), true);
    ch.push("qop", "auth", true);
    ch
}
