//! The duplicate search worker (PRODUCT C9): scope, kinds, and a rerun after a
//! crash rewriting the same group numbers.

use callisto_domain::access::Role;
use callisto_domain::client::{Client, ClientKind};
use callisto_domain::duplicates::{
    DedupId, DedupJob, DedupStatus, Objects, SearchScope, SearchSettings, Searcher, Source,
};
use callisto_domain::ids::{ClientId, GroupId, TenantId, UserId};
use callisto_jobs::duplicates::run_dedup;
use callisto_store::Repos;
use callisto_store::repo::Journal;

fn card(id: &str, kind: ClientKind, owner: &str, phones: &[&str], deleted: bool) -> Client {
    Client {
        phones: phones.iter().map(|p| p.to_string()).collect(),
        responsible_group: Some(GroupId::parse("sales").unwrap()),
        deleted_at: deleted.then_some(5),
        ..Client::blank(
            ClientId::parse(id).unwrap(),
            kind,
            format!("Card {id}"),
            UserId::parse(owner).unwrap(),
            0,
        )
    }
}

fn job(id: &str, role: Role, user: &str, objects: Objects, sources: Vec<Source>) -> DedupJob {
    DedupJob {
        id: DedupId::parse(id).unwrap(),
        created_by: UserId::parse(user).unwrap(),
        searcher: Searcher {
            user: UserId::parse(user).unwrap(),
            role,
            group: Some(GroupId::parse("sales").unwrap()),
        },
        settings: SearchSettings {
            by_phone: true,
            by_email: true,
            objects,
            scope: SearchScope::Account,
        },
        sources,
        status: DedupStatus::Queued,
        cards_scanned: 0,
        groups_found: 0,
        error: None,
        created_at: 0,
        started_at: None,
        finished_at: None,
    }
}

#[tokio::test]
async fn search_respects_scope_and_kinds_and_reruns_to_the_same_groups() {
    let dir = tempfile::tempdir().unwrap();
    let stores = callisto_store::embedded::open(dir.path()).unwrap();
    let repos = Repos::new(stores.items.clone());
    let t = TenantId::parse("t1").unwrap();
    let (a, b) = ("+79120000001", "+79120000002");
    for c in [
        card("c1", ClientKind::Contact, "ivan", &[a], false),
        card("c2", ClientKind::Contact, "olga", &[a], false),
        card("c3", ClientKind::Contact, "ivan", &[a, b], false),
        card("c4", ClientKind::Contact, "ivan", &[b], false),
        card("c5", ClientKind::Contact, "ivan", &[b], true),
        card("o1", ClientKind::Organization, "ivan", &[b], false),
    ] {
        repos
            .clients
            .create(&t, &c, &Journal::default())
            .await
            .unwrap();
    }
    let all = vec![Source::All];
    let admin = job(
        "s1",
        Role::Administrator,
        "boss",
        Objects::Both,
        all.clone(),
    );
    repos.duplicates.create(&t, &admin).await.unwrap();
    let done = run_dedup(&repos, &t, &admin.id, || 9).await.unwrap();
    assert_eq!(
        (done.status, done.cards_scanned, done.groups_found),
        (DedupStatus::Done, 5, 2)
    );
    let groups = repos
        .duplicates
        .groups(&t, &admin.id, None, 10)
        .await
        .unwrap()
        .items;
    let members = |g: &callisto_store::repo::GroupRecord| {
        g.group
            .members
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(members(&groups[0]), ["c1", "c2", "c3"]);
    assert_eq!(members(&groups[1]), ["c3", "c4"]);

    // A manager's search over "all" still reads only what the manager sees.
    let own = job("s2", Role::Manager, "ivan", Objects::Contacts, all.clone());
    repos.duplicates.create(&t, &own).await.unwrap();
    run_dedup(&repos, &t, &own.id, || 9).await.unwrap();
    let groups = repos
        .duplicates
        .groups(&t, &own.id, None, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(
        groups.iter().map(members).collect::<Vec<_>>(),
        [vec!["c1", "c3"], vec!["c3", "c4"]]
    );

    // A rerun after a crash (the job still running) rewrites the same numbers
    // and drops groups the data no longer gives.
    let mut v = repos.duplicates.get(&t, &admin.id).await.unwrap();
    v.value.status = DedupStatus::Running;
    repos
        .duplicates
        .save(&t, &v.value, v.version)
        .await
        .unwrap();
    let c4 = repos
        .clients
        .get(&t, &ClientId::parse("c4").unwrap())
        .await
        .unwrap();
    let mut changed = c4.value.clone();
    changed.phones = vec!["+79120000009".into()];
    repos
        .clients
        .update(&t, &c4.value, &changed, c4.version, &Journal::default())
        .await
        .unwrap();
    let again = run_dedup(&repos, &t, &admin.id, || 10).await.unwrap();
    assert_eq!(again.groups_found, 1);
    let groups = repos
        .duplicates
        .groups(&t, &admin.id, None, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(groups.len(), 1);
    assert_eq!(members(&groups[0]), ["c1", "c2", "c3"]);
    // A finished search is not run again.
    let same = run_dedup(&repos, &t, &admin.id, || 11).await.unwrap();
    assert_eq!(same.finished_at, Some(10));
}
