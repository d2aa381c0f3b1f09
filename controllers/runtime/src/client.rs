//! The kube client every binary uses: configuration from `--kubeconfig` or the environment, and
//! a client-side rate limit so a resync storm cannot overwhelm the API server.

use std::path::Path;

use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::config::CommonArgs;
use crate::error::Error;
use crate::rate_limit::RateLimitLayer;

/// Builds the rate-limited client described by `args`.
pub async fn build_client(args: &CommonArgs) -> Result<Client, Error> {
    let config = load_config(args.kubeconfig.as_deref()).await?;
    client_from_config(config, args.kube_api_qps, args.kube_api_burst)
}

/// Loads the client configuration: an explicit kubeconfig (`--kubeconfig` or `KUBECONFIG`, which
/// may list several files, merged first-wins like kubectl) or else kube's inference
/// (~/.kube/config, then the in-cluster service account).
pub async fn load_config(kubeconfig: Option<&Path>) -> Result<Config, Error> {
    let Some(path) = kubeconfig else {
        return Config::infer().await.map_err(Error::InferKubeConfig);
    };
    let shown = path.display().to_string();
    let load_error = |source| Error::LoadKubeconfig {
        path: shown.clone(),
        source,
    };
    let mut merged: Option<Kubeconfig> = None;
    for file in std::env::split_paths(path).filter(|p| !p.as_os_str().is_empty()) {
        let next = Kubeconfig::read_from(&file).map_err(load_error)?;
        merged = Some(match merged {
            Some(earlier) => earlier.merge(next).map_err(load_error)?,
            None => next,
        });
    }
    let Some(kubeconfig) = merged else {
        return Config::infer().await.map_err(Error::InferKubeConfig);
    };
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(load_error)?;
    // Keep Config::infer's debugging aids (impersonation, URL override) for explicit files too.
    config.apply_debug_overrides();
    Ok(config)
}

/// Builds a client from `config` with a token-bucket rate limit ([`RateLimitLayer`]) in front of
/// every request.
pub fn client_from_config(config: Config, qps: f32, burst: u32) -> Result<Client, Error> {
    let builder = ClientBuilder::try_from(config).map_err(Error::BuildClient)?;
    Ok(builder
        .with_layer(&RateLimitLayer::new(f64::from(qps), burst))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory unique to this test process and test.
    fn scratch(test: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ferrule-runtime-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the temp dir should be writable");
        dir
    }

    #[tokio::test]
    async fn kubeconfig_list_is_merged_like_kubectl() {
        let dir = scratch("kubeconfig-list");
        let first = dir.join("context.yaml");
        let second = dir.join("cluster.yaml");
        std::fs::write(
            &first,
            "apiVersion: v1\nkind: Config\ncurrent-context: lab\n\
             contexts:\n- name: lab\n  context: {cluster: lab, user: lab, namespace: ferrule}\n\
             users:\n- name: lab\n  user: {token: t0ken}\n",
        )
        .expect("write the first kubeconfig");
        std::fs::write(
            &second,
            "apiVersion: v1\nkind: Config\n\
             clusters:\n- name: lab\n  cluster: {server: 'http://127.0.0.1:6443'}\n",
        )
        .expect("write the second kubeconfig");
        let list = std::env::join_paths([&first, &second]).expect("paths without ':'");

        let config = load_config(Some(Path::new(&list)))
            .await
            .expect("the merged kubeconfig should load");
        assert_eq!(config.cluster_url.to_string(), "http://127.0.0.1:6443/");
        assert_eq!(config.default_namespace, "ferrule");
        client_from_config(config, 20.0, 40).expect("a client should build from it");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn missing_kubeconfig_is_a_load_error() {
        let dir = scratch("kubeconfig-missing");
        let error = load_config(Some(&dir.join("absent.yaml")))
            .await
            .expect_err("a missing kubeconfig must fail, not fall back silently");
        let _ = std::fs::remove_dir_all(dir);
        assert!(matches!(error, Error::LoadKubeconfig { .. }), "{error:?}");
    }
}
