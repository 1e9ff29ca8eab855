//! SealedSecret -> Secret.
