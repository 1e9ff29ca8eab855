//! The status of a SealedSecret: what GitOps tools read.
//!
//! Two conditions, each with `status`, `reason`, `message`, `lastTransitionTime` and
//! `lastUpdateTime`, plus `status.observedGeneration`:
//! - `Synced`, always first (upstream's printer columns read `conditions[0]`; Argo CD's health
//!   check maps `Synced=True` to Healthy and `Synced=False` to Degraded);
//! - `Ready`, the condition kstatus (Flux) reads together with `observedGeneration`;
//! - and a third, `Stalled=True` (reason and message as in `Synced`), only while the failure is
//!   one that retrying will not fix (no key decrypts, the Secret is not ours, an immutable
//!   conflict): kstatus reads it as Failed at once, where `Ready=False` alone reads as still in
//!   progress until the GitOps agent's timeout. It is removed on success and on other failures.
//!
//! A new status is computed from the old one and the outcome of a reconcile; it needs writing
//! only if a condition's status, reason or message changed, or the generation moved on. Then
//! `lastUpdateTime` is now, and `lastTransitionTime` is now only for a condition whose status
//! changed. Conditions of other types are kept after ours.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use sealed_secrets::{SealedSecretStatus, types::SealedSecretCondition};

/// Condition read by Argo CD and upstream's printer columns.
pub const SYNCED: &str = "Synced";
/// Condition read by kstatus (Flux).
pub const READY: &str = "Ready";
/// Condition present only while the failure will not fix itself (kstatus: Failed).
pub const STALLED: &str = "Stalled";
/// Reason of both conditions on success.
pub const REASON_UNSEALED: &str = "Unsealed";

/// The outcome of one reconcile, as the conditions report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The Secret matches the SealedSecret.
    Synced,
    /// It does not; `reason` is CamelCase, `message` the error text.
    Failed {
        /// CamelCase reason, e.g. `NoMatchingKey`.
        reason: &'static str,
        /// Human-readable error, never secret values.
        message: String,
        /// Retrying will not fix it (adds `Stalled=True`).
        stalled: bool,
    },
}

impl Outcome {
    fn status(&self) -> &'static str {
        match self {
            Outcome::Synced => "True",
            Outcome::Failed { .. } => "False",
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            Outcome::Synced => REASON_UNSEALED,
            Outcome::Failed { reason, .. } => reason,
        }
    }

    fn message(&self) -> Option<String> {
        match self {
            Outcome::Synced => None,
            Outcome::Failed { message, .. } => Some(message.clone()),
        }
    }

    fn stalled(&self) -> bool {
        matches!(self, Outcome::Failed { stalled: true, .. })
    }
}

/// The status to write, or `None` when the current one already says the same.
pub fn next_status(
    current: Option<&SealedSecretStatus>,
    generation: Option<i64>,
    outcome: &Outcome,
    now: Time,
) -> Option<SealedSecretStatus> {
    let old_conditions: &[SealedSecretCondition] = current
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let find = |type_: &str| old_conditions.iter().find(|c| c.type_ == type_);
    let unchanged = |c: Option<&SealedSecretCondition>| {
        c.is_some_and(|c| {
            c.status == outcome.status()
                && c.reason.as_deref() == Some(outcome.reason())
                && c.message.as_deref().filter(|m| !m.is_empty()) == outcome.message().as_deref()
        })
    };
    let synced_first = old_conditions.first().is_some_and(|c| c.type_ == SYNCED);
    let stalled_as_it_should = if outcome.stalled() {
        find(STALLED).is_some_and(|c| {
            c.status == "True"
                && c.reason.as_deref() == Some(outcome.reason())
                && c.message.as_deref() == outcome.message().as_deref()
        })
    } else {
        find(STALLED).is_none()
    };
    if unchanged(find(SYNCED))
        && unchanged(find(READY))
        && stalled_as_it_should
        && synced_first
        && current.and_then(|s| s.observed_generation) == generation
    {
        return None;
    }
    let condition = |type_: &str| {
        let old = find(type_);
        let transitioned = old.is_none_or(|c| c.status != outcome.status());
        SealedSecretCondition {
            type_: type_.to_owned(),
            status: outcome.status().to_owned(),
            last_update_time: Some(now.clone()),
            last_transition_time: if transitioned {
                Some(now.clone())
            } else {
                old.and_then(|c| c.last_transition_time.clone())
                    .or_else(|| Some(now.clone()))
            },
            reason: Some(outcome.reason().to_owned()),
            message: outcome.message(),
        }
    };
    let mut conditions = vec![condition(SYNCED), condition(READY)];
    if outcome.stalled() {
        let old = find(STALLED).filter(|c| c.status == "True");
        conditions.push(SealedSecretCondition {
            type_: STALLED.to_owned(),
            status: "True".to_owned(),
            last_update_time: Some(now.clone()),
            last_transition_time: old
                .and_then(|c| c.last_transition_time.clone())
                .or_else(|| Some(now.clone())),
            reason: Some(outcome.reason().to_owned()),
            message: outcome.message(),
        });
    }
    conditions.extend(
        old_conditions
            .iter()
            .filter(|c| c.type_ != SYNCED && c.type_ != READY && c.type_ != STALLED)
            .cloned(),
    );
    Some(SealedSecretStatus {
        observed_generation: generation,
        conditions: Some(conditions),
    })
}

/// The gauge value of `condition_info` for a condition status.
pub fn condition_value(status: &str) -> i64 {
    match status {
        "True" => 1,
        "False" => -1,
        _ => 0,
    }
}

/// Now, at the second precision the API server stores.
pub fn now() -> Time {
    Time(
        jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
            .unwrap_or_else(|_| jiff::Timestamp::now()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Time {
        Time(jiff::Timestamp::from_second(second).expect("valid"))
    }

    fn failed(message: &str) -> Outcome {
        Outcome::Failed {
            reason: "NoMatchingKey",
            message: message.to_owned(),
            stalled: false,
        }
    }

    fn stalled(reason: &'static str, message: &str) -> Outcome {
        Outcome::Failed {
            reason,
            message: message.to_owned(),
            stalled: true,
        }
    }

    fn types(s: &SealedSecretStatus) -> Vec<&str> {
        s.conditions
            .iter()
            .flatten()
            .map(|c| c.type_.as_str())
            .collect()
    }

    #[test]
    fn stalled_is_added_for_failures_that_stay_and_cleared_on_success() {
        let ok = next_status(None, Some(1), &Outcome::Synced, at(100)).expect("write");
        assert_eq!(types(&ok), vec![SYNCED, READY]);
        let bad = next_status(
            Some(&ok),
            Some(1),
            &stalled("NoMatchingKey", "no key could decrypt"),
            at(200),
        )
        .expect("write");
        assert_eq!(types(&bad), vec![SYNCED, READY, STALLED]);
        let st = &bad.conditions.as_ref().expect("c")[2];
        assert_eq!(
            (
                st.status.as_str(),
                st.reason.as_deref(),
                st.message.as_deref()
            ),
            ("True", Some("NoMatchingKey"), Some("no key could decrypt"))
        );
        assert_eq!(st.last_transition_time, Some(at(200)));
        // Synced and Ready are as before: False with the same reason and message.
        for c in &bad.conditions.as_ref().expect("c")[..2] {
            assert_eq!(
                (c.status.as_str(), c.reason.as_deref()),
                ("False", Some("NoMatchingKey"))
            );
        }
        // The same failure again: nothing to write.
        let again = stalled("NoMatchingKey", "no key could decrypt");
        assert_eq!(next_status(Some(&bad), Some(1), &again, at(300)), None);
        // Another stalling failure: the message moves, the transition time stays.
        let other = next_status(
            Some(&bad),
            Some(1),
            &stalled("SecretNotOwned", "not ours"),
            at(300),
        )
        .expect("write");
        let st = &other.conditions.as_ref().expect("c")[2];
        assert_eq!(st.reason.as_deref(), Some("SecretNotOwned"));
        assert_eq!(st.last_transition_time, Some(at(200)));
        // A failure that may fix itself removes Stalled.
        let transient = Outcome::Failed {
            reason: "UpdateFailed",
            message: "conflict".into(),
            stalled: false,
        };
        let t = next_status(Some(&other), Some(1), &transient, at(400)).expect("write");
        assert_eq!(types(&t), vec![SYNCED, READY]);
        // Success removes it too.
        let healed = next_status(Some(&bad), Some(1), &Outcome::Synced, at(500)).expect("write");
        assert_eq!(types(&healed), vec![SYNCED, READY]);
        assert_eq!(
            next_status(Some(&healed), Some(1), &Outcome::Synced, at(600)),
            None
        );
    }

    fn synced_of(s: &SealedSecretStatus) -> &SealedSecretCondition {
        &s.conditions.as_ref().expect("conditions")[0]
    }

    #[test]
    fn empty_status_and_success_needs_a_write_with_equal_times() {
        let s = next_status(None, Some(1), &Outcome::Synced, at(100)).expect("write");
        let conditions = s.conditions.as_ref().expect("conditions");
        assert_eq!(
            conditions
                .iter()
                .map(|c| c.type_.as_str())
                .collect::<Vec<_>>(),
            vec![SYNCED, READY]
        );
        assert!(
            conditions
                .iter()
                .all(|c| c.status == "True" && c.reason.as_deref() == Some("Unsealed"))
        );
        assert_eq!(
            synced_of(&s).last_transition_time,
            synced_of(&s).last_update_time
        );
        assert_eq!(synced_of(&s).message, None);
        assert_eq!(s.observed_generation, Some(1));
    }

    #[test]
    fn transitions_table() {
        let ok = next_status(None, Some(1), &Outcome::Synced, at(100)).expect("write");
        let bad = next_status(
            Some(&ok),
            Some(1),
            &failed("no key could decrypt secret (foo)"),
            at(200),
        )
        .expect("True + error needs a write");
        assert_eq!(synced_of(&bad).status, "False");
        assert_eq!(synced_of(&bad).last_transition_time, Some(at(200)));
        // The same failure again: nothing to write (no status churn on retries).
        assert_eq!(
            next_status(
                Some(&bad),
                Some(1),
                &failed("no key could decrypt secret (foo)"),
                at(300)
            ),
            None
        );
        // A different message is written, without a transition.
        let other = next_status(Some(&bad), Some(1), &failed("other"), at(300)).expect("write");
        assert_eq!(synced_of(&other).last_transition_time, Some(at(200)));
        assert_eq!(synced_of(&other).last_update_time, Some(at(300)));
        // False + success: written, with non-zero transition and update times.
        let fixed = next_status(Some(&other), Some(1), &Outcome::Synced, at(400)).expect("write");
        assert_eq!(synced_of(&fixed).last_transition_time, Some(at(400)));
        assert_eq!(synced_of(&fixed).message, None);
        // Success again: nothing to write.
        assert_eq!(
            next_status(Some(&fixed), Some(1), &Outcome::Synced, at(500)),
            None
        );
        // A new generation is written; the transition time stays, the update time moves.
        let gen2 = next_status(Some(&fixed), Some(2), &Outcome::Synced, at(600)).expect("write");
        assert_eq!(gen2.observed_generation, Some(2));
        assert_eq!(synced_of(&gen2).last_transition_time, Some(at(400)));
        assert_eq!(synced_of(&gen2).last_update_time, Some(at(600)));
    }

    #[test]
    fn upstream_status_without_reason_or_ready_is_upgraded_and_synced_moved_first() {
        let upstream = SealedSecretStatus {
            observed_generation: Some(1),
            conditions: Some(vec![
                SealedSecretCondition {
                    type_: "Other".into(),
                    status: "True".into(),
                    ..Default::default()
                },
                SealedSecretCondition {
                    type_: SYNCED.into(),
                    status: "True".into(),
                    last_transition_time: Some(at(50)),
                    ..Default::default()
                },
            ]),
        };
        let s = next_status(Some(&upstream), Some(1), &Outcome::Synced, at(100)).expect("write");
        let types: Vec<_> = s
            .conditions
            .as_ref()
            .expect("c")
            .iter()
            .map(|c| c.type_.clone())
            .collect();
        assert_eq!(types, vec![SYNCED, READY, "Other"]);
        assert_eq!(
            synced_of(&s).last_transition_time,
            Some(at(50)),
            "status did not change"
        );
    }

    #[test]
    fn gauge_values() {
        assert_eq!(
            (
                condition_value("True"),
                condition_value("False"),
                condition_value("Unknown")
            ),
            (1, -1, 0)
        );
    }
}
