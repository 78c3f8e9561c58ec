use serde_json::{Map, json};

use super::types::TUPLE_NOTE;
use super::*;

fn convert(schema: Value) -> Value {
    to_openapi_schema(&schema, SchemaOptions::default()).unwrap()
}

fn ordered(schema: Value) -> Value {
    to_openapi_schema(
        &schema,
        SchemaOptions {
            property_ordering: true,
        },
    )
    .unwrap()
}

fn fails(schema: Value) -> SchemaError {
    to_openapi_schema(&schema, SchemaOptions::default()).unwrap_err()
}

/// Converts `schema` as the single property `p` and returns what `p` became.
fn property(schema: Value) -> Value {
    let converted = convert(json!({"type": "object", "properties": {"p": schema}}));
    converted["properties"]["p"].clone()
}

// Rule 1: references are inlined.

#[test]
fn ref_to_defs_is_inlined() {
    let schema = json!({
        "type": "object",
        "properties": {"pet": {"$ref": "#/$defs/Pet"}},
        "$defs": {"Pet": {"type": "string"}}
    });
    assert_eq!(
        convert(schema),
        json!({"type": "OBJECT", "properties": {"pet": {"type": "STRING"}}})
    );
}

#[test]
fn ref_to_definitions_is_inlined() {
    let schema = json!({
        "properties": {"n": {"$ref": "#/definitions/N"}},
        "definitions": {"N": {"type": "integer"}}
    });
    assert_eq!(
        convert(schema),
        json!({"type": "OBJECT", "properties": {"n": {"type": "INTEGER"}}})
    );
}

#[test]
fn ref_pointer_into_nested_defs_is_inlined() {
    let schema = json!({
        "properties": {
            "a": {"$defs": {"X": {"type": "boolean"}}, "type": "array", "items": {"$ref": "#/properties/a/$defs/X"}},
            "b": {"$ref": "#/properties/a/$defs/X"}
        }
    });
    assert_eq!(
        convert(schema),
        json!({"type": "OBJECT", "properties": {
            "a": {"type": "ARRAY", "items": {"type": "BOOLEAN"}},
            "b": {"type": "BOOLEAN"}
        }})
    );
}

#[test]
fn ref_by_name_finds_the_nearest_enclosing_defs() {
    let schema = json!({
        "$defs": {"X": {"type": "string"}},
        "properties": {
            "a": {"$defs": {"Y": {"type": "number"}}, "properties": {"y": {"$ref": "#/$defs/Y"}, "x": {"$ref": "#/$defs/X"}}}
        }
    });
    assert_eq!(
        convert(schema),
        json!({"type": "OBJECT", "properties": {"a": {"type": "OBJECT", "properties": {
            "y": {"type": "NUMBER"}, "x": {"type": "STRING"}
        }}}})
    );
}

#[test]
fn ref_escapes_are_decoded() {
    let schema = json!({
        "properties": {"a": {"$ref": "#/$defs/a~1b%20c"}},
        "$defs": {"a/b c": {"type": "string"}}
    });
    assert_eq!(
        convert(schema)["properties"]["a"],
        json!({"type": "STRING"})
    );
}

#[test]
fn keys_beside_ref_are_merged_over_the_target() {
    let schema = json!({
        "properties": {"pet": {"$ref": "#/$defs/Pet", "description": "The pet to adopt.", "title": "Pet"}},
        "$defs": {"Pet": {"title": "Animal", "description": "An animal.", "type": "object",
                          "properties": {"name": {"type": "string"}}, "required": ["name"]}}
    });
    assert_eq!(
        convert(schema)["properties"]["pet"],
        json!({"title": "Pet", "description": "The pet to adopt.", "type": "OBJECT",
               "properties": {"name": {"type": "STRING"}}, "required": ["name"]})
    );
}

#[test]
fn a_definition_can_be_used_many_times() {
    let schema = json!({
        "properties": {"a": {"$ref": "#/$defs/S"}, "b": {"type": "array", "items": {"$ref": "#/$defs/S"}}},
        "$defs": {"S": {"type": "string"}}
    });
    assert_eq!(
        convert(schema)["properties"],
        json!({"a": {"type": "STRING"}, "b": {"type": "ARRAY", "items": {"type": "STRING"}}})
    );
}

// Rule 2: recursion and unresolvable references are errors.

#[test]
fn recursion_is_an_error_naming_the_ref() {
    let schema = json!({
        "properties": {"root": {"$ref": "#/$defs/Node"}},
        "$defs": {"Node": {"type": "object", "properties": {
            "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
        }}}
    });
    let error = fails(schema);
    assert_eq!(error.path, "#/$defs/Node/properties/children/items");
    assert!(
        error
            .message
            .starts_with("recursive schema: `$ref` \"#/$defs/Node\""),
        "{error}"
    );
    assert!(
        error
            .message
            .contains("cannot be expressed in Gemini's schema subset")
    );
}

#[test]
fn indirect_recursion_is_an_error() {
    let schema = json!({
        "$ref": "#/$defs/A",
        "$defs": {
            "A": {"properties": {"b": {"$ref": "#/$defs/B"}}},
            "B": {"anyOf": [{"$ref": "#/$defs/A"}, {"type": "null"}]}
        }
    });
    let error = fails(schema);
    assert_eq!(error.path, "#/$defs/B/anyOf/0");
    assert!(error.message.contains("\"#/$defs/A\""));
}

#[test]
fn ref_to_the_root_is_recursive() {
    let error = fails(json!({"properties": {"next": {"$ref": "#"}}}));
    assert_eq!(error.path, "#/properties/next");
    assert!(error.message.starts_with("recursive schema: `$ref` \"#\""));
}

#[test]
fn ref_to_an_enclosing_property_is_recursive() {
    let error =
        fails(json!({"properties": {"a": {"type": "array", "items": {"$ref": "#/properties/a"}}}}));
    assert_eq!(error.path, "#/properties/a/items");
}

#[test]
fn external_anchor_and_dangling_refs_are_errors() {
    let error = fails(json!({"properties": {"a": {"$ref": "https://example.com/a.json"}}}));
    assert_eq!(error.path, "#/properties/a/$ref");
    assert!(
        error
            .message
            .contains("\"https://example.com/a.json\" points outside this schema")
    );
    let error = fails(json!({"properties": {"a": {"$ref": "#node"}}}));
    assert!(error.message.contains("anchor"), "{error}");
    let error = fails(json!({"properties": {"a": {"$ref": "#/$defs/Missing"}}}));
    assert_eq!(
        error.message,
        "`$ref` \"#/$defs/Missing\" points nowhere in this schema"
    );
    assert_eq!(fails(json!({"$ref": 3})).path, "#/$ref");
}

// Rule 3: guards.

#[test]
fn deep_nesting_is_an_error() {
    let mut schema = json!({"type": "string"});
    for _ in 0..70 {
        schema = json!({"type": "array", "items": schema});
    }
    let error = fails(schema);
    assert!(error.message.contains("deeper than 64"), "{error}");
}

#[test]
fn diamond_shaped_reuse_is_capped() {
    let mut defs = Map::new();
    for level in 0..20 {
        let next = format!("#/$defs/D{}", level + 1);
        defs.insert(
            format!("D{level}"),
            json!({"properties": {"l": {"$ref": next}, "r": {"$ref": next}}}),
        );
    }
    defs.insert("D20".to_owned(), json!({"type": "string"}));
    let schema = json!({"$ref": "#/$defs/D0", "$defs": defs});
    let error = fails(schema);
    assert!(error.message.contains("more than 100000 nodes"), "{error}");
}

// Rule 4: anyOf / oneOf.

#[test]
fn null_member_becomes_nullable_and_one_member_collapses() {
    let schema = json!({"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}], "default": null, "title": "Nick"});
    assert_eq!(
        property(schema),
        json!({"type": "STRING", "maxLength": 5, "nullable": true, "default": null, "title": "Nick"})
    );
}

#[test]
fn one_of_becomes_any_of() {
    let schema = json!({"oneOf": [{"type": "string"}, {"type": "integer"}]});
    assert_eq!(
        property(schema),
        json!({"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]})
    );
}

#[test]
fn several_members_with_null_are_each_nullable() {
    let schema = json!({"anyOf": [{"type": "string"}, {"type": "null"}, {"type": "number"}]});
    assert_eq!(
        property(schema),
        json!({"anyOf": [{"type": "STRING", "nullable": true}, {"type": "NUMBER", "nullable": true}]})
    );
}

#[test]
fn string_constant_members_become_one_enum() {
    let schema = json!({"description": "Priority.", "oneOf": [
        {"description": "Ship today.", "type": "string", "const": "urgent"},
        {"type": "string", "enum": ["normal", "low"]},
        {"const": "never"},
        {"type": "null"}
    ]});
    assert_eq!(
        property(schema),
        json!({"description": "Priority. \"urgent\": Ship today.", "type": "STRING",
               "enum": ["urgent", "normal", "low", "never"], "nullable": true})
    );
    let mixed = json!({"anyOf": [{"const": "a"}, {"const": 1}]});
    assert_eq!(
        property(mixed),
        json!({"anyOf": [{"type": "STRING", "enum": ["a"]}, {"type": "INTEGER", "description": "Must be exactly 1."}]})
    );
}

#[test]
fn only_null_members_give_type_null() {
    assert_eq!(
        property(json!({"anyOf": [{"type": "null"}]})),
        json!({"type": "NULL"})
    );
}

#[test]
fn any_of_with_one_of_or_empty_is_an_error() {
    let error = fails(json!({"anyOf": [{"type": "string"}], "oneOf": [{"type": "string"}]}));
    assert!(error.message.contains("cannot be combined"));
    assert_eq!(
        fails(json!({"properties": {"a": {"anyOf": []}}})).path,
        "#/properties/a/anyOf"
    );
    assert_eq!(
        fails(json!({"oneOf": [{"type": "string"}, 7]})).path,
        "#/oneOf/1"
    );
}

// Rule 5: anyOf stands alone.

#[test]
fn keys_around_any_of_go_into_every_member() {
    let schema = json!({
        "description": "Where to ship.",
        "title": "Destination",
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "anyOf": [
            {"required": ["a"], "title": "ByA", "description": "Use a."},
            {"required": ["b"]}
        ]
    });
    let props = json!({"a": {"type": "STRING"}, "b": {"type": "STRING"}});
    assert_eq!(
        property(schema),
        json!({"anyOf": [
            {"description": "Where to ship. Use a.", "title": "ByA", "type": "OBJECT", "properties": props, "required": ["a"]},
            {"description": "Where to ship.", "title": "Destination", "type": "OBJECT", "properties": props, "required": ["b"]}
        ]})
    );
}

#[test]
fn nested_unions_are_flattened() {
    let schema = json!({"anyOf": [{"anyOf": [{"type": "string"}, {"type": "integer"}]}, {"type": "boolean"}]});
    assert_eq!(
        property(schema),
        json!({"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}, {"type": "BOOLEAN"}]})
    );
}

// Rule 6: allOf.

#[test]
fn all_of_with_one_member_is_merged() {
    let schema = json!({
        "properties": {"c": {"description": "The customer.", "allOf": [{"$ref": "#/definitions/C"}]}},
        "definitions": {"C": {"description": "A customer.", "type": "object", "properties": {"id": {"type": "integer"}}}}
    });
    assert_eq!(
        convert(schema)["properties"]["c"],
        json!({"description": "The customer.", "type": "OBJECT", "properties": {"id": {"type": "INTEGER"}}})
    );
}

#[test]
fn all_of_objects_are_merged() {
    let schema = json!({"allOf": [
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        {"properties": {"b": {"type": "integer"}}, "required": ["b", "a"]}
    ]});
    assert_eq!(
        ordered(schema),
        json!({"type": "OBJECT", "properties": {"a": {"type": "STRING"}, "b": {"type": "INTEGER"}},
               "required": ["a", "b"], "propertyOrdering": ["a", "b"]})
    );
}

#[test]
fn all_of_keeps_nullable_only_if_all_agree() {
    let schema = json!({"allOf": [{"type": "string", "nullable": true}, {"nullable": false}]});
    assert_eq!(
        property(schema),
        json!({"type": "STRING", "nullable": false})
    );
}

#[test]
fn conflicting_all_of_is_an_error() {
    let error =
        fails(json!({"properties": {"a": {"allOf": [{"type": "string"}, {"type": "integer"}]}}}));
    assert_eq!(error.path, "#/properties/a");
    assert_eq!(
        error.message,
        "combined schemas disagree on `type`: \"STRING\" and \"INTEGER\""
    );
    let error = fails(json!({"allOf": [
        {"properties": {"a": {"type": "string"}}},
        {"properties": {"a": {"type": "integer"}}}
    ]}));
    assert!(error.message.contains("property `a` in two different ways"));
    let error = fails(
        json!({"allOf": [{"anyOf": [{"type": "string"}, {"type": "integer"}]},
                                       {"anyOf": [{"type": "string"}, {"type": "boolean"}]}]}),
    );
    assert!(error.message.contains("two unions"));
}

// Rule 7: types.

#[test]
fn types_are_upper_cased() {
    for (name, gemini) in [
        ("string", "STRING"),
        ("number", "NUMBER"),
        ("integer", "INTEGER"),
        ("boolean", "BOOLEAN"),
        ("object", "OBJECT"),
        ("null", "NULL"),
        ("STRING", "STRING"),
    ] {
        assert_eq!(property(json!({"type": name}))["type"], json!(gemini));
    }
}

#[test]
fn type_with_null_becomes_nullable() {
    assert_eq!(
        property(json!({"type": ["string", "null"]})),
        json!({"type": "STRING", "nullable": true})
    );
    assert_eq!(property(json!({"type": ["null"]})), json!({"type": "NULL"}));
}

#[test]
fn several_types_become_any_of_with_their_keywords() {
    let schema = json!({
        "type": ["string", "array", "null"], "description": "Tags.",
        "maxLength": 10, "items": {"type": "string"}, "maxItems": 3
    });
    assert_eq!(
        property(schema),
        json!({"anyOf": [
            {"type": "STRING", "maxLength": 10, "description": "Tags.", "nullable": true},
            {"type": "ARRAY", "items": {"type": "STRING"}, "maxItems": 3, "description": "Tags.", "nullable": true}
        ]})
    );
}

#[test]
fn bad_types_are_errors() {
    let error = fails(json!({"properties": {"a": {"type": "text"}}}));
    assert_eq!(error.path, "#/properties/a/type");
    assert_eq!(error.message, "unknown type \"text\"");
    assert_eq!(fails(json!({"type": []})).path, "#/type");
    assert_eq!(fails(json!({"type": 3})).path, "#/type");
}

// Rules 8 and 9: implied types and items.

#[test]
fn typeless_nodes_get_a_type() {
    assert_eq!(
        property(json!({"properties": {"x": {"type": "string"}}}))["type"],
        json!("OBJECT")
    );
    assert_eq!(
        property(json!({"items": {"type": "string"}}))["type"],
        json!("ARRAY")
    );
    assert_eq!(property(json!({"minimum": 1}))["type"], json!("NUMBER"));
    assert_eq!(
        property(json!({"title": "Anything"})),
        json!({"title": "Anything", "type": "STRING"})
    );
    assert_eq!(property(json!(true)), json!({"type": "STRING"}));
}

#[test]
fn typeless_root_is_an_object() {
    assert_eq!(convert(json!({})), json!({"type": "OBJECT"}));
    assert_eq!(convert(json!(true)), json!({"type": "OBJECT"}));
    assert_eq!(
        convert(json!({"items": {"type": "string"}}))["type"],
        json!("ARRAY")
    );
}

#[test]
fn arrays_without_item_schema_hold_strings() {
    let expected = json!({"type": "ARRAY", "items": {"type": "STRING"}});
    assert_eq!(property(json!({"type": "array"})), expected);
    assert_eq!(property(json!({"type": "array", "items": {}})), expected);
}

// Rule 10: tuples.

#[test]
fn tuples_become_any_of_items() {
    let schema = json!({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}],
                        "minItems": 2, "maxItems": 2});
    assert_eq!(
        property(schema),
        json!({"type": "ARRAY", "items": {"anyOf": [{"type": "INTEGER"}, {"type": "STRING"}]},
               "minItems": 2, "maxItems": 2, "description": TUPLE_NOTE})
    );
}

#[test]
fn tuples_of_one_type_need_no_note() {
    let schema = json!({"type": "array", "items": [{"type": "number"}, {"type": "number"}], "additionalItems": false});
    assert_eq!(
        property(schema),
        json!({"type": "ARRAY", "items": {"type": "NUMBER"}})
    );
}

#[test]
fn tuple_rest_items_are_an_alternative() {
    let schema =
        json!({"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "integer"}});
    assert_eq!(
        property(schema)["items"],
        json!({"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]})
    );
}

// Rules 11 and 12: const and enum.

#[test]
fn string_const_becomes_a_one_value_enum() {
    assert_eq!(
        property(json!({"const": "web"})),
        json!({"type": "STRING", "enum": ["web"]})
    );
    assert_eq!(
        property(json!({"type": "string", "const": "web"})),
        json!({"type": "STRING", "enum": ["web"]})
    );
}

#[test]
fn null_in_enum_becomes_nullable() {
    assert_eq!(
        property(json!({"enum": ["a", "b", null]})),
        json!({"type": "STRING", "enum": ["a", "b"], "nullable": true})
    );
    assert_eq!(property(json!({"const": null})), json!({"type": "NULL"}));
    assert_eq!(property(json!({"enum": [null]})), json!({"type": "NULL"}));
}

#[test]
fn non_string_enum_moves_into_the_description() {
    assert_eq!(
        property(json!({"type": "integer", "enum": [1, 2, 3], "description": "Level"})),
        json!({"type": "INTEGER", "description": "Level. One of: 1, 2, 3."})
    );
    assert_eq!(
        property(json!({"enum": [1, 2.5]})),
        json!({"type": "NUMBER", "description": "One of: 1, 2.5."})
    );
    assert_eq!(
        property(json!({"enum": ["a", 1]})),
        json!({"type": "STRING", "description": "One of: \"a\", 1."})
    );
    assert_eq!(
        property(json!({"type": "string", "enum": [1, null]})),
        json!({"type": "STRING", "nullable": true, "description": "One of: 1, null."})
    );
}

#[test]
fn non_string_const_moves_into_the_description() {
    assert_eq!(
        property(json!({"const": 3})),
        json!({"type": "INTEGER", "description": "Must be exactly 3."})
    );
    assert_eq!(
        property(json!({"type": "boolean", "const": true})),
        json!({"type": "BOOLEAN", "description": "Must be exactly true."})
    );
}

#[test]
fn string_enum_on_another_type_is_described() {
    assert_eq!(
        property(json!({"type": "integer", "enum": ["1"]})),
        json!({"type": "INTEGER", "description": "One of: \"1\"."})
    );
}

// Rule 13: format.

#[test]
fn supported_formats_are_kept() {
    for (kind, format) in [
        ("string", "date-time"),
        ("string", "enum"),
        ("number", "float"),
        ("number", "double"),
        ("integer", "int32"),
        ("integer", "int64"),
    ] {
        let converted = property(json!({"type": kind, "format": format}));
        assert_eq!(converted["format"], json!(format), "{kind} {format}");
    }
}

#[test]
fn other_formats_move_into_the_description() {
    assert_eq!(
        property(json!({"type": "string", "format": "uuid", "description": "Id"})),
        json!({"type": "STRING", "description": "Id. Format: uuid."})
    );
    assert_eq!(
        property(json!({"type": "integer", "format": "uint32", "minimum": 0})),
        json!({"type": "INTEGER", "minimum": 0, "description": "Format: uint32."})
    );
    assert_eq!(
        property(json!({"type": "integer", "format": "double"})),
        json!({"type": "INTEGER", "description": "Format: double."})
    );
}

// Rules 14 and 15: constraints written into the description.

#[test]
fn exclusive_bounds_become_bounds_and_sentences() {
    assert_eq!(
        property(json!({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1})),
        json!({"type": "NUMBER", "minimum": 0, "maximum": 1,
               "description": "Must be greater than 0. Must be less than 1."})
    );
    assert_eq!(
        property(json!({"type": "number", "exclusiveMinimum": 0, "minimum": 5})),
        json!({"type": "NUMBER", "minimum": 5, "description": "Must be greater than 0."})
    );
    assert_eq!(
        property(
            json!({"type": "number", "minimum": 5, "exclusiveMinimum": true, "exclusiveMaximum": false})
        ),
        json!({"type": "NUMBER", "minimum": 5, "description": "Must be greater than 5."})
    );
    assert_eq!(
        fails(json!({"exclusiveMinimum": "0"})).path,
        "#/exclusiveMinimum"
    );
}

#[test]
fn inexpressible_constraints_are_described() {
    assert_eq!(
        property(json!({"type": "integer", "multipleOf": 5})),
        json!({"type": "INTEGER", "description": "Must be a multiple of 5."})
    );
    assert_eq!(
        property(json!({"type": "array", "items": {"type": "string"}, "uniqueItems": true})),
        json!({"type": "ARRAY", "items": {"type": "STRING"}, "description": "Items must be unique."})
    );
    assert_eq!(
        property(json!({"type": "string", "uniqueItems": false})),
        json!({"type": "STRING"})
    );
    assert_eq!(
        property(json!({"type": "array", "contains": {"const": "x"}, "minContains": 2})),
        json!({"type": "ARRAY", "items": {"type": "STRING"},
               "description": "Must contain an item matching the JSON Schema {\"const\":\"x\"}."})
    );
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                        "dependentRequired": {"a": ["b"]}});
    assert_eq!(
        property(schema)["description"],
        json!("If `a` is present, `b` must be present too.")
    );
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}, "dependencies": {"a": ["b", "c"]}});
    assert_eq!(
        property(schema)["description"],
        json!("If `a` is present, `b`, `c` must be present too.")
    );
    assert_eq!(
        fails(json!({"multipleOf": "5"})).message,
        "`multipleOf` must be a number"
    );
}

// Rule 16: refused keywords.

#[test]
fn keywords_deciding_validity_without_equivalent_are_errors() {
    let error = fails(json!({"properties": {"a": {"type": "string", "not": {"const": "x"}}}}));
    assert_eq!(error.path, "#/properties/a/not");
    assert!(
        error
            .message
            .starts_with("`not` cannot be expressed in Gemini's schema subset")
    );
    let error =
        fails(json!({"if": {"properties": {"a": {"const": 1}}}, "then": {"required": ["b"]}}));
    assert_eq!(error.path, "#/if");
    assert!(error.message.starts_with("`if`/`then`/`else` cannot"));
    assert_eq!(
        fails(json!({"dependentSchemas": {"a": {}}})).path,
        "#/dependentSchemas"
    );
    assert_eq!(
        fails(json!({"dependencies": {"a": {"required": ["b"]}}})).path,
        "#/dependencies"
    );
    assert_eq!(fails(json!({"$dynamicRef": "#node"})).path, "#/$dynamicRef");
    assert_eq!(fails(json!({"$recursiveRef": "#"})).path, "#/$recursiveRef");
}

#[test]
fn if_without_then_or_else_has_no_effect() {
    assert_eq!(
        property(json!({"type": "string", "if": {"const": "x"}})),
        json!({"type": "STRING"})
    );
}

// Rules 17 and 18: objects.

#[test]
fn additional_properties_are_dropped_in_every_form() {
    for additional in [json!(false), json!(true), json!({"type": "integer"})] {
        let schema = json!({"type": "object", "additionalProperties": additional,
                            "patternProperties": {"^x": {}}, "propertyNames": {"pattern": "^[a-z]+$"},
                            "unevaluatedProperties": false});
        assert_eq!(property(schema), json!({"type": "OBJECT"}));
    }
}

#[test]
fn properties_that_must_be_absent_are_left_out() {
    let schema =
        json!({"type": "object", "properties": {"a": {"type": "string"}, "legacy": false}});
    assert_eq!(
        property(schema),
        json!({"type": "OBJECT", "properties": {"a": {"type": "STRING"}}})
    );
}

#[test]
fn empty_properties_are_removed_and_the_type_kept() {
    assert_eq!(
        convert(json!({"type": "object", "properties": {}, "required": []})),
        json!({"type": "OBJECT"})
    );
    assert_eq!(
        convert(json!({"properties": {}, "required": ["a"]})),
        json!({"type": "OBJECT"})
    );
}

#[test]
fn required_names_must_be_properties() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "ghost", "a"]});
    assert_eq!(convert(schema)["required"], json!(["a"]));
}

// Rule 19: propertyOrdering.

#[test]
fn property_ordering_follows_the_key_order_everywhere() {
    let schema = json!({
        "type": "object",
        "properties": {
            "zeta": {"type": "string"},
            "alpha": {"type": "array", "items": {"type": "object", "properties": {"y": {"type": "string"}, "x": {"type": "string"}}}},
            "mid": {"type": "object", "properties": {"b": {"type": "string"}}, "propertyOrdering": ["b"]},
            "empty": {"type": "object", "properties": {}}
        }
    });
    let converted = ordered(schema);
    assert_eq!(
        converted["propertyOrdering"],
        json!(["zeta", "alpha", "mid", "empty"])
    );
    assert_eq!(
        converted["properties"]["alpha"]["items"]["propertyOrdering"],
        json!(["y", "x"])
    );
    assert_eq!(
        converted["properties"]["mid"]["propertyOrdering"],
        json!(["b"])
    );
    assert_eq!(converted["properties"]["empty"], json!({"type": "OBJECT"}));
    assert!(
        convert(json!({"properties": {"a": {}}}))
            .get("propertyOrdering")
            .is_none()
    );
}

// Rule 20: property names are not keywords.

#[test]
fn properties_named_like_keywords_are_kept() {
    let schema = json!({
        "type": "object", "strict": true,
        "properties": {"strict": {"type": "boolean"}, "$ref": {"type": "string"}, "type": {"type": "string"}},
        "required": ["strict", "$ref", "type"]
    });
    assert_eq!(
        convert(schema),
        json!({"type": "OBJECT",
               "properties": {"strict": {"type": "BOOLEAN"}, "$ref": {"type": "STRING"}, "type": {"type": "STRING"}},
               "required": ["strict", "$ref", "type"]})
    );
}

// Rules 21 and 22: annotations.

#[test]
fn supported_keywords_are_kept() {
    let string = json!({"type": "string", "title": "T", "description": "D", "default": "x", "example": "y",
                        "nullable": true, "minLength": 1, "maxLength": 9, "pattern": "^[a-z]+$"});
    let mut expected = string.clone();
    expected["type"] = json!("STRING");
    assert_eq!(property(string), expected);
    let number = json!({"type": "number", "minimum": 1.5, "maximum": 2});
    assert_eq!(
        property(number),
        json!({"type": "NUMBER", "minimum": 1.5, "maximum": 2})
    );
    let array =
        json!({"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2.0});
    assert_eq!(
        property(array),
        json!({"type": "ARRAY", "items": {"type": "STRING"}, "minItems": 1, "maxItems": 2.0})
    );
    let object = json!({"type": "object", "properties": {"a": {"type": "string"}}, "minProperties": 1, "maxProperties": 1});
    assert_eq!(
        property(object),
        json!({"type": "OBJECT", "properties": {"a": {"type": "STRING"}}, "minProperties": 1, "maxProperties": 1})
    );
}

#[test]
fn annotations_without_effect_are_dropped() {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://example.com/s",
        "$anchor": "s", "$comment": "c", "strict": true, "readOnly": true, "writeOnly": false,
        "deprecated": true, "contentEncoding": "base64", "contentMediaType": "image/png",
        "discriminator": {"propertyName": "kind"}, "x-vendor": 1, "type": "string"
    });
    assert_eq!(property(schema), json!({"type": "STRING"}));
}

#[test]
fn first_example_becomes_example() {
    assert_eq!(
        property(json!({"type": "string", "examples": ["a", "b"]})),
        json!({"type": "STRING", "example": "a"})
    );
    assert_eq!(
        property(json!({"type": "string", "examples": ["a"], "example": "z"})),
        json!({"type": "STRING", "example": "z"})
    );
}

// Rule 23: what is not a schema.

#[test]
fn malformed_schemas_are_errors_with_paths() {
    let error = fails(json!({"properties": {"a": 3}}));
    assert_eq!(
        error,
        SchemaError {
            path: "#/properties/a".to_owned(),
            message: "expected a schema object, found a number".to_owned()
        }
    );
    assert_eq!(
        error.to_string(),
        "invalid schema at #/properties/a: expected a schema object, found a number"
    );
    assert_eq!(
        fails(json!({"properties": ["a"]})).message,
        "`properties` must be an object"
    );
    assert_eq!(
        fails(json!({"required": ["a", 1]})).message,
        "`required` must be an array of strings"
    );
    assert_eq!(
        fails(json!({"properties": {"a": {"minItems": -1}}})).path,
        "#/properties/a/minItems"
    );
    assert_eq!(
        fails(json!({"description": 1})).message,
        "`description` must be a string"
    );
    assert_eq!(
        fails(json!({"enum": "a"})).message,
        "`enum` must be an array"
    );
    assert_eq!(fails(json!({"$defs": []})).path, "#/$defs");
    assert_eq!(
        fails(json!({"properties": {"a/b": []}})).path,
        "#/properties/a~1b"
    );
    assert_eq!(
        fails(json!({"items": false, "prefixItems": [false]})).path,
        "#/prefixItems/0"
    );
    assert_eq!(fails(json!("string")).path, "#");
}

// to_json_schema.

#[test]
fn json_schema_drops_only_top_level_flags() {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:x", "strict": true,
        "type": "object",
        "properties": {"strict": {"type": "boolean"}, "item": {"$ref": "#/$defs/Item"}},
        "additionalProperties": false,
        "$defs": {"Item": {"type": ["string", "null"], "$comment": "kept"}}
    });
    assert_eq!(
        to_json_schema(&schema).unwrap(),
        json!({
            "type": "object",
            "properties": {"strict": {"type": "boolean"}, "item": {"$ref": "#/$defs/Item"}},
            "additionalProperties": false,
            "$defs": {"Item": {"type": ["string", "null"], "$comment": "kept"}}
        })
    );
}

#[test]
fn json_schema_checks_refs_and_root() {
    let error = to_json_schema(&json!([1])).unwrap_err();
    assert_eq!(error.path, "#");
    let error = to_json_schema(&json!({"anyOf": [{"type": "null"}, {"$ref": "#/$defs/Gone"}]}))
        .unwrap_err();
    assert_eq!(error.path, "#/anyOf/1/$ref");
    assert!(error.message.contains("points nowhere"));
    let error =
        to_json_schema(&json!({"properties": {"a": {"$ref": "other.json#/x"}}})).unwrap_err();
    assert_eq!(error.path, "#/properties/a/$ref");
    let data =
        json!({"properties": {"$ref": {"type": "string", "default": {"$ref": "not a ref"}}}});
    assert_eq!(to_json_schema(&data).unwrap(), data);
}

// Fixtures: schemas as schemars, pydantic and OpenAI strict mode emit them.

fn fixture(input: &str, expected: &str, run: impl Fn(&Value) -> Result<Value, SchemaError>) {
    let input: Value = serde_json::from_str(input).unwrap();
    let expected: Value = serde_json::from_str(expected).unwrap();
    let actual = run(&input)
        .unwrap_or_else(|error| json!({"error": {"path": error.path, "message": error.message}}));
    assert_eq!(
        actual,
        expected,
        "actual:\n{}",
        serde_json::to_string_pretty(&actual).unwrap()
    );
}

macro_rules! fixture {
    ($name:literal, $run:expr) => {
        fixture(
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/schemas/",
                $name,
                ".input.json"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/schemas/",
                $name,
                ".expected.json"
            )),
            $run,
        )
    };
}

#[test]
fn fixture_schemars_1() {
    fixture!("schemars-1-order", |s| to_openapi_schema(
        s,
        SchemaOptions::default()
    ));
}

#[test]
fn fixture_schemars_0_8() {
    fixture!("schemars-0.8-order", |s| to_openapi_schema(
        s,
        SchemaOptions::default()
    ));
}

#[test]
fn fixture_pydantic_response() {
    fixture!("pydantic-order", |s| to_openapi_schema(
        s,
        SchemaOptions {
            property_ordering: true
        }
    ));
}

#[test]
fn fixture_pydantic_recursive() {
    fixture!("pydantic-tree", |s| to_openapi_schema(
        s,
        SchemaOptions::default()
    ));
}

#[test]
fn fixture_openai_strict() {
    fixture!("openai-strict", |s| to_openapi_schema(
        s,
        SchemaOptions {
            property_ordering: true
        }
    ));
}

#[test]
fn fixture_openai_strict_as_json_schema() {
    fixture!("openai-strict-json", to_json_schema);
}
