use super::{Backend, tenant};
use callisto_domain::access::Scope;
use callisto_domain::client::{Client, ClientKind};
use callisto_domain::ids::{ClientId, GroupId, UserId};
use callisto_store::Repos;
use callisto_store::repo::Journal;
use std::collections::BTreeMap;

pub(crate) fn card(
    id: &str,
    kind: ClientKind,
    owner: &str,
    group: Option<&str>,
    phones: &[&str],
    emails: &[&str],
) -> Client {
    Client {
        phones: phones.iter().map(|p| p.to_string()).collect(),
        emails: emails.iter().map(|e| e.to_string()).collect(),
        responsible_group: group.map(|g| GroupId::parse(g).unwrap()),
        ..Client::blank(
            ClientId::parse(id).unwrap(),
            kind,
            format!("Card {id}"),
            UserId::parse(owner).unwrap(),
            1,
        )
    }
}

fn ids(cards: &[Client]) -> Vec<&str> {
    cards.iter().map(|c| c.id.as_str()).collect()
}

pub async fn repo_clients_lookups_scopes_and_bin(b: &dyn Backend) {
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let t = tenant("crm");
    let org = card(
        "c1",
        ClientKind::Organization,
        "ivan",
        Some("sales"),
        &["+74951234567"],
        &["info@romashka.ru"],
    );
    let mut person = card(
        "c2",
        ClientKind::Contact,
        "olga",
        Some("sales"),
        &["+79123456789", "+74951234567"],
        &[],
    );
    person.organization = Some(org.id.clone());
    let other = card(
        "c3",
        ClientKind::Contact,
        "piotr",
        Some("support"),
        &["+48601234567"],
        &[],
    );
    for c in [&org, &person, &other] {
        r.clients.create(&t, c, &Journal::default()).await.unwrap();
    }
    // A shared phone finds both cards; lookups are per tenant.
    let mut shared = r.clients.find_by_phone(&t, "+74951234567").await.unwrap();
    shared.sort();
    assert_eq!(shared, vec![org.id.clone(), person.id.clone()]);
    assert_eq!(
        r.clients
            .find_by_email(&t, "info@romashka.ru")
            .await
            .unwrap(),
        vec![org.id.clone()]
    );
    assert!(
        r.clients
            .find_by_phone(&tenant("crm2"), "+74951234567")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(&r.clients.contacts_of(&t, &org.id).await.unwrap()),
        ["c2"]
    );

    // Search words point at their cards; phones are found by their national digits too.
    assert_eq!(
        r.clients.search(&t, "c3", 10).await.unwrap(),
        vec![other.id.clone()]
    );
    assert_eq!(r.clients.search(&t, "card", 10).await.unwrap().len(), 3);
    assert_eq!(r.clients.search(&t, "card", 2).await.unwrap().len(), 2);
    assert_eq!(
        r.clients.search(&t, "912345", 10).await.unwrap(),
        vec![person.id.clone()]
    );
    // Typed with the trunk prefix 8, and an e-mail by its local part.
    assert_eq!(
        r.clients.search(&t, "8912", 10).await.unwrap(),
        vec![person.id.clone()]
    );
    assert_eq!(
        r.clients.search(&t, "info", 10).await.unwrap(),
        vec![org.id.clone()]
    );
    assert!(
        r.clients
            .search(&tenant("crm2"), "card", 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Organizations are found by their whole name, folded; contacts are not.
    assert_eq!(
        r.clients.find_org_by_name(&t, " card  C1!").await.unwrap(),
        vec![org.id.clone()]
    );
    assert!(
        r.clients
            .find_org_by_name(&t, "Card c2")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        r.clients
            .find_org_by_name(&t, "Card")
            .await
            .unwrap()
            .is_empty()
    );

    // The scope decides which cards a listing returns.
    let all = r.clients.list(&t, &Scope::All, None, 100).await.unwrap();
    assert_eq!(ids(&all.items), ["c1", "c2", "c3"]);
    let sales = r
        .clients
        .list(
            &t,
            &Scope::Group(GroupId::parse("sales").unwrap()),
            None,
            100,
        )
        .await
        .unwrap();
    assert_eq!(ids(&sales.items), ["c1", "c2"]);
    let own = r
        .clients
        .list(&t, &Scope::Own(UserId::parse("piotr").unwrap()), None, 100)
        .await
        .unwrap();
    assert_eq!(ids(&own.items), ["c3"]);

    // Changing phones moves the lookups in the same write.
    let v = r.clients.get(&t, &person.id).await.unwrap();
    let mut changed = v.value.clone();
    changed.phones = vec!["+79990001122".into()];
    let version = r
        .clients
        .update(&t, &v.value, &changed, v.version, &Journal::default())
        .await
        .unwrap();
    assert_eq!(
        r.clients.find_by_phone(&t, "+74951234567").await.unwrap(),
        vec![org.id.clone()]
    );
    assert_eq!(
        r.clients.find_by_phone(&t, "+79990001122").await.unwrap(),
        vec![person.id.clone()]
    );
    assert!(
        r.clients
            .update(&t, &v.value, &changed, v.version, &Journal::default())
            .await
            .is_err(),
        "stale version must fail"
    );

    // Deleting moves the card to the bin: no lookups, not listed, restorable.
    let mut deleted = changed.clone();
    deleted.deleted_at = Some(1_000);
    let version = r
        .clients
        .update(&t, &changed, &deleted, version, &Journal::default())
        .await
        .unwrap();
    assert!(
        r.clients
            .find_by_phone(&t, "+79990001122")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        r.clients.search(&t, "c2", 10).await.unwrap().is_empty(),
        "deleted cards are not searchable"
    );
    assert_eq!(
        ids(&r
            .clients
            .list(&t, &Scope::All, None, 100)
            .await
            .unwrap()
            .items),
        ["c1", "c3"]
    );
    assert!(r.clients.contacts_of(&t, &org.id).await.unwrap().is_empty());
    assert_eq!(
        r.clients.bin(&t, None, None, 10).await.unwrap().items,
        vec![person.id.clone()]
    );
    assert!(
        r.clients
            .bin(&t, Some(1_000), None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        r.clients
            .bin(&t, Some(1_001), None, 10)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let version = r
        .clients
        .update(&t, &deleted, &changed, version, &Journal::default())
        .await
        .unwrap();
    assert_eq!(
        r.clients.find_by_phone(&t, "+79990001122").await.unwrap(),
        vec![person.id.clone()]
    );
    assert!(
        r.clients
            .bin(&t, None, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // Purge removes the card and everything that pointed at it.
    r.clients
        .update(&t, &changed, &deleted, version, &Journal::default())
        .await
        .unwrap();
    let v = r.clients.get(&t, &person.id).await.unwrap();
    r.clients.purge(&t, &v.value, v.version).await.unwrap();
    assert!(r.clients.get(&t, &person.id).await.is_err());
    assert!(
        r.clients
            .bin(&t, None, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

pub async fn repo_client_history_and_notifications(b: &dyn Backend) {
    use callisto_domain::activity::{Activity, ActivityKind, Notification};
    use callisto_domain::ids::ActivityId;
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let t = tenant("hist");
    let c = card(
        "h1",
        ClientKind::Contact,
        "ivan",
        None,
        &["+79123456789"],
        &[],
    );
    let entry = |id: &str, at: i64, kind: ActivityKind| Activity {
        id: ActivityId::parse(id).unwrap(),
        client: c.id.clone(),
        at,
        by: UserId::parse("ivan").unwrap(),
        kind,
        text: format!("entry {id}"),
        details: BTreeMap::new(),
        edited: None,
    };
    r.clients
        .create(
            &t,
            &c,
            &Journal::activity(entry("a1", 10, ActivityKind::Created)),
        )
        .await
        .unwrap();
    let v = r.clients.get(&t, &c.id).await.unwrap();
    let mut moved = v.value.clone();
    moved.responsible = UserId::parse("olga").unwrap();
    let note = Notification {
        id: ActivityId::parse("n1").unwrap(),
        user: moved.responsible.clone(),
        at: 20,
        text: "yours now".into(),
        client: Some(c.id.clone()),
    };
    let journal = Journal {
        activities: vec![entry("a2", 20, ActivityKind::ResponsibleChanged)],
        notifications: vec![note.clone()],
    };
    // A stale write records nothing.
    assert!(
        r.clients
            .update(&t, &v.value, &moved, v.version + 7, &journal)
            .await
            .is_err()
    );
    assert_eq!(
        r.clients
            .history(&t, &c.id, None, 10)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert!(
        r.clients
            .notifications(&t, &moved.responsible, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    r.clients
        .update(&t, &v.value, &moved, v.version, &journal)
        .await
        .unwrap();
    let history = r.clients.history(&t, &c.id, None, 10).await.unwrap().items;
    assert_eq!(
        history.iter().map(|a| a.kind).collect::<Vec<_>>(),
        [ActivityKind::ResponsibleChanged, ActivityKind::Created]
    );
    assert_eq!(
        r.clients
            .notifications(&t, &moved.responsible, None, 10)
            .await
            .unwrap()
            .items,
        vec![note]
    );
    assert!(
        r.clients
            .history(&tenant("hist2"), &c.id, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

pub async fn repo_duplicate_searches_and_groups(b: &dyn Backend) {
    use callisto_domain::access::Role;
    use callisto_domain::activity::{Activity, ActivityKind};
    use callisto_domain::duplicates::{
        DedupId, DedupJob, DedupStatus, DuplicateGroup, MatchBy, Objects, SearchScope,
        SearchSettings, Searcher, Source,
    };
    use callisto_domain::ids::ActivityId;
    use callisto_store::repo::GroupRecord;
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let t = tenant("dups");
    let ivan = UserId::parse("ivan").unwrap();
    // The scan reads live cards of a listing, lightly.
    for (id, owner, group) in [
        ("d1", "ivan", Some("sales")),
        ("d2", "olga", Some("sales")),
        ("d3", "olga", None),
    ] {
        let c = card(
            id,
            ClientKind::Contact,
            owner,
            group,
            &["+79120000001"],
            &["x@y.ru"],
        );
        r.clients.create(&t, &c, &Journal::default()).await.unwrap();
    }
    let scanned = |source: Source| {
        let r = r.clone();
        let t = t.clone();
        async move {
            let mut out = Vec::new();
            let mut cursor = None;
            loop {
                let page = r.duplicates.scan(&t, &source, cursor, 2).await.unwrap();
                out.extend(page.items.into_iter().map(|c| c.id.to_string()));
                match page.cursor {
                    Some(c) => cursor = Some(c),
                    None => return out,
                }
            }
        }
    };
    assert_eq!(scanned(Source::All).await, ["d1", "d2", "d3"]);
    assert_eq!(
        scanned(Source::Group(GroupId::parse("sales").unwrap())).await,
        ["d1", "d2"]
    );
    assert_eq!(
        scanned(Source::User(UserId::parse("olga").unwrap())).await,
        ["d2", "d3"]
    );
    let page = r.duplicates.scan(&t, &Source::All, None, 10).await.unwrap();
    assert_eq!(page.items[0].phones, ["+79120000001"]);
    assert_eq!(page.items[0].responsible, ivan);

    // The job: created once, saved only at the version read.
    let id = DedupId::parse("s1").unwrap();
    let job = DedupJob {
        id: id.clone(),
        created_by: ivan.clone(),
        searcher: Searcher {
            user: ivan.clone(),
            role: Role::Administrator,
            group: None,
        },
        settings: SearchSettings {
            by_phone: true,
            by_email: true,
            objects: Objects::Both,
            scope: SearchScope::Account,
        },
        sources: vec![Source::All],
        status: DedupStatus::Queued,
        cards_scanned: 0,
        groups_found: 0,
        error: None,
        created_at: 5,
        started_at: None,
        finished_at: None,
    };
    r.duplicates.create(&t, &job).await.unwrap();
    assert!(r.duplicates.create(&t, &job).await.is_err());
    let v = r.duplicates.get(&t, &id).await.unwrap();
    assert_eq!(v.value, job);
    let done = DedupJob {
        status: DedupStatus::Done,
        ..job.clone()
    };
    assert!(r.duplicates.save(&t, &done, v.version + 1).await.is_err());
    r.duplicates.save(&t, &done, v.version).await.unwrap();
    assert!(r.duplicates.get(&tenant("other"), &id).await.is_err());

    // Groups: written by number, rewritten on a rerun, extra ones removed.
    let group = |n: u32, value: &str| GroupRecord {
        n,
        group: DuplicateGroup {
            by: MatchBy::Phone,
            value: value.into(),
            kind: ClientKind::Contact,
            members: vec![
                ClientId::parse("d1").unwrap(),
                ClientId::parse("d2").unwrap(),
            ],
            total: 2,
        },
        resolutions: vec![],
        resolved: false,
    };
    let three: Vec<GroupRecord> = (0..3)
        .map(|n| group(n, &format!("+7912000000{n}")))
        .collect();
    r.duplicates.put_groups(&t, &id, &three).await.unwrap();
    r.duplicates.put_groups(&t, &id, &three[..2]).await.unwrap();
    assert_eq!(
        r.duplicates.delete_groups_from(&t, &id, 2).await.unwrap(),
        1
    );
    let first = r.duplicates.groups(&t, &id, None, 1).await.unwrap();
    assert_eq!(first.items, vec![three[0].clone()]);
    let second = r.duplicates.groups(&t, &id, first.cursor, 5).await.unwrap();
    assert_eq!(second.items, vec![three[1].clone()]);
    let g = r.duplicates.group(&t, &id, 1).await.unwrap();
    let resolved = GroupRecord {
        resolved: true,
        ..g.value.clone()
    };
    assert!(
        r.duplicates
            .save_group(&t, &id, &resolved, g.version + 1)
            .await
            .is_err()
    );
    r.duplicates
        .save_group(&t, &id, &resolved, g.version)
        .await
        .unwrap();
    assert!(r.duplicates.group(&t, &id, 1).await.unwrap().value.resolved);
    assert!(r.duplicates.group(&t, &id, 2).await.is_err());

    // A card's history copies to another card, twice without doubling.
    let (from, to) = (
        ClientId::parse("d2").unwrap(),
        ClientId::parse("d1").unwrap(),
    );
    let entry = Activity {
        id: ActivityId::parse("e1").unwrap(),
        client: from.clone(),
        at: 7,
        by: ivan.clone(),
        kind: ActivityKind::Comment,
        text: "called".into(),
        details: BTreeMap::new(),
        edited: None,
    };
    let v = r.clients.get(&t, &from).await.unwrap();
    r.clients
        .update(&t, &v.value, &v.value, v.version, &Journal::activity(entry))
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(r.clients.copy_history(&t, &from, &to).await.unwrap(), 1);
    }
    let copied = r.clients.history(&t, &to, None, 10).await.unwrap().items;
    assert_eq!(copied.len(), 1);
    assert_eq!(copied[0].client, to);
    assert_eq!(copied[0].text, "called");
    assert_eq!(copied[0].details["merged_from"], "d2");
}

pub async fn repo_clients_created_in_bulk_have_their_lookups_and_history(b: &dyn Backend) {
    use callisto_domain::activity::{Activity, ActivityKind};
    use callisto_domain::ids::ActivityId;
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let t = tenant("bulk");
    let batch: Vec<(Client, Journal)> = (0..30)
        .map(|i| {
            let mut c = card(
                &format!("b{i:02}"),
                ClientKind::Contact,
                "ivan",
                Some("sales"),
                &[&format!("+749512300{i:02}")],
                &[&format!("c{i}@bulk.ru")],
            );
            c.last_name = Some(format!("Фамилия{i}"));
            let created = Activity {
                id: ActivityId::parse(format!("b{i:02}-c")).unwrap(),
                client: c.id.clone(),
                at: 1,
                by: UserId::parse("ivan").unwrap(),
                kind: ActivityKind::Created,
                text: "import".into(),
                details: BTreeMap::new(),
                edited: None,
            };
            (c, Journal::activity(created))
        })
        .collect();
    let batch: Vec<(&Client, &Journal)> = batch.iter().map(|(c, j)| (c, j)).collect();
    r.clients.create_many(&t, &batch).await.unwrap();
    // Written again (a resumed import): the same items, nothing twice.
    r.clients.create_many(&t, &batch).await.unwrap();

    let listed = r.clients.list(&t, &Scope::All, None, 100).await.unwrap();
    assert_eq!(listed.items.len(), 30);
    let b7 = ClientId::parse("b07").unwrap();
    let want = vec![b7.clone()];
    assert_eq!(
        r.clients.find_by_phone(&t, "+74951230007").await.unwrap(),
        want
    );
    assert_eq!(
        r.clients.find_by_email(&t, "c7@bulk.ru").await.unwrap(),
        want
    );
    assert_eq!(r.clients.search(&t, "фамилия7", 10).await.unwrap(), want);
    // Phones typed with the trunk prefix 8 or without a prefix, and e-mails
    // by their local part.
    let first_ten: Vec<ClientId> = (0..10)
        .map(|i| ClientId::parse(format!("b{i:02}")).unwrap())
        .collect();
    for typed in ["8495123000", "495123000"] {
        assert_eq!(
            r.clients.search(&t, typed, 100).await.unwrap(),
            first_ten,
            "{typed}"
        );
    }
    assert_eq!(r.clients.search(&t, "c7@", 10).await.unwrap(), want);
    let scoped = r
        .clients
        .list(
            &t,
            &Scope::Group(GroupId::parse("sales").unwrap()),
            None,
            100,
        )
        .await
        .unwrap();
    assert_eq!(scoped.items.len(), 30);
    let history = r.clients.history(&t, &b7, None, 10).await.unwrap();
    assert_eq!(history.items.len(), 1);

    // A word every card of the batch carries ("card", from "Card bNN") lists
    // each card once, in batch order, and `max` still bounds the answer.
    let all: Vec<ClientId> = batch.iter().map(|(c, _)| c.id.clone()).collect();
    assert_eq!(r.clients.search(&t, "card", 100).await.unwrap(), all);
    assert_eq!(r.clients.search(&t, "card", 7).await.unwrap(), all[..7]);
    // Whole words first: "фамилия1" itself, then the words it begins (10-19).
    let found = r.clients.search(&t, "фамилия1", 100).await.unwrap();
    assert_eq!(found.len(), 11);
    assert_eq!(found[0], ClientId::parse("b01").unwrap());
    // A card created later one by one is found by the same word after the batch.
    let single = card("s01", ClientKind::Contact, "ivan", None, &[], &[]);
    r.clients
        .create(&t, &single, &Journal::default())
        .await
        .unwrap();
    let found = r.clients.search(&t, "card", 100).await.unwrap();
    assert_eq!(found.len(), 31);
    assert_eq!(found.last(), Some(&single.id));
    // A bulk-created card that changes is found by its new words at once.
    let v = r.clients.get(&t, &b7).await.unwrap();
    let mut renamed = v.value.clone();
    renamed.last_name = Some("Новикова".into());
    r.clients
        .update(&t, &v.value, &renamed, v.version, &Journal::default())
        .await
        .unwrap();
    assert_eq!(r.clients.search(&t, "новикова", 10).await.unwrap(), want);
}

pub async fn repo_clients_updated_together_land_apart_from_a_changed_one(b: &dyn Backend) {
    use callisto_store::repo::CardUpdate;
    let s = b.open().await;
    let r = Repos::new(s.items.clone());
    let t = tenant("many");
    let mut olds = Vec::new();
    for i in 0..40 {
        let c = card(
            &format!("m{i:02}"),
            ClientKind::Contact,
            "ivan",
            None,
            &[&format!("+7912000{i:04}")],
            &[],
        );
        r.clients.create(&t, &c, &Journal::default()).await.unwrap();
        olds.push(c);
    }
    // Card m07 changes meanwhile: its update must be refused, the others land.
    let mut changed = olds[7].clone();
    changed.city = Some("Омск".into());
    r.clients
        .update(&t, &olds[7], &changed, 1, &Journal::default())
        .await
        .unwrap();
    let news: Vec<Client> = olds
        .iter()
        .enumerate()
        .map(|(i, c)| Client {
            phones: vec![format!("+7913000{i:04}")],
            ..c.clone()
        })
        .collect();
    let journal = Journal::default();
    let updates: Vec<CardUpdate> = olds
        .iter()
        .zip(&news)
        .map(|(old, new)| CardUpdate {
            old,
            new,
            version: 1,
            journal: &journal,
        })
        .collect();
    let landed = r.clients.update_many(&t, &updates).await.unwrap();
    for (i, v) in landed.iter().enumerate() {
        assert_eq!(*v, if i == 7 { None } else { Some(2) }, "card {i}");
    }
    // Lookups moved with each landed card; the refused one kept its phone and edit.
    let moved = r.clients.find_by_phone(&t, "+79130000003").await.unwrap();
    assert_eq!(moved, [olds[3].id.clone()]);
    assert!(
        r.clients
            .find_by_phone(&t, "+79120000003")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        r.clients.find_by_phone(&t, "+79120000007").await.unwrap(),
        [olds[7].id.clone()]
    );
    let kept = r.clients.get(&t, &olds[7].id).await.unwrap().value;
    assert_eq!(kept.city.as_deref(), Some("Омск"));
    assert_eq!(kept.phones, ["+79120000007"]);
}
