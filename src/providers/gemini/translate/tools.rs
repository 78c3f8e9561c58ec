//! `tools`, `functions`, `tool_choice`, `function_call` and `web_search_options` → Gemini
//! `tools` and `toolConfig`.
//!
//! Function tools become one `Tool` entry holding every `functionDeclarations` item; each
//! built-in tool gets an entry of its own (Gemini's tool kind is a oneof). Built-ins are
//! accepted in Gemini's camelCase or snake_case spelling (`googleSearch`, `code_execution`,
//! …) and OpenAI's `{"type":"web_search"}`.
//!
//! # Built-in tools beside functions
//!
//! Gemini 3 models take built-in tools in a request that also declares functions (the
//! request then sets `toolConfig.includeServerSideToolInvocations`); older ones refuse the
//! mix (the model table's `builtin_tools_with_functions`, see
//! [`facts`](crate::gemini::facts)), and so does Vertex AI
//! ([`TranslateOptions::builtin_tools_with_functions`](super::TranslateOptions::builtin_tools_with_functions)).
//! For those, [`ToolSet::fit_builtins`] applies one rule:
//!
//! - a built-in tool listed in `tools` beside function tools (the Codex CLI sends
//!   `web_search` with its functions) is an offer the model may or may not take up: it is
//!   dropped, with a warning in the logs naming it and the answer's
//!   `x-llm-tower-dropped-tools` header ([`DROPPED_TOOLS_HEADER`](crate::gemini::map::DROPPED_TOOLS_HEADER)),
//!   and the functions are sent;
//! - `web_search_options` asks for an answer grounded in a search: dropping the search
//!   would change what the answer means, so the request is refused (400 naming
//!   `web_search_options`) rather than answered without it.

use serde_json::{Map, Value};

use super::schema::{SchemaOptions, to_openapi_schema};
use super::schema_cache::ToolSchemaCache;
use crate::error::Error;
use crate::openai::chat::{Extra, FunctionDefinition, ToolChoice};
use crate::providers::gemini::wire::{FunctionDeclaration, Tool, ToolConfig};
use crate::raw_json::RawJson;

/// Built-in tools by every accepted spelling, with the Gemini key each maps to.
const BUILTIN_TOOLS: &[(&str, &str)] = &[
    ("googleSearch", "googleSearch"),
    ("google_search", "googleSearch"),
    ("googleSearchRetrieval", "googleSearchRetrieval"),
    ("google_search_retrieval", "googleSearchRetrieval"),
    ("codeExecution", "codeExecution"),
    ("code_execution", "codeExecution"),
    ("urlContext", "urlContext"),
    ("url_context", "urlContext"),
    ("googleMaps", "googleMaps"),
    ("google_maps", "googleMaps"),
    ("enterpriseWebSearch", "enterpriseWebSearch"),
    ("enterprise_web_search", "enterpriseWebSearch"),
    ("computerUse", "computerUse"),
    ("computer_use", "computerUse"),
];

/// Collects function declarations and built-in tools in request order.
#[derive(Debug, Default)]
pub struct ToolSet<'c> {
    functions: Vec<FunctionDeclaration>,
    builtins: Vec<(String, Value)>,
    cache: Option<&'c ToolSchemaCache>,
    /// `web_search_options` asked for a search.
    search_asked: bool,
}

impl<'c> ToolSet<'c> {
    /// A tool set that converts parameter schemas through `cache`.
    pub fn with_cache(cache: &'c ToolSchemaCache) -> Self {
        Self {
            cache: Some(cache),
            ..Self::default()
        }
    }

    /// Adds an OpenAI `tools` entry; `index` locates it in error messages.
    pub fn add_tool(&mut self, tool: crate::openai::Tool, index: usize) -> Result<(), Error> {
        let param = || format!("tools[{index}]");
        match (tool.kind.as_deref(), tool.function) {
            (Some("function") | None, Some(function)) => self.add_function(function, &param()),
            (Some("function"), None) => Err(Error::invalid_param(
                param(),
                "a function tool needs a `function` object",
            )),
            (Some("web_search" | "web_search_preview"), _) => {
                self.add_builtin("googleSearch", Value::Object(Map::new()));
                Ok(())
            }
            (_, None) => self.add_builtin_object(tool.kind.as_deref(), tool.extra, &param()),
            (Some(kind), Some(_)) => Err(Error::invalid_param(
                param(),
                format!("unsupported tool type {kind:?}"),
            )),
        }
    }

    /// Adds a legacy `functions` entry.
    pub fn add_function(&mut self, function: FunctionDefinition, param: &str) -> Result<(), Error> {
        let parameters = match &function.parameters {
            None => None,
            Some(schema) => {
                let convert = || convert_parameters(schema.get(), param);
                match self.cache {
                    Some(cache) => cache.get_or_convert(schema.get(), convert)?,
                    None => convert()?,
                }
            }
        };
        self.functions.push(FunctionDeclaration {
            name: function.name,
            description: function.description,
            parameters,
        });
        Ok(())
    }

    /// Adds `{"googleSearch": {}}` unless already present (`web_search_options`).
    pub fn add_google_search(&mut self) {
        self.search_asked = true;
        self.add_builtin("googleSearch", Value::Object(Map::new()));
    }

    /// Keeps only what a model takes: with `combine` false (the model refuses built-in
    /// tools beside function declarations) and functions declared, the built-in tools are
    /// dropped and their Gemini names returned, or, when `web_search_options` asked for a
    /// search, the request is refused (see the module docs).
    pub fn fit_builtins(&mut self, combine: bool) -> Result<Vec<String>, Error> {
        if combine || self.functions.is_empty() || self.builtins.is_empty() {
            return Ok(Vec::new());
        }
        if self.search_asked {
            return Err(Error::invalid_param(
                "web_search_options",
                "this model cannot search the web in a request that also declares functions; \
                 send the search without the function tools, or use a Gemini 3 model",
            ));
        }
        Ok(self.builtins.drain(..).map(|(name, _)| name).collect())
    }

    fn add_builtin_object(
        &mut self,
        kind: Option<&str>,
        fields: Extra,
        param: &str,
    ) -> Result<(), Error> {
        let mut entries = fields.into_iter();
        let (Some((key, config)), None) = (entries.next(), entries.next()) else {
            return Err(Error::invalid_param(
                param,
                format!(
                    "unsupported tool {}: expected a function tool or one built-in tool such as {{\"googleSearch\":{{}}}}",
                    kind.map_or_else(String::new, |kind| format!("of type {kind:?}"))
                ),
            ));
        };
        let Some((_, gemini_key)) = BUILTIN_TOOLS.iter().find(|(spelling, _)| *spelling == key)
        else {
            return Err(Error::invalid_param(
                param,
                format!("unsupported built-in tool {key:?}"),
            ));
        };
        self.add_builtin(gemini_key, config.to_value());
        Ok(())
    }

    fn add_builtin(&mut self, key: &str, config: Value) {
        match self
            .builtins
            .iter_mut()
            .find(|(existing, _)| existing == key)
        {
            Some(entry) => entry.1 = config,
            None => self.builtins.push((key.to_owned(), config)),
        }
    }

    /// Whether built-in tools are sent beside function declarations (after
    /// [`fit_builtins`](Self::fit_builtins)).
    pub fn mixes_builtins_with_functions(&self) -> bool {
        !self.functions.is_empty() && !self.builtins.is_empty()
    }

    /// Whether a function with this name was declared.
    pub fn declares(&self, name: &str) -> bool {
        self.functions.iter().any(|function| function.name == name)
    }

    /// The Gemini `tools` list.
    pub fn into_tools(self) -> Vec<Tool> {
        let mut tools = Vec::with_capacity(1 + self.builtins.len());
        if !self.functions.is_empty() {
            tools.push(Tool {
                function_declarations: self.functions,
                builtin: Map::new(),
            });
        }
        tools.extend(self.builtins.into_iter().map(|(key, config)| Tool {
            function_declarations: Vec::new(),
            builtin: Map::from_iter([(key, config)]),
        }));
        tools
    }
}

/// A tool's `parameters` text → the Gemini schema, serialized; `None` for a schema that
/// declares no arguments (Gemini refuses an object schema without properties).
fn convert_parameters(text: &str, param: &str) -> Result<Option<RawJson>, Error> {
    let invalid = |message: String| {
        Error::invalid_param(param, format!("{param}.function.parameters: {message}"))
    };
    let schema: Value = serde_json::from_str(text).map_err(|error| invalid(error.to_string()))?;
    if is_empty_object_schema(&schema) {
        return Ok(None);
    }
    let converted = to_openapi_schema(&schema, SchemaOptions::default())
        .map_err(|error| invalid(error.to_string()))?;
    let text = serde_json::to_string(&converted).map_err(|error| invalid(error.to_string()))?;
    RawJson::from_string(text)
        .map(Some)
        .map_err(|error| invalid(error.to_string()))
}

fn is_empty_object_schema(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => {
            map.get("properties")
                .is_none_or(|properties| properties.as_object().is_some_and(Map::is_empty))
                && map.keys().all(|key| {
                    matches!(
                        key.as_str(),
                        "type" | "properties" | "required" | "additionalProperties" | "$schema"
                    )
                })
        }
        Value::String(text) => text.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

/// `tool_choice` (or legacy `function_call`, named by `param`) → `toolConfig`.
pub fn tool_config(choice: &ToolChoice, param: &str) -> Result<ToolConfig, Error> {
    let (mode, allowed) = match choice {
        ToolChoice::Mode(mode) => match mode.as_str() {
            "auto" => ("AUTO", None),
            "none" => ("NONE", None),
            "required" | "any" => ("ANY", None),
            "validated" => ("VALIDATED", None),
            other => {
                return Err(Error::invalid_param(
                    param,
                    format!(
                        "{param} must be \"auto\", \"none\", \"required\", \"validated\" or a named function; got {other:?}"
                    ),
                ));
            }
        },
        ToolChoice::Named(named) => {
            let name = named
                .function_name()
                .ok_or_else(|| Error::invalid_param(param, format!("{param} names no function")))?;
            ("ANY", Some(vec![name.to_owned()]))
        }
    };
    let mut config = ToolConfig::mode(mode);
    config.function_calling_config.allowed_function_names = allowed;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(value: Value) -> crate::openai::Tool {
        serde_json::from_value(value).expect("valid tool")
    }

    #[test]
    fn functions_share_one_entry_and_builtins_get_their_own() {
        let mut set = ToolSet::default();
        set.add_tool(
            tool(json!({"type":"function","function":{"name":"a","parameters":{"type":"object","properties":{"x":{"type":"string"}}}}})),
            0,
        )
        .unwrap();
        set.add_tool(tool(json!({"googleSearch":{}})), 1).unwrap();
        set.add_tool(tool(json!({"type":"function","function":{"name":"b"}})), 2)
            .unwrap();
        set.add_tool(tool(json!({"code_execution":{}})), 3).unwrap();
        let tools = serde_json::to_value(set.into_tools()).unwrap();
        assert_eq!(
            tools,
            json!([
                {"functionDeclarations":[
                    {"name":"a","parameters":{"type":"OBJECT","properties":{"x":{"type":"STRING"}}}},
                    {"name":"b"}
                ]},
                {"googleSearch":{}},
                {"codeExecution":{}}
            ])
        );
    }

    #[test]
    fn empty_parameters_are_omitted() {
        let mut set = ToolSet::default();
        set.add_tool(
            tool(json!({"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{}}}})),
            0,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(set.into_tools()).unwrap(),
            json!([{"functionDeclarations":[{"name":"now"}]}])
        );
    }

    #[test]
    fn unknown_tools_are_refused_by_name() {
        let mut set = ToolSet::default();
        let error = set.add_tool(tool(json!({"fileSearch":{}})), 4).unwrap_err();
        assert_eq!(error.param(), Some("tools[4]"));
        assert!(error.message().contains("fileSearch"));
    }

    #[test]
    fn tool_choice_modes() {
        let mode = |choice: &str| {
            tool_config(&ToolChoice::Mode(choice.into()), "tool_choice")
                .unwrap()
                .function_calling_config
                .mode
        };
        assert_eq!(mode("auto"), "AUTO");
        assert_eq!(mode("none"), "NONE");
        assert_eq!(mode("required"), "ANY");
        assert_eq!(mode("validated"), "VALIDATED");
        assert!(tool_config(&ToolChoice::Mode("sometimes".into()), "tool_choice").is_err());
        let named: ToolChoice =
            serde_json::from_value(json!({"type":"function","function":{"name":"f"}})).unwrap();
        let config = tool_config(&named, "tool_choice")
            .unwrap()
            .function_calling_config;
        assert_eq!(
            (config.mode.as_str(), config.allowed_function_names),
            ("ANY", Some(vec!["f".to_owned()]))
        );
    }
}

#[cfg(test)]
mod examples {
    #[test]
    fn fit_builtins() -> Result<(), Box<dyn std::error::Error>> {
        use crate::gemini::translate::tools::ToolSet;

        let mut tools = ToolSet::default();
        let web: crate::openai::Tool = serde_json::from_str(r#"{"type":"web_search"}"#).unwrap();
        let shell: crate::openai::Tool =
            serde_json::from_str(r#"{"type":"function","function":{"name":"shell"}}"#).unwrap();
        tools.add_tool(web, 0)?;
        tools.add_tool(shell, 1)?;
        assert_eq!(tools.fit_builtins(false)?, ["googleSearch"]);
        assert_eq!(tools.into_tools().len(), 1);
        Ok(())
    }

    #[test]
    fn tool_config() -> Result<(), Box<dyn std::error::Error>> {
        use crate::gemini::translate::tools::tool_config;
        use crate::openai::chat::ToolChoice;

        let config = tool_config(&ToolChoice::Mode("required".into()), "tool_choice")?;
        assert_eq!(config.function_calling_config.mode, "ANY");
        Ok(())
    }
}
