//! A throwaway certificate authority and a serving certificate for the listen address, and
//! the kubeconfig that trusts it.

use base64::Engine as _;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("generating a certificate")]
    Generate(#[from] rcgen::Error),
    #[error("building the TLS server configuration")]
    Rustls(#[from] rustls::Error),
}

/// The CA (for clients) and the server's TLS configuration.
pub struct ServingCert {
    pub ca_pem: String,
    pub config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for ServingCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServingCert")
    }
}

/// A CA and a certificate valid for `addr`'s IP, `localhost`, 127.0.0.1 and ::1, so one
/// kubeconfig works from every network namespace that can reach the address.
pub fn serving_cert(addr: SocketAddr) -> Result<ServingCert, TlsError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ferrule-testapi CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "ferrule-testapi".to_owned()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "ferrule-testapi");
    let mut ips: Vec<IpAddr> = vec![[127, 0, 0, 1].into(), std::net::Ipv6Addr::LOCALHOST.into()];
    if !addr.ip().is_unspecified() && !ips.contains(&addr.ip()) {
        ips.push(addr.ip());
    }
    params
        .subject_alt_names
        .extend(ips.into_iter().map(SanType::IpAddress));
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca)?;

    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(cert.der().to_vec())],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(ServingCert {
        ca_pem: ca.pem(),
        config: Arc::new(config),
    })
}

/// A kubeconfig for `server_url` (`https://…` with the CA, or `http://…`).
pub fn kubeconfig(server_url: &str, ca_pem: Option<&str>) -> String {
    let ca = ca_pem
        .map(|pem| {
            format!(
                "\n    certificate-authority-data: {}",
                base64::engine::general_purpose::STANDARD.encode(pem)
            )
        })
        .unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ferrule-testapi\n  cluster:\n    server: {server_url}{ca}\n\
         contexts:\n- name: ferrule-testapi\n  context:\n    cluster: ferrule-testapi\n    user: ferrule-testapi\n    namespace: default\n\
         current-context: ferrule-testapi\nusers:\n- name: ferrule-testapi\n  user:\n    token: ferrule-testapi\n"
    )
}
