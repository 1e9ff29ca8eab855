//! `sealed-secrets-controller`: unseals SealedSecrets into Secrets (skeleton; see the controller issue).

fn main() {
    eprintln!("error: sealed-secrets-controller is not built yet");
    std::process::exit(1);
}
