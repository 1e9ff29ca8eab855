//! Links the `kubeseal` binary as a position-dependent executable on Linux.
//!
//! A PIE build of kubeseal carries ~26,000 relative relocations that the dynamic loader applies on every
//! start: about 0.6 ms of a 2.3 ms run (sealing one Secret), i.e. a quarter of the CLI's cost in CI pipelines
//! that run it once per Secret. A non-PIE executable has none (Go's toolchain, and so Bitnami's kubeseal, builds
//! non-PIE executables on linux/amd64 by default as well). The trade-off: the executable's own code is not
//! address-randomised (shared libraries, heap and stack still are). See docs/security.md ("Hardening").
//! The controller, a long-running server, stays PIE.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo::rustc-link-arg-bin=kubeseal=-no-pie");
        // A static build (`-C target-feature=+crt-static`, as `make image` does) asks the linker for a static PIE;
        // with -no-pie it must also be told -static, or the result names a program interpreter it does not need.
        let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
        if features.split(',').any(|f| f == "crt-static") {
            println!("cargo::rustc-link-arg-bin=kubeseal=-static");
        }
    }
}
