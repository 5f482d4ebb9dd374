//! The daily recycle-bin purge across tenants (PRODUCT C11).

use crate::support;

use callisto_domain::client::{BIN_RETENTION_MS, Client, ClientKind};
use callisto_domain::event::{Event, EventKind};
use callisto_domain::ids::{ClientId, EventId, TenantId, UserId};
use callisto_store::Repos;
use callisto_store::repo::Journal;
use std::collections::BTreeMap;

const DAY: i64 = 24 * 3600 * 1000;

async fn tenant(repos: &Repos, id: &str) -> TenantId {
    support::company(repos, id, &format!("{id}-admin"))
        .await
        .tenant
}

async fn deleted_card(repos: &Repos, t: &TenantId, id: &str, deleted_at: Option<i64>) {
    let card = Client {
        id: ClientId::parse(id).unwrap(),
        kind: ClientKind::Contact,
        organization: None,
        name: format!("Card {id}"),
        first_name: None,
        last_name: None,
        patronymic: None,
        position: None,
        phones: vec!["+79123456789".into()],
        emails: vec![],
        city: None,
        industry: None,
        website: None,
        inn: None,
        description: None,
        tags: vec![],
        client_type: None,
        custom: BTreeMap::new(),
        responsible: UserId::parse("u1").unwrap(),
        responsible_group: None,
        created_at: 0,
        updated_at: 0,
        deleted_at,
        deleted_by: None,
        last_call_at: None,
        closed_in: vec![],
    };
    repos
        .clients
        .create(t, &card, &Journal::default())
        .await
        .unwrap();
}

/// A call back planned on card `card`.
fn event(card: &str) -> Event {
    Event {
        id: EventId::parse(format!("ev-{card}")).unwrap(),
        kind: EventKind::CallBack,
        client: ClientId::parse(card).unwrap(),
        due_at: DAY,
        assignee: UserId::parse("u1").unwrap(),
        author: UserId::parse("u1").unwrap(),
        note: String::new(),
        done_at: None,
        reminded_at: None,
        created_at: 0,
        updated_at: 0,
    }
}

#[tokio::test]
async fn purges_cards_binned_thirty_days_ago_in_every_tenant_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let stores = callisto_store::embedded::open(dir.path()).unwrap();
    let repos = Repos::new(stores.items.clone());
    let now = 100 * DAY;
    let a = tenant(&repos, "ta").await;
    let b = tenant(&repos, "tb").await;
    deleted_card(&repos, &a, "old", Some(now - BIN_RETENTION_MS)).await;
    deleted_card(&repos, &a, "recent", Some(now - DAY)).await;
    deleted_card(&repos, &a, "live", None).await;
    deleted_card(&repos, &b, "old-b", Some(now - BIN_RETENTION_MS - DAY)).await;
    for card in ["old", "recent"] {
        let e = event(card);
        repos
            .events
            .create(&a, &e, &Journal::default())
            .await
            .unwrap();
    }

    let report = callisto_jobs::run_scheduled(&repos, now).await.unwrap();
    assert_eq!((report.tenants, report.purged), (2, 2));
    let gone = |t: &TenantId, id: &str| {
        let (repos, t, id) = (repos.clone(), t.clone(), ClientId::parse(id).unwrap());
        async move { repos.clients.get(&t, &id).await.is_err() }
    };
    assert!(gone(&a, "old").await && gone(&b, "old-b").await);
    assert!(!gone(&a, "recent").await && !gone(&a, "live").await);
    assert_eq!(
        repos
            .clients
            .bin(&a, None, None, 10)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    // The live card still owns its phone; the purged one left no lookup behind.
    assert_eq!(
        repos
            .clients
            .find_by_phone(&a, "+79123456789")
            .await
            .unwrap(),
        vec![ClientId::parse("live").unwrap()]
    );
    // The purged card took its events with it.
    let events_of = |id: &str| {
        let (repos, a, id) = (repos.clone(), a.clone(), ClientId::parse(id).unwrap());
        async move {
            repos
                .events
                .of_client(&a, &id, None, 10)
                .await
                .unwrap()
                .items
                .len()
        }
    };
    assert_eq!((events_of("old").await, events_of("recent").await), (0, 1));
    assert!(repos.events.get(&a, &event("old").id).await.is_err());
    // Running again finds nothing more to do.
    assert_eq!(
        callisto_jobs::run_scheduled(&repos, now)
            .await
            .unwrap()
            .purged,
        0
    );
}
