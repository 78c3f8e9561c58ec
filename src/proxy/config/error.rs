//! [`ConfigError`]: why a config could not be loaded.

/// Why a config could not be loaded.
///
/// ```rust
/// use llm_tower::proxy::config::{Config, ConfigError};
///
/// let yaml = "model_list:\n  - model_name: flash\n    litellm_params: {model: gemini-2.5-flash}\n";
/// let err = Config::from_yaml(yaml, "config.yaml", &|_: &str| None).unwrap_err();
/// assert!(matches!(&err, ConfigError::Invalid { field, .. }
///     if field == "model_list[0].litellm_params.model"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read config: {source}")]
    Io {
        /// The file.
        path: String,
        /// The read error.
        source: std::io::Error,
    },
    /// A YAML syntax error, or a value of the wrong type.
    #[error("{path}{}: {message}", location(*.line, *.column))]
    Parse {
        /// The file, as given to [`Config::from_yaml`](super::Config::from_yaml).
        path: String,
        /// 1-based line; 0 when the parser gave no position.
        line: usize,
        /// 1-based column; 0 when the parser gave no position.
        column: usize,
        /// What is wrong, starting with the key path when known, e.g.
        /// `model_list[0].model_name: invalid type: ...`.
        message: String,
    },
    /// An `os.environ/NAME` reference that must resolve did not.
    #[error("{field}: environment variable `{var}` is not set (referenced as os.environ/{var})")]
    MissingEnv {
        /// The setting, e.g. `general_settings.master_key`.
        field: String,
        /// The variable's name.
        var: String,
    },
    /// A value of the right type that llm-tower cannot use.
    #[error("{field}: {message}")]
    Invalid {
        /// The setting, e.g. `model_list[2].litellm_params.model`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

/// `:line:column`, or nothing when the position is unknown.
pub(super) fn location(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}:{column}")
    }
}
