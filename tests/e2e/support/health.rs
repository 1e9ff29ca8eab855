//! A SealedSecret's status as GitOps tools read it: Argo CD's built-in health check and kstatus (what Flux's
//! health checks compute), both written out from their rules (docs/controller.md, "Status").

use sealed_secrets::SealedSecret;
use sealed_secrets::types::SealedSecretCondition;

/// The first condition of type `type_`.
pub fn condition<'a>(ss: &'a SealedSecret, type_: &str) -> Option<&'a SealedSecretCondition> {
    conditions(ss).find(|c| c.type_ == type_)
}

/// The `Synced` condition's status, or "" without one.
pub fn synced(ss: &SealedSecret) -> &str {
    condition(ss, "Synced").map_or("", |c| c.status.as_str())
}

/// A check for waiting on a SealedSecret: its `Synced` condition has status `status`.
pub fn synced_is(status: &'static str) -> impl Fn(&SealedSecret) -> anyhow::Result<bool> {
    move |ss| Ok(synced(ss) == status)
}

/// Argo CD's built-in SealedSecret health: the first `Synced` condition that is `False` (Degraded) or `True`
/// (Healthy) decides; without one the object is Progressing.
pub fn argo_health(ss: &SealedSecret) -> &'static str {
    for c in conditions(ss).filter(|c| c.type_ == "Synced") {
        match c.status.as_str() {
            "False" => return "Degraded",
            "True" => return "Healthy",
            _ => {}
        }
    }
    "Progressing"
}

/// kstatus' status of a SealedSecret (a custom resource: none of kstatus' kind-specific rules applies):
///
/// 1. a deletion timestamp: Terminating;
/// 2. `metadata.generation` and `status.observedGeneration` both set and different: InProgress;
/// 3. the first condition that is `Reconciling=True` (InProgress) or `Stalled=True` (Failed) decides;
/// 4. the first `Ready` condition whose status is `True` (Current), `False` or `Unknown` (both InProgress)
///    decides;
/// 5. otherwise Current: the absence of the conditions kstatus knows means the resource is current. So
///    Bitnami's status, which has only `Synced`, is Current once observed.
pub fn kstatus(ss: &SealedSecret) -> &'static str {
    if ss.metadata.deletion_timestamp.is_some() {
        return "Terminating";
    }
    let observed = ss.status.as_ref().and_then(|s| s.observed_generation);
    if let (Some(generation), Some(observed)) = (ss.metadata.generation, observed)
        && generation != observed
    {
        return "InProgress";
    }
    for c in conditions(ss).filter(|c| c.status == "True") {
        match c.type_.as_str() {
            "Reconciling" => return "InProgress",
            "Stalled" => return "Failed",
            _ => {}
        }
    }
    for c in conditions(ss).filter(|c| c.type_ == "Ready") {
        match c.status.as_str() {
            "True" => return "Current",
            "False" | "Unknown" => return "InProgress",
            _ => {}
        }
    }
    "Current"
}

fn conditions(ss: &SealedSecret) -> impl Iterator<Item = &SealedSecretCondition> {
    ss.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
}
