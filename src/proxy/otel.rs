//! OpenTelemetry export (cargo feature `otel`): the proxy's `request` spans, with their
//! fields, go to an OTLP collector over HTTP (protobuf), configured by the standard
//! variables: `OTEL_EXPORTER_OTLP_ENDPOINT` (e.g. `http://localhost:4318`; without it
//! nothing is exported) and `OTEL_SERVICE_NAME` (default `llm-tower`).
//!
//! A request span is the child of the client's `traceparent`, and the `traceparent` sent
//! upstream names the request span, so one trace crosses the client, the proxy and Gemini.

use std::sync::OnceLock;

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use tracing::Subscriber;
use tracing_opentelemetry::{OpenTelemetryLayer, OpenTelemetrySpanExt};
use tracing_subscriber::registry::LookupSpan;

use super::trace_parent::TraceParent;

/// The provider, kept to flush it at exit.
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// The tracing layer exporting spans, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set and the
/// exporter could be built (a failure is reported on stderr and leaves export off).
pub fn layer<S>() -> Option<OpenTelemetryLayer<S, Tracer>>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").filter(|endpoint| !endpoint.is_empty())?;
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
    {
        Ok(exporter) => exporter,
        Err(error) => {
            eprintln!("llm-tower: OpenTelemetry export off: {error}");
            return None;
        }
    };
    let service = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "llm-tower".to_owned());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build();
    let tracer = provider.tracer("llm-tower");
    let _ = PROVIDER.set(provider);
    Some(tracing_opentelemetry::layer().with_tracer(tracer))
}

/// Whether spans are exported (a [`layer`] was made).
pub fn exporting() -> bool {
    PROVIDER.get().is_some()
}

/// Sends the spans not yet exported (call before exiting).
pub fn shutdown() {
    if let Some(provider) = PROVIDER.get() {
        let _ = provider.shutdown();
    }
}

/// Makes `span` the child of the client's trace context, and returns the context to send
/// upstream (the span's own ids), or `None` when spans are not exported.
pub(crate) fn link(span: &tracing::Span, client: Option<&TraceParent>) -> Option<TraceParent> {
    if let Some(client) = client {
        let (trace_id, parent_id, flags) = client.parts();
        let remote = SpanContext::new(
            TraceId::from_bytes(trace_id.to_be_bytes()),
            SpanId::from_bytes(parent_id.to_be_bytes()),
            TraceFlags::new(flags),
            true,
            TraceState::default(),
        );
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }
    let context = span.context();
    let own = context.span().span_context().clone();
    own.is_valid().then(|| {
        TraceParent::from_parts(
            u128::from_be_bytes(own.trace_id().to_bytes()),
            u64::from_be_bytes(own.span_id().to_bytes()),
            own.trace_flags().to_u8(),
        )
    })
}
