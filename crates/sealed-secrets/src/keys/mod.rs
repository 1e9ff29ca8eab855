//! RSA keys and certificates (filled in by the keys work).
