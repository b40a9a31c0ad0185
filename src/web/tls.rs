//! `tls_server_config` to a rustls server config (ring provider): certificate and key from
//! files or inline PEM, the client certificate policy, versions, TLS 1.2 cipher suites and
//! curves by Go's names.

use super::{ClientAuth, TlsServerConfig, TlsVersion, WebConfigError};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, NamedGroup, RootCertStore, SignatureScheme,
};
use std::path::Path;
use std::sync::Arc;

type FieldError<'a> = &'a dyn Fn(&str, String) -> WebConfigError;

/// PEM from the inline field or the file field (exactly one of them), with the field's name.
fn pem(
    inline: &Option<String>,
    file: &Option<std::path::PathBuf>,
    names: (&str, &str),
    dir: &Path,
    field: FieldError<'_>,
) -> Result<Option<(Vec<u8>, String)>, WebConfigError> {
    let f = |n: &str| format!("tls_server_config.{n}");
    match (inline, file) {
        (Some(_), Some(_)) => Err(field(
            &f(names.1),
            format!("give {} or {}, not both", names.0, names.1),
        )),
        (Some(text), None) => Ok(Some((text.clone().into_bytes(), f(names.0)))),
        (None, Some(p)) => {
            let full = dir.join(p);
            std::fs::read(&full)
                .map(|b| Some((b, f(names.1))))
                .map_err(|e| field(&f(names.1), format!("cannot read {}: {e}", full.display())))
        }
        (None, None) => Ok(None),
    }
}

/// The rustls config, or None when the section names no certificate (the toolkit then serves
/// plain HTTP).
pub(super) fn server_config(
    t: &TlsServerConfig,
    dir: &Path,
    field: FieldError<'_>,
) -> Result<Option<Arc<ServerConfig>>, WebConfigError> {
    let cert = pem(&t.cert, &t.cert_file, ("cert", "cert_file"), dir, field)?;
    let key = pem(&t.key, &t.key_file, ("key", "key_file"), dir, field)?;
    let client_ca = pem(
        &t.client_ca,
        &t.client_ca_file,
        ("client_ca", "client_ca_file"),
        dir,
        field,
    )?;
    let (cert, key) = match (cert, key) {
        (None, None) if client_ca.is_none() && t.client_auth_type.is_none() => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        (None, _) => {
            return Err(field(
                "tls_server_config.cert_file",
                "missing cert_file or cert".into(),
            ));
        }
        (_, None) => {
            return Err(field(
                "tls_server_config.key_file",
                "missing key_file or key".into(),
            ));
        }
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert.0)
        .collect::<Result<_, _>>()
        .map_err(|e| field(&cert.1, format!("not PEM certificates: {e}")))?;
    if chain.is_empty() {
        return Err(field(&cert.1, "no CERTIFICATE block".into()));
    }
    let key_der = PrivateKeyDer::from_pem_slice(&key.0)
        .map_err(|e| field(&key.1, format!("no PEM private key: {e}")))?;
    if t.client_allowed_sans
        .as_ref()
        .is_some_and(|s| !s.is_empty())
    {
        return Err(field(
            "tls_server_config.client_allowed_sans",
            "not supported by corswatch: use a client CA that issues only to the scrapers".into(),
        ));
    }

    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(names) = &t.cipher_suites {
        let f = "tls_server_config.cipher_suites";
        let mut tls12 = Vec::new();
        for name in names {
            // Go spells two ChaCha suites without `_SHA256`.
            let want = match name.as_str() {
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"
                | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305" => {
                    format!("{name}_SHA256")
                }
                n => n.to_string(),
            };
            let s = rustls::crypto::ring::ALL_CIPHER_SUITES
                .iter()
                .find(|s| s.tls13().is_none() && format!("{:?}", s.suite()) == want)
                .ok_or_else(|| {
                    field(
                        f,
                        format!("{name} is not a TLS 1.2 cipher suite rustls offers"),
                    )
                })?;
            tls12.push(*s);
        }
        // Go does not configure TLS 1.3 suites either: they all stay.
        provider.cipher_suites.retain(|s| s.tls13().is_some());
        provider.cipher_suites.extend(tls12);
    }
    if let Some(names) = &t.curve_preferences {
        let mut groups = Vec::new();
        for name in names {
            let want = match name.as_str() {
                "X25519" => NamedGroup::X25519,
                "CurveP256" => NamedGroup::secp256r1,
                "CurveP384" => NamedGroup::secp384r1,
                other => {
                    return Err(field(
                        "tls_server_config.curve_preferences",
                        format!("{other} is not offered (X25519, CurveP256, CurveP384)"),
                    ));
                }
            };
            if let Some(g) = rustls::crypto::ring::ALL_KX_GROUPS
                .iter()
                .find(|g| g.name() == want)
            {
                groups.push(*g);
            }
        }
        provider.kx_groups = groups;
    }
    let provider = Arc::new(provider);

    let min = t.min_version.unwrap_or(TlsVersion::TLS12);
    let max = t.max_version.unwrap_or(TlsVersion::TLS13);
    if max < TlsVersion::TLS12 {
        return Err(field(
            "tls_server_config.max_version",
            "TLS 1.0 and 1.1 are not offered: TLS12 or TLS13".into(),
        ));
    }
    if min > max {
        return Err(field(
            "tls_server_config.min_version",
            "above max_version".into(),
        ));
    }
    // TLS 1.0 and 1.1 do not exist in rustls: a lower minimum means TLS 1.2.
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    if min <= TlsVersion::TLS12 {
        versions.push(&rustls::version::TLS12);
    }
    if max == TlsVersion::TLS13 {
        versions.push(&rustls::version::TLS13);
    }

    let mode = t.client_auth_type.unwrap_or_default();
    let verifier: Arc<dyn ClientCertVerifier> = match (mode, &client_ca) {
        (ClientAuth::NoClientCert, Some(_)) => {
            return Err(field(
                "tls_server_config.client_auth_type",
                "a client CA is configured without a client auth policy (RequireAndVerifyClientCert?)".into(),
            ));
        }
        (ClientAuth::NoClientCert, None) => WebPkiClientVerifier::no_client_auth(),
        (ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert, _) => {
            Arc::new(AnyClientCert {
                mandatory: mode == ClientAuth::RequireAnyClientCert,
                algs: provider.signature_verification_algorithms,
            })
        }
        (ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert, None) => {
            return Err(field(
                "tls_server_config.client_ca_file",
                format!("{mode:?} needs client_ca_file or client_ca"),
            ));
        }
        (_, Some((bytes, name))) => {
            let mut roots = RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(bytes) {
                let c = c.map_err(|e| field(name, format!("not PEM certificates: {e}")))?;
                roots
                    .add(c)
                    .map_err(|e| field(name, format!("not a CA certificate: {e}")))?;
            }
            let b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let b = if mode == ClientAuth::VerifyClientCertIfGiven {
                b.allow_unauthenticated()
            } else {
                b
            };
            b.build().map_err(|e| field(name, e.to_string()))?
        }
    };
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| field("tls_server_config", e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key_der)
        .map_err(|e| field(&key.1, format!("does not fit the certificate: {e}")))?;
    cfg.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(true);
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Arc::new(cfg)))
}

/// Go's RequestClientCert and RequireAnyClientCert: a certificate is asked for (and for the
/// latter required), its handshake signature checked, but not its issuer.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}
