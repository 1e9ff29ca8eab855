//! Secret -> SealedSecret.
