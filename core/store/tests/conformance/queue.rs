use super::{Backend, tenant};
use std::collections::BTreeSet;
use std::time::Duration;

pub async fn queue_visibility_and_redelivery(b: &dyn Backend) {
    let s = b.open().await;
    let t = tenant("q1");
    let mut sent = BTreeSet::new();
    for i in 0..3 {
        sent.insert(
            s.queue
                .send("jobs-a", &t, &format!("{{\"job\":{i}}}"))
                .await
                .unwrap(),
        );
    }
    s.queue.send("jobs-b", &t, "other queue").await.unwrap();
    let hide = Duration::from_secs(30);
    let mut got = Vec::new();
    for _ in 0..10 {
        got.extend(s.queue.receive("jobs-a", 10, hide).await.unwrap());
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
    // Received messages are hidden while their visibility timeout runs.
    assert!(
        s.queue
            .receive("jobs-a", 10, hide)
            .await
            .unwrap()
            .is_empty()
    );
    for d in &got {
        s.queue.delete("jobs-a", &d.receipt).await.unwrap();
    }

    // A message not deleted in time comes back, counted.
    s.queue.send("jobs-a", &t, "retry me").await.unwrap();
    let first = s
        .queue
        .receive("jobs-a", 1, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let again = s.queue.receive("jobs-a", 1, hide).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (
            again[0].message_id.as_str(),
            again[0].body.as_str(),
            again[0].receive_count
        ),
        (first[0].message_id.as_str(), "retry me", 2)
    );
    s.queue.delete("jobs-a", &again[0].receipt).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        s.queue
            .receive("jobs-a", 10, Duration::from_secs(0))
            .await
            .unwrap()
            .is_empty()
    );
    // The other queue was untouched throughout.
    let other = s.queue.receive("jobs-b", 10, hide).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].body, "other queue");

    assert!(s.queue.send("Bad Name", &t, "x").await.is_err());
    assert!(
        s.queue
            .send("jobs-a", &t, &"x".repeat(300 * 1024))
            .await
            .is_err()
    );
}

pub async fn queue_redelivers_after_crash(b: &dyn Backend) {
    let t = tenant("q2");
    let id = {
        let s = b.open().await;
        s.queue
            .send("import", &t, "{\"file\":\"a.csv\"}")
            .await
            .unwrap();
        let d = s
            .queue
            .receive("import", 1, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(d.len(), 1);
        d[0].message_id.clone()
        // The worker "crashes" here: the stores are dropped without deleting the message.
    };
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let s = b.open().await;
    let d = s
        .queue
        .receive("import", 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(d.len(), 1, "the unfinished message must be delivered again");
    assert_eq!(
        (
            d[0].message_id.as_str(),
            d[0].receive_count,
            d[0].tenant.as_str()
        ),
        (id.as_str(), 2, "q2")
    );
}
