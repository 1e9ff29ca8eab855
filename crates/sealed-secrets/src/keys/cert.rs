//! X.509 certificates: how kubeseal receives the sealing key, and how the controller publishes
//! it.
//!
//! Parsing is structural and lenient (any subject, key usage or extensions; negative or long
//! serial numbers), because only the public key and the validity period are ever read.
//! [`Certificate::self_signed`] builds certificates shaped exactly like upstream's generated
//! ones (docs/upstream-behavior.md, "Keys").

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::asn1::{
    Any, BitString, GeneralizedTime, ObjectIdentifier, OctetString, PrintableStringRef, SetOfVec,
    UtcTime, Utf8StringRef,
};
use der::{DateTime, Decode, Encode};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{CertificateInner, Raw, TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::name::{RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use super::{KeyError, PrivateKey, PublicKey, pem};

/// PEM type of a certificate.
const CERTIFICATE_PEM_LABEL: &str = "CERTIFICATE";
/// sha256WithRSAEncryption (RFC 8017 A.2.4).
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// id-at-commonName (X.520).
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// id-ce-keyUsage (RFC 5280 4.2.1.3).
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
/// id-ce-basicConstraints (RFC 5280 4.2.1.9).
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
/// id-ce-subjectKeyIdentifier (RFC 5280 4.2.1.2).
const SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
/// KeyUsage value: BIT STRING, 0 unused bits, only encipherOnly (bit 7) set.
const KEY_USAGE_ENCIPHER_ONLY: [u8; 4] = [0x03, 0x02, 0x00, 0x01];
/// BasicConstraints value: SEQUENCE { cA BOOLEAN TRUE }, no pathLenConstraint.
const BASIC_CONSTRAINTS_CA: [u8; 5] = [0x30, 0x03, 0x01, 0x01, 0xff];

/// One parsed X.509 certificate; keeps its exact DER.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    pub(super) inner: CertificateInner<Raw>,
}

impl Certificate {
    /// Parses every `CERTIFICATE` PEM block of `pem` (blocks with headers and other blocks are
    /// skipped, as upstream does). Upstream uses the first certificate.
    ///
    /// # Errors
    /// [`KeyError::MalformedCertificate`] if any certificate block does not parse;
    /// [`KeyError::NoCertificates`] if there is none.
    pub fn parse_pem_chain(pem: &[u8]) -> Result<Vec<Certificate>, KeyError> {
        let certs: Vec<Certificate> = pem::blocks(pem)
            .into_iter()
            .filter(|block| block.label == CERTIFICATE_PEM_LABEL && !block.has_headers)
            .enumerate()
            .map(|(i, block)| {
                Certificate::from_der(&block.der).map_err(|e| match e {
                    KeyError::MalformedCertificate { source, .. } => {
                        KeyError::MalformedCertificate {
                            index: i + 1,
                            source,
                        }
                    }
                    other => other,
                })
            })
            .collect::<Result<_, _>>()?;
        if certs.is_empty() {
            return Err(KeyError::NoCertificates);
        }
        Ok(certs)
    }

    /// Parses one DER certificate.
    ///
    /// # Errors
    /// [`KeyError::MalformedCertificate`] (with `index` 1).
    pub fn from_der(der: &[u8]) -> Result<Certificate, KeyError> {
        let inner = CertificateInner::<Raw>::from_der(der)
            .map_err(|source| KeyError::MalformedCertificate { index: 1, source })?;
        Ok(Certificate {
            der: der.to_vec(),
            inner,
        })
    }

    /// The certificate's RSA public key.
    ///
    /// # Errors
    /// [`KeyError::NotRsaPublicKey`] ("expected RSA public key but found ecdsa") for other
    /// algorithms; key errors as in [`PublicKey::from_spki_der`].
    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        let spki = self
            .inner
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|source| KeyError::Malformed {
                what: "subject public key info",
                source,
            })?;
        PublicKey::from_spki_der(&spki)
    }

    /// Start of the validity period (upstream orders keys by it).
    pub fn not_before(&self) -> SystemTime {
        self.inner
            .tbs_certificate
            .validity
            .not_before
            .to_system_time()
    }

    /// End of the validity period (kubeseal refuses to seal after it).
    pub fn not_after(&self) -> SystemTime {
        self.inner
            .tbs_certificate
            .validity
            .not_after
            .to_system_time()
    }

    /// The certificate's DER, exactly as parsed or built.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// One `CERTIFICATE` PEM block, base64 in 64-character lines.
    pub fn to_pem(&self) -> String {
        pem::encode(CERTIFICATE_PEM_LABEL, &self.der).to_string()
    }

    /// Builds a self-signed certificate for `key`, shaped as upstream generates them:
    ///
    /// * version 3, serial a uniformly random integer in [0, 2^128);
    /// * subject = issuer = a Name holding only CN=`cn`, or the empty Name when `cn` is empty
    ///   (upstream's default);
    /// * NotBefore = `not_before` truncated to the second, NotAfter = NotBefore + `ttl`
    ///   (UTCTime before 2050, GeneralizedTime from 2050);
    /// * signed sha256WithRSAEncryption (PKCS#1 v1.5) with the default backend;
    /// * extensions, in order: KeyUsage (critical, `03 02 00 01`: encipherOnly only),
    ///   BasicConstraints (critical, CA:TRUE, no pathLen), SubjectKeyIdentifier (the first
    ///   20 bytes of SHA-256 over the PKCS#1 RSAPublicKey DER). No AKI, SAN or EKU.
    ///
    /// # Errors
    /// [`KeyError::CertificateEncoding`] for a validity outside 1970..=9999 or a common name
    /// DER cannot encode; [`KeyError::Sign`].
    pub fn self_signed(
        key: &PrivateKey,
        cn: &str,
        not_before: SystemTime,
        ttl: Duration,
    ) -> Result<Certificate, KeyError> {
        let encoding = |what| move |_: der::Error| KeyError::CertificateEncoding { what };
        let public = key.public_key();
        let pkcs1 = public.to_pkcs1_der();

        let mut serial = [0u8; 16];
        OsRng.fill_bytes(&mut serial);
        let serial_number = SerialNumber::new(&serial).map_err(encoding("serial number"))?;

        let start = not_before
            .duration_since(UNIX_EPOCH)
            .map_err(|_| KeyError::CertificateEncoding { what: "validity" })?
            .as_secs();
        let end = start
            .checked_add(ttl.as_secs())
            .ok_or(KeyError::CertificateEncoding { what: "validity" })?;
        let validity = Validity {
            not_before: x509_time(start)?,
            not_after: x509_time(end)?,
        };

        let name = common_name(cn)?;
        let ski: [u8; 20] = Sha256::digest(&pkcs1)[..20]
            .try_into()
            .expect("a SHA-256 digest has at least 20 bytes");
        let extensions = vec![
            extension(KEY_USAGE, true, KEY_USAGE_ENCIPHER_ONLY.to_vec())?,
            extension(BASIC_CONSTRAINTS, true, BASIC_CONSTRAINTS_CA.to_vec())?,
            extension(
                SUBJECT_KEY_IDENTIFIER,
                false,
                OctetString::new(ski.to_vec())
                    .and_then(|o| o.to_der())
                    .map_err(encoding("subject key identifier"))?,
            )?,
        ];

        let signature_algorithm = AlgorithmIdentifierOwned {
            oid: SHA256_WITH_RSA,
            parameters: Some(Any::null()),
        };
        let tbs = TbsCertificate {
            version: Version::V3,
            serial_number,
            signature: signature_algorithm.clone(),
            issuer: name.clone(),
            validity,
            subject: name,
            subject_public_key_info: SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: super::RSA_ENCRYPTION,
                    parameters: Some(Any::null()),
                },
                subject_public_key: BitString::from_bytes(&pkcs1)
                    .map_err(encoding("public key"))?,
            },
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions),
        };
        let tbs_der = tbs.to_der().map_err(encoding("tbs certificate"))?;
        let signature = key.sign_pkcs1_sha256(&tbs_der)?;
        let cert = x509_cert::Certificate {
            tbs_certificate: tbs,
            signature_algorithm,
            signature: BitString::from_bytes(&signature).map_err(encoding("signature"))?,
        };
        Certificate::from_der(&cert.to_der().map_err(encoding("certificate"))?)
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tbs = &self.inner.tbs_certificate;
        f.debug_struct("Certificate")
            .field("subject", &tbs.subject.to_string())
            .field("serial", &hex(tbs.serial_number.as_bytes()))
            .field("not_before", &tbs.validity.not_before.to_string())
            .field("not_after", &tbs.validity.not_after.to_string())
            .finish_non_exhaustive()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// UTCTime before 2050, GeneralizedTime from 2050 (RFC 5280 4.1.2.5).
fn x509_time(unix_secs: u64) -> Result<Time, KeyError> {
    let err = |_| KeyError::CertificateEncoding { what: "validity" };
    let datetime = DateTime::from_unix_duration(Duration::from_secs(unix_secs)).map_err(err)?;
    if datetime.year() <= UtcTime::MAX_YEAR {
        Ok(Time::UtcTime(
            UtcTime::from_date_time(datetime).map_err(err)?,
        ))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(datetime)))
    }
}

/// The Name holding only CN=`cn` (PrintableString when its characters allow, else
/// UTF8String), or the empty Name for an empty `cn`.
fn common_name(cn: &str) -> Result<RdnSequence, KeyError> {
    if cn.is_empty() {
        return Ok(RdnSequence(Vec::new()));
    }
    let err = |_| KeyError::CertificateEncoding {
        what: "common name",
    };
    let value = match PrintableStringRef::new(cn) {
        Ok(printable) => Any::encode_from(&printable),
        Err(_) => Any::encode_from(&Utf8StringRef::new(cn).map_err(err)?),
    }
    .map_err(err)?;
    let attribute = AttributeTypeAndValue {
        oid: COMMON_NAME,
        value,
    };
    let rdn = RelativeDistinguishedName(SetOfVec::try_from(vec![attribute]).map_err(err)?);
    Ok(RdnSequence(vec![rdn]))
}

fn extension(oid: ObjectIdentifier, critical: bool, value: Vec<u8>) -> Result<Extension, KeyError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value)
            .map_err(|_| KeyError::CertificateEncoding { what: "extension" })?,
    })
}
