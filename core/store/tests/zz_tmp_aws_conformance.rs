mod conformance;
#[path = "support/moto.rs"]
mod moto;
use callisto_store::Stores;
use conformance::Backend;
use std::future::Future;
use std::pin::Pin;
struct Aws {
    cfg: callisto_store::aws::AwsConfig,
}
impl Backend for Aws {
    fn open(&self) -> Pin<Box<dyn Future<Output = Stores> + '_>> {
        Box::pin(async move {
            callisto_store::aws::connect(&self.cfg)
                .await
                .expect("connect")
        })
    }
}
async fn aws() -> Aws {
    let cfg = moto::Moto::shared().config("conf");
    callisto_store::aws::create_resources(&cfg)
        .await
        .expect("create");
    Aws { cfg }
}
conformance_cases!(aws);
