//! The harness itself: a controller Pod that crash-loops makes the waiting test fail with the container's log.

use std::time::Duration;

use kube::api::{Patch, PatchParams};

use crate::support::deployment::{Installation, NAME, OVERLAY};
use crate::support::e2e_test;

e2e_test!(
    a_crash_looping_pod_puts_its_container_log_in_the_failure_message,
    |ctx| async move {
        let inst = Installation::apply(&ctx, OVERLAY, 2).await?;
        let broken = serde_json::json!({"spec": {"template": {"spec": {"containers": [
            {"name": NAME, "args": ["--no-such-flag"]}
        ]}}}});
        inst.deployments
            .patch(NAME, &PatchParams::default(), &Patch::Strategic(&broken))
            .await?;
        let failure = inst
            .wait_rolled_out_within(2, Duration::from_secs(40))
            .await;
        // Back to the working Deployment before any assertion, for the tests that follow.
        let fixed = serde_json::json!({"spec": {"template": {"spec": {"containers": [
            {"name": NAME, "args": []}
        ]}}}});
        inst.deployments
            .patch(NAME, &PatchParams::default(), &Patch::Strategic(&fixed))
            .await?;
        inst.wait_rolled_out(2).await?;
        let message = format!(
            "{:#}",
            failure.expect_err("a crash-looping rollout cannot complete")
        );
        assert!(
            message.contains("container log of"),
            "no container log in: {message}"
        );
        assert!(
            message.contains("--no-such-flag"),
            "the controller's own error is missing from: {message}"
        );
        inst.assert_no_restarts().await
    }
);
