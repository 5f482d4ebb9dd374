use super::{Backend, tenant};
use callisto_domain::call::{CallId, CallRecord, Cause, Direction, HangupSide, Outcome};
use callisto_domain::ids::{ClientId, UserId};
use callisto_store::Repos;
use callisto_store::repo::RepoError;

// 2026-11-30 23:59:59.000 UTC and 2026-12-01 00:00:01.000 UTC: one second
// apart, two months apart.
const NOV_END: u64 = 1_796_083_199_000;
const DEC_START: u64 = 1_796_083_201_000;

fn call(at: u64, agent: &str, client: Option<&str>) -> CallRecord {
    let id = ulid::Ulid::from_parts(at, u128::from(at as u32)).to_string();
    CallRecord {
        id: CallId::parse(id).unwrap(),
        tenant: tenant("calls"),
        direction: Direction::Outbound,
        from: "+74951234567".into(),
        to: "+79123456789".into(),
        agent: Some(UserId::parse(agent).unwrap()),
        client: client.map(|c| ClientId::parse(c).unwrap()),
        line: Some("main".into()),
        started_at: at as i64,
        answered_at: Some(at as i64 + 4_000),
        ended_at: at as i64 + 64_000,
        outcome: Outcome::Answered,
        hangup: HangupSide::Callee,
        cause: Cause {
            code: 200,
            reason: "BYE".into(),
        },
        recording: None,
    }
}

pub async fn repo_call_records_by_month_agent_and_client(b: &dyn Backend) {
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let t = tenant("calls");
    let nov = call(NOV_END, "ann", Some("c1"));
    let dec = call(DEC_START, "ann", None);
    let bob = call(DEC_START + 60_000, "bob", Some("c1"));
    for c in [&nov, &dec, &bob] {
        r.calls.record(c).await.unwrap();
    }

    // A node that retries after a restart writes the same record again: nothing changes.
    r.calls.record(&nov).await.unwrap();
    // A different record under a used id is refused and the first one stays.
    let mut forged = nov.clone();
    forged.to = "+70000000000".into();
    assert!(matches!(
        r.calls.record(&forged).await,
        Err(RepoError::Stale(_))
    ));
    assert_eq!(r.calls.get(&t, &nov.id).await.unwrap(), nov);

    // The month is the id's own: November holds one call, December two, newest first.
    let november = r.calls.month(&t, 2026, 11, None, 10).await.unwrap();
    assert_eq!(november.items, vec![nov.clone()]);
    let december = r.calls.month(&t, 2026, 12, None, 10).await.unwrap();
    assert_eq!(december.items, vec![bob.clone(), dec.clone()]);
    let page = r.calls.month(&t, 2026, 12, None, 1).await.unwrap();
    assert_eq!(page.items, vec![bob.clone()]);
    let rest = r.calls.month(&t, 2026, 12, page.cursor, 1).await.unwrap();
    assert_eq!(rest.items, vec![dec.clone()]);

    let ann = UserId::parse("ann").unwrap();
    let anns = r.calls.by_agent(&t, &ann, None, 10).await.unwrap();
    assert_eq!(anns.items, vec![dec.clone(), nov.clone()]);
    let c1 = ClientId::parse("c1").unwrap();
    let card = r.calls.by_client(&t, &c1, None, 10).await.unwrap();
    assert_eq!(card.items, vec![bob.clone(), nov.clone()]);
    // The same within one month: the edges of the month hold.
    let ann_dec = r
        .calls
        .agent_month(&t, &ann, 2026, 12, None, 10)
        .await
        .unwrap();
    assert_eq!(ann_dec.items, vec![dec.clone()]);
    let ann_nov = r
        .calls
        .agent_month(&t, &ann, 2026, 11, None, 10)
        .await
        .unwrap();
    assert_eq!(ann_nov.items, vec![nov.clone()]);
    let ann_oct = r
        .calls
        .agent_month(&t, &ann, 2026, 10, None, 10)
        .await
        .unwrap();
    assert!(ann_oct.items.is_empty());
    let card_dec = r
        .calls
        .client_month(&t, &c1, 2026, 12, None, 10)
        .await
        .unwrap();
    assert_eq!(card_dec.items, vec![bob.clone()]);
    let card_nov = r
        .calls
        .client_month(&t, &c1, 2026, 11, None, 1)
        .await
        .unwrap();
    assert_eq!(card_nov.items, vec![nov.clone()]);
    if let Some(cursor) = card_nov.cursor {
        let rest = r
            .calls
            .client_month(&t, &c1, 2026, 11, Some(cursor), 1)
            .await
            .unwrap();
        assert!(rest.items.is_empty());
    }

    // Another tenant sees none of it; an id that is no call id is not found.
    let other = tenant("calls2");
    assert!(matches!(
        r.calls.get(&other, &nov.id).await,
        Err(RepoError::NotFound(_))
    ));
    assert!(
        r.calls
            .month(&other, 2026, 12, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(matches!(
        r.calls.get(&t, &CallId::parse("not-a-ulid").unwrap()).await,
        Err(RepoError::NotFound(_))
    ));

    // An inconsistent record is refused before anything is written.
    let mut broken = call(DEC_START + 120_000, "ann", None);
    broken.answered_at = None;
    assert!(r.calls.record(&broken).await.is_err());
    assert!(matches!(
        r.calls.get(&t, &broken.id).await,
        Err(RepoError::NotFound(_))
    ));
}

pub async fn repo_trunk_settings_status_and_sip_credentials(b: &dyn Backend) {
    use callisto_domain::telephony::{SipCredentials, SipTransport, Trunk, TrunkStatus};
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let (t, other) = (tenant("tel"), tenant("tel2"));
    assert!(r.telephony.trunk(&t).await.unwrap().is_none());
    let trunk = Trunk {
        enabled: true,
        name: "Main line".into(),
        number: "+74951234567".into(),
        host: "127.0.0.1".into(),
        port: 5080,
        transport: SipTransport::Udp,
        login: "0012345".into(),
        domain: String::new(),
        password: "secret".into(),
        register: true,
        qualify: false,
    };
    let v1 = r.telephony.save_trunk(&t, &trunk, 0).await.unwrap();
    // A second "first save" (two administrators at once) is refused.
    assert!(matches!(
        r.telephony.save_trunk(&t, &trunk, 0).await,
        Err(RepoError::Stale(_))
    ));
    let disabled = Trunk {
        enabled: false,
        ..trunk.clone()
    };
    let v2 = r.telephony.save_trunk(&t, &disabled, v1).await.unwrap();
    assert!(matches!(
        r.telephony.save_trunk(&t, &trunk, v1).await,
        Err(RepoError::Stale(_))
    ));
    let read = r.telephony.trunk(&t).await.unwrap().unwrap();
    assert_eq!((read.value, read.version), (disabled, v2));
    assert!(r.telephony.trunk(&other).await.unwrap().is_none());

    let failed = TrunkStatus::Failed {
        code: Some(403),
        reason: "Forbidden".into(),
    };
    r.telephony.set_trunk_status(&t, &failed).await.unwrap();
    assert_eq!(r.telephony.trunk_status(&t).await.unwrap(), Some(failed));
    assert_eq!(r.telephony.trunk_status(&other).await.unwrap(), None);

    let ann = UserId::parse("ann").unwrap();
    let creds = SipCredentials {
        realm: "callisto".into(),
        ha1_md5: "0".repeat(32),
        ha1_sha256: "1".repeat(64),
        updated_at: 5,
    };
    r.telephony
        .save_sip_credentials(&t, &ann, &creds)
        .await
        .unwrap();
    assert_eq!(
        r.telephony.sip_credentials(&t, &ann).await.unwrap(),
        Some(creds)
    );
    assert_eq!(
        r.telephony.sip_credentials(&other, &ann).await.unwrap(),
        None
    );
}

pub async fn repo_call_records_written_together_each_get_their_own_answer(b: &dyn Backend) {
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let t = tenant("calls");
    let first = call(DEC_START, "ann", Some("c1"));
    r.calls.record(&first).await.unwrap();
    let new = call(DEC_START + 1_000, "bob", None);
    let mut forged = first.clone();
    forged.to = "+70000000000".into();
    let mut broken = call(DEC_START + 2_000, "ann", None);
    broken.answered_at = None;
    let also_new = call(DEC_START + 3_000, "ann", None);

    // A redelivered record, a new one, a forged one, a broken one and another
    // new one: each gets what `record` alone would answer.
    let results = r
        .calls
        .record_many(&[
            first.clone(),
            new.clone(),
            forged,
            broken.clone(),
            also_new.clone(),
        ])
        .await;
    assert!(results[0].is_ok() && results[1].is_ok() && results[4].is_ok());
    assert!(matches!(results[2], Err(RepoError::Stale(_))));
    assert!(results[3].is_err());
    assert_eq!(r.calls.get(&t, &first.id).await.unwrap(), first);
    assert_eq!(r.calls.get(&t, &new.id).await.unwrap(), new);
    assert_eq!(r.calls.get(&t, &also_new.id).await.unwrap(), also_new);
    assert!(matches!(
        r.calls.get(&t, &broken.id).await,
        Err(RepoError::NotFound(_))
    ));

    // New records alone land together, more than one transaction's worth.
    let many: Vec<CallRecord> = (0..150)
        .map(|i| call(DEC_START + 10_000 + i * 1_000, "cy", None))
        .collect();
    assert!(r.calls.record_many(&many).await.iter().all(Result::is_ok));
    let cy = UserId::parse("cy").unwrap();
    let listed = r.calls.by_agent(&t, &cy, None, 200).await.unwrap();
    assert_eq!(listed.items.len(), 150);
}
