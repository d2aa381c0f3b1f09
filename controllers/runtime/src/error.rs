//! Every way the runtime harness can fail, named for the operation that failed.

use std::net::SocketAddr;

/// A fixed, low-cardinality label for an error, used as the `result` label of
/// `ferrule_reconcile_total` and similar counters. Feature crates implement it for their own
/// error enums so [`crate::metrics::ReconcileTimer::observe`] can label failures.
pub trait MetricLabel {
    /// The label value; never derived from object names or messages.
    fn metric_label(&self) -> &'static str;
}

/// Errors of the runtime harness.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command-line flag or its environment fallback has an unusable value.
    #[error("invalid --{flag}: {reason}")]
    ValidateArgs { flag: &'static str, reason: String },

    /// `--log-level` is not a valid tracing filter directive.
    #[error("invalid log filter {filter:?}")]
    ParseLogFilter {
        filter: String,
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },

    /// A global tracing subscriber was already installed (telemetry initialised twice).
    #[error("installing the tracing subscriber")]
    InstallSubscriber(#[source] tracing_subscriber::util::TryInitError),

    /// The OTLP span exporter could not be built from the OTEL_* environment.
    #[error("building the OTLP trace exporter")]
    BuildTraceExporter(#[source] opentelemetry_otlp::ExporterBuildError),

    /// The kubeconfig named by --kubeconfig / KUBECONFIG could not be read or used.
    #[error("loading kubeconfig {path:?}")]
    LoadKubeconfig {
        path: String,
        #[source]
        source: kube::config::KubeconfigError,
    },

    /// Neither a kubeconfig nor an in-cluster service account was usable.
    #[error("inferring the Kubernetes client configuration")]
    InferKubeConfig(#[source] kube::config::InferConfigError),

    /// The kube client stack could not be built from the configuration (TLS, auth, proxy).
    #[error("building the Kubernetes client")]
    BuildClient(#[source] kube::Error),

    /// SIGTERM / SIGINT handlers could not be installed.
    #[error("installing the shutdown signal handlers")]
    InstallSignalHandler(#[source] std::io::Error),

    /// The health/metrics listener could not be bound.
    #[error("binding the HTTP server to {addr}")]
    BindHttp {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },

    /// The health/metrics server stopped with an error.
    #[error("serving HTTP")]
    ServeHttp(#[source] std::io::Error),
}

impl MetricLabel for Error {
    fn metric_label(&self) -> &'static str {
        match self {
            Error::ValidateArgs { .. } => "validate_args",
            Error::ParseLogFilter { .. } => "parse_log_filter",
            Error::InstallSubscriber(_) => "install_subscriber",
            Error::BuildTraceExporter(_) => "build_trace_exporter",
            Error::LoadKubeconfig { .. } => "load_kubeconfig",
            Error::InferKubeConfig(_) => "infer_kube_config",
            Error::BuildClient(_) => "build_client",
            Error::InstallSignalHandler(_) => "install_signal_handler",
            Error::BindHttp { .. } => "bind_http",
            Error::ServeHttp(_) => "serve_http",
        }
    }
}

impl Error {
    /// Shorthand for [`MetricLabel::metric_label`] without importing the trait.
    pub fn metric_label(&self) -> &'static str {
        MetricLabel::metric_label(self)
    }
}
