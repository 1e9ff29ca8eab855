//! Polling helpers with timeouts and failure messages that say what was awaited and what was last seen.
//!
//! [`wait_for`] is the one polling loop; [`Awaited`] waits for a namespaced object (a Secret, a SealedSecret) to
//! satisfy a check, to be gone, or to stay absent.

use std::future::Future;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use kube::{Api, Client};

/// Default timeout for waits in tests (Bitnami's integration tests use 15 s; the 2-core CI machine is slower).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Polling interval of [`wait_for`].
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Polls `check` every [`POLL_INTERVAL`] until it returns `Ok(Some(value))`, or fails after `timeout`.
///
/// `Ok(None)` means "not yet"; `Err(e)` also means "not yet", and the last such error is part of the timeout
/// message, so a check can explain what it saw: `Err(anyhow!("status is {status:?}"))`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let start = Instant::now();
    let mut last: Option<anyhow::Error> = None;
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = Some(e),
        }
        if start.elapsed() >= timeout {
            return Err(match last {
                Some(e) => anyhow!(
                    "timed out after {timeout:?} waiting for {what}; last observation: {e:#}"
                ),
                None => anyhow!("timed out after {timeout:?} waiting for {what}"),
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// A namespaced object a test waits for (see [`crate::TestContext::secret`]): by default in the test's
/// namespace with [`DEFAULT_TIMEOUT`].
///
/// ```no_run
/// # async fn t(ctx: sealed_secrets_test_support::TestContext) -> anyhow::Result<()> {
/// let secret = ctx.secret("db").wait("unsealed", |s| Ok(s.data.is_some())).await?;
/// ctx.secret("other").stays_absent(std::time::Duration::from_secs(1)).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Awaited<'a, K> {
    client: &'a Client,
    namespace: &'a str,
    name: &'a str,
    timeout: Duration,
    kind: PhantomData<K>,
}

impl<'a, K> Awaited<'a, K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
    <K as kube::Resource>::DynamicType: Default,
{
    /// Object `namespace/name`, awaited for at most [`DEFAULT_TIMEOUT`].
    pub fn new(client: &'a Client, namespace: &'a str, name: &'a str) -> Self {
        Self {
            client,
            namespace,
            name,
            timeout: DEFAULT_TIMEOUT,
            kind: PhantomData,
        }
    }

    /// The object of that name in `namespace` instead.
    pub fn in_namespace(self, namespace: &'a str) -> Self {
        Self { namespace, ..self }
    }

    /// Waits at most `timeout` instead.
    pub fn timeout(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }

    fn describe(&self) -> String {
        let kind = K::kind(&Default::default()).into_owned();
        format!("{kind} {}/{}", self.namespace, self.name)
    }

    /// Waits until the object exists and `check` accepts it (`Ok(true)`); returns it.
    ///
    /// `what` describes the awaited state for the timeout message. `Ok(false)` means "not yet"; so does
    /// `Err(why)`, and the last `why` is reported on timeout (e.g. the difference from the expected object).
    pub async fn wait<F>(&self, what: &str, check: F) -> anyhow::Result<K>
    where
        F: Fn(&K) -> anyhow::Result<bool>,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), self.namespace);
        let awaited = format!("{}: {what}", self.describe());
        wait_for(&awaited, self.timeout, || async {
            match api.get_opt(self.name).await? {
                None => Err(anyhow!("not found")),
                Some(object) => Ok(check(&object)?.then_some(object)),
            }
        })
        .await
    }

    /// Waits until the object no longer exists.
    pub async fn wait_gone(&self) -> anyhow::Result<()> {
        let api: Api<K> = Api::namespaced(self.client.clone(), self.namespace);
        let awaited = format!("{} to be deleted", self.describe());
        wait_for(&awaited, self.timeout, || async {
            match api.get_opt(self.name).await? {
                None => Ok(Some(())),
                Some(object) => Err(anyhow!(
                    "still present (deletionTimestamp {:?})",
                    object.meta().deletion_timestamp
                )),
            }
        })
        .await
    }

    /// Fails if the object appears within `duration` (checked every 200 ms).
    pub async fn stays_absent(&self, duration: Duration) -> anyhow::Result<()> {
        let api: Api<K> = Api::namespaced(self.client.clone(), self.namespace);
        let until = Instant::now() + duration;
        while Instant::now() < until {
            if api.get_opt(self.name).await?.is_some() {
                bail!("{} exists but must not", self.describe());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }
}
