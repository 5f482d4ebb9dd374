use super::Backend;
use super::clients::card;
use super::tenant;
use callisto_domain::activity::{Activity, ActivityKind};
use callisto_domain::client::ClientKind;
use callisto_domain::ids::{
    ActivityId, CallId, CallResultId, ClientId, ScenarioId, UserId, WorkListId,
};
use callisto_domain::work_list::{CLAIM_TTL_MS, CallDisposition, Claim, close_in};
use callisto_store::repo::{Journal, ListPosition, RepoError, Repos, SavedResult};
use std::collections::BTreeMap;

/// Claims: one of two agents wins a card, a lapsed claim is taken over, an
/// agent's held cards are one query; a result saves the card, its history,
/// the call's result and the released claim together, or none of them.
pub async fn repo_work_list_claims_and_saved_results(b: &dyn Backend) {
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let t = tenant("acme");
    let list = WorkListId::parse("L1").unwrap();
    let (ann, bob) = (UserId::parse("ann").unwrap(), UserId::parse("bob").unwrap());
    let c1 = card(
        "C1",
        ClientKind::Contact,
        "ann",
        None,
        &["+74951234567"],
        &[],
    );
    r.clients
        .create(&t, &c1, &Journal::default())
        .await
        .unwrap();

    let now = 1_000_000;
    let mine = Claim::new(c1.id.clone(), ann.clone(), list.clone(), now);
    let theirs = Claim::new(c1.id.clone(), bob.clone(), list.clone(), now);
    let (a, b2) = tokio::join!(
        r.work_lists.claim(&t, &mine, now),
        r.work_lists.claim(&t, &theirs, now)
    );
    assert_eq!(
        [a.unwrap(), b2.unwrap()].iter().filter(|w| **w).count(),
        1,
        "exactly one claim wins"
    );
    let holder = r.work_lists.claim_of(&t, &c1.id).await.unwrap().unwrap();
    let (winner, loser) = if holder.value.agent == ann {
        (&ann, &bob)
    } else {
        (&bob, &ann)
    };
    assert_eq!(r.work_lists.held(&t, &list, winner).await.unwrap().len(), 1);
    assert!(
        r.work_lists
            .held(&t, &list, loser)
            .await
            .unwrap()
            .is_empty()
    );
    // Claiming again by the holder renews; by the other is refused until it lapses.
    let late = Claim::new(c1.id.clone(), loser.clone(), list.clone(), now + 1);
    assert!(!r.work_lists.claim(&t, &late, now + 1).await.unwrap());
    let lapsed = now + CLAIM_TTL_MS;
    let takeover = Claim::new(c1.id.clone(), loser.clone(), list.clone(), lapsed);
    assert!(r.work_lists.claim(&t, &takeover, lapsed).await.unwrap());
    assert!(
        r.work_lists
            .held(&t, &list, winner)
            .await
            .unwrap()
            .is_empty()
    );
    let claim = r.work_lists.claim_of(&t, &c1.id).await.unwrap().unwrap();
    assert_eq!(&claim.value.agent, loser);

    // A save against a stale card writes nothing: no history, no result, the claim stays.
    let stored = r.clients.get(&t, &c1.id).await.unwrap();
    let mut closed = stored.value.clone();
    close_in(&mut closed, &ScenarioId::parse("S1").unwrap());
    closed.updated_at = lapsed;
    let entry = Activity {
        id: ActivityId::parse("A1").unwrap(),
        client: c1.id.clone(),
        at: lapsed,
        by: loser.clone(),
        kind: ActivityKind::CallResult,
        text: "agreed".into(),
        details: BTreeMap::new(),
        edited: None,
    };
    let journal = Journal::activity(entry);
    let call = CallId::parse("01KAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
    let disposition = CallDisposition {
        call: call.clone(),
        client: c1.id.clone(),
        scenario: ScenarioId::parse("S1").unwrap(),
        list: Some(list.clone()),
        result: CallResultId::parse("R1").unwrap(),
        result_name: "Agreed".into(),
        comment: None,
        agent: loser.clone(),
        at: lapsed,
    };
    let save = |version| SavedResult {
        old: &stored.value,
        new: &closed,
        version,
        journal: &journal,
        disposition: Some(&disposition),
        claim: Some(&claim),
        extra: vec![],
    };
    let err = r
        .work_lists
        .save_result(&t, save(stored.version + 7))
        .await
        .unwrap_err();
    assert!(matches!(err, RepoError::Stale("client")), "{err:?}");
    assert!(r.work_lists.disposition(&t, &call).await.unwrap().is_none());
    assert!(
        r.clients
            .history(&t, &c1.id, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(r.work_lists.claim_of(&t, &c1.id).await.unwrap().is_some());

    r.work_lists
        .save_result(&t, save(stored.version))
        .await
        .unwrap();
    assert_eq!(
        r.work_lists.disposition(&t, &call).await.unwrap(),
        Some(disposition.clone())
    );
    assert_eq!(
        r.clients.get(&t, &c1.id).await.unwrap().value.closed_in,
        [ScenarioId::parse("S1").unwrap()]
    );
    assert!(r.work_lists.claim_of(&t, &c1.id).await.unwrap().is_none());
    assert!(
        r.work_lists
            .held(&t, &list, loser)
            .await
            .unwrap()
            .is_empty()
    );

    // The list's place in the base is kept per list.
    assert_eq!(r.work_lists.position(&t, &list).await.unwrap(), None);
    let at = ListPosition {
        cursor: "opaque".into(),
        card: ClientId::parse("C1").unwrap(),
    };
    r.work_lists
        .set_position(&t, &list, Some(&at))
        .await
        .unwrap();
    assert_eq!(r.work_lists.position(&t, &list).await.unwrap(), Some(at));
}
