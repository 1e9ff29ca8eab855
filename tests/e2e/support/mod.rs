//! What the end-to-end tests share on top of the harness (`sealed_secrets_test_support`: the control plane,
//! namespaces, identities, processes, the service proxy, Bitnami's controller, waits):
//!
//! - [`e2e_test!`]: declares a test; it gets its [`TestContext`] (and, if asked, a running
//!   [`controller::Controller`]) and runs under [`TEST_TIMEOUT`];
//! - [`controller`]: our controller as a local process under its restricted identity, exposed on request;
//! - [`kubeseal`]: our kubeseal and Bitnami's, run the same way;
//! - [`sealed`]: Secrets to seal ([`sealed::SecretFixture`]), sealing and SealedSecret helpers;
//! - [`health`]: the status as Argo CD and kstatus (Flux) read it;
//! - [`events`]: the Events about an object;
//! - [`deployment`]: the shipped manifests installed on the real node (the node tests);
//! - [`helm`]: Helm, our chart and Bitnami's, for the chart's node tests;
//! - [`raw_http`]: one HTTP/1.1 request to a local address (the controller's API and metrics, directly).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use anyhow::anyhow;
use sealed_secrets_test_support::TestContext;

pub mod controller;
pub mod deployment;
pub mod events;
pub mod health;
pub mod helm;
pub mod kubeseal;
pub mod raw_http;
pub mod sealed;

/// How long one test may run before it fails (a hung test must not block the run).
pub const TEST_TIMEOUT: Duration = Duration::from_secs(600);

/// Declares an end-to-end test named `$name`: a `#[tokio::test]` that creates the test's [`TestContext`] (its
/// namespace is named after the test), skips loudly when there is no control plane, and runs the body under
/// [`TEST_TIMEOUT`].
///
/// ```ignore
/// e2e_test!(name, |ctx| async move { ... Ok(()) });
/// // with our controller started first (restricted identity, keys and watch in the test's namespace):
/// e2e_test!(name, controller = ["--flag=value"], |ctx, ctl| async move { ... Ok(()) });
/// ```
///
/// The context and the controller are bound outside the body, so they live until it ends even where the body
/// uses none (`_ctl`) or only some of their fields (an `async move` block captures only what it uses).
macro_rules! e2e_test {
    ($name:ident, controller = [$($arg:expr),* $(,)?], |$ctx:pat_param, $ctl:pat_param| $body:expr) => {
        #[tokio::test]
        async fn $name() -> anyhow::Result<()> {
            $crate::support::run(stringify!($name), |ctx| async move {
                let ctl = $crate::support::controller::Controller::start(&ctx, &[$($arg),*]).await?;
                let $ctx = ctx;
                let $ctl = ctl;
                $body.await
            })
            .await
        }
    };
    ($name:ident, |$ctx:pat_param| $body:expr) => {
        #[tokio::test]
        async fn $name() -> anyhow::Result<()> {
            $crate::support::run(stringify!($name), |ctx| async move {
                let $ctx = ctx;
                $body.await
            })
            .await
        }
    };
}
pub(crate) use e2e_test;

/// The body of [`e2e_test!`]: `body` with a fresh [`TestContext`] for test `name`, under [`TEST_TIMEOUT`].
pub async fn run<F, Fut>(name: &str, body: F) -> anyhow::Result<()>
where
    F: FnOnce(TestContext) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let Some(ctx) = TestContext::new(name).await? else {
        return Ok(());
    };
    tokio::time::timeout(TEST_TIMEOUT, body(ctx))
        .await
        .map_err(|_| anyhow!("{name} did not finish within {TEST_TIMEOUT:?}"))?
}

/// `[(k, v)]` as a map of strings (labels, annotations, a Secret's data as text).
pub fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
