//! Sealing keys: the registry every component reads, loading and following key Secrets, and
//! generating and renewing keys (reference §3).

pub mod load;
pub mod registry;
pub mod renew;

pub use registry::KeyRegistry;
