//! What triggers a reconcile, and the loop of one watch scope.
//!
//! - SealedSecrets (full objects, `--label-selector`) feed the cache the reconciler reads; a SealedSecret is
//!   queued when it appears or its generation, annotations or labels change ([`change_hash`]), so status
//!   writes do not re-trigger it.
//! - Secrets are watched metadata-only (no Secret data in memory); a Secret controlled by a SealedSecret, or
//!   marked `managed`, re-queues it when deleted or changed by someone else ([`owner_of`]; changes the
//!   controller made itself are recognised by resourceVersion, also when their watch event arrives before the
//!   write returns, see [`super::index::Writes`]). The same watch keeps the names of existing Secrets
//!   ([`super::index::SecretIndex`]), so a Secret known to be absent is created without a read. The initial list of Secrets
//!   triggers nothing: the initial list of SealedSecrets already queues every object, and each
//!   reconcile reads its Secret anyway; later relists (after a watch error) do trigger.
//! - A deleted SealedSecret drops its `condition_info` series and, with `--old-gc-behavior`, its Secret.
//!
//! [`run_scope`] drives kube's `applier` over these triggers until its shutdown token is cancelled, so the
//! caller can start and stop it with leadership.

use std::hash::{Hash as _, Hasher as _};
use std::sync::{Arc, Mutex};

use futures::{FutureExt as _, Stream, StreamExt as _, TryStreamExt as _, future};
use k8s_openapi::api::core::v1::Secret;
use kube::api::DeleteParams;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::Config as ApplierConfig;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{PredicateConfig, WatchStreamExt as _, applier};
use kube::{Api, ResourceExt as _};
use sealed_secrets::SealedSecret;

use super::error::ReconcileError;
use super::{Context, WatchScope, condition_labels, error_policy, lock, reconcile};
use sealed_secrets::names::{KUBECTL_LAST_APPLIED_ANNOTATION, MANAGED_ANNOTATION};

/// What makes a SealedSecret worth reconciling again: its generation (spec), annotations
/// (scope, key hint) and labels. Status writes change none of these.
fn change_hash(sealed: &SealedSecret) -> Option<u64> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    sealed.metadata.generation.hash(&mut hasher);
    sealed.metadata.annotations.hash(&mut hasher);
    sealed.metadata.labels.hash(&mut hasher);
    Some(hasher.finish())
}

/// The SealedSecret a Secret event should re-reconcile: the Secret's controller if it is a
/// SealedSecret of the same name, or the same-named SealedSecret if the Secret is `managed`.
fn owner_of(meta: &PartialObjectMeta<Secret>) -> Option<ObjectRef<SealedSecret>> {
    let namespace = meta.namespace()?;
    let name = meta.name_any();
    let controlled = meta.owner_references().iter().any(|r| {
        r.controller == Some(true)
            && r.kind == sealed_secrets::names::KIND
            && r.api_version == sealed_secrets::names::API_VERSION
            && r.name == name
    });
    let managed = meta
        .annotations()
        .get(MANAGED_ANNOTATION)
        .is_some_and(|v| v == "true");
    (controlled || managed).then(|| ObjectRef::new(&name).within(&namespace))
}

/// On a SealedSecret deletion: drop its gauge series; with `--old-gc-behavior`, delete the
/// same-named Secret.
fn on_deleted(ctx: &Arc<Context>, sealed: &SealedSecret) {
    ctx.metrics.condition_info.remove(&condition_labels(sealed));
    ctx.forget(
        &sealed.namespace().unwrap_or_default(),
        &sealed.name_any(),
        true,
    );
    if ctx.config.old_gc_behavior {
        let ctx = ctx.clone();
        let namespace = sealed.namespace().unwrap_or_default();
        let name = sealed.name_any();
        tokio::spawn(async move {
            tracing::info!(namespace = %namespace, name = %name, "SealedSecret has gone, deleting Secret");
            let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(error) => tracing::warn!(namespace = %namespace, name = %name, error = %error,
                    "could not delete the Secret of a deleted SealedSecret"),
            }
        });
    }
}

/// Longest wait for in-flight reconciles after shutdown before the loop is abandoned.
/// Objects per page of the initial (and every re-)list of SealedSecrets and Secrets. kube's default of 500 makes
/// the controller hold a whole page as one response body plus its parsed objects at once (about 1.5 MB of
/// JSON for 500 SealedSecrets of 3 RSA-4096 values); memory freed after that start-up peak mostly stays with
/// the process, so the page size sets a good part of its resident size for good. 100 costs a few more LIST
/// requests (10 instead of 2 for 1,000 objects).
const LIST_PAGE_SIZE: u32 = 100;

const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs the reconcile loop of one scope until `shutdown` is cancelled (in-flight reconciles get
/// [`DRAIN_TIMEOUT`] to finish). `ready` is told once the
/// SealedSecret cache has synced.
pub async fn run_scope(
    ctx: Arc<Context>,
    scope: WatchScope,
    concurrency: u16,
    ready: tokio::sync::oneshot::Sender<()>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let (sealed_api, secret_api): (Api<SealedSecret>, Api<PartialObjectMeta<Secret>>) = match &scope
    {
        WatchScope::All => (Api::all(ctx.client.clone()), Api::all(ctx.client.clone())),
        WatchScope::Namespace(ns) => (
            Api::namespaced(ctx.client.clone(), ns),
            Api::namespaced(ctx.client.clone(), ns),
        ),
    };
    tracing::info!(scope = ?scope, "Starting informer");
    let mut config = watcher::Config::default().page_size(LIST_PAGE_SIZE);
    if let Some(selector) = &ctx.config.label_selector {
        config = config.labels(selector);
    }
    let (reader, writer) = reflector::store();
    let deletions = ctx.clone();
    // Readiness comes from the watch stream itself: a second waiter on the store's
    // `wait_until_ready` would not be woken (it keeps one waker, which the applier takes).
    let ready = Mutex::new(Some(ready));
    let synced = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let synced_flag = synced.clone();
    let sealed_triggers = watcher::watcher(sealed_api, config)
        .default_backoff()
        // The controller never reads managedFields nor kubectl's copy of the whole object (client-side
        // `kubectl apply` and Argo CD leave one, as big as the object); not caching them saves memory per object.
        .modify(|sealed| {
            sealed.managed_fields_mut().clear();
            if let Some(annotations) = sealed.metadata.annotations.as_mut() {
                annotations.remove(KUBECTL_LAST_APPLIED_ANNOTATION);
            }
        })
        .reflect(writer)
        .inspect_ok(move |event| match event {
            Event::Delete(sealed) => on_deleted(&deletions, sealed),
            Event::InitDone => {
                synced_flag.store(true, std::sync::atomic::Ordering::Release);
                if let Some(ready) = lock(&ready).take() {
                    let _ = ready.send(());
                }
            }
            _ => {}
        })
        .touched_objects()
        .predicate_filter(change_hash, PredicateConfig::default())
        .map_ok(|sealed| ObjectRef::from_obj(&sealed));
    let secret_triggers = secret_triggers(ctx.clone(), secret_api, scope.clone());
    let index_ctx = ctx.clone();

    let queue = futures::stream::select(sealed_triggers.boxed(), secret_triggers)
        .take_until(shutdown.clone().cancelled_owned());
    let config = ApplierConfig::default().concurrency(concurrency);
    let reconciling = applier(
        |sealed, ctx| {
            tokio::spawn(reconcile(sealed, ctx))
                .map(|joined| joined.unwrap_or(Err(ReconcileError::Task)))
        },
        error_policy,
        ctx,
        reader,
        queue,
        config,
    )
    .for_each(|result| {
        match result {
            // Watch failures (e.g. a missing permission) are retried with backoff; say so loudly.
            Err(kube::runtime::controller::Error::QueueError(error)) => {
                tracing::warn!(error = %error, "watch failed; retrying")
            }
            // Reconcile failures were logged by the reconciler.
            Err(error) => tracing::debug!(error = %error, "reconcile loop"),
            Ok(_) => {}
        }
        future::ready(())
    });
    // The applier ends once the queue has ended and in-flight work is done; it never starts (and so
    // never ends) if shutdown came before the cache synced, hence the bound.
    tokio::select! {
        () = reconciling => {}
        () = async {
            shutdown.cancelled().await;
            if synced.load(std::sync::atomic::Ordering::Acquire) {
                tokio::time::sleep(DRAIN_TIMEOUT).await;
            }
        } => tracing::warn!("reconcile loop did not drain in time; abandoning it"),
    }
    // Nobody keeps the index of this scope up to date any more.
    lock(&index_ctx.index).reset(&scope);
}

type Triggers =
    std::pin::Pin<Box<dyn Stream<Item = Result<ObjectRef<SealedSecret>, watcher::Error>> + Send>>;

/// Keeps the index of existing Secret names up to date with one watch event.
fn index_event(ctx: &Context, scope: &WatchScope, event: &Event<PartialObjectMeta<Secret>>) {
    let mut index = lock(&ctx.index);
    match event {
        Event::Init => index.reset(scope),
        Event::InitApply(meta) | Event::Apply(meta) => {
            index.insert(&meta.namespace().unwrap_or_default(), &meta.name_any())
        }
        Event::Delete(meta) => {
            let namespace = meta.namespace().unwrap_or_default();
            index.remove(&namespace, &meta.name_any());
            drop(index);
            ctx.forget(&namespace, &meta.name_any(), false);
        }
        Event::InitDone => index.synced(scope),
    }
}

/// Re-reconcile triggers from Secrets (metadata only), unless `--skip-recreate`; the same watch
/// keeps the index of existing Secrets.
fn secret_triggers(
    ctx: Arc<Context>,
    api: Api<PartialObjectMeta<Secret>>,
    scope: WatchScope,
) -> Triggers {
    lock(&ctx.index).reset(&scope);
    if ctx.config.skip_recreate {
        return futures::stream::pending().boxed();
    }
    let mut initial_list = true;
    watcher::watcher(api, watcher::Config::default().page_size(LIST_PAGE_SIZE))
        .default_backoff()
        .filter_map(move |event| {
            if let Ok(event) = &event {
                index_event(&ctx, &scope, event);
            }
            let trigger = match event {
                Ok(Event::InitDone) => {
                    initial_list = false;
                    None
                }
                Ok(Event::InitApply(_)) if initial_list => None,
                Ok(Event::Apply(meta) | Event::InitApply(meta))
                    if !ctx.is_known(&meta) && !ctx.hold(&meta) =>
                {
                    owner_of(&meta).map(Ok)
                }
                Ok(Event::Delete(meta)) => owner_of(&meta).map(Ok),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            };
            future::ready(trigger)
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

    use super::*;

    fn meta(owner: Option<(&str, &str)>, managed: Option<&str>) -> PartialObjectMeta<Secret> {
        PartialObjectMeta {
            types: None,
            metadata: ObjectMeta {
                name: Some("s".into()),
                namespace: Some("ns".into()),
                owner_references: owner.map(|(kind, name)| {
                    vec![OwnerReference {
                        api_version: "bitnami.com/v1alpha1".into(),
                        kind: kind.into(),
                        name: name.into(),
                        uid: "u".into(),
                        controller: Some(true),
                        block_owner_deletion: None,
                    }]
                }),
                annotations: managed
                    .map(|v| [(MANAGED_ANNOTATION.to_owned(), v.to_owned())].into()),
                ..Default::default()
            },
            _phantom: std::marker::PhantomData,
        }
    }

    #[test]
    fn secrets_map_to_their_sealed_secret_only_when_owned_or_managed() {
        let expected = Some(ObjectRef::<SealedSecret>::new("s").within("ns"));
        assert_eq!(owner_of(&meta(Some(("SealedSecret", "s")), None)), expected);
        assert_eq!(owner_of(&meta(None, Some("true"))), expected);
        assert_eq!(owner_of(&meta(None, Some("TRUE"))), None);
        assert_eq!(owner_of(&meta(Some(("Deployment", "s")), None)), None);
        assert_eq!(owner_of(&meta(Some(("SealedSecret", "other")), None)), None);
        assert_eq!(owner_of(&meta(None, None)), None);
    }

    #[test]
    fn status_only_changes_do_not_trigger() {
        let mut a = SealedSecret::new("s", Default::default());
        a.metadata.generation = Some(1);
        let mut b = a.clone();
        b.status = Some(Default::default());
        b.metadata.resource_version = Some("2".into());
        assert_eq!(change_hash(&a), change_hash(&b));
        b.metadata.annotations = Some(
            [(
                sealed_secrets::names::CLUSTER_WIDE_ANNOTATION.to_owned(),
                "true".to_owned(),
            )]
            .into(),
        );
        assert_ne!(
            change_hash(&a),
            change_hash(&b),
            "a scope annotation change triggers"
        );
        let mut c = a.clone();
        c.metadata.generation = Some(2);
        assert_ne!(change_hash(&a), change_hash(&c));
    }

    #[tokio::test]
    async fn deleted_objects_are_forgotten() {
        use clap::Parser as _;
        let flags = crate::flags::Flags::try_parse_from(["controller"]).expect("flags");
        let config = crate::config::Config::from_flags(&flags).expect("config");
        let client = kube::Client::try_from(kube::Config::new(
            "http://127.0.0.1:9".parse().expect("url"),
        ))
        .expect("client");
        let registry = Arc::new(crate::keys::KeyRegistry::default());
        let metrics = crate::metrics::Metrics::new();
        let unsealer =
            crate::unsealer::Unsealer::new(registry, metrics.clone(), 1, Default::default());
        let (_tx, leading) = tokio::sync::watch::channel(true);
        let ctx = Arc::new(Context::new(
            client.clone(),
            unsealer,
            metrics,
            crate::events::Events::new(client, None),
            config.reconcile,
            leading,
        ));
        let mut sealed = SealedSecret::new("s", Default::default());
        sealed.metadata.namespace = Some("ns".into());
        let sealed = Arc::new(sealed);
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some("s".into()),
                namespace: Some("ns".into()),
                resource_version: Some("7".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        ctx.remember(&secret);
        let _ = error_policy(
            sealed.clone(),
            &ReconcileError::Update {
                message: "m".into(),
            },
            ctx.clone(),
        );
        assert_eq!(ctx.remembered(), (1, 1));
        // The Secret goes: its resourceVersion is forgotten, the failure count stays.
        index_event(
            &ctx,
            &WatchScope::All,
            &Event::Delete(meta(Some(("SealedSecret", "s")), None)),
        );
        assert_eq!(ctx.remembered(), (0, 1));
        ctx.remember(&secret);
        // The SealedSecret goes: everything about it is forgotten.
        on_deleted(&ctx, &sealed);
        assert_eq!(ctx.remembered(), (0, 0));
    }
}
