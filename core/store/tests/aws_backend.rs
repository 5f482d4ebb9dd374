//! The conformance suite on the AWS backend (DynamoDB, S3, SQS), served by
//! `moto_server` on 127.0.0.1 (`scripts/install-test-deps.sh` installs it).

mod conformance;
#[path = "support/moto.rs"]
mod moto;

use callisto_store::Stores;
use callisto_store::aws::{self, AwsConfig};
use conformance::Backend;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};

struct Aws {
    cfg: AwsConfig,
}

impl Backend for Aws {
    fn open(&self) -> Pin<Box<dyn Future<Output = Stores> + '_>> {
        Box::pin(async move { aws::connect(&self.cfg).await.expect("connect to moto") })
    }
}

/// Fresh table, bucket and queues per case, on the one moto of this test binary.
async fn aws() -> Aws {
    static N: AtomicU32 = AtomicU32::new(0);
    let cfg = moto::Moto::shared().config(&format!("conf{}", N.fetch_add(1, Ordering::SeqCst)));
    aws::create_resources(&cfg).await.expect("create resources");
    // Idempotent: a second run finds the table and the bucket and changes nothing.
    aws::create_resources(&cfg)
        .await
        .expect("create resources again");
    Aws { cfg }
}

conformance_cases!(aws);

/// S3 lists at most 1000 keys per call: the adapter must follow continuation tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_listing_pages_past_a_thousand() {
    let s = aws().await.open().await;
    let t = conformance::tenant("t1");
    let mut want = Vec::new();
    for i in 0..1005 {
        let key =
            callisto_store::blob::BlobKey::new(&t, &format!("many/{i:05}.txt")).expect("blob key");
        s.blobs
            .put(&key, vec![b'x'], "text/plain")
            .await
            .expect("put");
        want.push(key);
    }
    assert_eq!(s.blobs.list(&t, "many/").await.expect("list"), want);
}
