//! Prints the SealedSecret CustomResourceDefinition generated from the Rust type, as YAML.
//! `make manifests` writes it to `controller-manifests/crd.yaml`; `make check-manifests` fails
//! when the committed file differs.

use kube::CustomResourceExt as _;

fn main() {
    let crd = sealed_secrets::SealedSecret::crd();
    match serde_saphyr::to_string(&crd) {
        Ok(yaml) => {
            println!(
                "# Generated from the Rust type by `make manifests` (crates/sealed-secrets-controller/src/bin/crdgen.rs)."
            );
            println!(
                "# Do not edit: change crates/sealed-secrets/src/types.rs and run `make manifests`."
            );
            print!("{yaml}");
        }
        Err(error) => {
            eprintln!("error: cannot serialize the CRD: {error}");
            std::process::exit(1);
        }
    }
}
