//! The service-proxy path kubeseal uses: `/api/v1/namespaces/NS/services/http:NAME:PORT/proxy/...` reaches a
//! backend on the run's veth host address (how controllers run in tests) and one inside the run's network
//! namespace, via a selector-less Service with Endpoints and an EndpointSlice.

use std::path::Path;
use std::time::Duration;

use sealed_secrets_test_support::http_backend::HttpBackend;
use sealed_secrets_test_support::process::run_to_completion;
use sealed_secrets_test_support::unique::unique_name;
use sealed_secrets_test_support::{ClusterInfo, ManagedProcess, ProcessSpec, proxy, wait};

use crate::support::e2e_test;

/// A one-file HTTP server: binds IP:0, writes the port to PORTFILE, answers every GET with BODY.
const NETNS_SERVER: &str = r#"
import http.server, os, sys
ip, portfile, body = sys.argv[1], sys.argv[2], sys.argv[3].encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = http.server.HTTPServer((ip, 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(portfile + ".tmp", portfile)
s.serve_forever()
"#;

/// `curl` through the API server's service proxy with the admin token (header read from a file, not argv).
async fn curl_proxy(cluster: &ClusterInfo, path: &str) -> anyhow::Result<String> {
    let header = cluster.dir.join(format!("{}.hdr", unique_name("curl")));
    std::fs::write(
        &header,
        format!("Authorization: Bearer {}\n", cluster.admin_token()?),
    )?;
    let url = format!("{}{path}", cluster.server);
    let ca = cluster.ca_file.to_string_lossy().into_owned();
    let hdr = format!("@{}", header.display());
    let out = run_to_completion(
        Path::new("curl"),
        &[
            "-fsS",
            "--max-time",
            "10",
            "--cacert",
            &ca,
            "-H",
            &hdr,
            &url,
        ],
        None,
    )
    .await;
    let _ = std::fs::remove_file(&header);
    out
}

e2e_test!(
    the_service_proxy_reaches_a_backend_on_the_veth_host_address,
    |ctx| async move {
        let marker = unique_name("hello-from-host-backend");
        let backend = HttpBackend::start(proxy::free_backend_addr(ctx.cluster)?, &marker).await?;
        proxy::expose(&ctx.client, &ctx.namespace, "echo", "http", backend.addr()).await?;

        let body = proxy::wait_for_proxy_get(
            &ctx.client,
            &ctx.namespace,
            "echo",
            "http",
            "/v1/cert.pem",
            ctx.timeout(),
        )
        .await?;
        assert!(body.starts_with(&marker), "{body}");
        assert!(
            body.contains("GET /v1/cert.pem HTTP/1.1"),
            "the backend must see the proxied path: {body}"
        );

        let body = curl_proxy(
            ctx.cluster,
            &proxy::proxy_path(&ctx.namespace, "echo", "http", "/healthz"),
        )
        .await?;
        assert!(
            body.starts_with(&marker) && body.contains("GET /healthz"),
            "{body}"
        );
        Ok(())
    }
);

e2e_test!(
    curl_through_the_service_proxy_reaches_a_server_inside_the_network_namespace,
    |ctx| async move {
        let cluster = ctx.cluster;
        let marker = unique_name("hello-from-netns");
        let portfile = cluster
            .dir
            .join(format!("{}.port", unique_name("netns-server")));
        let spec = ProcessSpec::new("netns-http-server", "ip")
            .args([
                "netns",
                "exec",
                &cluster.netns,
                "python3",
                "-c",
                NETNS_SERVER,
            ])
            .arg(cluster.netns_ip.to_string())
            .arg(portfile.as_os_str())
            .arg(&marker);
        let mut server = ManagedProcess::spawn(cluster, spec)?;
        let port: u16 = wait::wait_for(
            "the netns server's port file",
            Duration::from_secs(20),
            || {
                let running = server.ensure_running();
                let port = std::fs::read_to_string(&portfile)
                    .ok()
                    .and_then(|p| p.trim().parse().ok());
                async move { running.map(|()| port) }
            },
        )
        .await?;
        let addr = std::net::SocketAddr::from((cluster.netns_ip, port));
        proxy::expose(&ctx.client, &ctx.namespace, "netns-echo", "http", addr).await?;

        let path = proxy::proxy_path(&ctx.namespace, "netns-echo", "http", "/anything");
        let body = wait::wait_for(
            "curl through the proxy to the netns server",
            ctx.timeout(),
            || async { curl_proxy(cluster, &path).await.map(Some) },
        )
        .await?;
        assert_eq!(body, marker);
        let _ = std::fs::remove_file(&portfile);
        Ok(())
    }
);
