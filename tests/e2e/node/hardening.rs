//! The manifests' hardening, enforced by runc on the real node: the controller runs as uid 1001 with no
//! capabilities, no privilege escalation, the RuntimeDefault seccomp filter and a read-only root filesystem, and
//! works under them. Its memory stays well under the 256Mi limit.

use crate::support::deployment::{Installation, OVERLAY, proc_status_field, root_mount_options};
use crate::support::e2e_test;

e2e_test!(
    runs_as_non_root_read_only_without_capabilities_under_seccomp,
    |ctx| async move {
        let inst = Installation::apply(&ctx, OVERLAY, 2).await?;
        for (pod, pid) in inst.container_pids().await? {
            let uid = proc_status_field(pid, "Uid")?;
            let gid = proc_status_field(pid, "Gid")?;
            assert!(
                uid.split_whitespace().all(|u| u == "1001"),
                "{pod}: Uid {uid}"
            );
            assert!(
                gid.split_whitespace().all(|g| g == "1001"),
                "{pod}: Gid {gid}"
            );
            for caps in ["CapEff", "CapPrm", "CapBnd", "CapAmb"] {
                assert_eq!(
                    u64::from_str_radix(&proc_status_field(pid, caps)?, 16)?,
                    0,
                    "{pod}: {caps}"
                );
            }
            assert_eq!(
                proc_status_field(pid, "NoNewPrivs")?,
                "1",
                "{pod}: allowPrivilegeEscalation: false"
            );
            assert_eq!(
                proc_status_field(pid, "Seccomp")?,
                "2",
                "{pod}: a seccomp filter (RuntimeDefault)"
            );
            let root = root_mount_options(pid)?;
            assert!(
                root.split(',').any(|o| o == "ro"),
                "{pod}: root filesystem mounted {root}"
            );
            let exe = std::fs::read_link(format!("/proc/{pid}/exe"))?;
            eprintln!(
                "{pod}: pid {pid} ({}) uid {uid}, no capabilities, seccomp filter, root {root}",
                exe.display()
            );
            // It works under them: ready, serving.
            assert_eq!(inst.pod_get(&pod, "/readyz").await?.0, 200, "{pod}");
        }
        let peak = inst.peak_memory().await?;
        eprintln!(
            "controller memory peak so far: {:.1} MiB (limit 256 MiB)",
            peak as f64 / 1048576.0
        );
        assert!(
            peak < 128 * 1024 * 1024,
            "memory peak {peak} bytes is not well under the 256Mi limit"
        );
        inst.assert_no_restarts().await
    }
);
