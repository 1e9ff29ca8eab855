//! Prometheus metrics on `--listen-metrics-addr` (docs/upstream-behavior.md, "The controller").
//!
//! Upstream's names, types and labels are kept so existing dashboards and alerts work:
//! `sealed_secrets_controller_{build_info, unseal_requests_total, unseal_errors_total,
//! condition_info, http_requests_total, http_request_duration_seconds}`. Added:
//! `unseal_duration_seconds` (latency of the RSA/AES work of one SealedSecret),
//! `rsa_decrypt_operations_total` (RSA-OAEP decryptions attempted), `unseal_skipped_total`
//! (reconciles that found the Secret up to date by its integrity annotation and did no RSA work),
//! `key_secret_errors_total` (malformed key Secrets skipped), `keys` (sealing keys loaded) and
//! `leader` (1 while this replica holds the leader Lease).

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Prometheus' default histogram buckets, as upstream's HTTP duration histogram uses.
const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Labels of `unseal_errors_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// One of `fetch`, `unseal`, `update`, `unmanaged`, `status`.
    pub reason: &'static str,
    /// Namespace of the SealedSecret.
    pub namespace: String,
}

/// Labels of `condition_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabels {
    /// Namespace of the SealedSecret.
    pub namespace: String,
    /// Name of the SealedSecret.
    pub name: String,
    /// Condition type (`Synced`).
    pub condition: String,
    /// The SealedSecret's `app.kubernetes.io/instance` label, or empty.
    pub ss_app_kubernetes_io_instance: String,
}

/// Labels of `http_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// Request path.
    pub path: &'static str,
    /// Status code, e.g. `200`.
    pub code: String,
    /// Lower-case method, or `unknown`.
    pub method: &'static str,
}

/// Labels of `http_request_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpDurationLabels {
    /// Request path.
    pub path: &'static str,
    /// Lower-case method, or `unknown`.
    pub method: &'static str,
}

/// Labels of `key_secret_errors_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KeyErrorLabels {
    /// Why the key Secret was skipped (`missing-field`, `invalid-key`, `invalid-cert`).
    pub reason: &'static str,
}

/// Labels of `build_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    revision: &'static str,
}

/// Every metric of the controller, cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// `unseal_requests_total`.
    pub unseal_requests: Counter,
    /// `unseal_errors_total{reason, namespace}`.
    pub unseal_errors: Family<ErrorLabels, Counter>,
    /// `condition_info{namespace, name, condition, ss_app_kubernetes_io_instance}`.
    pub condition_info: Family<ConditionLabels, Gauge>,
    /// `http_requests_total{path, code, method}`.
    pub http_requests: Family<HttpLabels, Counter>,
    /// `http_request_duration_seconds{path, method}`.
    pub http_duration: Family<HttpDurationLabels, Histogram>,
    /// `unseal_duration_seconds`.
    pub unseal_duration: Histogram,
    /// `rsa_decrypt_operations_total`.
    pub rsa_decrypt_operations: Counter,
    /// `unseal_skipped_total`.
    pub unseal_skipped: Counter,
    /// `leader`.
    pub leader: Gauge,
    /// `key_secret_errors_total{reason}`.
    pub key_secret_errors: Family<KeyErrorLabels, Counter>,
    /// `keys`.
    pub keys: Gauge,
}

fn http_histogram() -> Histogram {
    Histogram::new(DEFAULT_BUCKETS)
}

impl Metrics {
    /// Registers every metric under the `sealed_secrets_controller` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("sealed_secrets_controller");
        let build_info = Family::<BuildLabels, Gauge>::default();
        build_info
            .get_or_create(&BuildLabels {
                revision: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("build_info", "Build information", build_info);
        let metrics = Metrics {
            registry: Arc::new(Registry::default()),
            unseal_requests: Counter::default(),
            unseal_errors: Family::default(),
            condition_info: Family::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(http_histogram),
            unseal_duration: Histogram::new(exponential_buckets(0.001, 2.0, 14)),
            rsa_decrypt_operations: Counter::default(),
            unseal_skipped: Counter::default(),
            leader: Gauge::default(),
            key_secret_errors: Family::default(),
            keys: Gauge::default(),
        };
        registry.register(
            "unseal_requests",
            "The total number of sealed secret unseal requests",
            metrics.unseal_requests.clone(),
        );
        registry.register(
            "unseal_errors",
            "The total number of sealed secret unseal errors by reason",
            metrics.unseal_errors.clone(),
        );
        registry.register(
            "condition_info",
            "Current SealedSecret condition status. Values are -1 (false), 0 (unknown or absent), 1 (true)",
            metrics.condition_info.clone(),
        );
        registry.register(
            "http_requests",
            "Total number of HTTP requests by path, code and method",
            metrics.http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by path and method",
            metrics.http_duration.clone(),
        );
        registry.register(
            "unseal_duration_seconds",
            "Time spent decrypting one SealedSecret (RSA and AES work, templates)",
            metrics.unseal_duration.clone(),
        );
        registry.register(
            "rsa_decrypt_operations",
            "RSA-OAEP decryptions attempted, successful or not",
            metrics.rsa_decrypt_operations.clone(),
        );
        registry.register(
            "unseal_skipped",
            "Reconciles that found the Secret up to date by its digest and MAC and did no decryption",
            metrics.unseal_skipped.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica is the leader (reconciles and renews keys), else 0",
            metrics.leader.clone(),
        );
        registry.register(
            "key_secret_errors",
            "Key Secrets skipped because they could not be read, by reason",
            metrics.key_secret_errors.clone(),
        );
        registry.register(
            "keys",
            "Sealing keys currently loaded",
            metrics.keys.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            ..metrics
        }
    }

    /// Counts an error of a SealedSecret in `namespace`.
    pub fn unseal_error(&self, reason: &'static str, namespace: &str) {
        self.unseal_errors
            .get_or_create(&ErrorLabels {
                reason,
                namespace: namespace.to_owned(),
            })
            .inc();
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_names_and_labels() {
        let m = Metrics::new();
        m.unseal_requests.inc();
        m.unseal_error("unseal", "ns1");
        m.condition_info
            .get_or_create(&ConditionLabels {
                namespace: "ns1".into(),
                name: "s".into(),
                condition: "Synced".into(),
                ss_app_kubernetes_io_instance: String::new(),
            })
            .set(1);
        m.http_requests
            .get_or_create(&HttpLabels {
                path: "/v1/verify",
                code: "200".into(),
                method: "post",
            })
            .inc();
        m.http_duration
            .get_or_create(&HttpDurationLabels {
                path: "/v1/verify",
                method: "post",
            })
            .observe(0.01);
        let text = m.encode();
        for expected in [
            "sealed_secrets_controller_build_info{revision=",
            "sealed_secrets_controller_unseal_requests_total 1",
            "sealed_secrets_controller_unseal_errors_total{reason=\"unseal\",namespace=\"ns1\"} 1",
            "sealed_secrets_controller_condition_info{namespace=\"ns1\",name=\"s\",condition=\"Synced\",ss_app_kubernetes_io_instance=\"\"} 1",
            "sealed_secrets_controller_http_requests_total{path=\"/v1/verify\",code=\"200\",method=\"post\"} 1",
            "sealed_secrets_controller_http_request_duration_seconds_bucket{le=\"0.005\",path=\"/v1/verify\",method=\"post\"} 0",
            "# TYPE sealed_secrets_controller_unseal_duration_seconds histogram",
            "# TYPE sealed_secrets_controller_rsa_decrypt_operations counter",
            "# TYPE sealed_secrets_controller_unseal_skipped counter",
            "sealed_secrets_controller_leader 0",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }
}
