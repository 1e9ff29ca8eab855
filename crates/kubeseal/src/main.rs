//! `kubeseal`: reads Kubernetes Secret manifests and writes SealedSecrets.

fn main() {
    eprintln!("error: kubeseal is not built yet");
    std::process::exit(1);
}
