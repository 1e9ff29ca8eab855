//! Leadership: which replica reconciles and renews keys.
//!
//! Every replica follows the key Secrets and serves the HTTP API; only the leader reconciles
//! SealedSecrets and generates keys. The runner waits for [`Leadership::acquired`], runs the
//! leader's work until [`Leadership::lost`] (or shutdown), and starts over. This build has one
//! mode, [`Leadership::always`] (a single replica is always the leader); Lease-based election
//! plugs in here without changing the runner.

use tokio::sync::watch;

/// The leadership state of this replica.
pub struct Leadership {
    rx: watch::Receiver<bool>,
    /// Keeps the channel open for [`Leadership::always`].
    _tx: Option<watch::Sender<bool>>,
}

impl Leadership {
    /// Always the leader (one replica).
    pub fn always() -> Leadership {
        let (tx, rx) = watch::channel(true);
        Leadership { rx, _tx: Some(tx) }
    }

    /// Resolves once this replica leads (at once if it already does).
    pub async fn acquired(&mut self) {
        while !*self.rx.borrow_and_update() {
            if self.rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Resolves when this replica stops leading (never for [`Leadership::always`]).
    pub async fn lost(&mut self) {
        while *self.rx.borrow_and_update() {
            if self.rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}
