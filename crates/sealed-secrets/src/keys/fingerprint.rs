//! Key fingerprints: the identity the controller deduplicates keys by and kubeseal records as
//! a key hint.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

/// The OpenSSH SHA-256 fingerprint of an RSA public key: `SHA256:` followed by the unpadded
/// standard base64 of SHA-256 over the SSH wire encoding (string `ssh-rsa`, mpint e, mpint n),
/// as `ssh-keygen -lf` prints it. Public information.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint text, e.g. `SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Fingerprint {
    /// Wraps a fingerprint read back from text (an annotation); it is not validated.
    fn from(s: String) -> Self {
        Fingerprint(s)
    }
}

impl FromStr for Fingerprint {
    type Err = Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Fingerprint(s.to_owned()))
    }
}

impl AsRef<str> for Fingerprint {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
