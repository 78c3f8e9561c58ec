fn main() {
    let cache = llm_tower::gemini::validate::ValidatorCache::new(4);
    for s in [serde_json::json!({"type":"object","properties":{"price":{"type":"money"}}}), serde_json::json!({"$ref":"http://x/y.json"}), serde_json::json!({"$ref":"#/$defs/Nope"}), serde_json::json!({"$schema":"http://example.com/custom"}), serde_json::json!({"type":"object","required":"a"})] {
        match cache.get_or_compile(&s) { Ok(_) => println!("OK {s}"), Err(e) => println!("{}", e.message()) }
    }
}
