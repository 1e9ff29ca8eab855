//! Unseal slots shared fairly between tenants (namespaces).
//!
//! A plain semaphore serves waiters in arrival order, so a tenant that queues many expensive
//! objects (each within its budget, but many of them) would hold every slot while other tenants
//! wait. [`FairSlots`] hands a freed slot to the next *tenant* in round-robin order that has a
//! waiter, and to that tenant's oldest waiter. It is work-conserving: while only one tenant has
//! work, it gets every slot, so a cold start of one big namespace runs as fast as before.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// A fixed number of slots, shared round-robin between tenants.
#[derive(Debug)]
pub struct FairSlots {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    free: usize,
    /// Waiters per tenant, oldest first.
    queues: BTreeMap<String, VecDeque<oneshot::Sender<()>>>,
    /// Tenants with waiters, in the order they are served.
    ring: VecDeque<String>,
}

/// A held slot; released when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<FairSlots>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.release();
    }
}

/// A waiter's end: if it is dropped after a slot was handed to it but before it took it, the
/// slot goes back (so cancelling a wait never loses a slot).
struct Waiting {
    rx: Option<oneshot::Receiver<()>>,
    slots: Arc<FairSlots>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(mut rx) = self.rx.take() {
            rx.close();
            if rx.try_recv().is_ok() {
                self.slots.release();
            }
        }
    }
}

impl FairSlots {
    /// `slots` slots (at least one).
    pub fn new(slots: usize) -> Arc<FairSlots> {
        Arc::new(FairSlots {
            state: Mutex::new(State {
                free: slots.max(1),
                ..State::default()
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for a slot on behalf of `tenant`.
    pub async fn acquire(self: &Arc<Self>, tenant: &str) -> Slot {
        loop {
            let rx = {
                let mut state = self.lock();
                if state.free > 0 && state.ring.is_empty() {
                    state.free -= 1;
                    return Slot {
                        slots: self.clone(),
                    };
                }
                let (tx, rx) = oneshot::channel();
                let queue = state.queues.entry(tenant.to_owned()).or_default();
                let new_tenant = queue.is_empty();
                queue.push_back(tx);
                if new_tenant {
                    state.ring.push_back(tenant.to_owned());
                }
                rx
            };
            let mut waiting = Waiting {
                rx: Some(rx),
                slots: self.clone(),
            };
            let handed = match waiting.rx.as_mut() {
                Some(rx) => rx.await.is_ok(),
                None => false,
            };
            // Received (or the sender is gone): nothing for the guard to give back.
            waiting.rx = None;
            if handed {
                return Slot {
                    slots: self.clone(),
                };
            }
        }
    }

    /// Hands the slot to the next tenant's oldest live waiter, or frees it.
    fn release(&self) {
        let mut state = self.lock();
        while let Some(tenant) = state.ring.pop_front() {
            let Some(queue) = state.queues.get_mut(&tenant) else {
                continue;
            };
            let waiter = queue.pop_front();
            if queue.is_empty() {
                state.queues.remove(&tenant);
            } else {
                state.ring.push_back(tenant);
            }
            if let Some(waiter) = waiter
                && waiter.send(()).is_ok()
            {
                return;
            }
        }
        state.free += 1;
    }

    /// Slots free right now (for tests and metrics).
    #[cfg(test)]
    pub fn free(&self) -> usize {
        self.lock().free
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Records the order in which tenants get the single slot.
    #[tokio::test]
    async fn round_robin_between_tenants_in_arrival_order_within_one() {
        let slots = FairSlots::new(1);
        let first = slots.acquire("a").await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Tenant a queues five jobs before b and c queue one each.
        for (tenant, n) in [("a", 5), ("b", 1), ("c", 1)] {
            for i in 0..n {
                let slots = slots.clone();
                let order = order.clone();
                tasks.push(tokio::spawn(async move {
                    let _slot = slots.acquire(tenant).await;
                    order.lock().expect("lock").push(format!("{tenant}{i}"));
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }));
                tokio::task::yield_now().await;
            }
        }
        drop(first);
        for t in tasks {
            t.await.expect("task");
        }
        let order = order.lock().expect("lock").clone();
        assert_eq!(order, ["a0", "b0", "c0", "a1", "a2", "a3", "a4"]);
        assert_eq!(slots.free(), 1);
    }

    #[tokio::test]
    async fn a_cancelled_wait_loses_no_slot() {
        let slots = FairSlots::new(1);
        let held = slots.acquire("a").await;
        let waiter = {
            let slots = slots.clone();
            tokio::spawn(async move {
                let _slot = slots.acquire("b").await;
            })
        };
        tokio::task::yield_now().await;
        waiter.abort();
        let _ = waiter.await;
        drop(held);
        assert_eq!(slots.free(), 1);
        // Still usable.
        let _again = tokio::time::timeout(Duration::from_secs(1), slots.acquire("c"))
            .await
            .expect("a slot is free");
    }

    #[tokio::test]
    async fn a_lone_tenant_gets_every_slot() {
        let slots = FairSlots::new(3);
        let a = slots.acquire("a").await;
        let b = slots.acquire("a").await;
        let c = slots.acquire("a").await;
        assert_eq!(slots.free(), 0);
        drop((a, b, c));
        assert_eq!(slots.free(), 3);
    }
}
