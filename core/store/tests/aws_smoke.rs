//! Smoke tests of the AWS backend (DynamoDB, S3, SQS) against `moto_server`.
//! Needs `moto_server` on PATH (`pip install 'moto[server]'`).

#![allow(clippy::unwrap_used)]

#[path = "support/moto.rs"]
mod moto;

use callisto_domain::ids::TenantId;
use callisto_store::item::{Condition, Index, Item, Key, Query, SortKey, WriteOp};
use callisto_store::{StoreError, Stores, aws};
use moto::Moto;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

async fn stores(name: &str) -> Stores {
    let cfg = Moto::shared().config(name);
    aws::create_resources(&cfg).await.expect("create resources");
    // Idempotent: a second run finds the table and the bucket.
    aws::create_resources(&cfg)
        .await
        .expect("create resources again");
    aws::connect(&cfg).await.expect("connect")
}

fn item(pk: &str, sk: &str, n: i64) -> Item {
    Item::new(Key::new(pk, sk), json!({ "n": n }))
}

fn tenant(s: &str) -> TenantId {
    TenantId::parse(s).expect("tenant id")
}

#[tokio::test]
async fn items_versions_and_conditions() {
    let s = stores("items").await;
    let k = Key::new("T#a", "USER#1");
    assert!(s.items.get(&k).await.unwrap().is_none());
    assert_eq!(
        s.items
            .put(item("T#a", "USER#1", 1), Condition::NotExists)
            .await
            .unwrap(),
        1
    );
    // Condition::None on an existing item still counts the version up.
    assert_eq!(
        s.items
            .put(item("T#a", "USER#1", 2), Condition::None)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        s.items
            .put(item("T#a", "USER#1", 3), Condition::Version(2))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        s.items
            .put(item("T#a", "USER#1", 4), Condition::Exists)
            .await
            .unwrap(),
        4
    );
    let got = s.items.get(&k).await.unwrap().unwrap();
    assert_eq!((got.version, got.body["n"].as_i64()), (4, Some(4)));

    let fails = [
        s.items
            .put(item("T#a", "USER#1", 9), Condition::NotExists)
            .await,
        s.items
            .put(item("T#a", "USER#1", 9), Condition::Version(3))
            .await,
        s.items
            .put(item("T#a", "USER#2", 9), Condition::Exists)
            .await,
        s.items
            .put(item("T#a", "USER#2", 9), Condition::Version(1))
            .await,
    ];
    for r in fails {
        assert!(matches!(r, Err(StoreError::ConditionFailed(_))), "{r:?}");
    }
    let r = s.items.delete(&k, Condition::Version(1)).await;
    assert!(matches!(r, Err(StoreError::ConditionFailed(_))), "{r:?}");
    let got = s.items.get(&k).await.unwrap().unwrap();
    assert_eq!((got.version, got.body["n"].as_i64()), (4, Some(4)));
    assert!(
        s.items
            .get(&Key::new("T#a", "USER#2"))
            .await
            .unwrap()
            .is_none()
    );

    s.items.delete(&k, Condition::Version(4)).await.unwrap();
    assert!(s.items.get(&k).await.unwrap().is_none());
    s.items.delete(&k, Condition::None).await.unwrap();
    assert!(matches!(
        s.items.delete(&k, Condition::Exists).await,
        Err(StoreError::ConditionFailed(_))
    ));
    // Re-created items start again at version 1; Unicode survives.
    let u = Item::new(
        k.clone(),
        json!({ "name": "Ёлка «ООО»", "nested": { "a": [1, 2.5, null] } }),
    );
    assert_eq!(
        s.items.put(u.clone(), Condition::NotExists).await.unwrap(),
        1
    );
    assert_eq!(s.items.get(&k).await.unwrap().unwrap().body, u.body);

    let bad = s.items.put(item("T#a", "", 1), Condition::None).await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
}

#[tokio::test]
async fn index_keys_follow_writes() {
    let s = stores("gsi").await;
    let by_phone = |p: &str| Query::index(Index::Gsi1, format!("T#a#PHONE#{p}"), SortKey::All);
    let with = item("T#a", "CONTACT#1", 1)
        .with_index(Index::Gsi1, Key::new("T#a#PHONE#+491", "CONTACT#1"));
    s.items
        .put(with.clone(), Condition::NotExists)
        .await
        .unwrap();
    let page = s.items.query(by_phone("+491")).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        page.items[0].gsi[0],
        Some(Key::new("T#a#PHONE#+491", "CONTACT#1"))
    );
    assert_eq!(page.items[0].version, 1);
    // Moving the index key moves the entry; dropping it removes it.
    let moved = item("T#a", "CONTACT#1", 2)
        .with_index(Index::Gsi1, Key::new("T#a#PHONE#+492", "CONTACT#1"));
    s.items.put(moved, Condition::Version(1)).await.unwrap();
    assert!(
        s.items
            .query(by_phone("+491"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        s.items.query(by_phone("+492")).await.unwrap().items.len(),
        1
    );
    s.items
        .put(item("T#a", "CONTACT#1", 3), Condition::Version(2))
        .await
        .unwrap();
    assert!(
        s.items
            .query(by_phone("+492"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let got = s
        .items
        .get(&Key::new("T#a", "CONTACT#1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.gsi.clone(), got.version), (Default::default(), 3));
}

#[tokio::test]
async fn transactions_are_all_or_nothing() {
    let s = stores("tx").await;
    s.items
        .transact(vec![
            WriteOp::Put {
                item: item("T#tx", "A", 1),
                condition: Condition::NotExists,
            },
            WriteOp::Put {
                item: item("T#tx", "B", 1).with_index(Index::Gsi2, Key::new("T#tx#EMAIL#b@x", "B")),
                condition: Condition::NotExists,
            },
        ])
        .await
        .unwrap();
    // The last operation fails: nothing of the first two is applied.
    let r = s
        .items
        .transact(vec![
            WriteOp::Put {
                item: item("T#tx", "C", 1),
                condition: Condition::NotExists,
            },
            WriteOp::Delete {
                key: Key::new("T#tx", "B"),
                condition: Condition::Exists,
            },
            WriteOp::Put {
                item: item("T#tx", "A", 2),
                condition: Condition::NotExists,
            },
        ])
        .await;
    assert!(matches!(r, Err(StoreError::ConditionFailed(_))), "{r:?}");
    assert!(s.items.get(&Key::new("T#tx", "C")).await.unwrap().is_none());
    assert_eq!(
        s.items
            .get(&Key::new("T#tx", "B"))
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    // A failing check alone cancels the transaction too.
    let r = s
        .items
        .transact(vec![
            WriteOp::Put {
                item: item("T#tx", "C", 1),
                condition: Condition::None,
            },
            WriteOp::Check {
                key: Key::new("T#tx", "A"),
                condition: Condition::Version(7),
            },
        ])
        .await;
    assert!(matches!(r, Err(StoreError::ConditionFailed(_))), "{r:?}");
    assert!(s.items.get(&Key::new("T#tx", "C")).await.unwrap().is_none());
    // All conditions hold: every operation applies, versions count up.
    s.items
        .transact(vec![
            WriteOp::Put {
                item: item("T#tx", "A", 2),
                condition: Condition::Version(1),
            },
            WriteOp::Delete {
                key: Key::new("T#tx", "B"),
                condition: Condition::Version(1),
            },
            WriteOp::Check {
                key: Key::new("T#tx", "X"),
                condition: Condition::None,
            },
            WriteOp::Check {
                key: Key::new("T#tx", "Y"),
                condition: Condition::NotExists,
            },
        ])
        .await
        .unwrap();
    let a = s.items.get(&Key::new("T#tx", "A")).await.unwrap().unwrap();
    assert_eq!((a.version, a.body["n"].as_i64()), (2, Some(2)));
    assert!(s.items.get(&Key::new("T#tx", "B")).await.unwrap().is_none());
    let gone = s
        .items
        .query(Query::index(Index::Gsi2, "T#tx#EMAIL#b@x", SortKey::All))
        .await
        .unwrap();
    assert!(gone.items.is_empty());
    // Invalid requests never reach DynamoDB.
    assert!(matches!(
        s.items.transact(vec![]).await,
        Err(StoreError::Invalid(_))
    ));
    let twice = vec![
        WriteOp::Check {
            key: Key::new("T#tx", "A"),
            condition: Condition::Exists,
        },
        WriteOp::Delete {
            key: Key::new("T#tx", "A"),
            condition: Condition::None,
        },
    ];
    assert!(matches!(
        s.items.transact(twice).await,
        Err(StoreError::Invalid(_))
    ));
}

#[tokio::test]
async fn queries_page_with_cursors() {
    let s = stores("query").await;
    for i in 0..25 {
        let sk = format!("CALL#{i:03}");
        let it = item("T#q", &sk, i)
            .with_index(Index::Gsi3, Key::new("T#q#USER#u1", format!("TS#{i:03}")));
        s.items.put(it, Condition::NotExists).await.unwrap();
    }
    s.items
        .put(item("T#q", "OTHER#1", 99), Condition::NotExists)
        .await
        .unwrap();
    s.items
        .put(item("T#q2", "CALL#000", 99), Condition::NotExists)
        .await
        .unwrap();

    // Table query, ascending, in pages of 10: 10 + 10 + 5, the last without cursor.
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let q = Query::table("T#q", SortKey::Prefix("CALL#".into()))
            .limit(10)
            .after(cursor);
        let page = s.items.query(q).await.unwrap();
        pages += 1;
        seen.extend(page.items.iter().map(|i| i.body["n"].as_i64().unwrap()));
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!((pages, seen), (3, (0..25).collect::<Vec<_>>()));

    // Exactly one page's worth: no cursor on the full page.
    let page = s
        .items
        .query(Query::table("T#q", SortKey::Prefix("CALL#".into())).limit(25))
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.cursor.is_none()), (25, true));

    // Index query, descending, paged by 7 across pages.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let q = Query::index(Index::Gsi3, "T#q#USER#u1", SortKey::All)
            .limit(7)
            .descending()
            .after(cursor);
        let page = s.items.query(q).await.unwrap();
        assert!(page.items.len() <= 7);
        seen.extend(page.items.iter().map(|i| i.body["n"].as_i64().unwrap()));
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, (0..25).rev().collect::<Vec<_>>());

    // BETWEEN is inclusive on both ends.
    let q = Query::index(
        Index::Gsi3,
        "T#q#USER#u1",
        SortKey::Between("TS#005".into(), "TS#008".into()),
    );
    let got: Vec<_> = s
        .items
        .query(q)
        .await
        .unwrap()
        .items
        .iter()
        .map(|i| i.body["n"].as_i64().unwrap())
        .collect();
    assert_eq!(got, vec![5, 6, 7, 8]);
    let q = Query::table("T#q", SortKey::Between("Z".into(), "A".into()));
    assert!(s.items.query(q).await.unwrap().items.is_empty());
    let all = s
        .items
        .query(Query::table("T#q", SortKey::All))
        .await
        .unwrap();
    assert_eq!(
        (all.items.len(), all.items.last().map(|i| i.key.sk.as_str())),
        (26, Some("OTHER#1"))
    );

    // Bad cursors and limits are refused.
    let bad = s
        .items
        .query(Query::table("T#q", SortKey::All).after(Some("not a cursor".into())))
        .await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
    assert!(matches!(
        s.items
            .query(Query::table("T#q", SortKey::All).limit(0))
            .await,
        Err(StoreError::Invalid(_))
    ));
}

#[tokio::test]
async fn blobs_put_get_list_delete() {
    let s = stores("blobs").await;
    let (t1, t2) = (tenant("t1"), tenant("t2"));
    let rec = callisto_store::blob::BlobKey::new(&t1, "recordings/2026/01/c1.wav").unwrap();
    let imp = callisto_store::blob::BlobKey::new(&t1, "imports/a=b+c@d.csv").unwrap();
    let other = callisto_store::blob::BlobKey::new(&t2, "recordings/2026/01/c2.wav").unwrap();
    assert!(s.blobs.get(&rec).await.unwrap().is_none());
    let audio: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    s.blobs.put(&rec, audio.clone(), "audio/wav").await.unwrap();
    s.blobs
        .put(&imp, b"name;phone\n".to_vec(), "text/csv")
        .await
        .unwrap();
    s.blobs
        .put(&other, vec![1, 2, 3], "audio/wav")
        .await
        .unwrap();
    let got = s.blobs.get(&rec).await.unwrap().unwrap();
    assert_eq!(
        (got.data == audio, got.content_type.as_str()),
        (true, "audio/wav")
    );
    // Overwrite replaces whole.
    s.blobs
        .put(&imp, b"x".to_vec(), "text/plain")
        .await
        .unwrap();
    let got = s.blobs.get(&imp).await.unwrap().unwrap();
    assert_eq!(
        (got.data.as_slice(), got.content_type.as_str()),
        (&b"x"[..], "text/plain")
    );

    assert_eq!(
        s.blobs.list(&t1, "").await.unwrap(),
        vec![imp.clone(), rec.clone()]
    );
    assert_eq!(
        s.blobs.list(&t1, "recordings/").await.unwrap(),
        vec![rec.clone()]
    );
    assert_eq!(s.blobs.list(&t2, "").await.unwrap(), vec![other.clone()]);
    assert!(s.blobs.list(&t1, "exports/").await.unwrap().is_empty());

    s.blobs.delete(&rec).await.unwrap();
    s.blobs.delete(&rec).await.unwrap();
    assert!(s.blobs.get(&rec).await.unwrap().is_none());
    assert_eq!(s.blobs.list(&t1, "").await.unwrap(), vec![imp]);
}

#[tokio::test]
async fn blob_listing_pages_past_a_thousand() {
    let s = stores("blobpages").await;
    let t = tenant("t1");
    let mut want = Vec::new();
    for i in 0..1005 {
        let key = callisto_store::blob::BlobKey::new(&t, &format!("many/{i:05}.txt")).unwrap();
        s.blobs.put(&key, vec![b'x'], "text/plain").await.unwrap();
        want.push(key);
    }
    assert_eq!(s.blobs.list(&t, "many/").await.unwrap(), want);
}

#[tokio::test]
async fn queue_send_receive_redeliver_delete() {
    let s = stores("queue").await;
    let t = tenant("q1");
    let mut sent = BTreeSet::new();
    for i in 0..3 {
        sent.insert(
            s.queue
                .send("jobs", &t, &format!("{{\"job\":{i}}}"))
                .await
                .unwrap(),
        );
    }
    s.queue.send("other", &t, "elsewhere").await.unwrap();
    let hide = Duration::from_secs(30);
    let mut got = Vec::new();
    for _ in 0..10 {
        got.extend(s.queue.receive("jobs", 10, hide).await.unwrap());
        if got.len() >= 3 {
            break;
        }
    }
    assert_eq!(
        got.iter()
            .map(|d| d.message_id.clone())
            .collect::<BTreeSet<_>>(),
        sent
    );
    assert!(got.iter().all(|d| d.receive_count == 1 && d.tenant == t));
    assert!(s.queue.receive("jobs", 10, hide).await.unwrap().is_empty());
    for d in &got {
        s.queue.delete("jobs", &d.receipt).await.unwrap();
    }

    // Not deleted within its 1 s visibility timeout: delivered again, counted.
    s.queue.send("jobs", &t, "retry me").await.unwrap();
    let first = s
        .queue
        .receive("jobs", 1, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert!(s.queue.receive("jobs", 1, hide).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let again = s.queue.receive("jobs", 1, hide).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (
            again[0].message_id.as_str(),
            again[0].body.as_str(),
            again[0].receive_count
        ),
        (first[0].message_id.as_str(), "retry me", 2)
    );
    s.queue.delete("jobs", &again[0].receipt).await.unwrap();
    assert!(
        s.queue
            .receive("jobs", 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );

    let other = s.queue.receive("other", 10, hide).await.unwrap();
    assert_eq!((other.len(), other[0].body.as_str()), (1, "elsewhere"));
    assert!(matches!(
        s.queue.send("Bad Name", &t, "x").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.queue.send("jobs", &t, &"x".repeat(300 * 1024)).await,
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn moto_stops_when_dropped() {
    let moto = Moto::start();
    let addr = moto.endpoint().trim_start_matches("http://").to_string();
    assert!(std::net::TcpStream::connect(&addr).is_ok());
    drop(moto);
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "moto_server still listens on {addr}"
    );
}
