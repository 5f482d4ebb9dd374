#![allow(clippy::unwrap_used)]
#[path = "support/moto.rs"]
mod moto;
use callisto_store::item::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scratch() {
    for _ in 0..15 {
        scratch1().await
    }
}
async fn scratch1() {
    let cfg = moto::Moto::shared().config("scratch");
    callisto_store::aws::create_resources(&cfg).await.unwrap();
    let s = callisto_store::aws::connect(&cfg).await.unwrap();
    let mk = |sk: &str| {
        Item::new(Key::new("T#x", sk), json!({"a":1}))
            .with_index(Index::Gsi1, Key::new("T#x#U", sk))
    };
    for sk in ["REFRESH#h1", "REFRESH#h2"] {
        s.items
            .transact(vec![WriteOp::Put {
                item: mk(sk),
                condition: Condition::NotExists,
            }])
            .await
            .unwrap();
    }
    let dump = |s: callisto_store::Stores| async move {
        let t = s
            .items
            .query(Query::table("T#x", SortKey::All))
            .await
            .unwrap();
        let g = s
            .items
            .query(Query::index(
                Index::Gsi1,
                "T#x#U",
                SortKey::Prefix("REFRESH#".into()),
            ))
            .await
            .unwrap();
        eprintln!(
            "table: {:?}",
            t.items
                .iter()
                .map(|i| (&i.key.sk, i.version, &i.gsi[0]))
                .collect::<Vec<_>>()
        );
        eprintln!(
            "gsi1: {:?}",
            g.items.iter().map(|i| &i.key.sk).collect::<Vec<_>>()
        );
    };
    dump(s.clone()).await;
    let rot = |new: &'static str| {
        let s = s.clone();
        async move {
            s.items
                .transact(vec![
                    WriteOp::Delete {
                        key: Key::new("T#x", "REFRESH#h1"),
                        condition: Condition::Version(1),
                    },
                    WriteOp::Put {
                        item: Item::new(Key::new("T#x", new), json!({"a":2}))
                            .with_index(Index::Gsi1, Key::new("T#x#U", new)),
                        condition: Condition::NotExists,
                    },
                ])
                .await
        }
    };
    let (x, y) = tokio::join!(
        tokio::spawn(rot("REFRESH#h1-a")),
        tokio::spawn(rot("REFRESH#h1-b"))
    );
    eprintln!("x={x:?}\ny={y:?}");
    dump(s.clone()).await;
    let r = s.items.put(mk("REFRESH#h2"), Condition::NotExists).await;
    eprintln!("put err: {r:?}");
    let r = s
        .items
        .transact(vec![WriteOp::Put {
            item: mk("REFRESH#h2"),
            condition: Condition::NotExists,
        }])
        .await;
    eprintln!("tx err: {r:?}");
}
