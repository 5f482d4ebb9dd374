//! The conformance suite on the embedded backend (redb file + blob folder).

mod conformance;

use callisto_store::Stores;
use conformance::Backend;
use std::future::Future;
use std::pin::Pin;

struct Embedded {
    dir: tempfile::TempDir,
}

impl Backend for Embedded {
    fn open(&self) -> Pin<Box<dyn Future<Output = Stores> + '_>> {
        Box::pin(async move {
            #[allow(clippy::unwrap_used)]
            callisto_store::embedded::open(self.dir.path()).unwrap()
        })
    }
}

async fn embedded() -> Embedded {
    Embedded {
        dir: tempfile::tempdir().expect("temp dir"),
    }
}

conformance_cases!(embedded);
