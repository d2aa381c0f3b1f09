//! Carrying a plan out: node configs by server-side apply (field manager `ferrule-bgp`,
//! forced: ferrule-bgp is the authority on derived node configs), deletes with a UID
//! precondition, conditions by server-side apply on the status subresources, and Events.
//!
//! Every successful write puts the returned object into the index at once, so the next pass
//! plans on top of it even before the watch delivers it.

use crate::FIELD_MANAGER;
use crate::core::model::{Plan, PlannedEvent};
use crate::diff::{Target, node_config_body, status_body};
use crate::error::Error;
use crate::index::SharedIndex;
use crate::metrics::{BgpMetrics, WriteKind};
use crate::observed;
use ferrule_api::bgp::cluster_config::v2::CiliumBGPClusterConfig;
use ferrule_api::bgp::node_config::v2::CiliumBGPNodeConfig;
use ferrule_api::bgp::peer_config::v2::CiliumBGPPeerConfig;
use ferrule_runtime::EventRecorder;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use std::collections::HashSet;
use tokio::sync::watch;

/// What one round of writes achieved.
#[derive(Debug, Default)]
pub struct Outcome {
    pub written: usize,
    /// Writes not attempted because leadership was lost.
    pub skipped: usize,
    /// The first failure, for the pass's result label.
    pub first_error: Option<Error>,
    /// Some failure is worth retrying soon: the loop backs off and retries.
    pub retry: bool,
}

/// Performs writes and publishes Events for the reconcile loop.
#[derive(Clone)]
pub struct Writer {
    client: Client,
    index: SharedIndex,
    metrics: BgpMetrics,
    events: EventRecorder,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    pub fn new(
        client: Client,
        index: SharedIndex,
        metrics: BgpMetrics,
        events: EventRecorder,
    ) -> Self {
        Self {
            client,
            index,
            metrics,
            events,
        }
    }

    /// Performs `targets` one by one while `leader` stays true. Node config writes are few
    /// (one per node, only on change), so they go in order, which keeps the log readable.
    pub async fn write_all(
        &self,
        plan: &Plan,
        targets: Vec<Target>,
        now: &str,
        leader: &watch::Receiver<bool>,
    ) -> Outcome {
        let mut outcome = Outcome::default();
        for target in targets {
            if !*leader.borrow() {
                outcome.skipped += 1;
                continue;
            }
            let (kind, result) = self.write_one(plan, &target, now).await;
            match result {
                Ok(()) => {
                    outcome.written += 1;
                    self.metrics
                        .write(kind, ferrule_runtime::metrics::RESULT_SUCCESS);
                }
                Err(error) => {
                    self.metrics.write(kind, error.metric_label());
                    if error.is_not_found() {
                        tracing::debug!(%error, "object gone before its write");
                        continue;
                    }
                    let source = std::error::Error::source(&error).map(ToString::to_string);
                    if error.is_retryable() {
                        tracing::warn!(%error, ?source, "write failed; will retry");
                        outcome.retry = true;
                    } else {
                        tracing::error!(%error, ?source, "write rejected");
                    }
                    outcome.first_error.get_or_insert(error);
                }
            }
        }
        outcome
    }

    async fn write_one(
        &self,
        plan: &Plan,
        target: &Target,
        now: &str,
    ) -> (WriteKind, Result<(), Error>) {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        match target {
            Target::NodeConfig(name) => {
                let result = match plan.node_configs.get(name) {
                    Some(desired) => self.apply_node_config(name, desired, &params).await,
                    None => Ok(()),
                };
                (WriteKind::NodeConfig, result)
            }
            Target::Prune { name, uid } => (
                WriteKind::NodeConfigDelete,
                self.delete_node_config(name, uid).await,
            ),
            Target::ClusterConfigStatus(name) => {
                let result = async {
                    let (Some(planned), Some(current)) = (
                        plan.cluster_configs.get(name),
                        self.index.read(|i| i.cluster_configs.get(name).cloned()),
                    ) else {
                        return Ok(());
                    };
                    let body = status_body(
                        "CiliumBGPClusterConfig",
                        name,
                        planned,
                        &current.conditions,
                        now,
                    );
                    let api: Api<CiliumBGPClusterConfig> = Api::all(self.client.clone());
                    let stored = api
                        .patch_status(name, &params, &Patch::Apply(&body))
                        .await
                        .map_err(|source| Error::ApplyStatus {
                            kind: "CiliumBGPClusterConfig",
                            name: name.clone(),
                            source: Box::new(source),
                        })?;
                    if let Some(value) = observed::cluster_config(&stored) {
                        let version = stored.metadata.resource_version.unwrap_or_default();
                        self.index.update(|i| {
                            i.cluster_configs.apply(name.clone(), version, value);
                            false
                        });
                    }
                    tracing::info!(cluster_config = %name, "conditions applied");
                    Ok(())
                }
                .await;
                (WriteKind::ClusterConfigStatus, result)
            }
            Target::PeerConfigStatus(name) => {
                let result = async {
                    let (Some(planned), Some(current)) = (
                        plan.peer_configs.get(name),
                        self.index.read(|i| i.peer_configs.get(name).cloned()),
                    ) else {
                        return Ok(());
                    };
                    let body = status_body(
                        "CiliumBGPPeerConfig",
                        name,
                        planned,
                        &current.conditions,
                        now,
                    );
                    let api: Api<CiliumBGPPeerConfig> = Api::all(self.client.clone());
                    let stored = api
                        .patch_status(name, &params, &Patch::Apply(&body))
                        .await
                        .map_err(|source| Error::ApplyStatus {
                            kind: "CiliumBGPPeerConfig",
                            name: name.clone(),
                            source: Box::new(source),
                        })?;
                    if let Some(value) = observed::peer_config(&stored) {
                        let version = stored.metadata.resource_version.unwrap_or_default();
                        self.index.update(|i| {
                            i.peer_configs.apply(name.clone(), version, value);
                            false
                        });
                    }
                    tracing::info!(peer_config = %name, "conditions applied");
                    Ok(())
                }
                .await;
                (WriteKind::PeerConfigStatus, result)
            }
        }
    }

    async fn apply_node_config(
        &self,
        name: &str,
        desired: &crate::core::model::DesiredNodeConfig,
        params: &PatchParams,
    ) -> Result<(), Error> {
        let api: Api<CiliumBGPNodeConfig> = Api::all(self.client.clone());
        let body = node_config_body(name, desired);
        let stored = api
            .patch(name, params, &Patch::Apply(&body))
            .await
            .map_err(|source| Error::ApplyNodeConfig {
                name: name.to_owned(),
                source: Box::new(source),
            })?;
        if let Some(value) = observed::node_config(&stored) {
            let version = stored.metadata.resource_version.unwrap_or_default();
            self.index.update(|i| {
                i.node_configs.apply(name.to_owned(), version, value);
                false
            });
        }
        tracing::info!(node = %name, owner = %desired.owner.name, "node config applied");
        Ok(())
    }

    async fn delete_node_config(&self, name: &str, uid: &str) -> Result<(), Error> {
        let api: Api<CiliumBGPNodeConfig> = Api::all(self.client.clone());
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(uid.to_owned()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        api.delete(name, &params)
            .await
            .map_err(|source| Error::DeleteNodeConfig {
                name: name.to_owned(),
                source: Box::new(source),
            })?;
        self.index.update(|i| {
            i.node_configs.delete(name);
            false
        });
        tracing::info!(node = %name, "node config deleted: no cluster config selects the node");
        Ok(())
    }

    /// Publishes the planned Events not already published while they stayed planned: a
    /// problem that persists is reported once, not once per pass. Returns the set to pass in
    /// next time.
    pub async fn publish_events(
        &self,
        events: &[PlannedEvent],
        published: &HashSet<PlannedEvent>,
    ) -> HashSet<PlannedEvent> {
        let mut still_planned = HashSet::new();
        for event in events {
            if published.contains(event) {
                still_planned.insert(event.clone());
                continue;
            }
            let Some(uid) = self.index.read(|i| {
                i.cluster_configs
                    .get(&event.cluster_config)
                    .map(|c| c.input.uid.clone())
            }) else {
                continue;
            };
            let reference = ObjectReference {
                api_version: Some("cilium.io/v2".into()),
                kind: Some("CiliumBGPClusterConfig".into()),
                name: Some(event.cluster_config.clone()),
                uid: Some(uid),
                ..ObjectReference::default()
            };
            self.events
                .publish(
                    &reference,
                    kube::runtime::events::EventType::Warning,
                    event.reason,
                    "Reconcile",
                    event.note.clone(),
                )
                .await;
            still_planned.insert(event.clone());
        }
        still_planned
    }
}
