//! `CiliumGatewayClassConfig`: per-GatewayClass settings (referenced from a GatewayClass's
//! `parametersRef`) for the Services, Envoy listeners and access logs generated for Gateways.

#![forbid(unsafe_code)]

use crate::crds::Assembly;
use crate::meta::Condition;
use kube::{CustomResource, CustomResourceExt as _};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub(crate) fn assembly() -> Assembly {
    Assembly {
        versions: vec![v2alpha1::CiliumGatewayClassConfig::crd()],
        storage: "v2alpha1",
        root_required: &["metadata"],
    }
}

/// Served version `cilium.io/v2alpha1` (storage; the only version).
pub mod v2alpha1 {
    use super::*;

    /// Settings applied to every Gateway of the GatewayClasses that reference this object.
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
    )]
    #[kube(
        group = "cilium.io",
        version = "v2alpha1",
        kind = "CiliumGatewayClassConfig",
        doc = "Settings for the Gateways of a GatewayClass: generated Service, Envoy options and access logs.",
        plural = "ciliumgatewayclassconfigs",
        category = "cilium",
        shortname = "cgcc",
        namespaced,
        status = "GatewayClassConfigStatus",
        derive = "PartialEq",
        printcolumn = r#"{"jsonPath":".status.conditions[?(@.type==\"Accepted\")].status","name":"Accepted","type":"string"}"#,
        printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#,
        printcolumn = r#"{"jsonPath":".spec.description","name":"Description","type":"string","priority":1}"#
    )]
    #[serde(rename_all = "camelCase")]
    pub struct GatewayClassConfigSpec {
        /// A short free-text note shown by `kubectl get -o wide`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(length(max = 64))]
        pub description: Option<String>,
        /// Envoy-specific options beyond the Gateway API.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub envoy: Option<EnvoyConfig>,
        /// Options of the HTTP connection manager.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub http_options: Option<HttpOptions>,
        /// Settings of the Service generated for each Gateway (a subset of a Service spec).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service: Option<ServiceConfig>,
        /// Observability options of the generated proxies.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub telemetry: Option<Telemetry>,
    }

    /// Envoy-specific proxy options.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct EnvoyConfig {
        /// What the proxy does with the `Server` response header.
        #[serde(default)]
        pub server_header_transformation: ServerHeaderTransformation,
    }

    /// Handling of the HTTP `Server` response header.
    #[derive(
        Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema,
    )]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum ServerHeaderTransformation {
        /// Replace any upstream value with the proxy's own.
        #[default]
        Overwrite,
        /// Add the proxy's value only when the upstream response has none.
        AppendIfAbsent,
        /// Forward the upstream value unchanged (or leave it absent).
        PassThrough,
    }

    /// HTTP connection manager options.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct HttpOptions {
        /// Translation of gRPC-web requests to gRPC.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub grpc_web_translation: Option<GrpcWebTranslation>,
    }

    /// Whether the proxy translates gRPC-web requests to gRPC.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct GrpcWebTranslation {
        /// Translate gRPC-web to gRPC (on unless turned off).
        #[serde(default = "default_true")]
        pub enabled: bool,
    }

    impl Default for GrpcWebTranslation {
        fn default() -> Self {
            Self { enabled: true }
        }
    }

    fn default_true() -> bool {
        true
    }

    /// The part of a Service spec a Gateway's generated Service takes from the class config.
    ///
    /// Policy-like fields are plain strings, as upstream's schema leaves their validation to
    /// the Service API.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ServiceConfig {
        /// `spec.allocateLoadBalancerNodePorts` of the generated Service.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub allocate_load_balancer_node_ports: Option<bool>,
        /// `spec.externalTrafficPolicy` of the generated Service (`Cluster` or `Local`).
        #[serde(default = "default_external_traffic_policy")]
        pub external_traffic_policy: String,
        /// `spec.ipFamilies` of the generated Service (`IPv4`, `IPv6`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
        pub ip_families: Vec<String>,
        /// `spec.ipFamilyPolicy` of the generated Service (`SingleStack`, `PreferDualStack`,
        /// `RequireDualStack`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ip_family_policy: Option<String>,
        /// `spec.loadBalancerClass` of the generated Service.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub load_balancer_class: Option<String>,
        /// `spec.loadBalancerSourceRanges` of the generated Service: client CIDRs the
        /// `loadBalancerSourceRangesPolicy` applies to.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
        pub load_balancer_source_ranges: Vec<String>,
        /// Whether `loadBalancerSourceRanges` lists the clients allowed or those denied.
        #[serde(default)]
        pub load_balancer_source_ranges_policy: SourceRangesPolicy,
        /// `spec.trafficDistribution` of the generated Service (e.g. `PreferClose`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub traffic_distribution: Option<String>,
        /// `spec.type` of the generated Service.
        #[serde(default)]
        pub r#type: GatewayServiceType,
    }

    impl Default for ServiceConfig {
        fn default() -> Self {
            Self {
                allocate_load_balancer_node_ports: None,
                external_traffic_policy: default_external_traffic_policy(),
                ip_families: Vec::new(),
                ip_family_policy: None,
                load_balancer_class: None,
                load_balancer_source_ranges: Vec::new(),
                load_balancer_source_ranges_policy: SourceRangesPolicy::default(),
                traffic_distribution: None,
                r#type: GatewayServiceType::default(),
            }
        }
    }

    fn default_external_traffic_policy() -> String {
        "Cluster".into()
    }

    /// How `loadBalancerSourceRanges` is applied.
    #[derive(
        Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema,
    )]
    pub enum SourceRangesPolicy {
        /// Only the listed ranges may connect.
        #[default]
        Allow,
        /// The listed ranges may not connect; everyone else may.
        Deny,
    }

    /// The Service types a Gateway may be exposed with.
    #[derive(
        Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema,
    )]
    pub enum GatewayServiceType {
        #[default]
        LoadBalancer,
        NodePort,
    }

    /// Observability options.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct Telemetry {
        /// Access logs of the generated listeners (1 to 8 entries when set).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(length(min = 1, max = 8))]
        pub access_logs: Vec<AccessLog>,
    }

    /// One access log: its format and which proxy components emit it. Access logs go to the
    /// proxy's standard output.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct AccessLog {
        /// Output format; selects whether `json` or `text` is used.
        pub format: AccessLogFormat,
        /// Field name → Envoy command operator, for the JSON format. Besides Envoy's operators,
        /// `%CILIUM_GATEWAY_NAME%` and `%CILIUM_GATEWAY_NAMESPACE%` name the Gateway.
        #[serde(
            default = "default_json_fields",
            skip_serializing_if = "BTreeMap::is_empty"
        )]
        #[schemars(extend("minProperties" = 1, "maxProperties" = 64))]
        pub json: BTreeMap<String, String>,
        /// Proxy components that emit this log.
        #[serde(default = "default_targets", skip_serializing_if = "Vec::is_empty")]
        #[schemars(length(min = 1), extend("x-kubernetes-list-type" = "set"))]
        pub targets: Vec<AccessLogTarget>,
        /// Envoy format string, for the Text format. The `%CILIUM_GATEWAY_NAME%` and
        /// `%CILIUM_GATEWAY_NAMESPACE%` operators are also understood.
        #[serde(default = "default_text")]
        #[schemars(length(min = 1, max = 4096))]
        pub text: String,
    }

    impl AccessLog {
        /// An access log in `format` with the default fields, format string and targets.
        pub fn new(format: AccessLogFormat) -> Self {
            Self {
                format,
                json: default_json_fields(),
                targets: default_targets(),
                text: default_text(),
            }
        }
    }

    /// The output formats of an access log.
    #[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
    pub enum AccessLogFormat {
        /// One JSON object per request, shaped by `json`.
        #[serde(rename = "JSON")]
        Json,
        /// One line per request, shaped by `text`.
        Text,
    }

    /// Proxy components that can emit access logs.
    #[derive(
        Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema,
    )]
    #[serde(rename_all = "UPPERCASE")]
    pub enum AccessLogTarget {
        /// HTTP connection managers.
        Http,
        /// TCP proxies, TLS passthrough included.
        Tcp,
    }

    /// The access-log targets used when none are given: HTTP only.
    pub fn default_targets() -> Vec<AccessLogTarget> {
        vec![AccessLogTarget::Http]
    }

    /// The access-log format string used when none is given.
    pub fn default_text() -> String {
        concat!(
            r#"[%START_TIME%] "%REQUEST_HEADER(:METHOD)% %REQUEST_HEADER(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" "#,
            r#"%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "#,
            r#"%RESPONSE_HEADER(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQUEST_HEADER(X-FORWARDED-FOR)%" "#,
            r#""%REQUEST_HEADER(USER-AGENT)%" "%REQUEST_HEADER(X-REQUEST-ID)%" "#,
            r#""%REQUEST_HEADER(:AUTHORITY)%" "%UPSTREAM_HOST%""#,
        )
        .into()
    }

    /// The JSON access-log fields used when none are given.
    pub fn default_json_fields() -> BTreeMap<String, String> {
        [
            ("authority", "%REQUEST_HEADER(:AUTHORITY)%"),
            ("bytes_received", "%BYTES_RECEIVED%"),
            ("bytes_sent", "%BYTES_SENT%"),
            ("duration", "%DURATION%"),
            ("method", "%REQUEST_HEADER(:METHOD)%"),
            ("path", "%REQUEST_HEADER(X-ENVOY-ORIGINAL-PATH?:PATH)%"),
            ("protocol", "%PROTOCOL%"),
            ("request_id", "%REQUEST_HEADER(X-REQUEST-ID)%"),
            ("response_code", "%RESPONSE_CODE%"),
            ("response_flags", "%RESPONSE_FLAGS%"),
            ("start_time", "%START_TIME%"),
            ("upstream_host", "%UPSTREAM_HOST%"),
            (
                "upstream_service_time",
                "%RESPONSE_HEADER(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
            ),
            ("user_agent", "%REQUEST_HEADER(USER-AGENT)%"),
            ("x_forwarded_for", "%REQUEST_HEADER(X-FORWARDED-FOR)%"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Observed state of a class config, written by ferrule-gateway.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct GatewayClassConfigStatus {
        /// Conditions, one per type (`Accepted`, ...).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
        pub conditions: Vec<Condition>,
    }
}

#[cfg(test)]
mod tests {
    use super::v2alpha1::*;

    const MANIFEST: &str = r#"
apiVersion: cilium.io/v2alpha1
kind: CiliumGatewayClassConfig
metadata:
  name: internet-facing
  namespace: gateways
spec:
  description: Public gateways behind the lab router
  service:
    type: LoadBalancer
    externalTrafficPolicy: Local
    ipFamilies: [IPv4, IPv6]
    ipFamilyPolicy: PreferDualStack
    loadBalancerClass: io.cilium/l2-announcer
    loadBalancerSourceRanges:
      - 198.51.100.0/24
      - 2001:db8:1::/48
  envoy:
    serverHeaderTransformation: PASS_THROUGH
  httpOptions:
    grpcWebTranslation: {}
  telemetry:
    accessLogs:
      - format: JSON
        json:
          gateway: "%CILIUM_GATEWAY_NAMESPACE%/%CILIUM_GATEWAY_NAME%"
          status: "%RESPONSE_CODE%"
        targets: [HTTP, TCP]
      - format: Text
"#;

    #[test]
    fn parses_a_config_and_applies_upstream_defaults() {
        let config: CiliumGatewayClassConfig =
            serde_yaml::from_str(MANIFEST).expect("manifest parses");
        let spec = &config.spec;
        let service = spec.service.as_ref().expect("service");
        assert_eq!(service.r#type, GatewayServiceType::LoadBalancer);
        assert_eq!(service.external_traffic_policy, "Local");
        assert_eq!(service.ip_families, ["IPv4", "IPv6"]);
        assert_eq!(
            service.load_balancer_source_ranges_policy,
            SourceRangesPolicy::Allow
        );
        assert_eq!(
            spec.envoy
                .as_ref()
                .expect("envoy")
                .server_header_transformation,
            ServerHeaderTransformation::PassThrough
        );
        let grpc = spec
            .http_options
            .as_ref()
            .and_then(|h| h.grpc_web_translation.as_ref())
            .expect("grpc-web translation");
        assert!(grpc.enabled, "enabled defaults to true");

        let logs = &spec.telemetry.as_ref().expect("telemetry").access_logs;
        assert_eq!(logs[0].format, AccessLogFormat::Json);
        assert_eq!(logs[0].json.len(), 2);
        assert_eq!(
            logs[0].targets,
            [AccessLogTarget::Http, AccessLogTarget::Tcp]
        );
        assert_eq!(logs[1], AccessLog::new(AccessLogFormat::Text));
        assert_eq!(logs[1].json["response_code"], "%RESPONSE_CODE%");
        assert!(logs[1].text.starts_with("[%START_TIME%] \""));
    }

    #[test]
    fn service_defaults_match_the_api_server() {
        let service: ServiceConfig = serde_json::from_str("{}").expect("empty service parses");
        assert_eq!(service, ServiceConfig::default());
        assert_eq!(service.external_traffic_policy, "Cluster");
        assert_eq!(service.r#type, GatewayServiceType::LoadBalancer);
        let json = serde_json::to_value(&service).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "externalTrafficPolicy": "Cluster",
                "loadBalancerSourceRangesPolicy": "Allow",
                "type": "LoadBalancer",
            })
        );
        let envoy: EnvoyConfig = serde_json::from_str("{}").expect("empty envoy parses");
        assert_eq!(
            envoy.server_header_transformation,
            ServerHeaderTransformation::Overwrite
        );
    }

    #[test]
    fn round_trips_without_nulls() {
        let config: CiliumGatewayClassConfig =
            serde_yaml::from_str(MANIFEST).expect("manifest parses");
        let json = serde_json::to_value(&config).expect("serializes");
        assert!(!json.to_string().contains("null"), "{json}");
        assert_eq!(
            json["spec"]["envoy"]["serverHeaderTransformation"],
            "PASS_THROUGH"
        );
        assert_eq!(json["spec"]["telemetry"]["accessLogs"][0]["format"], "JSON");
        let back: CiliumGatewayClassConfig = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, config);
    }

    #[test]
    fn default_access_log_values_match_the_schema() {
        let crd =
            serde_json::to_value(<CiliumGatewayClassConfig as kube::CustomResourceExt>::crd())
                .expect("crd serializes");
        let log = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
            ["telemetry"]["properties"]["accessLogs"]["items"]["properties"];
        assert_eq!(log["text"]["default"], default_text());
        assert_eq!(
            log["json"]["default"],
            serde_json::to_value(default_json_fields()).expect("serializes")
        );
        assert_eq!(log["targets"]["default"], serde_json::json!(["HTTP"]));
    }
}
