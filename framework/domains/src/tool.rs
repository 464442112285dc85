//! Tools: one definition per tool yields its implementation, its OpenAI function schema and whether it
//! mutates state.
//!
//! # How a domain defines a tool
//! A tool is a [`ToolDef`] — a `static` value holding its name, description (τ²'s docstring summary),
//! [`ToolKind`], typed [`Param`] list and a plain function `fn(&mut State, &Args) -> ToolResult`.
//! [`ToolDef::openai_schema`] derives the schema τ² gives the model (pydantic's `model_json_schema` of the
//! parameters, keys sorted, titles generated as pydantic does); [`Toolkit::call`] checks the call against the
//! parameter list *before* running the body — unknown argument, missing argument, wrong JSON type — and
//! produces the Python-style message τ² shows (`AirlineTools.get_user_details() missing 1 required
//! positional argument: 'user_id'`). Inside the body, [`Args`] getters decode values that are already known
//! to have the right shape. A body reports a τ² `ValueError` by returning [`ToolError`]; the environment
//! renders it as `Error: <message>`.
//!
//! One deliberate difference: τ² does not check JSON types (a Python method receives whatever the model
//! sent and fails, or not, somewhere inside), so for a mistyped argument we report
//! `<Class>.<tool>() argument '<name>' must be a string, not int` where τ² might say `User not found` or a
//! pydantic error. Either way the call is an error that counts toward the limit; unknown tools, missing and
//! unexpected arguments and every error raised by the tool bodies match τ²'s text exactly. Where τ²
//! validates an argument inside the tool (telecom's `set_apn_settings` builds `APNSettings(**value)`), the
//! parameter is declared [`ParamType::ModelOrDictInBody`] and the body reproduces pydantic's wording.
//!
//! Non-tool functions that tasks call during initialisation or in assertions (telecom's
//! `set_data_usage`, `assert_service_status`, …) are [`EnvFunction`]s of the same toolkit.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::pyjson;

/// What a tool does to the state; τ² replays only `Write` tools (`mutates_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolKind {
    /// Looks state up without changing it.
    Read,
    /// Changes the database.
    Write,
    /// Records a thought only.
    Think,
    /// Neither reads nor writes domain data (calculator, transfer).
    Generic,
}

impl ToolKind {
    /// Whether calls of this tool change state (τ²: `mutates_state` defaults to `tool_type == WRITE`).
    pub fn mutates_state(self) -> bool {
        matches!(self, ToolKind::Write)
    }
}

/// The JSON type of a parameter, enough to derive pydantic's schema and to validate a call.
#[derive(Debug, Clone, Copy)]
pub enum ParamType {
    /// `str`.
    String,
    /// `int` (integral JSON numbers; `2.0` is accepted as pydantic's lax mode does).
    Integer,
    /// `float` (any JSON number).
    Number,
    /// `bool`.
    Boolean,
    /// A `Literal[...]` of strings.
    Literal(&'static [&'static str]),
    /// A named `str` enum class (rendered as a `$defs` entry).
    NamedEnum(&'static EnumSchema),
    /// `List[T]`.
    Array(&'static ParamType),
    /// A pydantic model (rendered as a `$defs` entry).
    Model(&'static ModelSchema),
    /// `Model | dict` as τ²'s airline tools declare list items (accepts any object, validated as the model).
    ModelOrDict(&'static ModelSchema),
    /// `Model | dict` whose tool body validates the value itself (τ²'s `Model(**value)` inside the tool, with
    /// pydantic's wording): same schema as [`ParamType::ModelOrDict`], but the call check accepts any value.
    ModelOrDictInBody(&'static ModelSchema),
    /// `NamedEnum | str`: rendered as either, and any string is accepted (the body decides what to do with
    /// values outside the enum).
    EnumOrString(&'static EnumSchema),
    /// `Optional[T]` (`T | None`): the inner type or `null`.
    Nullable(&'static ParamType),
    /// A plain `dict`.
    Dict,
    /// Unannotated (`Any`).
    Any,
}

/// A pydantic model used as a parameter type.
#[derive(Debug)]
pub struct ModelSchema {
    /// Class name (the schema title and `$defs` key).
    pub name: &'static str,
    /// Class docstring, if any (pydantic uses it as the description).
    pub description: Option<&'static str>,
    /// Fields in declaration order.
    pub fields: &'static [Param],
    /// pydantic's `extra="forbid"`: unknown keys are errors and the schema says `"additionalProperties": false`.
    pub forbid_extra: bool,
}

/// A named string enum used as a parameter type.
#[derive(Debug)]
pub struct EnumSchema {
    /// Class name.
    pub name: &'static str,
    /// Allowed values in declaration order.
    pub values: &'static [&'static str],
}

/// One parameter of a tool (or one field of a [`ModelSchema`]).
#[derive(Debug)]
pub struct Param {
    /// Argument name.
    pub name: &'static str,
    /// Its type.
    pub ty: ParamType,
    /// Its description from the docstring (empty when τ² has none).
    pub description: &'static str,
    /// Default value as a JSON literal; `None` makes the argument required.
    pub default: Option<&'static str>,
}

impl Param {
    /// A required parameter.
    pub const fn required(name: &'static str, ty: ParamType, description: &'static str) -> Self {
        Param { name, ty, description, default: None }
    }

    /// A parameter with a default (a JSON literal such as `"12"` or `"null"`).
    pub const fn optional(name: &'static str, ty: ParamType, description: &'static str, default: &'static str) -> Self {
        Param { name, ty, description, default: Some(default) }
    }
}

/// An error raised by a tool, shown to the model as `Error: <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError(pub String);

impl ToolError {
    /// Wraps a message (τ²'s `ValueError(message)`).
    pub fn new(message: impl Into<String>) -> Self {
        ToolError(message.into())
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ToolError {}

/// The rendered output of a tool (already in τ²'s string form) or its error.
pub type ToolResult = Result<String, ToolError>;

/// Renders a model as τ² does for non-string results (`json.dumps(model_dump(), default=str)`).
pub fn render<T: Serialize + ?Sized>(value: &T) -> String {
    pyjson::to_string(value)
}

/// Checked access to the arguments of one call.
#[derive(Debug, Clone, Copy)]
pub struct Args<'a> {
    map: &'a Map<String, Value>,
    params: &'static [Param],
}

impl<'a> Args<'a> {
    /// Wraps an argument object for functions whose parameters are `params` (no validation here).
    pub fn new(map: &'a Map<String, Value>, params: &'static [Param]) -> Self {
        Args { map, params }
    }

    /// The raw argument object.
    pub fn raw(&self) -> &'a Map<String, Value> {
        self.map
    }

    /// The value of `name`: the given one, else the declared default.
    pub fn value(&self, name: &str) -> Result<Cow<'a, Value>, ToolError> {
        if let Some(v) = self.map.get(name) {
            return Ok(Cow::Borrowed(v));
        }
        let param = self.params.iter().find(|p| p.name == name);
        match param.and_then(|p| p.default) {
            Some(lit) => serde_json::from_str(lit)
                .map(Cow::Owned)
                .map_err(|e| ToolError::new(format!("invalid default for argument '{name}': {e}"))),
            None => Err(ToolError::new(format!("missing required argument: '{name}'"))),
        }
    }

    /// Whether `name` was given or has a non-null default.
    pub fn is_present(&self, name: &str) -> bool {
        self.value(name).map(|v| !v.is_null()).unwrap_or(false)
    }

    /// A string argument.
    pub fn str(&self, name: &str) -> Result<String, ToolError> {
        match self.value(name)?.as_ref() {
            Value::String(s) => Ok(s.clone()),
            other => Err(type_error(name, "a string", other)),
        }
    }

    /// An optional string argument (`None` when absent or null).
    pub fn opt_str(&self, name: &str) -> Result<Option<String>, ToolError> {
        match self.value(name) {
            Err(_) => Ok(None),
            Ok(v) => match v.as_ref() {
                Value::Null => Ok(None),
                Value::String(s) => Ok(Some(s.clone())),
                other => Err(type_error(name, "a string", other)),
            },
        }
    }

    /// An integer argument (integral floats accepted).
    pub fn int(&self, name: &str) -> Result<i64, ToolError> {
        let v = self.value(name)?;
        as_int(v.as_ref()).ok_or_else(|| type_error(name, "an integer", v.as_ref()))
    }

    /// A float argument (any JSON number).
    pub fn float(&self, name: &str) -> Result<f64, ToolError> {
        let v = self.value(name)?;
        v.as_f64().ok_or_else(|| type_error(name, "a number", v.as_ref()))
    }

    /// A boolean argument.
    pub fn bool(&self, name: &str) -> Result<bool, ToolError> {
        let v = self.value(name)?;
        v.as_bool().ok_or_else(|| type_error(name, "a boolean", v.as_ref()))
    }

    /// A list of strings.
    pub fn str_list(&self, name: &str) -> Result<Vec<String>, ToolError> {
        let v = self.value(name)?;
        let items = v.as_array().ok_or_else(|| type_error(name, "a list", v.as_ref()))?;
        items
            .iter()
            .map(|item| {
                item.as_str().map(str::to_owned).ok_or_else(|| type_error(name, "a list of strings", v.as_ref()))
            })
            .collect()
    }

    /// Decodes an argument into a serde type (objects are validated against their schema beforehand).
    pub fn decode<T: DeserializeOwned>(&self, name: &str) -> Result<T, ToolError> {
        let v = self.value(name)?;
        serde_json::from_value(v.into_owned()).map_err(|e| ToolError::new(format!("argument '{name}': {e}")))
    }
}

fn as_int(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    let f = v.as_f64()?;
    if f.fract() == 0.0 && f.abs() < 9.0e15 { Some(f as i64) } else { None }
}

/// Python's type name of a JSON value, for messages.
pub fn py_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn type_error(name: &str, expected: &str, got: &Value) -> ToolError {
    ToolError::new(format!("argument '{name}' must be {expected}, not {}", py_type_name(got)))
}

/// A tool: implementation, schema and state effect from a single definition.
pub struct ToolDef<S: 'static> {
    /// Tool name as the model calls it.
    pub name: &'static str,
    /// Description shown to the model (τ²: short description, blank line, long description).
    pub description: &'static str,
    /// Read/write/generic.
    pub kind: ToolKind,
    /// Parameters in signature order.
    pub params: &'static [Param],
    /// The implementation; returns the rendered output.
    pub run: fn(&mut S, &Args<'_>) -> ToolResult,
}

impl<S> fmt::Debug for ToolDef<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolDef").field("name", &self.name).field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl<S> ToolDef<S> {
    /// The OpenAI function schema `{"type": "function", "function": {name, description, parameters}}`.
    pub fn openai_schema(&self) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": parameters_schema(self.params),
            }
        })
    }
}

/// A non-tool function callable from task initialisation actions and env assertions.
pub struct EnvFunction<S: 'static> {
    /// Function name as tasks spell it (`func_name`).
    pub name: &'static str,
    /// Parameters (used for argument checks; descriptions may be empty).
    pub params: &'static [Param],
    /// The implementation; assertions return `Value::Bool`.
    pub run: fn(&mut S, &Args<'_>) -> Result<Value, ToolError>,
}

impl<S> fmt::Debug for EnvFunction<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvFunction").field("name", &self.name).finish_non_exhaustive()
    }
}

/// The tools of one side (agent or user) of a domain.
#[derive(Debug)]
pub struct Toolkit<S: 'static> {
    /// τ²'s Python class name, used in argument errors (`AirlineTools`, `TelecomUserTools`, …).
    pub class_name: &'static str,
    /// Tools in the order they are offered to the model.
    pub tools: &'static [ToolDef<S>],
    /// Non-tool helpers for initialisation and assertions.
    pub functions: &'static [EnvFunction<S>],
}

impl<S> Toolkit<S> {
    /// The tool named `name`.
    pub fn get(&self, name: &str) -> Option<&'static ToolDef<S>> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// Whether a tool with that name exists.
    pub fn has_tool(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Calls a tool: unknown names, unexpected/missing arguments and wrong JSON types are errors with τ²'s
    /// wording; otherwise the body runs.
    pub fn call(&self, state: &mut S, name: &str, args: &Map<String, Value>) -> ToolResult {
        let tool = self.get(name).ok_or_else(|| ToolError::new(format!("Tool '{name}' not found.")))?;
        check_call(self.class_name, tool.name, tool.params, args)?;
        (tool.run)(state, &Args::new(args, tool.params))
    }

    /// Runs an env function (init action / assertion) or, failing that, a tool of this toolkit by name.
    pub fn call_function(&self, state: &mut S, name: &str, args: &Map<String, Value>) -> Result<Value, ToolError> {
        if let Some(f) = self.functions.iter().find(|f| f.name == name) {
            check_call(self.class_name, f.name, f.params, args)?;
            return (f.run)(state, &Args::new(args, f.params));
        }
        if self.has_tool(name) {
            return self.call(state, name, args).map(Value::String);
        }
        Err(ToolError::new(format!("Function {name} not found in {} tools", self.class_name)))
    }

    /// OpenAI schemas of all tools, in order.
    pub fn openai_schemas(&self) -> Vec<Value> {
        self.tools.iter().map(ToolDef::openai_schema).collect()
    }
}

/// Checks names and JSON types of a call's arguments, with Python's `TypeError` wording.
pub fn check_call(class_name: &str, func: &str, params: &[Param], args: &Map<String, Value>) -> Result<(), ToolError> {
    if let Some(extra) = args.keys().find(|k| !params.iter().any(|p| p.name == k.as_str())) {
        return Err(ToolError::new(format!("{class_name}.{func}() got an unexpected keyword argument '{extra}'")));
    }
    let missing: Vec<&str> =
        params.iter().filter(|p| p.default.is_none() && !args.contains_key(p.name)).map(|p| p.name).collect();
    if !missing.is_empty() {
        let quoted: Vec<String> = missing.iter().map(|m| format!("'{m}'")).collect();
        let list = match quoted.len() {
            1 => quoted[0].clone(),
            2 => format!("{} and {}", quoted[0], quoted[1]),
            n => format!("{}, and {}", quoted[..n - 1].join(", "), quoted[n - 1]),
        };
        let plural = if missing.len() == 1 { "" } else { "s" };
        return Err(ToolError::new(format!(
            "{class_name}.{func}() missing {} required positional argument{plural}: {list}",
            missing.len()
        )));
    }
    for p in params {
        if let Some(v) = args.get(p.name) {
            if v.is_null() && p.default == Some("null") {
                continue;
            }
            validate(&p.ty, v)
                .map_err(|why| ToolError::new(format!("{class_name}.{func}() argument '{}' {why}", p.name)))?;
        }
    }
    Ok(())
}

/// Validates a value against a parameter type; the error says what was expected.
fn validate(ty: &ParamType, v: &Value) -> Result<(), String> {
    let bad = |expected: &str| Err(format!("must be {expected}, not {}", py_type_name(v)));
    match ty {
        ParamType::Any => Ok(()),
        ParamType::ModelOrDictInBody(_) => Ok(()),
        ParamType::Nullable(inner) => {
            if v.is_null() {
                Ok(())
            } else {
                validate(inner, v)
            }
        }
        ParamType::String | ParamType::EnumOrString(_) => {
            if v.is_string() {
                Ok(())
            } else {
                bad("a string")
            }
        }
        ParamType::Integer => {
            if as_int(v).is_some() && !v.is_boolean() {
                Ok(())
            } else {
                bad("an integer")
            }
        }
        ParamType::Number => {
            if v.is_number() {
                Ok(())
            } else {
                bad("a number")
            }
        }
        ParamType::Boolean => {
            if v.is_boolean() {
                Ok(())
            } else {
                bad("a boolean")
            }
        }
        ParamType::Literal(values) | ParamType::NamedEnum(EnumSchema { values, .. }) => match v.as_str() {
            Some(s) if values.contains(&s) => Ok(()),
            _ => {
                let options: Vec<String> = values.iter().map(|x| format!("'{x}'")).collect();
                Err(format!("should be one of {}, got {}", options.join(", "), pyjson::to_string(v)))
            }
        },
        ParamType::Array(inner) => match v.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    validate(inner, item).map_err(|why| format!("item {i} {why}"))?;
                }
                Ok(())
            }
            None => bad("a list"),
        },
        ParamType::Dict => {
            if v.is_object() {
                Ok(())
            } else {
                bad("a dict")
            }
        }
        ParamType::Model(model) | ParamType::ModelOrDict(model) => match v.as_object() {
            Some(obj) => validate_model(model, obj),
            None => bad(&format!("a {} object", model.name)),
        },
    }
}

/// pydantic-style validation of an object against a model (extra keys ignored, as pydantic does by default,
/// unless the model forbids them).
fn validate_model(model: &ModelSchema, obj: &Map<String, Value>) -> Result<(), String> {
    if model.forbid_extra
        && let Some(extra) = obj.keys().find(|k| !model.fields.iter().any(|f| f.name == k.as_str()))
    {
        return Err(format!("failed validation for {}: extra field '{extra}' not permitted", model.name));
    }
    for field in model.fields {
        match obj.get(field.name) {
            None if field.default.is_none() => {
                return Err(format!("failed validation for {}: field '{}' required", model.name, field.name));
            }
            None => {}
            Some(v) => {
                if v.is_null() && field.default == Some("null") {
                    continue;
                }
                validate(&field.ty, v)
                    .map_err(|why| format!("failed validation for {}: field '{}' {why}", model.name, field.name))?;
            }
        }
    }
    Ok(())
}

/// pydantic's title for a field name: `"user_id"` → `"User Id"` (underscores to spaces, then `str.title()`).
pub fn py_title(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut prev_cased = false;
    for ch in name.replace('_', " ").chars() {
        if ch.is_alphabetic() {
            if prev_cased {
                out.extend(ch.to_lowercase());
            } else {
                out.extend(ch.to_uppercase());
            }
            prev_cased = true;
        } else {
            out.push(ch);
            prev_cased = false;
        }
    }
    out
}

/// pydantic's `model_json_schema()` of a parameter list (the model is titled `parameters`).
pub fn parameters_schema(params: &[Param]) -> Value {
    let mut defs = Map::new();
    let mut schema = object_schema("parameters", None, params, false, &mut defs);
    if !defs.is_empty() {
        defs.sort_keys();
        let mut with_defs = Map::new();
        with_defs.insert("$defs".to_owned(), Value::Object(defs));
        if let Value::Object(body) = schema {
            with_defs.extend(body);
        }
        schema = Value::Object(with_defs);
    }
    schema
}

fn object_schema(
    title: &str,
    description: Option<&str>,
    fields: &[Param],
    forbid_extra: bool,
    defs: &mut Map<String, Value>,
) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for p in fields {
        props.insert(p.name.to_owned(), property_schema(p, defs));
        if p.default.is_none() {
            required.push(Value::String(p.name.to_owned()));
        }
    }
    let mut out = Map::new();
    if forbid_extra {
        out.insert("additionalProperties".to_owned(), Value::Bool(false));
    }
    if let Some(d) = description {
        out.insert("description".to_owned(), Value::String(d.to_owned()));
    }
    out.insert("properties".to_owned(), Value::Object(props));
    if !required.is_empty() {
        out.insert("required".to_owned(), Value::Array(required));
    }
    out.insert("title".to_owned(), Value::String(title.to_owned()));
    out.insert("type".to_owned(), Value::String("object".to_owned()));
    Value::Object(out)
}

fn property_schema(p: &Param, defs: &mut Map<String, Value>) -> Value {
    let mut out = match type_schema(&p.ty, defs) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let is_ref = out.contains_key("$ref");
    if let Some(lit) = p.default
        && let Ok(v) = serde_json::from_str::<Value>(lit)
    {
        out.insert("default".to_owned(), v);
    }
    if !p.description.is_empty() {
        out.insert("description".to_owned(), Value::String(p.description.to_owned()));
    }
    if !is_ref {
        out.insert("title".to_owned(), Value::String(py_title(p.name)));
    }
    out.sort_keys();
    Value::Object(out)
}

fn type_schema(ty: &ParamType, defs: &mut Map<String, Value>) -> Value {
    match ty {
        ParamType::String => json!({"type": "string"}),
        ParamType::Integer => json!({"type": "integer"}),
        ParamType::Number => json!({"type": "number"}),
        ParamType::Boolean => json!({"type": "boolean"}),
        ParamType::Any => json!({}),
        ParamType::Dict => json!({"additionalProperties": true, "type": "object"}),
        ParamType::Literal(values) => json!({"enum": values, "type": "string"}),
        ParamType::NamedEnum(e) => enum_ref(e, defs),
        ParamType::EnumOrString(e) => json!({"anyOf": [enum_ref(e, defs), {"type": "string"}]}),
        ParamType::Nullable(inner) => json!({"anyOf": [type_schema(inner, defs), {"type": "null"}]}),
        ParamType::Array(inner) => json!({"items": type_schema(inner, defs), "type": "array"}),
        ParamType::Model(m) => {
            model_def(m, defs);
            json!({"$ref": format!("#/$defs/{}", m.name)})
        }
        ParamType::ModelOrDict(m) | ParamType::ModelOrDictInBody(m) => {
            model_def(m, defs);
            json!({"anyOf": [{"$ref": format!("#/$defs/{}", m.name)}, {"additionalProperties": true, "type": "object"}]})
        }
    }
}

/// Registers a named enum in `$defs` and returns the reference to it.
fn enum_ref(e: &EnumSchema, defs: &mut Map<String, Value>) -> Value {
    defs.insert(e.name.to_owned(), json!({"enum": e.values, "title": e.name, "type": "string"}));
    json!({"$ref": format!("#/$defs/{}", e.name)})
}

fn model_def(m: &ModelSchema, defs: &mut Map<String, Value>) {
    if !defs.contains_key(m.name) {
        let schema = object_schema(m.name, m.description, m.fields, m.forbid_extra, defs);
        defs.insert(m.name.to_owned(), schema);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_follow_python() {
        assert_eq!(py_title("user_id"), "User Id");
        assert_eq!(py_title("address1"), "Address1");
        assert_eq!(py_title("gb_amount"), "Gb Amount");
    }

    static PARAMS: &[Param] = &[
        Param::required("a", ParamType::String, "first"),
        Param::required("b", ParamType::Integer, "second"),
        Param::required("c", ParamType::Boolean, "third"),
        Param::optional("d", ParamType::Integer, "fourth", "12"),
    ];

    #[test]
    fn argument_errors_use_python_wording() {
        let args = |v: Value| v.as_object().cloned().unwrap();
        let e = check_call("T", "f", PARAMS, &args(json!({"a": "x", "zz": 1}))).unwrap_err();
        assert_eq!(e.0, "T.f() got an unexpected keyword argument 'zz'");
        let e = check_call("T", "f", PARAMS, &args(json!({}))).unwrap_err();
        assert_eq!(e.0, "T.f() missing 3 required positional arguments: 'a', 'b', and 'c'");
        let e = check_call("T", "f", PARAMS, &args(json!({"a": "x"}))).unwrap_err();
        assert_eq!(e.0, "T.f() missing 2 required positional arguments: 'b' and 'c'");
        let e = check_call("T", "f", PARAMS, &args(json!({"a": 1, "b": 2, "c": true}))).unwrap_err();
        assert_eq!(e.0, "T.f() argument 'a' must be a string, not int");
        assert!(check_call("T", "f", PARAMS, &args(json!({"a": "x", "b": 2.0, "c": false}))).is_ok());
        let m = args(json!({"a": "x", "b": 2, "c": false}));
        assert_eq!(Args::new(&m, PARAMS).int("d").unwrap(), 12);
    }

    static MODES: EnumSchema = EnumSchema { name: "Mode", values: &["a", "b"] };
    static STRICT: ModelSchema = ModelSchema {
        name: "Strict",
        description: None,
        fields: &[Param::optional("port", ParamType::Nullable(&ParamType::Integer), "", "null")],
        forbid_extra: true,
    };
    static TYPED: &[Param] = &[
        Param::required("mode", ParamType::EnumOrString(&MODES), ""),
        Param::required("strict", ParamType::Model(&STRICT), ""),
        Param::optional("loose", ParamType::ModelOrDictInBody(&STRICT), "", "null"),
    ];

    #[test]
    fn extended_types_validate_and_render_as_pydantic() {
        let args = |v: Value| v.as_object().cloned().unwrap();
        let ok = |v: Value| check_call("T", "f", TYPED, &args(v));
        assert!(ok(json!({"mode": "other", "strict": {"port": null}, "loose": 3})).is_ok());
        assert!(ok(json!({"mode": "a", "strict": {"port": 8080}, "loose": {"port": "x", "extra": 1}})).is_ok());
        assert_eq!(
            ok(json!({"mode": 1, "strict": {}})).unwrap_err().0,
            "T.f() argument 'mode' must be a string, not int"
        );
        assert_eq!(
            ok(json!({"mode": "a", "strict": {"port": "x"}})).unwrap_err().0,
            "T.f() argument 'strict' failed validation for Strict: field 'port' must be an integer, not str"
        );
        assert_eq!(
            ok(json!({"mode": "a", "strict": {"x": 1}})).unwrap_err().0,
            "T.f() argument 'strict' failed validation for Strict: extra field 'x' not permitted"
        );
        assert_eq!(
            pyjson::to_string(&parameters_schema(TYPED)),
            concat!(
                r##"{"$defs": {"Mode": {"enum": ["a", "b"], "title": "Mode", "type": "string"}, "##,
                r##""Strict": {"additionalProperties": false, "properties": {"port": {"anyOf": [{"type": "integer"}, "##,
                r##"{"type": "null"}], "default": null, "title": "Port"}}, "title": "Strict", "type": "object"}}, "##,
                r##""properties": {"mode": {"anyOf": [{"$ref": "#/$defs/Mode"}, {"type": "string"}], "title": "Mode"}, "##,
                r##""strict": {"$ref": "#/$defs/Strict"}, "loose": {"anyOf": [{"$ref": "#/$defs/Strict"}, "##,
                r##"{"additionalProperties": true, "type": "object"}], "default": null, "title": "Loose"}}, "##,
                r##""required": ["mode", "strict"], "title": "parameters", "type": "object"}"##
            )
        );
    }
}
