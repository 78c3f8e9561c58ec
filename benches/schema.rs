//! Structured output costs: converting a large JSON Schema to Gemini's OpenAPI subset, and
//! validating a ~10 KB reply against a compiled schema (what `SchemaValidationLayer` does per
//! reply with `enforce_validation`).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use llm_tower::gemini::translate::schema::{SchemaOptions, to_json_schema, to_openapi_schema};
use llm_tower::layers::validate::{ValidatorCache, validate_json};
use serde_json::{Map, Value, json};

/// Groups at the top level; each is an object of `FIELDS_PER_GROUP` properties.
const GROUPS: usize = 10;
const FIELDS_PER_GROUP: usize = 9;

/// A nested schema with 100 properties (10 groups + 10 × 9 fields): strings, numbers with
/// bounds, string enums, `anyOf`-with-null, arrays of `$defs` refs, nested objects, formats.
fn large_schema() -> Value {
    let mut groups = Map::new();
    for group in 0..GROUPS {
        let mut fields = Map::new();
        for field in 0..FIELDS_PER_GROUP {
            let name = format!("field_{group}_{field}");
            let schema = match field {
                0 => json!({"type": "string", "description": "A name.", "minLength": 1}),
                1 => json!({"type": "integer", "minimum": 0, "maximum": 1000}),
                2 => json!({"type": "number", "exclusiveMinimum": 0}),
                3 => json!({"type": "string", "enum": ["low", "medium", "high"]}),
                4 => {
                    json!({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]})
                }
                5 => json!({"type": "array", "items": {"$ref": "#/$defs/Tag"}, "maxItems": 64}),
                6 => json!({"$ref": "#/$defs/Address"}),
                7 => json!({"type": ["boolean", "null"]}),
                _ => json!({"type": "array", "items": {"type": "string", "format": "uuid"}}),
            };
            fields.insert(name, schema);
        }
        let required: Vec<Value> = fields.keys().take(4).map(|k| json!(k)).collect();
        groups.insert(
            format!("group_{group}"),
            json!({
                "type": "object",
                "properties": fields,
                "required": required,
                "additionalProperties": false
            }),
        );
    }
    let required: Vec<Value> = groups.keys().map(|k| json!(k)).collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Report",
        "type": "object",
        "properties": groups,
        "required": required,
        "additionalProperties": false,
        "$defs": {
            "Tag": {
                "type": "object",
                "properties": {
                    "label": {"type": "string", "maxLength": 40},
                    "weight": {"anyOf": [{"type": "number"}, {"type": "null"}]},
                    "kind": {"const": "tag"}
                },
                "required": ["label", "weight"]
            },
            "Address": {
                "type": "object",
                "properties": {
                    "street": {"type": "string"},
                    "city": {"type": "string"},
                    "country": {"type": "string", "enum": ["DE", "FR", "US", "JP"]},
                    "zip": {"anyOf": [{"type": "string", "pattern": "^[0-9]{5}$"}, {"type": "null"}]}
                },
                "required": ["street", "city", "country"]
            }
        }
    })
}

/// A reply of about 10 KB that matches [`large_schema`].
fn large_reply() -> String {
    let mut groups = Map::new();
    for group in 0..GROUPS {
        let tags: Vec<Value> = (0..15)
            .map(|tag| json!({"label": format!("tag-{group}-{tag}"), "weight": tag as f64 / 2.0, "kind": "tag"}))
            .collect();
        groups.insert(
            format!("group_{group}"),
            json!({
                format!("field_{group}_0"): format!("Item number {group}"),
                format!("field_{group}_1"): group * 7,
                format!("field_{group}_2"): 1.25 + group as f64,
                format!("field_{group}_3"): "medium",
                format!("field_{group}_4"): "2025-01-02T03:04:05Z",
                format!("field_{group}_5"): tags,
                format!("field_{group}_6"): {"street": "1 Main St", "city": "Springfield", "country": "US", "zip": "12345"},
                format!("field_{group}_7"): null,
                format!("field_{group}_8"): ["0b7e3c1e-8f4a-4b5d-9c2a-1f2e3d4c5b6a", "1c8f4d2f-9a5b-4c6e-8d3b-2a3f4e5d6c7b"]
            }),
        );
    }
    serde_json::to_string(&Value::Object(groups)).expect("serializes")
}

fn convert(c: &mut Criterion) {
    let schema = large_schema();
    let ordering = SchemaOptions {
        property_ordering: true,
    };
    to_openapi_schema(&schema, ordering).expect("the bench schema converts");
    let mut group = c.benchmark_group("schema_convert_100_properties");
    group.bench_function("to_openapi_schema", |b| {
        b.iter(|| to_openapi_schema(black_box(&schema), ordering).expect("converts"))
    });
    group.bench_function("to_json_schema", |b| {
        b.iter(|| to_json_schema(black_box(&schema)).expect("converts"))
    });
    group.finish();
}

fn validate(c: &mut Criterion) {
    let schema = large_schema();
    let reply = large_reply();
    let cache = ValidatorCache::default();
    let validator = cache
        .get_or_compile(&schema)
        .expect("the bench schema compiles");
    let value: Value = serde_json::from_str(&reply).expect("JSON");
    assert!(validator.is_valid(&value), "the bench reply matches");
    assert!(
        (8_000..14_000).contains(&reply.len()),
        "{} bytes",
        reply.len()
    );

    let mut group = c.benchmark_group("schema_validate_10kb");
    group.throughput(Throughput::Bytes(reply.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("is_valid_parsed", reply.len()),
        &value,
        |b, value| b.iter(|| validator.is_valid(black_box(value))),
    );
    group.bench_with_input(
        BenchmarkId::new("parse_and_validate_json", reply.len()),
        &reply,
        |b, reply| b.iter(|| validate_json(&validator, black_box(reply)).expect("valid")),
    );
    group.bench_function("cache_hit", |b| {
        b.iter(|| cache.get_or_compile(black_box(&schema)).expect("cached"))
    });
    group.finish();
}

criterion_group!(benches, convert, validate);
criterion_main!(benches);
