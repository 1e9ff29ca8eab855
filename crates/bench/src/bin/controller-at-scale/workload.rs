//! The workload every controller gets: key Secrets and SealedSecrets, the same for each, in a namespace of its
//! own, with a ServiceAccount (bound to cluster-admin) whose requests the audit log tells apart.

use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use futures::StreamExt as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleRef, Subject};
use kube::api::{ListParams, ObjectMeta, PostParams};
use kube::{Api, Client};
use rand::{Rng as _, RngCore as _};
use sealed_secrets::SealedSecret;
use sealed_secrets::keys::{self, Certificate, PrivateKey};

/// The ServiceAccount each controller runs as, in its own namespace.
pub const SERVICE_ACCOUNT: &str = "bench-controller";

/// The sizes of the workload.
#[derive(Clone, Copy)]
pub struct Size {
    pub keys: usize,
    pub key_bits: usize,
    pub objects: usize,
    pub values: usize,
}

/// One object: the index of its (older) key and its values.
pub type Object = (usize, Vec<(String, Vec<u8>)>);

/// Keys and objects.
pub struct Workload {
    pub keys: Vec<(PrivateKey, Certificate)>,
    pub objects: Vec<Object>,
}

impl Workload {
    /// Generates the keys (in parallel; certificates one day apart, the last one the latest) and the objects:
    /// each sealed with a random older key (never the latest), random values.
    pub async fn generate(size: Size) -> anyhow::Result<Self> {
        let mut tasks = Vec::new();
        for i in 0..size.keys {
            let age = Duration::from_secs(86_400 * (size.keys - i) as u64);
            tasks.push(tokio::task::spawn_blocking(move || {
                let key = PrivateKey::generate(size.key_bits)?;
                let cert = Certificate::self_signed(
                    &key,
                    "",
                    SystemTime::now() - age,
                    Duration::from_secs(10 * 365 * 86_400),
                )?;
                anyhow::Ok((key, cert))
            }));
        }
        let mut keys = Vec::new();
        for task in tasks {
            keys.push(task.await??);
        }
        let mut rng = rand::thread_rng();
        let older = keys.len().saturating_sub(1).max(1);
        let objects = (0..size.objects)
            .map(|_| {
                let values = (0..size.values)
                    .map(|v| {
                        let mut value = [0u8; 24];
                        rng.fill_bytes(&mut value);
                        (format!("value{v}"), value.to_vec())
                    })
                    .collect();
                (rng.gen_range(0..older), values)
            })
            .collect();
        Ok(Self { keys, objects })
    }

    /// The number of values to decrypt.
    pub fn values(&self) -> usize {
        self.objects.iter().map(|(_, v)| v.len()).sum()
    }

    /// One RSA-OAEP decryption with these keys (plus AES-GCM of a small value), on one core, in milliseconds.
    pub fn rsa_decrypt_ms(&self) -> anyhow::Result<f64> {
        let (key, _) = &self.keys[0];
        let ciphertext = sealed_secrets::hybrid::hybrid_encrypt(
            &mut rand::rngs::OsRng,
            key.public_key(),
            b"value",
            b"ns/n",
        )?;
        let rounds = 200;
        let t = Instant::now();
        for _ in 0..rounds {
            sealed_secrets::hybrid::hybrid_decrypt(key, &ciphertext, b"ns/n")?;
        }
        Ok(t.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds))
    }

    /// Namespace `ns` with the ServiceAccount, its binding, the key Secrets and the SealedSecrets.
    pub async fn install(&self, client: &Client, ns: &str) -> anyhow::Result<()> {
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(ns.to_owned()),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .with_context(|| format!("creating namespace {ns} (it must not exist yet)"))?;
        let binding = ClusterRoleBinding {
            metadata: ObjectMeta {
                name: Some(format!("bench-controller-{ns}")),
                ..Default::default()
            },
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: "cluster-admin".into(),
            },
            subjects: Some(vec![Subject {
                kind: "ServiceAccount".into(),
                name: SERVICE_ACCOUNT.into(),
                namespace: Some(ns.to_owned()),
                ..Default::default()
            }]),
        };
        Api::<ClusterRoleBinding>::all(client.clone())
            .create(&PostParams::default(), &binding)
            .await
            .with_context(|| format!("binding {ns}/{SERVICE_ACCOUNT} to cluster-admin"))?;
        let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
        for (key, cert) in &self.keys {
            let secret = keys::to_key_secret(key, cert, ns, "sealed-secrets-key");
            secrets.create(&PostParams::default(), &secret).await?;
        }
        let mut objects = Vec::with_capacity(self.objects.len());
        for (i, (key, values)) in self.objects.iter().enumerate() {
            let secret = Secret {
                metadata: ObjectMeta {
                    name: Some(object_name(i)),
                    namespace: Some(ns.to_owned()),
                    ..Default::default()
                },
                data: Some(
                    values
                        .iter()
                        .map(|(k, v)| (k.clone(), ByteString(v.clone())))
                        .collect(),
                ),
                ..Default::default()
            };
            objects.push(sealed_secrets::seal(
                &mut rand::rngs::OsRng,
                &secret,
                self.keys[*key].0.public_key(),
            )?);
        }
        let api: Api<SealedSecret> = Api::namespaced(client.clone(), ns);
        let results: Vec<_> = futures::stream::iter(objects.into_iter().map(|o| {
            let api = api.clone();
            async move { api.create(&PostParams::default(), &o).await }
        }))
        .buffer_unordered(16)
        .collect()
        .await;
        for r in results {
            r.with_context(|| format!("creating the SealedSecrets in {ns}"))?;
        }
        Ok(())
    }
}

/// The name of object `i`.
fn object_name(i: usize) -> String {
    format!("bench-{i:05}")
}

/// How many SealedSecrets of `ns` are `Synced=True`, and how many of their Secrets exist.
pub async fn check(client: &Client, ns: &str) -> anyhow::Result<(usize, usize)> {
    let sealed: Api<SealedSecret> = Api::namespaced(client.clone(), ns);
    let synced = sealed
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .filter(|ss| {
            ss.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Synced" && c.status == "True"))
        })
        .count();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let unsealed = secrets
        .list_metadata(&ListParams::default())
        .await?
        .items
        .iter()
        .filter(|s| {
            s.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with("bench-"))
        })
        .count();
    Ok((synced, unsealed))
}
