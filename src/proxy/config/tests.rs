//! The config's tests: parsing, resolution, warnings and errors, over the files in
//! `tests/fixtures/config/`.

use std::num::NonZeroUsize;
use std::time::Duration;

use super::*;

const BASIC: &str = include_str!("../../../tests/fixtures/config/gemini_basic.yaml");
const SAFETY_THINKING: &str =
    include_str!("../../../tests/fixtures/config/gemini_safety_thinking.yaml");
const LOAD_BALANCED: &str = include_str!("../../../tests/fixtures/config/load_balanced.yaml");
const WILDCARD: &str = include_str!("../../../tests/fixtures/config/wildcard.yaml");
const MASTER_KEY_ENV: &str = include_str!("../../../tests/fixtures/config/master_key_env.yaml");
const LITELLM_EXTRAS: &str = include_str!("../../../tests/fixtures/config/litellm_extras.yaml");

#[test]
fn max_parallel_requests_is_a_whole_number_from_one_named_when_wrong() {
    let env = |_: &str| None;
    let yaml = |params: &str, router: &str| {
        format!(
            "model_list:\n  - model_name: flash\n    litellm_params: {{model: gemini/gemini-2.5-flash{params}}}\nrouter_settings: {{{router}}}\n"
        )
    };
    let (config, warnings) = Config::from_yaml(
        &yaml(
            ", max_parallel_requests: 8",
            "default_max_parallel_requests: '32'",
        ),
        "config.yaml",
        &env,
    )
    .expect("parses");
    assert!(warnings.is_empty(), "{warnings:?}");
    let params = &config.model_list[0].litellm_params;
    assert_eq!(params.max_parallel_requests.map(NonZeroUsize::get), Some(8));
    assert!(!params.extra.contains_key("max_parallel_requests"));
    assert_eq!(
        config
            .router_settings
            .default_max_parallel_requests
            .map(NonZeroUsize::get),
        Some(32)
    );
    for bad in ["0", "-1", "2.5", "many", "[2]", "2305843009213693952"] {
        let error = Config::from_yaml(
            &yaml(&format!(", max_parallel_requests: {bad}"), ""),
            "config.yaml",
            &env,
        )
        .expect_err(bad)
        .to_string();
        assert!(
            error.contains("model_list[0].litellm_params.max_parallel_requests")
                && error.contains("from 1 to 1000000"),
            "{bad}: {error}"
        );
        let error = Config::from_yaml(
            &yaml("", &format!("default_max_parallel_requests: {bad}")),
            "config.yaml",
            &env,
        )
        .expect_err(bad)
        .to_string();
        assert!(
            error.contains("router_settings.default_max_parallel_requests"),
            "{bad}: {error}"
        );
    }
}
const BROKEN: &str = include_str!("../../../tests/fixtures/config/broken.yaml");
const BAD_TYPE: &str = include_str!("../../../tests/fixtures/config/bad_type.yaml");

/// An environment holding exactly `vars`.
fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

fn parse(text: &str, vars: &[(&str, &str)]) -> Result<(Config, Vec<String>), ConfigError> {
    Config::from_yaml(text, "config.yaml", &env_of(vars))
}

fn parse_ok(text: &str, vars: &[(&str, &str)]) -> (Config, Vec<String>) {
    match parse(text, vars) {
        Ok(parsed) => parsed,
        Err(err) => panic!("config should parse: {err}"),
    }
}

fn key(secret: &Option<Secret>) -> Option<&str> {
    secret.as_ref().map(Secret::expose)
}

/// A one-entry config whose `litellm_params` has `params` besides `model`.
fn with_params(params: &str) -> String {
    format!(
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: gemini/gemini-2.5-flash\n{}",
        params
            .lines()
            .map(|line| format!("      {line}\n"))
            .collect::<String>()
    )
}

#[test]
fn basic_gemini_example() {
    let (config, warnings) = parse_ok(BASIC, &[("GEMINI_API_KEY", "AIza-test")]);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(config.model_list.len(), 1);
    let entry = &config.model_list[0];
    assert_eq!(entry.model_name, "gemini-pro");
    let params = &entry.litellm_params;
    assert_eq!(params.model, "gemini/gemini-1.5-pro");
    assert_eq!(params.provider(), "gemini");
    assert_eq!(params.model_id(), "gemini-1.5-pro");
    assert_eq!(key(&params.api_key), Some("AIza-test"));
    assert_eq!(params.api_base, None);
    assert_eq!(params.timeout, None);
    assert_eq!(params.max_retries, None);
    assert!(params.extra.is_empty());
    assert!(entry.model_info.is_none());
    assert!(!config.litellm_settings.drop_params);
    assert!(config.general_settings.master_key.is_none());
}

#[test]
fn safety_settings_thinking_and_drop_params_are_provider_params_in_order() {
    let (config, warnings) = parse_ok(SAFETY_THINKING, &[("GEMINI_API_KEY", "k")]);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(config.litellm_settings.drop_params);

    let flash = &config.model_list[0].litellm_params;
    let keys: Vec<&str> = flash.extra.keys().map(String::as_str).collect();
    assert_eq!(keys, ["safety_settings", "thinking", "drop_params"]);
    let safety = flash.extra["safety_settings"]
        .as_array()
        .expect("safety_settings is a list");
    assert_eq!(safety.len(), 4);
    assert_eq!(
        safety[0],
        serde_json::json!({"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"})
    );
    assert_eq!(
        flash.extra["thinking"],
        serde_json::json!({"type": "enabled", "budget_tokens": 1024})
    );
    assert_eq!(flash.extra["drop_params"], serde_json::json!(true));

    let pro = &config.model_list[1].litellm_params;
    let keys: Vec<&str> = pro.extra.keys().map(String::as_str).collect();
    assert_eq!(keys, ["reasoning_effort", "temperature", "top_k"]);
    assert_eq!(pro.extra["reasoning_effort"], "low");
    assert_eq!(pro.extra["temperature"], serde_json::json!(0.2));
    assert_eq!(pro.extra["top_k"], serde_json::json!(40));
}

#[test]
fn load_balanced_deployments_share_a_model_name() {
    let vars = [
        ("GEMINI_API_KEY_1", "key-one"),
        ("GEMINI_API_KEY_2", "key-two"),
    ];
    let (config, warnings) = parse_ok(LOAD_BALANCED, &vars);
    assert!(warnings.is_empty(), "{warnings:?}");
    let [first, second] = config.model_list.as_slice() else {
        panic!("expected two deployments, got {:?}", config.model_list);
    };
    assert_eq!(first.model_name, "gemini-flash");
    assert_eq!(second.model_name, "gemini-flash");

    assert_eq!(key(&first.litellm_params.api_key), Some("key-one"));
    assert_eq!(first.litellm_params.api_base, None);
    assert_eq!(first.litellm_params.timeout, Some(Duration::from_secs(30)));
    assert_eq!(first.litellm_params.max_retries, Some(2));

    assert_eq!(key(&second.litellm_params.api_key), Some("key-two"));
    assert_eq!(
        second.litellm_params.api_base.as_deref(),
        Some("http://127.0.0.1:8081")
    );
    assert_eq!(
        second.litellm_params.timeout,
        Some(Duration::from_millis(12_500))
    );
    assert_eq!(second.litellm_params.max_retries, Some(0));

    assert_eq!(config.litellm_settings.num_retries, Some(3));
    assert_eq!(
        config.litellm_settings.request_timeout,
        Some(Duration::from_secs(600))
    );
}

#[test]
fn wildcard_entry() {
    let (config, warnings) = parse_ok(WILDCARD, &[("GEMINI_API_KEY", "k")]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let params = &config.model_list[0].litellm_params;
    assert_eq!(config.model_list[0].model_name, "gemini/*");
    assert_eq!(params.model, "gemini/*");
    assert_eq!(params.provider(), "gemini");
    assert_eq!(params.model_id(), "*");
}

#[test]
fn master_key_from_env_and_environment_variables_come_first() {
    let vars = [
        ("LITELLM_MASTER_KEY", "sk-from-env"),
        ("GEMINI_API_KEY", "from-process-env"),
    ];
    let (config, warnings) = parse_ok(MASTER_KEY_ENV, &vars);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        key(&config.general_settings.master_key),
        Some("sk-from-env")
    );
    // The file's environment_variables win over the process environment.
    assert_eq!(
        key(&config.model_list[0].litellm_params.api_key),
        Some("from-config-file")
    );
    assert_eq!(
        config
            .environment_variables
            .get("GEMINI_API_KEY")
            .map(Secret::expose),
        Some("from-config-file")
    );
}

#[test]
fn missing_master_key_variable_is_an_error() {
    let err = parse(MASTER_KEY_ENV, &[]).expect_err("unset master key variable");
    match &err {
        ConfigError::MissingEnv { field, var } => {
            assert_eq!(field, "general_settings.master_key");
            assert_eq!(var, "LITELLM_MASTER_KEY");
        }
        other => panic!("expected MissingEnv, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "general_settings.master_key: environment variable `LITELLM_MASTER_KEY` is not set \
             (referenced as os.environ/LITELLM_MASTER_KEY)"
    );
}

#[test]
fn max_request_size_mb_is_read_and_bounded() {
    let (config, _) = parse_ok("general_settings:\n  max_request_size_mb: 100\n", &[]);
    assert_eq!(config.general_settings.max_request_size_mb, Some(100));
    for bad in [0, MAX_REQUEST_SIZE_MB + 1] {
        let yaml = format!("general_settings:\n  max_request_size_mb: {bad}\n");
        let err = parse(&yaml, &[]).expect_err("out of range");
        assert!(
            matches!(&err, ConfigError::Invalid { field, .. } if field == "general_settings.max_request_size_mb"),
            "{err:?}"
        );
    }
}

#[test]
fn empty_master_key_is_invalid() {
    let err = parse("general_settings:\n  master_key: \"\"\n", &[]).expect_err("empty key");
    assert!(
        matches!(&err, ConfigError::Invalid { field, .. } if field == "general_settings.master_key"),
        "{err:?}"
    );
}

#[test]
fn database_url_is_a_postgres_or_sqlite_url_from_the_environment() {
    let yaml = "general_settings:\n  database_url: os.environ/DATABASE_URL\n";
    let (config, _) = parse_ok(yaml, &[("DATABASE_URL", "postgres://db/keys")]);
    assert_eq!(
        key(&config.general_settings.database_url),
        Some("postgres://db/keys")
    );
    let err = parse(yaml, &[]).expect_err("unset variable");
    assert!(
        matches!(&err, ConfigError::MissingEnv { var, .. } if var == "DATABASE_URL"),
        "{err:?}"
    );
    let err = parse(yaml, &[("DATABASE_URL", "mysql://db")]).expect_err("not served");
    assert!(
        matches!(&err, ConfigError::Invalid { field, .. } if field == "general_settings.database_url"),
        "{err:?}"
    );
}

#[test]
fn litellm_only_settings_load_with_one_warning_per_unknown_key() {
    let (config, warnings) = parse_ok(LITELLM_EXTRAS, &[("GEMINI_API_KEY", "k")]);
    assert_eq!(
        warnings,
        [
            "litellm_settings.callbacks: unknown key, ignored",
            "litellm_settings.set_verbose: unknown key, ignored",
            "litellm_settings.success_callback: unknown key, ignored",
        ]
    );
    assert_eq!(
        key(&config.general_settings.database_url),
        Some("postgresql://user:pass@localhost:5432/litellm")
    );
    assert_eq!(
        config.model_list[0].litellm_params.routing.tpm,
        Some(100_000)
    );
    assert!(config.litellm_settings.drop_params);
    assert_eq!(
        config.litellm_settings.user_url_allowed_hosts,
        ["localhost", "127.0.0.1", "images.example.com"]
    );
    assert_eq!(key(&config.general_settings.master_key), Some("sk-1234"));
    assert_eq!(
        config.model_list[0].model_info,
        Some(serde_json::json!({"id": "flash-1", "mode": "chat"}))
    );
}

#[test]
fn syntax_error_reports_line_and_column() {
    let err = Config::from_yaml(BROKEN, "broken.yaml", &|_: &str| None).expect_err("broken YAML");
    let ConfigError::Parse {
        path, line, column, ..
    } = &err
    else {
        panic!("expected Parse, got {err:?}");
    };
    assert_eq!(path, "broken.yaml");
    assert_eq!((*line, *column), (8, 6), "{err}");
    assert!(err.to_string().starts_with("broken.yaml:8:6: "), "{err}");
}

#[test]
fn type_error_reports_line_column_and_key_path() {
    let err = parse(BAD_TYPE, &[]).expect_err("bad type");
    let ConfigError::Parse {
        line,
        column,
        message,
        ..
    } = &err
    else {
        panic!("expected Parse, got {err:?}");
    };
    assert_eq!((*line, *column), (7, 20), "{err}");
    assert!(
        message.starts_with("model_list[0].litellm_params.max_retries: invalid"),
        "{message}"
    );
    assert!(!message.contains(" at line "), "{message}");
    assert!(
        err.to_string()
            .starts_with("config.yaml:7:20: model_list[0].litellm_params.max_retries: "),
        "{err}"
    );
}

#[test]
fn wrong_shapes_are_parse_errors_naming_the_key() {
    let cases = [
        ("model_list: {a: 1}\n", 1, "model_list: "),
        (
            "model_list:\n  - model_name: [a, b]\n    litellm_params: {model: gemini/x}\n",
            2,
            "model_list[0].model_name: ",
        ),
        (
            "model_list:\n  - model_name: m\n",
            2,
            "model_list[0]: missing field `litellm_params`",
        ),
        (
            "model_list:\n  - model_name: m\n    litellm_params: {api_key: k}\n",
            3,
            "model_list[0].litellm_params: missing field `model`",
        ),
        (
            "litellm_settings:\n  drop_params: sometimes\n",
            2,
            "litellm_settings.drop_params: ",
        ),
        (
            "litellm_settings:\n  num_retries: -1\n",
            2,
            "litellm_settings.num_retries: ",
        ),
    ];
    for (yaml, want_line, want_prefix) in cases {
        match parse(yaml, &[]) {
            Err(ConfigError::Parse { line, message, .. }) => {
                assert_eq!(line, want_line, "{yaml}: {message}");
                assert!(message.starts_with(want_prefix), "{yaml}: {message}");
            }
            other => panic!("{yaml}: expected Parse, got {other:?}"),
        }
    }
}

#[test]
fn model_without_provider_is_invalid_naming_the_entry() {
    let yaml = "model_list:
  - {model_name: a, litellm_params: {model: gemini/gemini-2.5-flash}}
  - {model_name: b, litellm_params: {model: gemini/gemini-2.5-pro}}
  - {model_name: c, litellm_params: {model: gemini-2.5-flash}}
";
    let err = parse(yaml, &[]).expect_err("model without provider");
    assert_eq!(
        err.to_string(),
        "model_list[2].litellm_params.model: expected provider/model, e.g. gemini/gemini-2.5-flash"
    );
    for bad in ["/gemini-2.5-flash", "gemini/"] {
        let yaml = with_params("").replace("gemini/gemini-2.5-flash", bad);
        assert!(
            matches!(parse(&yaml, &[]), Err(ConfigError::Invalid { .. })),
            "{bad}"
        );
    }
}

#[test]
fn other_providers_parse() {
    let yaml = with_params("").replace("gemini/gemini-2.5-flash", "openai/gpt-4o");
    let (config, warnings) = parse_ok(&yaml, &[]);
    assert_eq!(config.model_list[0].litellm_params.provider(), "openai");
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn providers_llm_tower_does_not_have_are_kept_with_one_warning_each() {
    let yaml = "model_list:
  - {model_name: flash, litellm_params: {model: gemini/gemini-2.5-flash}}
  - {model_name: claude, litellm_params: {model: anthropic/claude-sonnet-4-5, api_key: os.environ/ANTHROPIC_API_KEY, max_tokens: 4096}}
  - {model_name: titan, litellm_params: {model: bedrock/amazon.titan-text-express-v1}}
";
    let (config, warnings) = parse_ok(yaml, &[]);
    assert_eq!(config.model_list.len(), 3);
    assert_eq!(
        warnings,
        [
            "model_list[1].litellm_params.model: provider \"anthropic\" is not available in llm-tower (it serves gemini/…, openai/… and vertex_ai/…); the deployment of \"claude\" is skipped",
            "model_list[2].litellm_params.model: provider \"bedrock\" is not available in llm-tower (it serves gemini/…, openai/… and vertex_ai/…); the deployment of \"titan\" is skipped",
        ]
    );
}

#[test]
fn env_refs_resolve_in_api_base_and_provider_params() {
    let yaml = with_params(
        "api_base: os.environ/GEMINI_BASE\nuser: os.environ/LABEL\nservice_tier: os.environ\nresponse_format: {x: os.environ/LABEL}",
    );
    let vars = [
        ("GEMINI_BASE", "http://localhost:9000"),
        ("LABEL", "team-a"),
    ];
    let (config, warnings) = parse_ok(&yaml, &vars);
    assert!(warnings.is_empty(), "{warnings:?}");
    let params = &config.model_list[0].litellm_params;
    assert_eq!(params.api_base.as_deref(), Some("http://localhost:9000"));
    assert_eq!(params.extra["user"], "team-a");
    assert_eq!(params.extra["service_tier"], "os.environ");
    // Like LiteLLM, only top-level values are references.
    assert_eq!(
        params.extra["response_format"],
        serde_json::json!({"x": "os.environ/LABEL"})
    );
}

#[test]
fn unknown_params_are_dropped_with_a_warning_and_organization_is_typed() {
    let yaml = "model_list:
  - model_name: gpt
    litellm_params:
      model: openai/gpt-4o
      organization: os.environ/ORG
      tags: [free]
      rpm: 10
      temperature: 0.1
      api_version: '2024-10-01'
      extra_headers: {x-a: b}
  - model_name: flash
    litellm_params: {model: gemini/gemini-2.5-flash, organization: org-1}
";
    let (config, warnings) = parse_ok(yaml, &[("ORG", "org-42")]);
    let gpt = &config.model_list[0].litellm_params;
    assert_eq!(gpt.organization.as_deref(), Some("org-42"));
    let kept: Vec<&str> = gpt.extra.keys().map(String::as_str).collect();
    assert_eq!(kept, ["tags", "temperature"]);
    assert_eq!(gpt.routing.rpm, Some(10));
    assert_eq!(config.model_list[1].litellm_params.organization, None);
    assert_eq!(
        warnings,
        [
            "model_list[0].litellm_params.api_version: not a param llm-tower knows; dropped, never sent upstream",
            "model_list[0].litellm_params.extra_headers: not a param llm-tower knows; dropped, never sent upstream",
            "model_list[1].litellm_params.organization: OpenAI's organization header, used by openai/ deployments only; ignored",
        ]
    );
}

#[test]
fn only_regular_files_are_loaded() {
    for path in ["/dev/null", env!("CARGO_MANIFEST_DIR")] {
        let error = Config::load(path.as_ref()).expect_err(path);
        assert!(error.to_string().contains("not a regular file"), "{error}");
    }
}

#[test]
fn an_unset_api_key_variable_leaves_the_deployment_unavailable() {
    let yaml = with_params("api_key: os.environ/NOPE_KEY");
    let (config, warnings) = parse_ok(&yaml, &[]);
    let params = &config.model_list[0].litellm_params;
    assert!(params.api_key.is_none());
    assert_eq!(params.api_key_unset.as_deref(), Some("NOPE_KEY"));
    assert_eq!(
        warnings,
        [
            "model_list[0].litellm_params.api_key: environment variable `NOPE_KEY` is not set; \
                 the deployment of \"m\" is served as unavailable (its requests answer 401 naming `NOPE_KEY`)"
        ]
    );
    assert_eq!(
        config.unset_keys().collect::<Vec<_>>(),
        [(
            "model_list[0].litellm_params.api_key".to_owned(),
            "NOPE_KEY"
        )]
    );
    let (config, _) = parse_ok(&yaml, &[("NOPE_KEY", "k")]);
    assert_eq!(config.unset_keys().count(), 0);
}

#[test]
fn unusable_timeouts_and_api_bases_are_refused() {
    for params in [
        "timeout: 0",
        "timeout: -1",
        "timeout: soon",
        "api_base: not a url",
        "api_base: ftp://example.com/v1beta",
        "api_base: /v1beta",
    ] {
        let error = parse(&with_params(params), &[]).expect_err(params);
        let key = params.split(':').next().unwrap();
        assert!(
            matches!(&error, ConfigError::Invalid { field, .. } if field.ends_with(key)),
            "{params}: {error}"
        );
    }
}

#[test]
fn deep_yaml_is_refused_quickly_with_its_position() {
    let yaml = format!("model_list: {}{}", "[".repeat(50_000), "]".repeat(50_000));
    let started = std::time::Instant::now();
    let error = parse(&yaml, &[]).expect_err("deep");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    let ConfigError::Parse { line, column, .. } = error else {
        panic!("{error}");
    };
    assert_eq!(line, 1);
    assert!(column > 0);
}

#[test]
fn unset_param_variables_warn_and_leave_the_setting_out() {
    let yaml = with_params("api_base: os.environ/NOPE_BASE\nuser: os.environ/NOPE_LABEL");
    let (config, warnings) = parse_ok(&yaml, &[]);
    let params = &config.model_list[0].litellm_params;
    assert!(params.api_base.is_none());
    assert!(!params.extra.contains_key("user"));
    assert_eq!(
        warnings,
        [
            "model_list[0].litellm_params.api_base: environment variable `NOPE_BASE` is not set; the setting is left out",
            "model_list[0].litellm_params.user: environment variable `NOPE_LABEL` is not set; the setting is left out",
        ]
    );
}

#[test]
fn literal_api_key_and_empty_variable_name() {
    let (config, _) = parse_ok(&with_params("api_key: AIza-literal"), &[]);
    assert_eq!(
        key(&config.model_list[0].litellm_params.api_key),
        Some("AIza-literal")
    );
    let err = parse(&with_params("api_key: os.environ/"), &[]).expect_err("no var name");
    assert!(
        matches!(&err, ConfigError::Invalid { field, .. }
                if field == "model_list[0].litellm_params.api_key"),
        "{err:?}"
    );
}

#[test]
fn environment_variables_accept_scalars_only() {
    let yaml = "environment_variables:\n  REDIS_PORT: 6379\n  FLAG: true\n  NAME: x\n";
    let (config, _) = parse_ok(yaml, &[]);
    let text = |name: &str| config.environment_variables.get(name).map(Secret::expose);
    assert_eq!(text("REDIS_PORT"), Some("6379"));
    assert_eq!(text("FLAG"), Some("true"));
    assert_eq!(text("NAME"), Some("x"));

    let err = parse("environment_variables:\n  LIST: [1, 2]\n", &[]).expect_err("a list");
    assert!(
        matches!(&err, ConfigError::Invalid { field, .. } if field == "environment_variables.LIST"),
        "{err:?}"
    );
}

#[test]
fn null_provider_params_are_left_out() {
    let (config, _) = parse_ok(&with_params("temperature: ~\ntop_p: 0.9"), &[]);
    let keys: Vec<&String> = config.model_list[0].litellm_params.extra.keys().collect();
    assert_eq!(keys, ["top_p"]);
}

#[test]
fn secrets_are_redacted_in_debug_and_display() {
    let secret = Secret::new("AIza-very-secret");
    assert_eq!(format!("{secret:?}"), "[REDACTED]");
    assert_eq!(secret.to_string(), "[REDACTED]");
    assert_eq!(secret.expose(), "AIza-very-secret");

    let (config, _) = parse_ok(MASTER_KEY_ENV, &[("LITELLM_MASTER_KEY", "sk-hidden")]);
    let debug = format!("{config:?}");
    assert!(!debug.contains("sk-hidden"), "{debug}");
    assert!(!debug.contains("from-config-file"), "{debug}");
    assert!(debug.contains("[REDACTED]"), "{debug}");
}

#[test]
fn timeouts_accept_numbers_and_numeric_strings() {
    let cases = [
        ("30", Duration::from_secs(30)),
        ("2.5", Duration::from_millis(2_500)),
        ("\"45\"", Duration::from_secs(45)),
        ("'0.25'", Duration::from_millis(250)),
    ];
    for (value, want) in cases {
        let (config, _) = parse_ok(&with_params(&format!("timeout: {value}")), &[]);
        assert_eq!(
            config.model_list[0].litellm_params.timeout,
            Some(want),
            "{value}"
        );
        let yaml = format!("litellm_settings:\n  request_timeout: {value}\n");
        let (config, _) = parse_ok(&yaml, &[]);
        assert_eq!(
            config.litellm_settings.request_timeout,
            Some(want),
            "{value}"
        );
    }
    let (config, _) = parse_ok(&with_params("timeout: null"), &[]);
    assert_eq!(config.model_list[0].litellm_params.timeout, None);
}

#[test]
fn bad_timeouts_are_invalid_naming_the_field() {
    for value in ["soon", "-1", "0", "[30]", "{s: 30}", "true"] {
        let err = parse(&with_params(&format!("timeout: {value}")), &[]).expect_err(value);
        assert!(
            matches!(&err, ConfigError::Invalid { field, .. }
                    if field == "model_list[0].litellm_params.timeout"),
            "{value}: {err:?}"
        );
        let yaml = format!("litellm_settings:\n  request_timeout: {value}\n");
        let err = parse(&yaml, &[]).expect_err(value);
        assert!(
            matches!(&err, ConfigError::Invalid { field, .. }
                    if field == "litellm_settings.request_timeout"),
            "{value}: {err:?}"
        );
    }
    // Non-finite numbers are refused by the parser itself, still naming the key.
    for value in [".nan", ".inf"] {
        let err = parse(&with_params(&format!("timeout: {value}")), &[]).expect_err(value);
        assert!(
            matches!(&err, ConfigError::Parse { message, .. }
                    if message.starts_with("model_list[0].litellm_params.timeout: ")),
            "{value}: {err:?}"
        );
    }
}

#[test]
fn empty_file_or_no_model_list_is_an_empty_config() {
    for yaml in [
        "",
        "# only a comment\n",
        "model_list:\n",
        "model_list: []\n",
        "litellm_settings:\n",
    ] {
        let (config, warnings) = parse_ok(yaml, &[]);
        assert!(config.model_list.is_empty(), "{yaml:?}");
        assert!(warnings.is_empty(), "{yaml:?}: {warnings:?}");
    }
    let (config, _) = parse_ok("litellm_settings: {drop_params: true}\n", &[]);
    assert!(config.model_list.is_empty());
    assert!(config.litellm_settings.drop_params);
}

#[test]
fn top_level_must_be_a_mapping() {
    let err = parse("- a\n- b\n", &[]).expect_err("a list");
    assert!(matches!(err, ConfigError::Parse { line: 1, .. }), "{err:?}");
}

#[test]
fn default_gemini_is_one_wildcard_entry() {
    let config = Config::default_gemini_with(&env_of(&[("GEMINI_API_KEY", "AIza-env")]));
    assert_eq!(config.model_list.len(), 1);
    let entry = &config.model_list[0];
    assert_eq!(entry.model_name, "gemini/*");
    assert_eq!(entry.litellm_params.model, "gemini/*");
    assert_eq!(key(&entry.litellm_params.api_key), Some("AIza-env"));
    assert!(config.general_settings.master_key.is_none());

    let config = Config::default_gemini_with(&env_of(&[]));
    assert!(config.model_list[0].litellm_params.api_key.is_none());
}

#[test]
fn load_reads_files_and_reports_io_errors() {
    let file = std::env::temp_dir().join(format!("llm-tower-config-{}.yaml", std::process::id()));
    std::fs::write(&file, with_params("api_key: AIza-literal")).expect("write temp config");
    let loaded = Config::load(&file);
    std::fs::remove_file(&file).expect("remove temp config");
    let (config, warnings) = loaded.expect("config loads");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        key(&config.model_list[0].litellm_params.api_key),
        Some("AIza-literal")
    );

    let missing = std::env::temp_dir().join("llm-tower-no-such-config.yaml");
    let err = Config::load(&missing).expect_err("missing file");
    assert!(matches!(&err, ConfigError::Io { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&missing.display().to_string()),
        "{err}"
    );
}
