//! The due-reminder pass over every tenant (PRODUCT C13).

use crate::support;

use callisto_domain::activity::ActivityKind;
use callisto_domain::client::{Client, ClientKind};
use callisto_domain::event::{Event, EventKind, created_entry};
use callisto_domain::ids::{ActivityId, ClientId, EventId, TenantId, UserId};
use callisto_jobs::Reminders;
use callisto_jobs::reminders::remind_all;
use callisto_store::Repos;
use callisto_store::outbox::FolderOutbox;
use callisto_store::repo::{Events, Journal, RepoError};
use std::path::Path;

const T: i64 = 1_790_000_000_000;
const MIN: i64 = 60_000;
const LEAD: i64 = 15 * MIN;

async fn card(repos: &Repos, t: &TenantId, id: &str) -> ClientId {
    let card = Client::blank(
        ClientId::parse(id).unwrap(),
        ClientKind::Organization,
        format!("Card {id}"),
        UserId::parse("admin").unwrap(),
        0,
    );
    repos
        .clients
        .create(t, &card, &Journal::default())
        .await
        .unwrap();
    card.id
}

fn event(id: &str, client: &ClientId, assignee: &str, due_at: i64) -> Event {
    Event {
        id: EventId::parse(id).unwrap(),
        kind: EventKind::CallBack,
        client: client.clone(),
        due_at,
        assignee: UserId::parse(assignee).unwrap(),
        author: UserId::parse(assignee).unwrap(),
        note: "ask about the invoice".into(),
        done_at: None,
        reminded_at: None,
        created_at: T - 60 * MIN,
        updated_at: T - 60 * MIN,
    }
}

fn journal(e: &Event) -> Journal {
    Journal::activity(created_entry(
        e,
        ActivityId::parse(format!("a-{}", e.id)).unwrap(),
    ))
}

fn mails(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

async fn notes(repos: &Repos, t: &TenantId, user: &str) -> usize {
    repos
        .clients
        .notifications(t, &UserId::parse(user).unwrap(), None, 100)
        .await
        .unwrap()
        .items
        .len()
}

#[tokio::test]
async fn each_due_event_is_reminded_once_in_every_tenant_and_not_before_its_lead_time() {
    let dir = tempfile::tempdir().unwrap();
    let stores = callisto_store::embedded::open(&dir.path().join("store")).unwrap();
    let repos = Repos::new(stores.items.clone());
    let out = dir.path().join("outbox");
    let outbox = FolderOutbox::new(&out, "x@y.z");
    let reminders = Reminders {
        outbox: &outbox,
        lead: LEAD,
    };
    support::company(&repos, "t1", "admin").await;
    support::company(&repos, "t2", "admin").await;
    let (t1, t2) = (
        TenantId::parse("t1").unwrap(),
        TenantId::parse("t2").unwrap(),
    );
    let c1 = card(&repos, &t1, "c1").await;
    let c2 = card(&repos, &t2, "c2").await;

    let soon = event("soon", &c1, "admin", T + 10 * MIN);
    let later = event("later", &c1, "admin", T + 60 * MIN);
    let done = Event {
        done_at: Some(T - MIN),
        ..event("done", &c1, "admin", T + 5 * MIN)
    };
    let other = event("other", &c2, "admin", T + LEAD);
    for (t, e) in [(&t1, &soon), (&t1, &later), (&t1, &done), (&t2, &other)] {
        repos.events.create(t, e, &journal(e)).await.unwrap();
    }
    // The card's history has the event's entry, written with it.
    let history = repos.clients.history(&t1, &c1, None, 10).await.unwrap();
    assert!(
        history
            .items
            .iter()
            .any(|a| a.kind == ActivityKind::EventCreated)
    );

    assert_eq!(remind_all(&repos, reminders, T).await.unwrap(), 2);
    assert_eq!(
        (
            notes(&repos, &t1, "admin").await,
            notes(&repos, &t2, "admin").await
        ),
        (1, 1)
    );
    let sent = mails(&out);
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().any(|m| m.contains("To: admin@t1.ru")));
    let stored = repos.events.get(&t1, &soon.id).await.unwrap().value;
    assert_eq!(stored.reminded_at, Some(T));

    // Running again, now or a minute later, tells nobody anything twice.
    assert_eq!(remind_all(&repos, reminders, T).await.unwrap(), 0);
    assert_eq!(remind_all(&repos, reminders, T + MIN).await.unwrap(), 0);
    assert_eq!(notes(&repos, &t1, "admin").await, 1);
    assert_eq!(mails(&out).len(), 2);

    // The later one one millisecond before its lead time: not yet; at it: yes.
    assert_eq!(
        remind_all(&repos, reminders, T + 45 * MIN - 1)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        remind_all(&repos, reminders, T + 45 * MIN).await.unwrap(),
        1
    );
    assert_eq!(notes(&repos, &t1, "admin").await, 2);

    // A reminded event moved to another time is reminded again, once.
    let current = repos.events.get(&t1, &soon.id).await.unwrap();
    let mut moved = current.value;
    moved.reschedule(T + 180 * MIN);
    repos
        .events
        .update(&t1, &moved, current.version, &Journal::default())
        .await
        .unwrap();
    assert_eq!(
        remind_all(&repos, reminders, T + 150 * MIN).await.unwrap(),
        0
    );
    assert_eq!(
        remind_all(&repos, reminders, T + 165 * MIN).await.unwrap(),
        1
    );
    assert_eq!(
        remind_all(&repos, reminders, T + 166 * MIN).await.unwrap(),
        0
    );
    assert_eq!(notes(&repos, &t1, "admin").await, 3);
    assert_eq!(mails(&out).len(), 4);
}

#[tokio::test]
async fn a_call_back_is_created_inside_another_transaction_and_never_for_a_missing_card() {
    let dir = tempfile::tempdir().unwrap();
    let stores = callisto_store::embedded::open(dir.path()).unwrap();
    let repos = Repos::new(stores.items.clone());
    support::company(&repos, "t1", "admin").await;
    let t = TenantId::parse("t1").unwrap();
    let c = card(&repos, &t, "c1").await;

    let e = event("cb", &c, "admin", T + 60 * MIN);
    let ops = Events::create_ops(&t, &e, &journal(&e)).unwrap();
    stores.items.transact(ops).await.unwrap();
    let listed = repos.events.of_client(&t, &c, None, 10).await.unwrap();
    assert_eq!(listed.items, vec![e.clone()]);
    let calendar = repos
        .events
        .calendar(&t, &e.assignee, T, T + 60 * MIN + 1, None, 10)
        .await
        .unwrap();
    assert_eq!(calendar.items.len(), 1);
    let before = repos
        .events
        .calendar(&t, &e.assignee, T, T + 60 * MIN, None, 10)
        .await
        .unwrap();
    assert!(before.items.is_empty(), "the range's end is exclusive");

    let ghost = ClientId::parse("ghost").unwrap();
    let orphan = event("orphan", &ghost, "admin", T);
    let r = repos.events.create(&t, &orphan, &journal(&orphan)).await;
    assert!(matches!(r, Err(RepoError::NotFound("client"))), "{r:?}");
    assert!(matches!(
        repos.events.get(&t, &orphan.id).await,
        Err(RepoError::NotFound(_))
    ));
}
