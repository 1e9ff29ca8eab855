//! Why a reconcile failed, with the metric label, the event reason and the condition reason of
//! each case.

use sealed_secrets::unseal::UnsealError;

use crate::events::{ERR_UNSEAL_FAILED, ERR_UPDATE_FAILED};

/// A failed reconcile of one SealedSecret. Messages never hold secret values.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Decryption or templating failed.
    #[error("{0}")]
    Unseal(#[source] UnsealError),
    /// Reading, creating or updating the Secret failed (the API server's message).
    #[error("{message}")]
    Update {
        /// The API error text.
        message: String,
    },
    /// The target Secret is immutable and its data differs.
    #[error("{message}")]
    Immutable {
        /// Upstream's message.
        message: String,
    },
    /// The Secret exists and is not ours to write.
    #[error("{message}")]
    Unmanaged {
        /// Upstream's message.
        message: String,
    },
    /// The unsealing task did not complete (it panicked or was cancelled).
    #[error("unsealing task failed")]
    Task,
    /// This replica stopped leading during the reconcile; the write was not made (the new
    /// leader reconciles the object). Never reported on the object.
    #[error("not the leader any more")]
    NotLeader,
}

impl ReconcileError {
    /// The `reason` label of `sealed_secrets_controller_unseal_errors_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            ReconcileError::Unseal(_) | ReconcileError::Task | ReconcileError::NotLeader => {
                "unseal"
            }
            ReconcileError::Update { .. } | ReconcileError::Immutable { .. } => "update",
            ReconcileError::Unmanaged { .. } => "unmanaged",
        }
    }

    /// The event reason (upstream's).
    pub fn event_reason(&self) -> &'static str {
        match self {
            ReconcileError::Unseal(_) | ReconcileError::Task => ERR_UNSEAL_FAILED,
            _ => ERR_UPDATE_FAILED,
        }
    }

    /// The event message: upstream prefixes unseal errors with `Failed to unseal: `.
    pub fn event_message(&self) -> String {
        match self {
            ReconcileError::Unseal(_) | ReconcileError::Task => format!("Failed to unseal: {self}"),
            _ => self.to_string(),
        }
    }

    /// Whether retrying cannot fix it without a change to the SealedSecret, the Secret or the
    /// keys: then the status also carries `Stalled=True` (kstatus reads Failed at once). Every
    /// unseal failure depends only on the object and the keys (no key decrypts, bad base64, a
    /// template that does not parse), except a cancelled one.
    pub fn is_stalled(&self) -> bool {
        match self {
            ReconcileError::Unseal(e) => !matches!(e, UnsealError::Cancelled),
            ReconcileError::Immutable { .. } | ReconcileError::Unmanaged { .. } => true,
            ReconcileError::Update { .. } | ReconcileError::Task | ReconcileError::NotLeader => {
                false
            }
        }
    }

    /// The CamelCase reason of the `Synced` and `Ready` conditions.
    pub fn condition_reason(&self) -> &'static str {
        match self {
            ReconcileError::Unseal(e) if e.is_undecryptable() => "NoMatchingKey",
            ReconcileError::Unseal(_) | ReconcileError::Task | ReconcileError::NotLeader => {
                "UnsealFailed"
            }
            ReconcileError::Update { .. } => "UpdateFailed",
            ReconcileError::Immutable { .. } => "SecretImmutable",
            ReconcileError::Unmanaged { .. } => "SecretNotOwned",
        }
    }
}

impl From<kube::Error> for ReconcileError {
    fn from(error: kube::Error) -> Self {
        let message = match &error {
            kube::Error::Api(status) => api_message(status),
            other => other.to_string(),
        };
        ReconcileError::Update { message }
    }
}

/// The API server's message, except for a rejected object (422 Invalid): its message may quote
/// what it rejected (for a `kubernetes.io/dockerconfigjson` Secret, the JSON parser's complaint
/// about the decrypted value), so only the kind, name, fields and reasons are kept.
pub fn api_message(status: &kube::core::Status) -> String {
    if status.code != 422 && status.reason != "Invalid" {
        return status.message.clone();
    }
    let details = status.details.as_ref();
    let (kind, name) = details.map_or(("object", ""), |d| (d.kind.as_str(), d.name.as_str()));
    let causes: Vec<String> = details
        .map(|d| d.causes.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|c| match (c.field.is_empty(), c.reason.is_empty()) {
            (false, false) => format!("{}: {}", c.field, c.reason),
            (false, true) => c.field.clone(),
            (true, _) => c.reason.clone(),
        })
        .collect();
    format!(
        "the API server rejected {kind} \"{name}\" as invalid ({}); its detail is not shown, as it may quote the unsealed values",
        if causes.is_empty() {
            "no field named".to_owned()
        } else {
            causes.join(", ")
        }
    )
}

#[cfg(test)]
mod tests {
    use kube::core::response::{StatusCause, StatusDetails};

    use super::*;

    #[test]
    fn rejected_objects_are_described_without_the_api_servers_words() {
        let status = kube::core::Status::failure(
            "Secret \"reg\" is invalid: data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": invalid character 'z' looking for beginning of value",
            "Invalid",
        )
        .with_code(422)
        .with_details(StatusDetails {
            name: "reg".into(),
            kind: "secrets".into(),
            causes: vec![StatusCause {
                reason: "FieldValueInvalid".into(),
                message: "Invalid value: \"<secret contents redacted>\": invalid character 'z'".into(),
                field: "data[.dockerconfigjson]".into(),
            }],
            group: String::new(),
            uid: String::new(),
            retry_after_seconds: 0,
        });
        let message = api_message(&status);
        assert_eq!(
            message,
            "the API server rejected secrets \"reg\" as invalid (data[.dockerconfigjson]: FieldValueInvalid); its detail is not shown, as it may quote the unsealed values"
        );
        let forbidden =
            kube::core::Status::failure("secrets \"x\" is forbidden", "Forbidden").with_code(403);
        assert_eq!(api_message(&forbidden), "secrets \"x\" is forbidden");
    }

    #[test]
    fn labels_come_from_a_fixed_set() {
        let unmanaged = ReconcileError::Unmanaged {
            message: "m".into(),
        };
        assert_eq!(
            (unmanaged.reason(), unmanaged.event_reason()),
            ("unmanaged", "ErrUpdateFailed")
        );
        let task = ReconcileError::Task;
        assert_eq!(
            task.event_message(),
            "Failed to unseal: unsealing task failed"
        );
        assert_eq!(
            ReconcileError::Immutable {
                message: "m".into()
            }
            .condition_reason(),
            "SecretImmutable"
        );
    }

    #[test]
    fn only_failures_that_stay_are_stalled() {
        let update = ReconcileError::Update {
            message: "m".into(),
        };
        let immutable = ReconcileError::Immutable {
            message: "m".into(),
        };
        let unmanaged = ReconcileError::Unmanaged {
            message: "m".into(),
        };
        assert_eq!(
            (
                update.is_stalled(),
                ReconcileError::Task.is_stalled(),
                immutable.is_stalled(),
                unmanaged.is_stalled()
            ),
            (false, false, true, true)
        );
    }
}
