//! Hybrid encryption of one value: RSA-OAEP wraps a fresh AES-256-GCM key (filled in by the crypto work).
