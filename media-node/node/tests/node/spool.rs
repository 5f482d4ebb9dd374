//! Finished calls reach the store through the spool, also across a restart,
//! and delivering one twice changes nothing.

use callisto_domain::call::{
    CallId, CallRecord, Cause, Direction, HangupSide, Outcome, RecordingRef,
};
use callisto_domain::ids::TenantId;
use callisto_node::spool::Spool;
use callisto_store::blob::BlobKey;
use callisto_store::repo::Repos;

const T0: u64 = 1_796_000_000_000;

fn record(n: u64, recorded: bool) -> CallRecord {
    let id = ulid::Ulid::from_parts(T0 + n, u128::from(n)).to_string();
    CallRecord {
        id: CallId::parse(id).unwrap(),
        tenant: TenantId::parse("t1").unwrap(),
        direction: Direction::Outbound,
        from: "+74951234567".into(),
        to: "+79123456789".into(),
        agent: None,
        client: None,
        line: None,
        started_at: (T0 + n) as i64,
        answered_at: Some((T0 + n) as i64 + 1_000),
        ended_at: (T0 + n) as i64 + 9_000,
        outcome: Outcome::Answered,
        hangup: HangupSide::Caller,
        cause: Cause {
            code: 200,
            reason: "BYE".into(),
        },
        recording: recorded.then(|| RecordingRef {
            key: String::new(),
            format: "wav".into(),
            bytes: 0,
            duration_ms: 8_000,
        }),
    }
}

#[tokio::test]
async fn finished_calls_are_delivered_even_after_a_restart_and_only_once() {
    let data = tempfile::tempdir().unwrap();
    let spool_dir = data.path().join("spool");
    let stores = callisto_store::embedded::open(&data.path().join("store")).unwrap();
    let repos = Repos::new(stores.items.clone());

    let spool = Spool::open(&spool_dir).unwrap();
    let recorded = record(1, true);
    std::fs::write(spool.recording_file(recorded.id.as_str()), b"RIFF....WAVE").unwrap();
    spool.commit(&recorded, true).unwrap();
    let plain = record(2, false);
    spool.commit(&plain, false).unwrap();
    // The node "crashes" before delivering: a new spool over the same folder finds both.
    drop(spool);
    let spool = Spool::open(&spool_dir).unwrap();
    assert_eq!(spool.pending().unwrap().len(), 2);
    let entries = spool.pending().unwrap();
    let kept = std::fs::read(&entries[0]).unwrap();

    assert_eq!(spool.drain(&stores).await.unwrap(), 2);
    assert!(spool.pending().unwrap().is_empty());
    assert!(!spool.recording_file(recorded.id.as_str()).exists());

    let t = TenantId::parse("t1").unwrap();
    let stored = repos.calls.get(&t, &recorded.id).await.unwrap();
    let rec = stored.recording.clone().unwrap();
    assert_eq!(rec.bytes, 12);
    let path = rec.key.strip_prefix("T#t1/").unwrap();
    let blob = stores
        .blobs
        .get(&BlobKey::new(&t, path).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(blob.data, b"RIFF....WAVE");
    assert_eq!(repos.calls.get(&t, &plain.id).await.unwrap(), plain);

    // A crash after the store writes but before the entry was removed: the
    // entry comes back and is delivered again without harm.
    std::fs::write(&entries[0], kept).unwrap();
    std::fs::write(spool.recording_file(recorded.id.as_str()), b"RIFF....WAVE").unwrap();
    assert_eq!(spool.drain(&stores).await.unwrap(), 1);
    assert_eq!(repos.calls.get(&t, &recorded.id).await.unwrap(), stored);
    let month = repos.calls.month(&t, 2026, 11, None, 10).await.unwrap();
    assert_eq!(month.items.len(), 2);
}

#[tokio::test]
async fn an_entry_that_cannot_be_delivered_stays_for_the_next_round() {
    let data = tempfile::tempdir().unwrap();
    let stores = callisto_store::embedded::open(&data.path().join("store")).unwrap();
    let spool = Spool::open(&data.path().join("spool")).unwrap();
    // Inconsistent (answered without an answer time): the store refuses it.
    let mut bad = record(3, false);
    bad.answered_at = None;
    spool.commit(&bad, false).unwrap();
    let good = record(4, false);
    spool.commit(&good, false).unwrap();
    assert_eq!(spool.drain(&stores).await.unwrap(), 1);
    assert_eq!(spool.pending().unwrap().len(), 1, "the refused one is kept");
}

#[tokio::test]
async fn calls_committed_together_share_one_entry_and_a_refused_one_stays_alone() {
    let data = tempfile::tempdir().unwrap();
    let stores = callisto_store::embedded::open(&data.path().join("store")).unwrap();
    let repos = Repos::new(stores.items.clone());
    let spool = Spool::open(&data.path().join("spool")).unwrap();
    let recorded = record(5, true);
    std::fs::write(spool.recording_file(recorded.id.as_str()), b"RIFF....WAVE").unwrap();
    let mut bad = record(6, false);
    bad.answered_at = None;
    let plain = record(7, false);
    // A recording that was never written: that call fails, the others do not.
    let lost = record(8, true);
    let results = spool.commit_many(&[
        (&recorded, true),
        (&bad, false),
        (&plain, false),
        (&lost, true),
    ]);
    assert!(results[0].is_ok() && results[1].is_ok() && results[2].is_ok());
    assert!(matches!(
        results[3],
        Err(callisto_node::spool::SpoolError::Io { .. })
    ));
    assert_eq!(
        spool.pending().unwrap().len(),
        1,
        "one entry file for the batch"
    );

    assert_eq!(spool.drain(&stores).await.unwrap(), 2);
    let t = TenantId::parse("t1").unwrap();
    assert_eq!(repos.calls.get(&t, &plain.id).await.unwrap(), plain);
    assert_eq!(
        repos
            .calls
            .get(&t, &recorded.id)
            .await
            .unwrap()
            .recording
            .unwrap()
            .bytes,
        12
    );
    assert!(!spool.recording_file(recorded.id.as_str()).exists());
    // Only the refused call is left, and the next round tries it alone.
    let left = spool.pending().unwrap();
    assert_eq!(left.len(), 1);
    let text = std::fs::read_to_string(&left[0]).unwrap();
    assert!(text.contains(bad.id.as_str()) && !text.contains(plain.id.as_str()));
    assert_eq!(spool.drain(&stores).await.unwrap(), 0);
    assert_eq!(std::fs::read_to_string(&left[0]).unwrap(), text);
}

#[tokio::test]
async fn an_entry_of_one_call_left_by_an_older_node_is_delivered() {
    let data = tempfile::tempdir().unwrap();
    let stores = callisto_store::embedded::open(&data.path().join("store")).unwrap();
    let spool = Spool::open(&data.path().join("spool")).unwrap();
    let old = record(9, false);
    let entry = serde_json::json!({ "record": old, "recording_file": null });
    let path = data
        .path()
        .join("spool")
        .join("done")
        .join(format!("{}.json", old.id));
    std::fs::write(&path, serde_json::to_vec_pretty(&entry).unwrap()).unwrap();
    assert_eq!(spool.drain(&stores).await.unwrap(), 1);
    assert!(!path.exists());
    let t = TenantId::parse("t1").unwrap();
    assert_eq!(
        Repos::new(stores.items.clone())
            .calls
            .get(&t, &old.id)
            .await
            .unwrap(),
        old
    );
}
