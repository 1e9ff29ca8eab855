//! Why a reconcile failed, with the metric label, the event reason and the condition reason of
//! each case.

use sealed_secrets::unseal::UnsealError;

use super::events::{ERR_UNSEAL_FAILED, ERR_UPDATE_FAILED};

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
            kube::Error::Api(status) => status.message.clone(),
            other => other.to_string(),
        };
        ReconcileError::Update { message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
