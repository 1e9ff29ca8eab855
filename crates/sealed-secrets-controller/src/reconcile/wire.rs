//! Reading and writing Secrets with HTTP bodies the controller wipes itself.
//!
//! kube's typed calls keep the response text of a Secret (its data, base64) in buffers that are
//! freed without being overwritten, and log the whole text at warn level when it does not parse.
//! These calls build the same requests, send the request body from a buffer that is zeroized when
//! the HTTP client lets go of it, read the response into a buffer zeroized once parsed, and log
//! nothing of either. (Copies inside the HTTP and TLS stacks' own buffers remain out of reach.)

use bytes::Bytes;
use http_body_util::BodyExt as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{GetParams, PostParams};
use kube::client::Body;
use kube::core::Request;
use kube::{Client, Resource as _};
use zeroize::{Zeroize as _, Zeroizing};

/// A request body wiped when the last copy of it is dropped.
struct Wiped(Zeroizing<Vec<u8>>);

impl AsRef<[u8]> for Wiped {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// `GET` Secret `namespace/name`; `None` if it does not exist.
pub async fn get(client: &Client, namespace: &str, name: &str) -> kube::Result<Option<Secret>> {
    let request = Request::new(Secret::url_path(&(), Some(namespace)))
        .get(name, &GetParams::default())
        .map_err(kube::Error::BuildRequest)?;
    match send(client, request.map(|_| Body::empty())).await {
        Ok(secret) => Ok(Some(secret)),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// `POST` (create) `secret` in `namespace`; the Secret as stored.
pub async fn create(client: &Client, namespace: &str, secret: &Secret) -> kube::Result<Secret> {
    let body = encode(secret)?;
    let request = Request::new(Secret::url_path(&(), Some(namespace)))
        .create(&PostParams::default(), Vec::new())
        .map_err(kube::Error::BuildRequest)?;
    send(client, request.map(|_| body)).await
}

/// `PUT` (replace) Secret `namespace/name` with `secret`; the Secret as stored.
pub async fn replace(
    client: &Client,
    namespace: &str,
    name: &str,
    secret: &Secret,
) -> kube::Result<Secret> {
    let body = encode(secret)?;
    let request = Request::new(Secret::url_path(&(), Some(namespace)))
        .replace(name, &PostParams::default(), Vec::new())
        .map_err(kube::Error::BuildRequest)?;
    send(client, request.map(|_| body)).await
}

/// The JSON of `secret` in a buffer sized once (a growing buffer would leave copies behind) and
/// wiped when the client drops the body.
fn encode(secret: &Secret) -> kube::Result<Body> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, secret).map_err(kube::Error::SerdeError)?;
    let mut json = Zeroizing::new(Vec::with_capacity(count.0));
    serde_json::to_writer(&mut *json, secret).map_err(kube::Error::SerdeError)?;
    Ok(Body::from(Bytes::from_owner(Wiped(json))))
}

/// Sends `request`; a Secret from a 2xx answer, else the API server's `Status` as
/// [`kube::Error::Api`]. The response body is wiped once parsed.
async fn send(client: &Client, request: http::Request<Body>) -> kube::Result<Secret> {
    let response = client.send(request).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    let parsed = if status.is_success() {
        serde_json::from_slice::<Secret>(&bytes).map_err(kube::Error::SerdeError)
    } else {
        let api = serde_json::from_slice::<kube::core::Status>(&bytes).unwrap_or_else(|_| {
            kube::core::Status::failure(status.canonical_reason().unwrap_or(""), "")
        });
        Err(kube::Error::Api(Box::new(api.with_code(status.as_u16()))))
    };
    // The only reference left is ours (the body was collected): overwrite it in place.
    if let Ok(mut owned) = bytes.try_into_mut() {
        owned[..].zeroize();
    }
    parsed
}
