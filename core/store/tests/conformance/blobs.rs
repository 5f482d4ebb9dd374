use super::{Backend, tenant};
use callisto_store::StoreError;
use callisto_store::blob::BlobKey;

pub async fn blob_put_get_list_delete(b: &dyn Backend) {
    let s = b.open().await;
    let t = tenant("blobs");
    let k = |p: &str| BlobKey::new(&t, p).unwrap();
    assert!(
        s.blobs
            .get(&k("recordings/2026/11/a.wav"))
            .await
            .unwrap()
            .is_none()
    );
    s.blobs
        .put(
            &k("recordings/2026/11/a.wav"),
            b"RIFF-a".to_vec(),
            "audio/wav",
        )
        .await
        .unwrap();
    s.blobs
        .put(
            &k("recordings/2026/11/b.wav"),
            vec![0u8; 300_000],
            "audio/wav",
        )
        .await
        .unwrap();
    s.blobs
        .put(
            &k("imports/x.csv"),
            "имя;телефон\n".as_bytes().to_vec(),
            "text/csv",
        )
        .await
        .unwrap();

    let a = s
        .blobs
        .get(&k("recordings/2026/11/a.wav"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.data.as_slice(), a.content_type.as_str()),
        (b"RIFF-a".as_slice(), "audio/wav")
    );
    assert_eq!(
        s.blobs
            .get(&k("recordings/2026/11/b.wav"))
            .await
            .unwrap()
            .unwrap()
            .data
            .len(),
        300_000
    );
    // Overwrite replaces the whole object.
    s.blobs
        .put(
            &k("recordings/2026/11/a.wav"),
            b"v2".to_vec(),
            "audio/x-wav",
        )
        .await
        .unwrap();
    let a = s
        .blobs
        .get(&k("recordings/2026/11/a.wav"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.data.as_slice(), a.content_type.as_str()),
        (b"v2".as_slice(), "audio/x-wav")
    );

    let listed = s.blobs.list(&t, "recordings/").await.unwrap();
    assert_eq!(
        listed,
        vec![k("recordings/2026/11/a.wav"), k("recordings/2026/11/b.wav")]
    );
    assert_eq!(s.blobs.list(&t, "").await.unwrap().len(), 3);
    s.blobs
        .delete(&k("recordings/2026/11/a.wav"))
        .await
        .unwrap();
    s.blobs
        .delete(&k("recordings/2026/11/a.wav"))
        .await
        .unwrap();
    assert!(
        s.blobs
            .get(&k("recordings/2026/11/a.wav"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        s.blobs.list(&t, "recordings/").await.unwrap(),
        vec![k("recordings/2026/11/b.wav")]
    );

    for bad in ["", "/abs", "a/../b", "a//b", "a b", "a\\b", "./a"] {
        assert!(
            matches!(BlobKey::new(&t, bad), Err(StoreError::Invalid(_))),
            "{bad:?} accepted"
        );
    }
}

pub async fn blob_download_to_a_file(b: &dyn Backend) {
    let s = b.open().await;
    let t = tenant("blobdl");
    let k = |p: &str| BlobKey::new(&t, p).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("copy");
    assert_eq!(
        s.blobs
            .download_to(&k("imports/none.csv"), &dest)
            .await
            .unwrap(),
        None
    );
    // Larger than one read buffer, with every byte value.
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    s.blobs
        .put(&k("imports/big.csv"), data.clone(), "text/csv")
        .await
        .unwrap();
    std::fs::write(&dest, b"old content, longer than nothing").unwrap();
    assert_eq!(
        s.blobs
            .download_to(&k("imports/big.csv"), &dest)
            .await
            .unwrap(),
        Some(data.len() as u64)
    );
    assert!(std::fs::read(&dest).unwrap() == data);
}
