//! The 30 telecom user/device tools (τ² `TelecomUserTools`) and the device-side helpers tasks use to break
//! the phone (`turn_*`, `break_*`, `lock_sim_card`, …) and to grade the outcome (`assert_*`).
//!
//! Every state-changing tool answers with a short confirmation followed by the status bar, so the caller
//! sees the effect at once; the simulation rules themselves live in [`super::simulation`].

use serde_json::{Map, Value};

use super::state::TelecomState;
use super::user_db::{
    ApnName, ApnSettings, AppPermissions, NetworkModePreference, NetworkStatus, PerformanceLevel, SimStatus,
    TelecomUserDb,
};
use crate::pyjson::float_repr;
use crate::tool::{
    Args, EnumSchema, EnvFunction, ModelSchema, Param, ParamType, ToolDef, ToolError, ToolKind, ToolResult, Toolkit,
    py_type_name,
};

static APN_NAMES: EnumSchema = EnumSchema { name: "APNNames", values: &["internet", "broken"] };

/// τ²'s `NetworkModePreference` enum, offered (alongside any string) by `set_network_mode_preference`.
static NETWORK_MODE_PREFERENCE: EnumSchema =
    EnumSchema { name: "NetworkModePreference", values: &["4g_5g_preferred", "4g_only", "3g_only", "2g_only"] };

const OPTIONAL_STRING: ParamType = ParamType::Nullable(&ParamType::String);
const OPTIONAL_INTEGER: ParamType = ParamType::Nullable(&ParamType::Integer);

/// The schema of τ²'s `APNSettings` model, the argument of `set_apn_settings`.
static APN_SETTINGS: ModelSchema = ModelSchema {
    name: "APNSettings",
    description: Some("Represents the configuration for a single Access Point Name (APN)."),
    fields: &[
        Param::optional(
            "apn_name",
            ParamType::NamedEnum(&APN_NAMES),
            "The name identifier for the APN connection.",
            "\"internet\"",
        ),
        Param::optional(
            "reset_at_reboot",
            ParamType::Boolean,
            "Whether the APN settings will be reset at the next reboot.",
            "false",
        ),
        Param::optional(
            "mms_apn",
            OPTIONAL_STRING,
            "Specific APN name used for MMS traffic, if different from general data.",
            "\"mms\"",
        ),
        Param::optional(
            "mmsc_url",
            OPTIONAL_STRING,
            "The URL of the Multimedia Messaging Service Center (MMSC). Crucial for MMS.",
            "\"http://mms.carrier.com/mms/wapenc\"",
        ),
        Param::optional(
            "mms_proxy",
            OPTIONAL_STRING,
            "The proxy server address required for MMS traffic on some networks.",
            "null",
        ),
        Param::optional(
            "mms_port",
            OPTIONAL_INTEGER,
            "The proxy server port required for MMS traffic on some networks.",
            "null",
        ),
    ],
    forbid_extra: true,
};

const fn tool(
    name: &'static str,
    kind: ToolKind,
    description: &'static str,
    run: fn(&mut TelecomState, &Args<'_>) -> ToolResult,
) -> ToolDef<TelecomState> {
    ToolDef { name, description, kind, params: &[], run }
}

const fn function(
    name: &'static str,
    params: &'static [Param],
    run: fn(&mut TelecomState, &Args<'_>) -> Result<Value, ToolError>,
) -> EnvFunction<TelecomState> {
    EnvFunction { name, params, run }
}

const fn flag(name: &'static str) -> Param {
    Param::required(name, ParamType::Boolean, "")
}

/// The user (device) toolkit, in τ²'s tool order.
pub static USER_TOOLKIT: Toolkit<TelecomState> = Toolkit {
    class_name: "TelecomUserTools",
    tools: &[
        tool(
            "check_status_bar",
            ToolKind::Read,
            "Shows what icons are currently visible in your phone's status bar (the area at the top of the screen). Displays network signal strength, mobile data status (enabled, disabled, data saver), Wi-Fi status, and battery level.",
            check_status_bar,
        ),
        tool(
            "check_network_status",
            ToolKind::Read,
            "Checks your phone's connection status to cellular networks and Wi-Fi. Shows airplane mode status, signal strength, network type, whether mobile data is enabled, and whether data roaming is enabled.",
            check_network_status,
        ),
        tool(
            "check_network_mode_preference",
            ToolKind::Read,
            "Shows the current network mode preference.",
            check_network_mode_preference,
        ),
        ToolDef {
            name: "set_network_mode_preference",
            description: "Changes the type of cellular network your phone prefers to connect to (e.g., 5G, LTE/4G, 3G). Higher-speed networks (LTE/5G) provide faster data but may use more battery.",
            kind: ToolKind::Write,
            // τ² declares `NetworkModePreference | str`: any string is accepted and invalid ones are answered
            // with a "Failed to set" message, not an error.
            params: &[Param::required("mode", ParamType::EnumOrString(&NETWORK_MODE_PREFERENCE), "")],
            run: set_network_mode_preference,
        },
        tool(
            "run_speed_test",
            ToolKind::Read,
            "Measures your current internet connection speed (download speed). Provides information about connection quality and what activities it can support.",
            run_speed_test,
        ),
        tool(
            "toggle_airplane_mode",
            ToolKind::Write,
            "Toggles Airplane Mode ON or OFF. When ON, it disconnects all wireless communications including cellular, Wi-Fi, and Bluetooth.\n\nReturns the new state of airplane_mode.",
            toggle_airplane_mode,
        ),
        tool(
            "check_sim_status",
            ToolKind::Read,
            "Checks if your SIM card is working correctly and displays its current status. Shows if the SIM is active, missing, or locked with a PIN or PUK code.",
            check_sim_status,
        ),
        tool(
            "reseat_sim_card",
            ToolKind::Write,
            "Simulates removing and reinserting your SIM card. This can help resolve recognition issues.",
            reseat_sim_card,
        ),
        tool(
            "toggle_data",
            ToolKind::Write,
            "Toggles your phone's mobile data connection ON or OFF. Controls whether your phone can use cellular data for internet access when Wi-Fi is unavailable.\n\nReturns the new data connection status.",
            toggle_data,
        ),
        tool(
            "toggle_roaming",
            ToolKind::Write,
            "Toggles Data Roaming ON or OFF. When ON, your phone can use data networks in areas outside your carrier's coverage.\n\nReturns the new data roaming status.",
            toggle_roaming,
        ),
        tool(
            "check_data_restriction_status",
            ToolKind::Read,
            "Checks if your phone has any data-limiting features active. Shows if Data Saver mode is on.",
            check_data_restriction_status,
        ),
        tool(
            "toggle_data_saver_mode",
            ToolKind::Write,
            "Toggles Data Saver mode ON or OFF. When ON, it reduces data usage, which may affect data speed.\n\nReturns the new data saver mode status.",
            toggle_data_saver_mode,
        ),
        tool(
            "check_apn_settings",
            ToolKind::Read,
            "Checks the technical APN settings your phone uses to connect to your carrier's mobile data network. Shows current APN name and MMSC URL for picture messaging.",
            check_apn_settings,
        ),
        ToolDef {
            name: "set_apn_settings",
            description: "Sets the APN settings for the phone.",
            kind: ToolKind::Write,
            // τ² builds `APNSettings(**apn_settings)` inside the tool; `validate_apn_settings` answers with pydantic's
            // wording, so the call check must not pre-empt it.
            params: &[Param::required("apn_settings", ParamType::ModelOrDictInBody(&APN_SETTINGS), "")],
            run: set_apn_settings,
        },
        tool(
            "reset_apn_settings",
            ToolKind::Write,
            "Resets your APN settings to the default settings.",
            reset_apn_settings,
        ),
        tool(
            "check_wifi_status",
            ToolKind::Read,
            "Checks your Wi-Fi connection status. Shows if Wi-Fi is turned on, which network you're connected to (if any), and the signal strength.",
            check_wifi_status,
        ),
        tool(
            "toggle_wifi",
            ToolKind::Write,
            "Toggles your phone's Wi-Fi radio ON or OFF. Controls whether your phone can discover and connect to wireless networks for internet access.\n\nReturns the new Wi-Fi status.",
            toggle_wifi,
        ),
        tool(
            "check_wifi_calling_status",
            ToolKind::Read,
            "Checks if Wi-Fi Calling is enabled on your device. This feature allows you to make and receive calls over a Wi-Fi network instead of using the cellular network.",
            check_wifi_calling_status,
        ),
        tool(
            "toggle_wifi_calling",
            ToolKind::Write,
            "Toggles Wi-Fi Calling ON or OFF. This feature allows you to make and receive calls over Wi-Fi instead of the cellular network, which can help in areas with weak cellular signal.\n\nReturns the new Wi-Fi Calling status.",
            toggle_wifi_calling,
        ),
        tool(
            "check_vpn_status",
            ToolKind::Read,
            "Checks if you're using a VPN (Virtual Private Network) connection. Shows if a VPN is active, connected, and displays any available connection details.",
            check_vpn_status,
        ),
        tool("connect_vpn", ToolKind::Write, "Connects to your VPN (Virtual Private Network).", connect_vpn),
        tool(
            "disconnect_vpn",
            ToolKind::Write,
            "Disconnects any active VPN (Virtual Private Network) connection. Stops routing your internet traffic through a VPN server, which might affect connection speed or access to content.",
            disconnect_vpn,
        ),
        tool(
            "check_installed_apps",
            ToolKind::Read,
            "Returns the name of all installed apps on the phone.",
            check_installed_apps,
        ),
        ToolDef {
            name: "check_app_status",
            description: "Checks detailed information about a specific app. Shows its permissions and background data usage settings.",
            kind: ToolKind::Read,
            params: &[Param::required("app_name", ParamType::String, "")],
            run: check_app_status,
        },
        ToolDef {
            name: "check_app_permissions",
            description: "Checks what permissions a specific app currently has. Shows if the app has access to features like storage, camera, location, etc.",
            kind: ToolKind::Read,
            params: &[Param::required("app_name", ParamType::String, "")],
            run: check_app_permissions,
        },
        ToolDef {
            name: "grant_app_permission",
            description: "Gives a specific permission to an app (like access to storage, camera, or location). Required for some app functions to work properly.",
            kind: ToolKind::Write,
            params: &[
                Param::required("app_name", ParamType::String, "The name of the app to grant the permission to."),
                Param::required("permission", ParamType::String, "The permission to grant, should be lowercase."),
            ],
            run: grant_app_permission,
        },
        tool(
            "can_send_mms",
            ToolKind::Read,
            "Checks if the default messaging app can send MMS messages.",
            can_send_mms,
        ),
        tool(
            "reboot_device",
            ToolKind::Write,
            "Restarts your phone completely. This can help resolve many temporary software glitches by refreshing all running services and connections.",
            reboot_device,
        ),
        tool(
            "check_payment_request",
            ToolKind::Read,
            "Checks if the agent has sent you a payment request.",
            check_payment_request,
        ),
        tool(
            "make_payment",
            ToolKind::Write,
            "Makes a payment for the bill that the agent has sent you.",
            make_payment,
        ),
    ],
    functions: &[
        function(
            "set_user_info",
            &[Param::required("name", ParamType::String, ""), Param::required("phone_number", ParamType::String, "")],
            set_user_info,
        ),
        function("set_user_location", &[flag("abroad")], set_user_location),
        function("turn_airplane_mode_on", &[], turn_airplane_mode_on),
        function("turn_airplane_mode_off", &[], turn_airplane_mode_off),
        function("turn_data_on", &[], turn_data_on),
        function("turn_data_off", &[], turn_data_off),
        function("turn_roaming_on", &[], turn_roaming_on),
        function("turn_roaming_off", &[], turn_roaming_off),
        function("turn_data_saver_mode_on", &[], turn_data_saver_mode_on),
        function("turn_data_saver_mode_off", &[], turn_data_saver_mode_off),
        function("unseat_sim_card", &[], unseat_sim_card),
        function("lock_sim_card", &[Param::required("mode", ParamType::String, "")], lock_sim_card),
        function("break_apn_settings", &[], break_apn_settings),
        function("break_apn_mms_setting", &[], break_apn_mms_setting),
        function("break_vpn", &[], break_vpn),
        function(
            "remove_app_permission",
            &[Param::required("app_name", ParamType::String, ""), Param::required("permission", ParamType::String, "")],
            remove_app_permission,
        ),
        function(
            "set_wifi_calling",
            &[flag("enabled"), Param::optional("mms_over_wifi", ParamType::Boolean, "", "null")],
            set_wifi_calling,
        ),
        function("simulate_network_search", &[], simulate_network_search),
        function("assert_airplane_mode_status", &[flag("expected_status")], assert_airplane_mode_status),
        function(
            "assert_service_status",
            &[Param::required("expected_status", ParamType::String, "")],
            assert_service_status,
        ),
        function("assert_mobile_data_status", &[flag("expected_status")], assert_mobile_data_status),
        function("assert_mobile_roaming_status", &[flag("expected_status")], assert_mobile_roaming_status),
        function(
            "assert_mobile_data_saver_mode_status",
            &[flag("expected_status")],
            assert_mobile_data_saver_mode_status,
        ),
        function(
            "assert_internet_speed",
            &[
                Param::required("expected_speed", ParamType::Number, ""),
                Param::optional("expected_desc", ParamType::String, "", "null"),
            ],
            assert_internet_speed,
        ),
        function("assert_internet_not_excellent", &[], assert_internet_not_excellent),
        function("assert_can_send_mms", &[flag("expected_status")], assert_can_send_mms),
        function("assert_mobile_data_usage_exceeded", &[flag("expected_status")], assert_mobile_data_usage_exceeded),
    ],
};

fn on_off(flag: bool) -> &'static str {
    if flag { "ON" } else { "OFF" }
}

fn yes_no(flag: bool) -> &'static str {
    if flag { "Yes" } else { "No" }
}

/// A write tool's answer: the confirmation, then the status bar.
fn with_status_bar(user: &TelecomUserDb, text: &str) -> String {
    format!("{text}\nStatus Bar: {}", user.status_bar())
}

fn check_status_bar(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    Ok(format!("Status Bar: {}", state.user.status_bar()))
}

fn check_network_status(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    let user = &state.user;
    let d = &user.device;
    let mut lines = vec![
        format!("Airplane Mode: {}", on_off(d.airplane_mode)),
        format!("SIM Card Status: {}", user.sim_status().as_str()),
        format!("Cellular Connection: {}", d.network_connection_status.as_str()),
        format!("Cellular Signal: {}", d.network_signal_strength.as_str()),
        format!("Cellular Network Type: {}", d.network_technology_connected.as_str()),
        format!("Mobile Data Enabled: {}", yes_no(d.data_enabled)),
        format!("Data Roaming Enabled: {}", yes_no(d.roaming_enabled)),
        format!("Wi-Fi Radio: {}", on_off(d.wifi_enabled)),
        format!("Wi-Fi Connected: {}", yes_no(d.wifi_connected)),
    ];
    if d.wifi_connected {
        lines.push(format!("Connected Wi-Fi Network: {}", py_optional_str(d.wifi_ssid.as_deref())));
    }
    Ok(lines.join("\n"))
}

fn check_network_mode_preference(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    Ok(format!("Network Mode Preference: {}", state.user.device.network_mode_preference.as_str()))
}

fn set_network_mode_preference(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    let mode = args.str("mode")?;
    let Some(valid) = NetworkModePreference::parse(&mode) else {
        let options: Vec<&str> = NetworkModePreference::ALL.iter().map(|m| m.as_str()).collect();
        let text = format!(
            "Failed to set network mode: '{mode}' is not a valid option. Please use one of: {}",
            options.join(", ")
        );
        return Ok(with_status_bar(&state.user, &text));
    };
    let user = state.user_mut();
    user.device.network_mode_preference = valid;
    user.simulate_network_search();
    Ok(with_status_bar(user, &format!("Preferred Network Mode set to: {}", valid.as_str())))
}

fn run_speed_test(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    let Some((speed, label)) = state.user.speed_test() else {
        return Ok("Speed test failed: No Connection.".to_owned());
    };
    let advice = match label {
        "Very Poor" => "Connection is very slow. Basic web browsing might be difficult.",
        "Poor" => "Connection is slow. Web browsing may be sluggish, streaming difficult.",
        "Fair" => "Connection is okay for web browsing and some standard definition streaming.",
        "Good" => "Connection is good for most activities, including HD streaming.",
        _ => "Connection is very fast.",
    };
    Ok(format!("Speed Test Result: {speed:.2} Mbps ({label}). {advice}"))
}

fn toggle_airplane_mode(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    let user = state.user_mut();
    let on = user.flip_airplane_mode();
    Ok(with_status_bar(user, &format!("Airplane Mode is now {}.", on_off(on))))
}

fn check_sim_status(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    Ok(match state.user.sim_status() {
        SimStatus::Active => "Your SIM card is active and working.",
        SimStatus::Missing => "No SIM card detected in the phone.",
        SimStatus::LockedPin => "The SIM card is locked with a PIN code.",
        SimStatus::LockedPuk => "The SIM card is locked with a PUK code.",
    }
    .to_owned())
}

fn reseat_sim_card(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    let user = state.user_mut();
    user.device.sim_card_missing = false;
    user.simulate_network_search();
    Ok(with_status_bar(user, "SIM card re-seated successfully."))
}

fn toggle_data(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    let user = state.user_mut();
    let on = user.flip_data();
    Ok(with_status_bar(user, &format!("Mobile Data is now {}.", on_off(on))))
}

fn toggle_roaming(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    let user = state.user_mut();
    let on = user.flip_roaming();
    Ok(with_status_bar(user, &format!("Data Roaming is now {}.", on_off(on))))
}

fn check_data_restriction_status(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    Ok(if state.user.device.data_saver_mode {
        "Data Saver mode is ON (limits data usage).".to_owned()
    } else {
        "Data Saver mode is OFF.".to_owned()
    })
}

fn toggle_data_saver_mode(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    let user = state.user_mut();
    let on = user.flip_data_saver();
    Ok(with_status_bar(user, &format!("Data Saver Mode is now {}.", on_off(on))))
}

fn check_apn_settings(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    let apn = &state.user.device.active_apn_settings;
    let mmsc = apn.mmsc_url.as_deref().filter(|u| !u.is_empty()).unwrap_or("Not Set");
    Ok(format!(
        "Current APN Name: {}\nMMSC URL (for picture messages): {mmsc}\n(These are technical settings, usually best left unchanged.)",
        apn.apn_name.as_str()
    ))
}

fn set_apn_settings(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    let raw = args.value("apn_settings")?;
    let Value::Object(fields) = raw.as_ref() else {
        return Err(ToolError::new(format!("'{}' object has no attribute 'apn_name'", py_type_name(raw.as_ref()))));
    };
    let settings = validate_apn_settings(fields)?;
    let name = settings.apn_name;
    let user = state.user_mut();
    user.device.active_apn_settings = settings;
    user.simulate_network_search();
    Ok(with_status_bar(user, &format!("APN settings set to: {}", name.as_str())))
}

/// Builds `APNSettings` from a dict with pydantic's validation (field order, then extra keys) and messages.
fn validate_apn_settings(fields: &Map<String, Value>) -> Result<ApnSettings, ToolError> {
    let mut settings = ApnSettings::default();
    let mut errors: Vec<PydanticError> = Vec::new();
    for (key, value) in fields {
        match key.as_str() {
            "apn_name" => match value.as_str().and_then(ApnName::parse) {
                Some(name) => settings.apn_name = name,
                None => errors.push(PydanticError::new(key, "Input should be 'internet' or 'broken'", "enum", value)),
            },
            "reset_at_reboot" => match lax_bool(value) {
                Some(b) => settings.reset_at_reboot = b,
                None => errors.push(PydanticError::new(key, "Input should be a valid boolean", "bool_type", value)),
            },
            "mms_apn" | "mmsc_url" | "mms_proxy" => {
                let parsed = match value {
                    Value::Null => Ok(None),
                    Value::String(s) => Ok(Some(s.clone())),
                    _ => Err(PydanticError::new(key, "Input should be a valid string", "string_type", value)),
                };
                match parsed {
                    Ok(v) if key == "mms_apn" => settings.mms_apn = v,
                    Ok(v) if key == "mmsc_url" => settings.mmsc_url = v,
                    Ok(v) => settings.mms_proxy = v,
                    Err(e) => errors.push(e),
                }
            }
            "mms_port" => match lax_int(value) {
                Ok(port) => settings.mms_port = port,
                Err((message, kind)) => errors.push(PydanticError::new(key, message, kind, value)),
            },
            _ => {}
        }
    }
    // pydantic reports field errors in declaration order, then unknown keys.
    let order = ["apn_name", "reset_at_reboot", "mms_apn", "mmsc_url", "mms_proxy", "mms_port"];
    errors.sort_by_key(|e| order.iter().position(|f| *f == e.field).unwrap_or(order.len()));
    for (key, value) in fields {
        if !order.contains(&key.as_str()) {
            errors.push(PydanticError::new(key, "Extra inputs are not permitted", "extra_forbidden", value));
        }
    }
    if errors.is_empty() {
        return Ok(settings);
    }
    let plural = if errors.len() == 1 { "" } else { "s" };
    let mut message = format!("{} validation error{plural} for APNSettings", errors.len());
    for e in &errors {
        message.push_str(&format!(
            "\n{}\n  {} [type={}, input_value={}, input_type={}]\n    For further information visit https://errors.pydantic.dev/2.14/v/{}",
            e.field,
            e.message,
            e.kind,
            py_repr(&e.input),
            py_type_name(&e.input),
            e.kind
        ));
    }
    Err(ToolError::new(message))
}

struct PydanticError {
    field: String,
    message: &'static str,
    kind: &'static str,
    input: Value,
}

impl PydanticError {
    fn new(field: &str, message: &'static str, kind: &'static str, input: &Value) -> Self {
        Self { field: field.to_owned(), message, kind, input: input.clone() }
    }
}

/// pydantic's lax boolean: bools, 0/1, and the usual true/false words.
fn lax_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) if n.as_f64() == Some(0.0) => Some(false),
        Value::Number(n) if n.as_f64() == Some(1.0) => Some(true),
        Value::String(s) => match s.to_lowercase().as_str() {
            "0" | "off" | "f" | "false" | "n" | "no" => Some(false),
            "1" | "on" | "t" | "true" | "y" | "yes" => Some(true),
            _ => None,
        },
        _ => None,
    }
}

/// pydantic's lax optional integer: ints, integral floats, numeric strings, or null.
fn lax_int(value: &Value) -> Result<Option<i64>, (&'static str, &'static str)> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(Some(i)),
            None => match n.as_f64() {
                Some(f) if f.fract() == 0.0 => Ok(Some(f as i64)),
                _ => Err(("Input should be a valid integer, got a number with a fractional part", "int_from_float")),
            },
        },
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ("Input should be a valid integer, unable to parse string as an integer", "int_parsing")),
        _ => Err(("Input should be a valid integer", "int_type")),
    }
}

/// Python `repr()` of a JSON value (strings single-quoted, `None`, `True`, dict/list literals).
fn py_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        Value::Number(n) if n.is_f64() => float_repr(n.as_f64().unwrap_or(f64::NAN)),
        Value::Number(n) => n.to_string(),
        Value::String(s) => py_str_repr(s),
        Value::Array(items) => format!("[{}]", items.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter().map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v))).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Python `repr()` of a string.
fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python `str()` of an optional string (`None` when absent).
fn py_optional_str(s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_owned(), str::to_owned)
}

fn reset_apn_settings(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    let user = state.user_mut();
    user.device.active_apn_settings.reset_at_reboot = true;
    user.simulate_network_search();
    Ok(with_status_bar(user, "APN settings will reset at reboot."))
}

fn check_wifi_status(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    let d = &state.user.device;
    Ok(if !d.wifi_enabled {
        "Wi-Fi is turned OFF.".to_owned()
    } else if d.wifi_connected {
        format!(
            "Wi-Fi is ON and connected to '{}'. Signal strength: {}.",
            py_optional_str(d.wifi_ssid.as_deref()),
            d.wifi_signal_strength.as_str()
        )
    } else {
        "Wi-Fi is ON but not connected to any network.".to_owned()
    })
}

fn toggle_wifi(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    let user = state.user_mut();
    Ok(match user.flip_wifi() {
        None => with_status_bar(user, "Cannot change Wi-Fi settings while Airplane Mode is ON."),
        Some(on) => with_status_bar(user, &format!("Wi-Fi is now {}.", on_off(on))),
    })
}

fn check_wifi_calling_status(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    Ok(format!("Wi-Fi Calling is currently turned {}.", on_off(state.user.device.wifi_calling_enabled)))
}

fn toggle_wifi_calling(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    let user = state.user_mut();
    let on = user.flip_wifi_calling();
    Ok(with_status_bar(user, &format!("Wi-Fi Calling is now {}.", on_off(on))))
}

fn check_vpn_status(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    let d = &state.user.device;
    Ok(if d.vpn_connected {
        match &d.vpn_details {
            Some(details) => format!(
                "VPN is ON and connected. Details: {{'server_address': {}, 'protocol': {}, 'server_performance': {}}}",
                details.server_address.as_deref().map_or_else(|| "None".to_owned(), py_str_repr),
                details.protocol.as_deref().map_or_else(|| "None".to_owned(), py_str_repr),
                performance_repr(details.server_performance)
            ),
            None => "VPN is ON and connected (no specific details available).".to_owned(),
        }
    } else if d.vpn_enabled_setting {
        "VPN is turned ON in settings, but currently not connected.".to_owned()
    } else {
        "VPN is turned OFF.".to_owned()
    })
}

/// Python `repr()` of a `PerformanceLevel` member, as it appears in the dumped VPN details.
fn performance_repr(level: PerformanceLevel) -> String {
    format!("<PerformanceLevel.{}: '{}'>", level.as_str().to_uppercase(), level.as_str())
}

fn connect_vpn(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    if state.user.device.vpn_connected {
        return Ok("VPN already connected.".to_owned());
    }
    let profile = state.vpn_profile.clone();
    let user = state.user_mut();
    user.device.vpn_connected = true;
    user.device.vpn_details = Some(profile);
    Ok(with_status_bar(user, "VPN connected successfully."))
}

fn disconnect_vpn(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    let user = state.user_mut();
    let text = if user.disconnect_vpn_inner() {
        "VPN disconnected successfully."
    } else {
        "No active VPN connection to disconnect."
    };
    Ok(with_status_bar(user, text))
}

fn check_installed_apps(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    let names: Vec<&str> = state.user.device.app_statuses.keys().map(String::as_str).collect();
    Ok(format!("The following apps are installed on the phone: {}", names.join(", ")))
}

fn granted(permissions: &AppPermissions) -> Vec<&'static str> {
    permissions.entries().into_iter().filter(|(_, on)| *on).map(|(name, _)| name).collect()
}

fn check_app_status(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    let app_name = args.str("app_name")?;
    let Some(app) = state.user.device.app_statuses.get(&app_name) else {
        return Ok(format!("App '{app_name}' not found on this phone."));
    };
    let mut lines = vec![format!("Status for App: {app_name}")];
    let perms = granted(&app.permissions);
    if perms.is_empty() {
        lines.push(" - Permissions: None granted.".to_owned());
    } else {
        lines.push(" - Permissions Granted:".to_owned());
        lines.extend(perms.iter().map(|p| format!("   - {p}")));
    }
    Ok(lines.join("\n"))
}

fn check_app_permissions(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    let app_name = args.str("app_name")?;
    let Some(app) = state.user.device.app_statuses.get(&app_name) else {
        return Ok(format!("App '{app_name}' not found on this phone."));
    };
    let perms = granted(&app.permissions);
    Ok(if perms.is_empty() {
        format!("App '{app_name}' currently has no permissions granted.")
    } else {
        format!("App '{app_name}' has permission for: {}.", perms.join(", "))
    })
}

fn grant_app_permission(state: &mut TelecomState, args: &Args<'_>) -> ToolResult {
    let app_name = args.str("app_name")?;
    let permission = args.str("permission")?.to_lowercase();
    let text = if !state.user.device.app_statuses.contains_key(&app_name) {
        format!("Error. App '{app_name}' not found. Cannot grant permission.")
    } else if !AppPermissions::NAMES.contains(&permission.as_str()) {
        let available: Vec<String> = AppPermissions::NAMES.iter().map(|n| format!("'{n}'")).collect();
        format!(
            "Error. Permission '{permission}' not tracked for app '{app_name}', available permissions: [{}]",
            available.join(", ")
        )
    } else {
        let user = state.user_mut();
        if let Some(flag) =
            user.device.app_statuses.get_mut(&app_name).and_then(|a| a.permissions.flag_mut(&permission))
        {
            *flag = true;
        }
        format!("Success. Permission '{permission}' granted to app '{app_name}'.")
    };
    Ok(with_status_bar(&state.user, &text))
}

fn can_send_mms(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    Ok(if state.user.can_send_mms() {
        "Your messaging app can send MMS messages.".to_owned()
    } else {
        "Your messaging app cannot send MMS messages.".to_owned()
    })
}

fn reboot_device(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    let user = state.user_mut();
    let progress = user.reboot();
    Ok(with_status_bar(user, &progress))
}

fn check_payment_request(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    Ok(match &state.user.surroundings.payment_request {
        None => "No payment request has been made.".to_owned(),
        Some(r) => format!("You have a payment request for bill {} of {} USD.", r.bill_id, float_repr(r.amount_due)),
    })
}

fn make_payment(state: &mut TelecomState, _args: &Args<'_>) -> ToolResult {
    if state.user.surroundings.payment_request.is_none() {
        return Ok("You do not have a payment request.".to_owned());
    }
    let user = state.user_mut();
    let Some(request) = user.surroundings.payment_request.as_mut() else {
        return Ok("You do not have a payment request.".to_owned());
    };
    request.paid = true;
    Ok(format!("Payment of {} USD has been made for bill {}.", float_repr(request.amount_due), request.bill_id))
}

// --- Initialisation helpers -------------------------------------------------------------------------

fn text(s: &str) -> Result<Value, ToolError> {
    Ok(Value::String(s.to_owned()))
}

fn set_user_info(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    let (name, phone) = (args.str("name")?, args.str("phone_number")?);
    let s = &mut state.user_mut().surroundings;
    s.name = Some(name);
    s.phone_number = Some(phone);
    Ok(Value::Null)
}

fn set_user_location(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    state.user_mut().surroundings.is_abroad = args.bool("abroad")?;
    Ok(Value::Null)
}

fn turn_airplane_mode_on(state: &mut TelecomState, _args: &Args<'_>) -> Result<Value, ToolError> {
    let user = state.user_mut();
    if !user.flip_airplane_mode() {
        user.flip_airplane_mode();
    }
    text("Airplane Mode is now ON.")
}

fn turn_airplane_mode_off(state: &mut TelecomState, _args: &Args<'_>) -> Result<Value, ToolError> {
    let user = state.user_mut();
    if user.flip_airplane_mode() {
        user.flip_airplane_mode();
    }
    text("Airplane Mode is now OFF.")
}

fn turn_data_on(state: &mut TelecomState, _args: &Args<'_>) -> Result<Value, ToolError> {
    // τ² sets the switch without a network search.
    state.user_mut().device.data_enabled = true;
    text("Data connection restored.")
}

fn turn_data_off(state: &mut TelecomState, _args: &Args<'_>) -> Result<Value, ToolError> {
    let user = state.user_mut();
    if user.flip_data() {
        user.flip_data();
    }
    text("Data connection broken.")
}

fn turn_roaming_on(state: &mut TelecomState, _args: &Args<'_>) -> Result<Value, ToolError> {
    let user = state.user_mut();
    if !user.flip_roaming() {
        user.flip_roaming();
    }
    text("Data Roaming is now ON.")
}

fn turn_roaming_off(state: &mut TelecomState, _args: &Args<'_>) -> Result<Value, ToolError> {
    let user = state.user_mut();
    if user.flip_roaming() {
        user.flip_roaming();
    }
    text("Data Roaming is now OFF.")
}

fn turn_data_saver_mode_on(state: &mut TelecomState, _args: &Args<'_>) -> Result<Value, ToolError> {
    let user = state.user_mut();
    if !user.flip_data_saver() {
        user.flip_data_saver();
    }
    text("Data Saver Mode is now ON.")
}

fn turn_data_saver_mode_off(state: &mut TelecomState, _args: &Args<'_>) -> Result<Value, ToolError> {
    let user = state.user_mut();
    if user.flip_data_saver() {
        user.flip_data_saver();
    }
    text("Data Saver Mode is now OFF.")
}

fn unseat_sim_card(state: &mut TelecomState, _args: &Args<'_>) -> Result<Value, ToolError> {
    let user = state.user_mut();
    user.device.sim_card_missing = true;
    user.simulate_network_search();
    text("SIM card un-seated successfully.")
}

fn lock_sim_card(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    let mode = args.str("mode")?;
    let user = state.user_mut();
    match mode.as_str() {
        "pin" => user.device.sim_card_status = SimStatus::LockedPin,
        "puk" => user.device.sim_card_status = SimStatus::LockedPuk,
        _ => {}
    }
    user.simulate_network_search();
    Ok(Value::String(format!("SIM card locked successfully in {mode} mode.")))
}

fn break_apn_settings(state: &mut TelecomState, _args: &Args<'_>) -> Result<Value, ToolError> {
    let user = state.user_mut();
    user.device.active_apn_settings.apn_name = ApnName::Broken;
    user.simulate_network_search();
    text("APN settings broken. Please call reset_apn_settings() to fix.")
}

fn break_apn_mms_setting(state: &mut TelecomState, _args: &Args<'_>) -> Result<Value, ToolError> {
    state.user_mut().device.active_apn_settings.mmsc_url = None;
    text("APN MMS setting broken. Please call reset_apn_settings() to fix.")
}

fn break_vpn(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    // τ² connects (a no-op when already connected) and then degrades the connection's details object,
    // which after a fresh connection is the shared default profile itself.
    let shares_profile =
        !state.user.device.vpn_connected || state.user.device.vpn_details.as_ref() == Some(&state.vpn_profile);
    connect_vpn(state, args)?;
    match state.user_mut().device.vpn_details.as_mut() {
        Some(details) => details.server_performance = PerformanceLevel::Poor,
        None => return Err(ToolError::new("'NoneType' object has no attribute 'server_performance'")),
    }
    if shares_profile {
        state.vpn_profile.server_performance = PerformanceLevel::Poor;
    }
    text("VPN connection broken.")
}

fn remove_app_permission(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    let app_name = args.str("app_name")?;
    let permission = args.str("permission")?.to_lowercase();
    let (ok, message) = if !state.user.device.app_statuses.contains_key(&app_name) {
        (false, format!("App '{app_name}' not found. Cannot remove permission."))
    } else if !AppPermissions::NAMES.contains(&permission.as_str()) {
        (false, format!("Permission '{permission}' not tracked for app '{app_name}'."))
    } else {
        if let Some(flag) =
            state.user_mut().device.app_statuses.get_mut(&app_name).and_then(|a| a.permissions.flag_mut(&permission))
        {
            *flag = false;
        }
        (true, format!("Permission '{permission}' removed from app '{app_name}'."))
    };
    Ok(Value::Array(vec![Value::Bool(ok), Value::String(message)]))
}

fn set_wifi_calling(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    let enabled = args.bool("enabled")?;
    let mms = match args.value("mms_over_wifi")?.as_ref() {
        Value::Null => None,
        _ => Some(args.bool("mms_over_wifi")?),
    };
    let user = state.user_mut();
    if user.device.wifi_calling_enabled != enabled {
        user.flip_wifi_calling();
    }
    let mut message = format!("Wi-Fi Calling is now {}.", on_off(enabled));
    if let Some(mms) = mms {
        user.device.wifi_calling_mms_over_wifi = mms;
        message.push_str(&format!("\nMMS over Wi-Fi is now {}.", on_off(mms)));
    }
    Ok(Value::String(message))
}

fn simulate_network_search(state: &mut TelecomState, _args: &Args<'_>) -> Result<Value, ToolError> {
    state.user_mut().simulate_network_search();
    Ok(Value::Null)
}

// --- Assertions ------------------------------------------------------------------------------------

fn assert_airplane_mode_status(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    Ok(Value::Bool(state.user.device.airplane_mode == args.bool("expected_status")?))
}

fn assert_service_status(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    let expected = args.str("expected_status")?;
    let status = NetworkStatus::parse(&expected)
        .ok_or_else(|| ToolError::new(format!("'{expected}' is not a valid NetworkStatus")))?;
    Ok(Value::Bool(state.user.device.network_connection_status == status))
}

fn assert_mobile_data_status(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    Ok(Value::Bool(state.user.mobile_data_working() == args.bool("expected_status")?))
}

fn assert_mobile_roaming_status(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    Ok(Value::Bool(state.user.device.roaming_enabled == args.bool("expected_status")?))
}

fn assert_mobile_data_saver_mode_status(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    Ok(Value::Bool(state.user.device.data_saver_mode == args.bool("expected_status")?))
}

fn assert_internet_speed(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    let expected_speed = args.float("expected_speed")?;
    let expected_desc = args.opt_str("expected_desc")?;
    let (speed, desc) = state.user.speed_test().unwrap_or((0.0, "No Connection"));
    let fast_enough = speed >= expected_speed;
    Ok(Value::Bool(match expected_desc {
        None => fast_enough,
        Some(want) => fast_enough && desc.to_lowercase() == want.to_lowercase(),
    }))
}

fn assert_internet_not_excellent(state: &mut TelecomState, _args: &Args<'_>) -> Result<Value, ToolError> {
    let desc = state.user.speed_test().map_or("No Connection", |(_, d)| d);
    Ok(Value::Bool(desc.to_lowercase() != "excellent"))
}

fn assert_can_send_mms(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    Ok(Value::Bool(state.user.can_send_mms() == args.bool("expected_status")?))
}

fn assert_mobile_data_usage_exceeded(state: &mut TelecomState, args: &Args<'_>) -> Result<Value, ToolError> {
    Ok(Value::Bool(state.user.surroundings.mobile_data_usage_exceeded == args.bool("expected_status")?))
}
