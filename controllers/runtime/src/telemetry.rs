//! Logs (text or JSON on stderr) and, when the standard OTEL_* environment asks for it,
//! OpenTelemetry trace export over OTLP/HTTP (protobuf).

use std::io::IsTerminal as _;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

use crate::config::LogFormat;
use crate::error::Error;

/// Why traces are not exported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceExportOff {
    /// Neither OTEL_EXPORTER_OTLP_TRACES_ENDPOINT nor OTEL_EXPORTER_OTLP_ENDPOINT is set.
    NoEndpoint,
    /// OTEL_SDK_DISABLED=true.
    SdkDisabled,
    /// OTEL_TRACES_EXPORTER=none.
    ExporterNone,
    /// OTEL_TRACES_EXPORTER names only exporters other than `otlp`.
    UnsupportedExporter(String),
}

/// Whether and how traces are exported, decided from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceExport {
    /// Export over OTLP/HTTP; the exporter reads endpoint, headers and timeout from OTEL_*.
    Otlp {
        /// The `service.name` resource attribute.
        service_name: String,
    },
    /// No export.
    Off(TraceExportOff),
}

/// Decides trace export from environment variables (`env` looks one up), following the
/// OpenTelemetry SDK environment specification: empty values count as unset, export needs an
/// endpoint, and OTEL_SDK_DISABLED / OTEL_TRACES_EXPORTER can switch it off.
pub fn trace_export_from_env(env: impl Fn(&str) -> Option<String>, binary: &str) -> TraceExport {
    let var = |name: &str| {
        env(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return TraceExport::Off(TraceExportOff::SdkDisabled);
    }
    if let Some(exporters) = var("OTEL_TRACES_EXPORTER") {
        let mut names = exporters
            .split(',')
            .map(|name| name.trim().to_ascii_lowercase());
        if !names.clone().any(|name| name == "otlp") {
            return TraceExport::Off(if names.all(|name| name == "none") {
                TraceExportOff::ExporterNone
            } else {
                TraceExportOff::UnsupportedExporter(exporters)
            });
        }
    }
    if var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_none()
        && var("OTEL_EXPORTER_OTLP_ENDPOINT").is_none()
    {
        return TraceExport::Off(TraceExportOff::NoEndpoint);
    }
    TraceExport::Otlp {
        service_name: var("OTEL_SERVICE_NAME").unwrap_or_else(|| binary.to_owned()),
    }
}

/// The installed logging and tracing pipeline; [`Telemetry::shutdown`] flushes pending spans.
#[derive(Debug)]
#[must_use = "dropping Telemetry without shutdown() may lose the last spans"]
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Installs the global tracing subscriber: `filter` (RUST_LOG syntax) applies to logs and
    /// spans alike. Call once per process, inside a Tokio runtime (the span exporter runs on it).
    pub fn init(binary: &str, format: LogFormat, filter: &str) -> Result<Self, Error> {
        let env_filter = EnvFilter::try_new(filter).map_err(|source| Error::ParseLogFilter {
            filter: filter.to_owned(),
            source,
        })?;
        let export = trace_export_from_env(|name| std::env::var(name).ok(), binary);
        let tracer_provider = match &export {
            TraceExport::Otlp { service_name } => Some(otlp_tracer_provider(service_name)?),
            TraceExport::Off(_) => None,
        };
        // Colours only for a person at a terminal; `kubectl logs` would show escape codes.
        let ansi = std::io::stderr().is_terminal();
        let text = (format == LogFormat::Text)
            .then(|| fmt::layer().with_ansi(ansi).with_writer(std::io::stderr));
        let json = (format == LogFormat::Json).then(|| {
            fmt::layer()
                .json()
                .flatten_event(true)
                .with_writer(std::io::stderr)
        });
        let spans = tracer_provider.as_ref().map(|provider| {
            tracing_opentelemetry::layer()
                .with_tracer(provider.tracer(binary.to_owned()))
                // The exporter's own HTTP calls must not become spans to export, or every
                // export would schedule another one.
                .with_filter(filter_fn(|meta| !is_exporter_internal(meta.target())))
        });
        tracing_subscriber::registry()
            .with(env_filter)
            .with(text)
            .with(json)
            .with(spans)
            .try_init()
            .map_err(Error::InstallSubscriber)?;
        match export {
            TraceExport::Otlp { service_name } => {
                tracing::info!(service_name, "exporting traces over OTLP/HTTP")
            }
            TraceExport::Off(reason) => tracing::debug!(?reason, "trace export off"),
        }
        Ok(Self { tracer_provider })
    }

    /// Exports the spans still buffered and stops the exporter.
    pub async fn shutdown(self) {
        let Some(provider) = self.tracer_provider else {
            return;
        };
        // The batch processor's shutdown blocks until its Tokio task has exported, so it must
        // not run on a runtime worker.
        match tokio::task::spawn_blocking(move || provider.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "flushing traces"),
            Err(error) => tracing::warn!(%error, "flushing traces"),
        }
    }
}

fn otlp_tracer_provider(service_name: &str) -> Result<SdkTracerProvider, Error> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()
        .map_err(Error::BuildTraceExporter)?;
    let processor =
        BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio).build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    Ok(provider)
}

fn is_exporter_internal(target: &str) -> bool {
    ["opentelemetry", "hyper", "reqwest", "h2", "tower"]
        .iter()
        .any(|prefix| target.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn decide(vars: &[(&str, &str)]) -> TraceExport {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        trace_export_from_env(|name| env.get(name).cloned(), "ferrule-lbipam")
    }

    fn otlp(service_name: &str) -> TraceExport {
        TraceExport::Otlp {
            service_name: service_name.to_owned(),
        }
    }

    const ENDPOINT: (&str, &str) = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");

    #[test]
    fn off_without_an_endpoint() {
        assert_eq!(decide(&[]), TraceExport::Off(TraceExportOff::NoEndpoint));
        assert_eq!(
            decide(&[
                ("OTEL_SERVICE_NAME", "x"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "  ")
            ]),
            TraceExport::Off(TraceExportOff::NoEndpoint),
            "an empty endpoint counts as unset"
        );
    }

    #[test]
    fn on_with_either_endpoint_named_after_the_binary() {
        assert_eq!(decide(&[ENDPOINT]), otlp("ferrule-lbipam"));
        assert_eq!(
            decide(&[(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://c:4318/v1/traces"
            )]),
            otlp("ferrule-lbipam")
        );
    }

    #[test]
    fn service_name_comes_from_the_environment_first() {
        assert_eq!(
            decide(&[ENDPOINT, ("OTEL_SERVICE_NAME", "lbipam-prod")]),
            otlp("lbipam-prod")
        );
        assert_eq!(
            decide(&[ENDPOINT, ("OTEL_SERVICE_NAME", "")]),
            otlp("ferrule-lbipam")
        );
    }

    #[test]
    fn sdk_disabled_wins() {
        assert_eq!(
            decide(&[ENDPOINT, ("OTEL_SDK_DISABLED", "TRUE")]),
            TraceExport::Off(TraceExportOff::SdkDisabled)
        );
        assert_eq!(
            decide(&[ENDPOINT, ("OTEL_SDK_DISABLED", "false")]),
            otlp("ferrule-lbipam")
        );
    }

    #[test]
    fn traces_exporter_selects() {
        assert_eq!(
            decide(&[ENDPOINT, ("OTEL_TRACES_EXPORTER", "none")]),
            TraceExport::Off(TraceExportOff::ExporterNone)
        );
        assert_eq!(
            decide(&[ENDPOINT, ("OTEL_TRACES_EXPORTER", "zipkin")]),
            TraceExport::Off(TraceExportOff::UnsupportedExporter("zipkin".to_owned()))
        );
        assert_eq!(
            decide(&[ENDPOINT, ("OTEL_TRACES_EXPORTER", "otlp")]),
            otlp("ferrule-lbipam")
        );
        assert_eq!(
            decide(&[ENDPOINT, ("OTEL_TRACES_EXPORTER", "console, otlp")]),
            otlp("ferrule-lbipam")
        );
    }

    #[test]
    fn exporter_internals_are_not_traced() {
        assert!(is_exporter_internal("hyper_util::client::legacy"));
        assert!(is_exporter_internal("opentelemetry_sdk"));
        assert!(!is_exporter_internal("ferrule_lbipam::reconcile"));
        assert!(!is_exporter_internal("kube_client::client"));
    }
}
