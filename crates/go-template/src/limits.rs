//! The fixed limits of one render (the per-session budget is [`crate::Limits`]).

/// Largest rendered output of one template (the Kubernetes Secret size limit).
pub(crate) const MAX_OUTPUT: usize = 1 << 20;
/// Largest string value a function may build.
pub(crate) const MAX_VALUE_BYTES: usize = 1 << 20;
/// Largest list a function may build (`until`, `splitList`, ...).
pub(crate) const MAX_LIST_LEN: usize = 100_000;
/// Nesting limit for parsing, template calls and values.
pub(crate) const MAX_DEPTH: usize = 64;
/// Budget cost of one bcrypt hash (cost 10), so a loop cannot burn minutes of CPU.
pub(crate) const BCRYPT_COST: usize = 500_000;
/// Bytes a function reads or writes per evaluation step charged for it: a call on a 1 MiB string
/// costs 16 384 steps, so work on large values is bounded by the step budget too.
pub(crate) const BYTES_PER_STEP: usize = 64;
/// Budget cost of one map entry created by `set`, `dict`, `merge`, ... (its share of memory).
pub(crate) const MAP_ENTRY_BYTES: usize = 96;
