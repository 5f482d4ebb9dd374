use super::Backend;
use callisto_store::StoreError;
use callisto_store::item::{BatchPart, Condition, Index, Item, Key, Query, SortKey, WriteOp};
use serde_json::json;

fn item(pk: &str, sk: &str, n: i64) -> Item {
    Item::new(Key::new(pk, sk), json!({ "n": n }))
}

async fn n_of(s: &callisto_store::Stores, pk: &str, sk: &str) -> Option<i64> {
    s.items.get(&Key::new(pk, sk)).await.unwrap().map(|i| {
        i.decode::<serde_json::Value>().unwrap()["n"]
            .as_i64()
            .unwrap()
    })
}

pub async fn item_crud_and_versions(b: &dyn Backend) {
    let s = b.open().await;
    let k = Key::new("T#crud", "USER#1");
    assert!(s.items.get(&k).await.unwrap().is_none());
    assert_eq!(
        s.items
            .put(item("T#crud", "USER#1", 1), Condition::NotExists)
            .await
            .unwrap(),
        1
    );
    let got = s.items.get(&k).await.unwrap().unwrap();
    assert_eq!(
        (
            got.version,
            got.decode::<serde_json::Value>().unwrap()["n"].as_i64()
        ),
        (1, Some(1))
    );
    assert_eq!(
        s.items
            .put(item("T#crud", "USER#1", 2), Condition::None)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        s.items
            .put(item("T#crud", "USER#1", 3), Condition::Version(2))
            .await
            .unwrap(),
        3
    );
    assert_eq!(s.items.get(&k).await.unwrap().unwrap().version, 3);
    s.items.delete(&k, Condition::Exists).await.unwrap();
    assert!(s.items.get(&k).await.unwrap().is_none());
    // Deleting an absent item unconditionally is a no-op; re-creating starts at version 1.
    s.items.delete(&k, Condition::None).await.unwrap();
    assert_eq!(
        s.items
            .put(item("T#crud", "USER#1", 4), Condition::NotExists)
            .await
            .unwrap(),
        1
    );
    // Unicode survives, and sort keys are not trimmed or case-folded.
    let u = Item::new(
        Key::new("T#crud", "NAME#Ёлка "),
        json!({"name": "Ёлка «ООО»"}),
    );
    s.items.put(u, Condition::NotExists).await.unwrap();
    let got = s
        .items
        .get(&Key::new("T#crud", "NAME#Ёлка "))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.decode::<serde_json::Value>().unwrap()["name"],
        "Ёлка «ООО»"
    );
    assert!(
        s.items
            .get(&Key::new("T#crud", "NAME#ёлка "))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn item_conditional_writes_change_nothing(b: &dyn Backend) {
    let s = b.open().await;
    s.items
        .put(item("T#cond", "A", 1), Condition::NotExists)
        .await
        .unwrap();
    let fails = [
        s.items
            .put(item("T#cond", "A", 9), Condition::NotExists)
            .await,
        s.items
            .put(item("T#cond", "A", 9), Condition::Version(7))
            .await,
        s.items.put(item("T#cond", "B", 9), Condition::Exists).await,
        s.items
            .put(item("T#cond", "B", 9), Condition::Version(1))
            .await,
    ];
    for r in fails {
        assert!(matches!(r, Err(StoreError::ConditionFailed(_))), "{r:?}");
    }
    assert!(matches!(
        s.items
            .delete(&Key::new("T#cond", "A"), Condition::Version(5))
            .await,
        Err(StoreError::ConditionFailed(_))
    ));
    assert!(matches!(
        s.items
            .delete(&Key::new("T#cond", "B"), Condition::Exists)
            .await,
        Err(StoreError::ConditionFailed(_))
    ));
    assert_eq!(n_of(&s, "T#cond", "A").await, Some(1));
    assert_eq!(
        s.items
            .get(&Key::new("T#cond", "A"))
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    assert_eq!(n_of(&s, "T#cond", "B").await, None);
    // Invalid keys are refused before anything is written.
    let bad = s.items.put(item("T#cond", "", 1), Condition::None).await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
    let big = Item::new(
        Key::new("T#cond", "BIG"),
        json!({ "x": "y".repeat(400 * 1024) }),
    );
    assert!(matches!(
        s.items.put(big, Condition::None).await,
        Err(StoreError::Invalid(_))
    ));
}

pub async fn transaction_all_or_nothing(b: &dyn Backend) {
    let s = b.open().await;
    s.items
        .transact(vec![
            WriteOp::Put {
                item: item("T#tx", "A", 1),
                condition: Condition::NotExists,
            },
            WriteOp::Put {
                item: item("T#tx", "B", 1),
                condition: Condition::NotExists,
            },
        ])
        .await
        .unwrap();
    // The last op fails: the first two must not be applied.
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
    assert_eq!(n_of(&s, "T#tx", "C").await, None);
    assert_eq!(n_of(&s, "T#tx", "B").await, Some(1));
    assert_eq!(n_of(&s, "T#tx", "A").await, Some(1));
    // A failing check blocks the writes beside it.
    let r = s
        .items
        .transact(vec![
            WriteOp::Check {
                key: Key::new("T#tx", "A"),
                condition: Condition::Version(9),
            },
            WriteOp::Put {
                item: item("T#tx", "D", 1),
                condition: Condition::None,
            },
        ])
        .await;
    assert!(matches!(r, Err(StoreError::ConditionFailed(_))), "{r:?}");
    assert_eq!(n_of(&s, "T#tx", "D").await, None);
    // A passing one lets them through, and versions advance per item.
    let r = s
        .items
        .transact(vec![
            WriteOp::Check {
                key: Key::new("T#tx", "B"),
                condition: Condition::Version(1),
            },
            WriteOp::Put {
                item: item("T#tx", "A", 3),
                condition: Condition::Version(1),
            },
            WriteOp::Delete {
                key: Key::new("T#tx", "B"),
                condition: Condition::None,
            },
        ])
        .await;
    // B appears twice (check and delete): refused as invalid, nothing applied.
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    assert_eq!(n_of(&s, "T#tx", "A").await, Some(1));
    s.items
        .transact(vec![
            WriteOp::Check {
                key: Key::new("T#tx", "B"),
                condition: Condition::Version(1),
            },
            WriteOp::Put {
                item: item("T#tx", "A", 3),
                condition: Condition::Version(1),
            },
        ])
        .await
        .unwrap();
    let a = s.items.get(&Key::new("T#tx", "A")).await.unwrap().unwrap();
    assert_eq!(
        (
            a.version,
            a.decode::<serde_json::Value>().unwrap()["n"].as_i64()
        ),
        (2, Some(3))
    );
}

pub async fn transaction_rejects_invalid_requests(b: &dyn Backend) {
    let s = b.open().await;
    let dup = s
        .items
        .transact(vec![
            WriteOp::Put {
                item: item("T#txi", "A", 1),
                condition: Condition::None,
            },
            WriteOp::Put {
                item: item("T#txi", "A", 2),
                condition: Condition::None,
            },
        ])
        .await;
    assert!(matches!(dup, Err(StoreError::Invalid(_))), "{dup:?}");
    assert!(matches!(
        s.items.transact(vec![]).await,
        Err(StoreError::Invalid(_))
    ));
    let many = (0..101)
        .map(|i| WriteOp::Put {
            item: item("T#txi", &format!("K{i}"), 1),
            condition: Condition::None,
        })
        .collect();
    assert!(matches!(
        s.items.transact(many).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(n_of(&s, "T#txi", "A").await, None);
    assert_eq!(n_of(&s, "T#txi", "K0").await, None);
    // 100 operations is the limit and is accepted.
    let hundred = (0..100)
        .map(|i| WriteOp::Put {
            item: item("T#txi", &format!("K{i:03}"), i),
            condition: Condition::None,
        })
        .collect();
    s.items.transact(hundred).await.unwrap();
    let page = s
        .items
        .query(Query::table("T#txi", SortKey::Prefix("K".into())).limit(200))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 100);
}

pub async fn index_follows_item_writes(b: &dyn Backend) {
    let s = b.open().await;
    let phone = |p: &str| Key::new("T#ix#PHONE", p);
    let with_phone = |sk: &str, p: &str| item("T#ix", sk, 1).with_index(Index::Gsi1, phone(p));
    s.items
        .put(with_phone("C#1", "+79990000001"), Condition::NotExists)
        .await
        .unwrap();
    s.items
        .put(with_phone("C#2", "+79990000002"), Condition::NotExists)
        .await
        .unwrap();
    s.items
        .put(
            item("T#ix", "C#3", 1).with_index(Index::Gsi2, Key::new("T#ix#MAIL", "a@b.ru")),
            Condition::NotExists,
        )
        .await
        .unwrap();

    let q = |sk: SortKey| Query::index(Index::Gsi1, "T#ix#PHONE", sk);
    let sks =
        |p: callisto_store::item::Page| p.items.into_iter().map(|i| i.key.sk).collect::<Vec<_>>();
    assert_eq!(
        sks(s.items.query(q(SortKey::All)).await.unwrap()),
        ["C#1", "C#2"]
    );
    assert_eq!(
        sks(s
            .items
            .query(q(SortKey::Prefix("+7999000000".into())))
            .await
            .unwrap()),
        ["C#1", "C#2"]
    );
    assert_eq!(
        sks(s
            .items
            .query(q(SortKey::Prefix("+79990000002".into())))
            .await
            .unwrap()),
        ["C#2"]
    );
    assert_eq!(
        sks(s.items.query(q(SortKey::All).descending()).await.unwrap()),
        ["C#2", "C#1"]
    );
    // Index entries carry the whole item.
    let first = s
        .items
        .query(q(SortKey::All))
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(
        (
            first.decode::<serde_json::Value>().unwrap()["n"].as_i64(),
            first.version
        ),
        (Some(1), 1)
    );

    // Changing the index key moves the entry; the old value no longer finds it.
    s.items
        .put(with_phone("C#1", "+79990000009"), Condition::Version(1))
        .await
        .unwrap();
    assert_eq!(
        sks(s
            .items
            .query(q(SortKey::Prefix("+79990000001".into())))
            .await
            .unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(
        sks(s
            .items
            .query(q(SortKey::Prefix("+79990000009".into())))
            .await
            .unwrap()),
        ["C#1"]
    );
    // Dropping the index key removes the entry; deleting the item removes its entry.
    s.items
        .put(item("T#ix", "C#1", 2), Condition::Version(2))
        .await
        .unwrap();
    s.items
        .delete(&Key::new("T#ix", "C#2"), Condition::Exists)
        .await
        .unwrap();
    assert!(
        s.items
            .query(q(SortKey::All))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    // Other indexes are separate.
    let mail = s
        .items
        .query(Query::index(Index::Gsi2, "T#ix#MAIL", SortKey::All))
        .await
        .unwrap();
    assert_eq!(sks(mail), ["C#3"]);
    // A failed conditional write leaves the index as it was.
    let r = s
        .items
        .put(with_phone("C#3", "+70000000000"), Condition::Version(42))
        .await;
    assert!(matches!(r, Err(StoreError::ConditionFailed(_))));
    assert!(
        s.items
            .query(q(SortKey::All))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

pub async fn query_paging_and_ranges(b: &dyn Backend) {
    let s = b.open().await;
    let ops: Vec<_> = (0..25)
        .map(|i| WriteOp::Put {
            item: item("T#pg", &format!("ROW#{i:02}"), i)
                .with_index(Index::Gsi3, Key::new("T#pg#BY", format!("{:02}", 24 - i))),
            condition: Condition::NotExists,
        })
        .collect();
    s.items.transact(ops).await.unwrap();
    // Neighbours that share a prefix but not the partition or sort prefix.
    s.items
        .put(item("T#pg", "ROWX", 99), Condition::None)
        .await
        .unwrap();
    s.items
        .put(item("T#pgx", "ROW#00", 99), Condition::None)
        .await
        .unwrap();

    async fn collect(s: &callisto_store::Stores, q: Query) -> Vec<i64> {
        let mut out = Vec::new();
        let mut cursor = None;
        for _ in 0..20 {
            let page = s
                .items
                .query(q.clone().after(cursor.clone()))
                .await
                .unwrap();
            assert!(page.items.len() <= q.limit);
            out.extend(page.items.iter().map(|i| {
                i.decode::<serde_json::Value>().unwrap()["n"]
                    .as_i64()
                    .unwrap()
            }));
            cursor = page.cursor;
            if cursor.is_none() {
                return out;
            }
        }
        panic!("paging did not end");
    }
    let all: Vec<i64> = (0..25).collect();
    let rev: Vec<i64> = (0..25).rev().collect();
    let rows = || Query::table("T#pg", SortKey::Prefix("ROW#".into())).limit(7);
    assert_eq!(collect(&s, rows()).await, all);
    assert_eq!(collect(&s, rows().descending()).await, rev);
    let first = s.items.query(rows()).await.unwrap();
    assert_eq!(first.items.len(), 7);
    assert!(first.cursor.is_some());
    // Index paging, ordered by the index sort key.
    let by = || Query::index(Index::Gsi3, "T#pg#BY", SortKey::All).limit(4);
    assert_eq!(collect(&s, by()).await, rev);
    assert_eq!(collect(&s, by().descending()).await, all);
    // BETWEEN is inclusive at both ends.
    let between = Query::table("T#pg", SortKey::Between("ROW#05".into(), "ROW#08".into())).limit(3);
    assert_eq!(collect(&s, between).await, vec![5, 6, 7, 8]);
    // The whole partition, and nothing from a partition whose name extends it.
    let everything = collect(&s, Query::table("T#pg", SortKey::All).limit(10)).await;
    assert_eq!(everything.len(), 26);
    assert!(
        s.items
            .query(Query::table("T#nothing", SortKey::All))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    // A forged cursor is refused, not trusted.
    let forged = s
        .items
        .query(rows().after(Some("not-a-cursor!".into())))
        .await;
    assert!(forged.is_err());
}

pub async fn batch_write_puts_and_deletes_in_bulk(b: &dyn Backend) {
    let s = b.open().await;
    // More operations than one DynamoDB call takes (25), with index keys.
    let ops: Vec<WriteOp> = (0..60)
        .map(|i| WriteOp::Put {
            item: item("T#bulk", &format!("C#{i:03}"), i)
                .with_index(Index::Gsi2, Key::new("T#bulk#BY", format!("{:03}", 59 - i))),
            condition: Condition::None,
        })
        .collect();
    s.items.write_batch(ops).await.unwrap();
    let page = s
        .items
        .query(Query::table("T#bulk", SortKey::All).limit(100))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 60);
    assert!(page.items.iter().all(|i| i.version == 1));
    let by_index = s
        .items
        .query(Query::index(Index::Gsi2, "T#bulk#BY", SortKey::All).limit(100))
        .await
        .unwrap();
    let first: Vec<i64> = by_index
        .items
        .iter()
        .take(3)
        .map(|i| {
            i.decode::<serde_json::Value>().unwrap()["n"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!((by_index.items.len(), first), (60, vec![59, 58, 57]));

    // Deletes and puts mixed; a put may replace an item and its index keys.
    let mut ops: Vec<WriteOp> = (0..30)
        .map(|i| WriteOp::Delete {
            key: Key::new("T#bulk", format!("C#{i:03}")),
            condition: Condition::None,
        })
        .collect();
    ops.push(WriteOp::Put {
        item: item("T#bulk", "C#059", 100),
        condition: Condition::None,
    });
    ops.push(WriteOp::Delete {
        key: Key::new("T#bulk", "absent"),
        condition: Condition::None,
    });
    s.items.write_batch(ops).await.unwrap();
    let left = s
        .items
        .query(Query::table("T#bulk", SortKey::All).limit(100))
        .await
        .unwrap();
    assert_eq!(left.items.len(), 30);
    assert_eq!(n_of(&s, "T#bulk", "C#059").await, Some(100));
    assert_eq!(n_of(&s, "T#bulk", "C#000").await, None);
    let by_index = s
        .items
        .query(Query::index(Index::Gsi2, "T#bulk#BY", SortKey::All).limit(100))
        .await
        .unwrap();
    // 30 deleted, and C#059 no longer carries an index key.
    assert_eq!(by_index.items.len(), 29);
    assert!(by_index.items.iter().all(|i| i.key.sk != "C#059"));
    // An empty batch is a no-op.
    s.items.write_batch(Vec::new()).await.unwrap();
}

pub async fn batch_write_refuses_conditions_and_writes_nothing(b: &dyn Backend) {
    let s = b.open().await;
    let put = |sk: &str, condition| WriteOp::Put {
        item: item("T#bulkc", sk, 1),
        condition,
    };
    for bad in [
        vec![put("a", Condition::None), put("b", Condition::NotExists)],
        vec![
            put("a", Condition::None),
            WriteOp::Delete {
                key: Key::new("T#bulkc", "c"),
                condition: Condition::Version(1),
            },
        ],
        vec![
            put("a", Condition::None),
            WriteOp::Check {
                key: Key::new("T#bulkc", "c"),
                condition: Condition::None,
            },
        ],
        vec![put("a", Condition::None), put("a", Condition::None)],
    ] {
        let r = s.items.write_batch(bad).await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    }
    assert!(
        s.items
            .query(Query::table("T#bulkc", SortKey::All))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// Sends `parts` to a bulk write one at a time (each taken before the next
/// is made), then its end if `end`.
async fn write_in_parts(
    s: &callisto_store::Stores,
    parts: Vec<Vec<WriteOp>>,
    end: bool,
) -> Result<(), StoreError> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let send = async move {
        for part in parts {
            if tx.send(BatchPart::Ops(part)).await.is_err() {
                return;
            }
        }
        if end {
            let _ = tx.send(BatchPart::End).await;
        }
    };
    let (written, ()) = tokio::join!(s.items.write_batch_parts(rx), send);
    written
}

pub async fn batch_written_in_parts_lands_whole_or_not_at_all(b: &dyn Backend) {
    let s = b.open().await;
    let puts = |from: usize, to: usize| -> Vec<WriteOp> {
        (from..to)
            .map(|i| WriteOp::Put {
                item: item("T#parts", &format!("C#{i:03}"), i as i64)
                    .with_index(Index::Gsi1, Key::new("T#parts#BY", format!("{i:03}"))),
                condition: Condition::None,
            })
            .collect()
    };
    let count = |s: &callisto_store::Stores| {
        let items = s.items.clone();
        async move {
            let table = items
                .query(Query::table("T#parts", SortKey::All).limit(200))
                .await
                .unwrap();
            let index = items
                .query(Query::index(Index::Gsi1, "T#parts#BY", SortKey::All).limit(200))
                .await
                .unwrap();
            (table.items.len(), index.items.len())
        }
    };

    // Parts that stop before their end (their maker failed) write nothing,
    // not even the parts already handed over.
    let r = write_in_parts(&s, vec![puts(0, 30), puts(30, 40)], false).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    assert_eq!(count(&s).await, (0, 0));

    // A key repeated in a later part, or a condition in one, is refused as in
    // one batch, and nothing of the earlier parts lands either.
    let mut conditional = puts(40, 41);
    conditional.push(WriteOp::Put {
        item: item("T#parts", "C#041", 41),
        condition: Condition::NotExists,
    });
    for bad in [
        vec![puts(0, 30), puts(29, 31)],
        vec![puts(0, 30), conditional],
    ] {
        let r = write_in_parts(&s, bad, true).await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
        assert_eq!(count(&s).await, (0, 0));
    }

    // Parts with their end land together, with their index entries.
    write_in_parts(&s, vec![puts(0, 30), puts(30, 60), Vec::new()], true)
        .await
        .unwrap();
    assert_eq!(count(&s).await, (60, 60));
    assert_eq!(n_of(&s, "T#parts", "C#045").await, Some(45));
}

pub async fn reads_in_bulk_answer_in_the_order_asked(b: &dyn Backend) {
    let s = b.open().await;
    let ops: Vec<WriteOp> = (0..40)
        .map(|i| WriteOp::Put {
            item: item(&format!("T#many#{}", i % 4), &format!("C#{i:03}"), i)
                .with_index(Index::Gsi1, Key::new("T#many#BY", format!("{:03}", 39 - i))),
            condition: Condition::None,
        })
        .collect();
    s.items.write_batch(ops).await.unwrap();

    // Gets: in the order of the keys, absent ones as None, a repeated key twice.
    let keys: Vec<Key> = [(3, 3), (1, 1), (0, 5), (2, 2), (3, 3)]
        .iter()
        .map(|(p, i)| Key::new(format!("T#many#{p}"), format!("C#{i:03}")))
        .collect();
    let got = s.items.get_many(&keys).await.unwrap();
    let n: Vec<Option<i64>> = got
        .iter()
        .map(|i| {
            i.as_ref().map(|i| {
                i.decode::<serde_json::Value>().unwrap()["n"]
                    .as_i64()
                    .unwrap()
            })
        })
        .collect();
    assert_eq!(n, vec![Some(3), Some(1), None, Some(2), Some(3)]);
    assert!(got.iter().flatten().all(|i| i.version == 1));
    assert!(s.items.get_many(&[]).await.unwrap().is_empty());

    // Queries: one page each, in the order asked, each with its own limit and cursor.
    let pages = s
        .items
        .query_many(vec![
            Query::table("T#many#2", SortKey::All).limit(3),
            Query::table("T#many#absent", SortKey::All),
            Query::index(Index::Gsi1, "T#many#BY", SortKey::Prefix("00".into())).limit(100),
            Query::table("T#many#0", SortKey::All)
                .limit(100)
                .descending(),
        ])
        .await
        .unwrap();
    let ns = |p: &callisto_store::item::Page| -> Vec<i64> {
        p.items
            .iter()
            .map(|i| {
                i.decode::<serde_json::Value>().unwrap()["n"]
                    .as_i64()
                    .unwrap()
            })
            .collect()
    };
    assert_eq!(pages.len(), 4);
    assert_eq!(ns(&pages[0]), vec![2, 6, 10]);
    assert!(pages[0].cursor.is_some());
    assert!(pages[1].items.is_empty());
    assert_eq!(ns(&pages[2]), (30..40).rev().collect::<Vec<_>>());
    assert_eq!(
        ns(&pages[3]),
        (0..10).rev().map(|i| i * 4).collect::<Vec<_>>()
    );
    let next = s
        .items
        .query_many(vec![
            Query::table("T#many#2", SortKey::All)
                .limit(3)
                .after(pages[0].cursor.clone()),
        ])
        .await
        .unwrap();
    assert_eq!(ns(&next[0]), vec![14, 18, 22]);
    // An invalid query fails the whole call.
    assert!(matches!(
        s.items
            .query_many(vec![Query::table("T#many#0", SortKey::All).limit(0)])
            .await,
        Err(StoreError::Invalid(_))
    ));
}
