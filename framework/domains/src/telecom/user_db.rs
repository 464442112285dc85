//! The telecom user database (τ² `TelecomUserDB`, loaded from `user_db.toml`): the customer's phone and the
//! physical surroundings it operates in (signal per technology, location, line state mirrored from the agent DB).
//!
//! The device is the half of the dual-control state the agent cannot touch directly; in solo mode the agent
//! drives it through the user tools. Defaults and field order follow the pydantic models.

use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// Declares a string-valued enum with its exact τ² spellings, `as_str`, `parse` and serde in that spelling.
macro_rules! str_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order (the order τ² lists them in messages).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as spelled in τ² data and tool outputs.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses the τ² spelling.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::parse(&text).ok_or_else(|| {
                    let allowed: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    serde::de::Error::custom(format!(
                        "unknown {} '{}', expected one of {:?}",
                        stringify!($name),
                        text,
                        allowed
                    ))
                })
            }
        }
    };
}

str_enum! {
    /// State of the SIM card.
    SimStatus { /// Working SIM.
        Active = "active", /// No SIM detected.
        Missing = "missing", /// PIN-locked.
        LockedPin = "locked_pin", /// PUK-locked.
        LockedPuk = "locked_puk" }
}

str_enum! {
    /// Cellular technology.
    NetworkTechnology { /// Not connected.
        None = "none", /// 2G.
        TwoG = "2G", /// 3G.
        ThreeG = "3G", /// 4G/LTE.
        FourG = "4G", /// 5G.
        FiveG = "5G" }
}

str_enum! {
    /// Which technologies the phone may use.
    NetworkModePreference { /// 5G when available, else 4G.
        FourG5GPreferred = "4g_5g_preferred", /// 4G only.
        FourGOnly = "4g_only", /// 3G only.
        ThreeGOnly = "3g_only", /// 2G only.
        TwoGOnly = "2g_only" }
}

str_enum! {
    /// Signal bars.
    SignalStrength { /// No bars.
        None = "none", /// One bar.
        Poor = "poor", /// Two bars.
        Fair = "fair", /// Three bars.
        Good = "good", /// Four or more bars.
        Excellent = "excellent" }
}

str_enum! {
    /// Quality of a VPN server.
    PerformanceLevel { /// Not measured.
        Unknown = "unknown", /// Slow.
        Poor = "poor", /// Acceptable.
        Fair = "fair", /// Good.
        Good = "good", /// Fast.
        Excellent = "excellent" }
}

str_enum! {
    /// Cellular connection status.
    NetworkStatus { /// Connected.
        Connected = "connected", /// Searching for a network.
        Searching = "searching", /// No service.
        NoService = "no_service", /// Emergency calls only.
        EmergencyOnly = "emergency_only" }
}

str_enum! {
    /// Name of the active APN profile; `broken` cuts cellular service.
    ApnName { /// The carrier's working APN.
        Internet = "internet", /// A misconfigured APN.
        Broken = "broken" }
}

fn default_mms_apn() -> Option<String> {
    Some("mms".to_owned())
}

/// The carrier's MMSC address, restored by an APN reset; without it MMS cannot be sent.
pub const DEFAULT_MMSC_URL: &str = "http://mms.carrier.com/mms/wapenc";

fn default_mmsc_url() -> Option<String> {
    Some(DEFAULT_MMSC_URL.to_owned())
}

/// The active APN configuration of the phone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApnSettings {
    /// APN name.
    #[serde(default = "default_apn_name")]
    pub apn_name: ApnName,
    /// Whether the defaults are restored at the next reboot (set by `reset_apn_settings`).
    #[serde(default)]
    pub reset_at_reboot: bool,
    /// APN used for MMS.
    #[serde(default = "default_mms_apn")]
    pub mms_apn: Option<String>,
    /// MMS centre URL.
    #[serde(default = "default_mmsc_url")]
    pub mmsc_url: Option<String>,
    /// MMS proxy.
    #[serde(default)]
    pub mms_proxy: Option<String>,
    /// MMS proxy port.
    #[serde(default)]
    pub mms_port: Option<i64>,
}

fn default_apn_name() -> ApnName {
    ApnName::Internet
}

impl Default for ApnSettings {
    fn default() -> Self {
        Self {
            apn_name: ApnName::Internet,
            reset_at_reboot: false,
            mms_apn: default_mms_apn(),
            mmsc_url: default_mmsc_url(),
            mms_proxy: None,
            mms_port: None,
        }
    }
}

/// Details of a VPN connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VpnDetails {
    /// Server address.
    #[serde(default)]
    pub server_address: Option<String>,
    /// Protocol.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Server performance; `poor` slows mobile data tenfold.
    #[serde(default = "default_performance")]
    pub server_performance: PerformanceLevel,
}

fn default_performance() -> PerformanceLevel {
    PerformanceLevel::Unknown
}

impl VpnDetails {
    /// The profile `connect_vpn` connects to (τ² `default_vpn_details`).
    pub fn default_profile() -> Self {
        Self {
            server_address: Some("192.168.1.1".to_owned()),
            protocol: Some("OpenVPN".to_owned()),
            server_performance: PerformanceLevel::Excellent,
        }
    }
}

/// Permissions of an app, in τ²'s field order (which is the order outputs list them in).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppPermissions {
    /// Send/read SMS and MMS.
    #[serde(default)]
    pub sms: bool,
    /// Access storage.
    #[serde(default)]
    pub storage: bool,
    /// Make calls.
    #[serde(default)]
    pub phone: bool,
    /// Access the network.
    #[serde(default)]
    pub network: bool,
}

impl AppPermissions {
    /// Permission names in field order.
    pub const NAMES: [&'static str; 4] = ["sms", "storage", "phone", "network"];

    /// `(name, granted)` pairs in field order.
    pub fn entries(&self) -> [(&'static str, bool); 4] {
        [("sms", self.sms), ("storage", self.storage), ("phone", self.phone), ("network", self.network)]
    }

    /// Mutable flag of a permission by name.
    pub fn flag_mut(&mut self, name: &str) -> Option<&mut bool> {
        match name {
            "sms" => Some(&mut self.sms),
            "storage" => Some(&mut self.storage),
            "phone" => Some(&mut self.phone),
            "network" => Some(&mut self.network),
            _ => None,
        }
    }
}

/// Status of one installed app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppStatus {
    /// App name.
    pub app_name: String,
    /// Granted permissions.
    #[serde(default)]
    pub permissions: AppPermissions,
}

fn default_apps() -> IndexMap<String, AppStatus> {
    let mut apps = IndexMap::new();
    apps.insert(
        "messaging".to_owned(),
        AppStatus {
            app_name: "messaging".to_owned(),
            permissions: AppPermissions { sms: true, storage: true, phone: true, network: false },
        },
    );
    apps.insert(
        "browser".to_owned(),
        AppStatus {
            app_name: "browser".to_owned(),
            permissions: AppPermissions { sms: false, storage: true, phone: false, network: true },
        },
    );
    apps
}

/// The state of the customer's phone (τ² `MockPhoneAttributes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// SIM status (a missing SIM is tracked separately by `sim_card_missing`).
    #[serde(default = "default_sim")]
    pub sim_card_status: SimStatus,
    /// Whether the SIM is physically out.
    #[serde(default)]
    pub sim_card_missing: bool,
    /// Airplane mode switch.
    #[serde(default)]
    pub airplane_mode: bool,
    /// Current cellular signal.
    #[serde(default = "default_signal")]
    pub network_signal_strength: SignalStrength,
    /// Current cellular technology.
    #[serde(default = "default_technology")]
    pub network_technology_connected: NetworkTechnology,
    /// Current connection status.
    #[serde(default = "default_status")]
    pub network_connection_status: NetworkStatus,
    /// Battery percentage.
    #[serde(default = "default_battery")]
    pub battery_level: i64,
    /// Mobile data master switch.
    #[serde(default = "default_true")]
    pub data_enabled: bool,
    /// Data roaming switch of the phone.
    #[serde(default)]
    pub roaming_enabled: bool,
    /// Preferred technologies.
    #[serde(default = "default_mode")]
    pub network_mode_preference: NetworkModePreference,
    /// Active APN.
    #[serde(default)]
    pub active_apn_settings: ApnSettings,
    /// Wi-Fi radio switch.
    #[serde(default)]
    pub wifi_enabled: bool,
    /// Whether Wi-Fi is connected.
    #[serde(default)]
    pub wifi_connected: bool,
    /// Connected network name.
    #[serde(default)]
    pub wifi_ssid: Option<String>,
    /// Wi-Fi signal.
    #[serde(default = "default_wifi_signal")]
    pub wifi_signal_strength: SignalStrength,
    /// Wi-Fi calling switch.
    #[serde(default)]
    pub wifi_calling_enabled: bool,
    /// MMS over Wi-Fi (unsupported by the carrier: blocks MMS when Wi-Fi calling is on).
    #[serde(default)]
    pub wifi_calling_mms_over_wifi: bool,
    /// Data saver switch.
    #[serde(default)]
    pub data_saver_mode: bool,
    /// VPN configured/enabled in settings.
    #[serde(default)]
    pub vpn_enabled_setting: bool,
    /// VPN tunnel up.
    #[serde(default)]
    pub vpn_connected: bool,
    /// Details of the connected VPN.
    #[serde(default)]
    pub vpn_details: Option<VpnDetails>,
    /// Installed apps by name, in installation order.
    #[serde(default = "default_apps")]
    pub app_statuses: IndexMap<String, AppStatus>,
}

fn default_sim() -> SimStatus {
    SimStatus::Active
}
fn default_signal() -> SignalStrength {
    SignalStrength::Good
}
fn default_technology() -> NetworkTechnology {
    NetworkTechnology::FiveG
}
fn default_status() -> NetworkStatus {
    NetworkStatus::Connected
}
fn default_battery() -> i64 {
    80
}
fn default_true() -> bool {
    true
}
fn default_mode() -> NetworkModePreference {
    NetworkModePreference::FourG5GPreferred
}
fn default_wifi_signal() -> SignalStrength {
    SignalStrength::None
}

impl Default for Device {
    fn default() -> Self {
        Self {
            sim_card_status: default_sim(),
            sim_card_missing: false,
            airplane_mode: false,
            network_signal_strength: default_signal(),
            network_technology_connected: default_technology(),
            network_connection_status: default_status(),
            battery_level: default_battery(),
            data_enabled: true,
            roaming_enabled: false,
            network_mode_preference: default_mode(),
            active_apn_settings: ApnSettings::default(),
            wifi_enabled: false,
            wifi_connected: false,
            wifi_ssid: None,
            wifi_signal_strength: default_wifi_signal(),
            wifi_calling_enabled: false,
            wifi_calling_mms_over_wifi: false,
            data_saver_mode: false,
            vpn_enabled_setting: false,
            vpn_connected: false,
            vpn_details: None,
            app_statuses: default_apps(),
        }
    }
}

impl Device {
    /// Puts the apps back in the order the TOML text declares them. τ² reads TOML into insertion-ordered
    /// dicts, and that order is visible (`check_installed_apps` lists apps in it); the TOML deserializer
    /// may hand tables over sorted by key.
    fn restore_app_order(&mut self, toml_text: &str) {
        let position = |name: &str| {
            [format!("app_statuses.{name}]"), format!("app_statuses.{name}."), format!("{name} = {{")]
                .iter()
                .filter_map(|needle| toml_text.find(needle.as_str()))
                .min()
                .unwrap_or(usize::MAX)
        };
        self.app_statuses.sort_by_cached_key(|name, _| position(name));
    }
}

/// A bill the agent asked the customer to pay, as seen on the phone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    /// Bill to pay.
    pub bill_id: String,
    /// Amount in USD.
    pub amount_due: f64,
    /// Set by `make_payment`; the next sync marks the bill paid and clears the request.
    #[serde(default)]
    pub paid: bool,
}

fn default_signal_map() -> IndexMap<NetworkTechnology, SignalStrength> {
    IndexMap::from([
        (NetworkTechnology::TwoG, SignalStrength::Poor),
        (NetworkTechnology::ThreeG, SignalStrength::Fair),
        (NetworkTechnology::FourG, SignalStrength::Good),
        (NetworkTechnology::FiveG, SignalStrength::Excellent),
    ])
}

/// Where the customer is and what the network offers there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Surroundings {
    /// Customer name (set by the task; enables DB coupling).
    #[serde(default)]
    pub name: Option<String>,
    /// Customer phone number; the line with this number is mirrored onto the device.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// Whether the customer is abroad (data then needs roaming on phone and line).
    #[serde(default)]
    pub is_abroad: bool,
    /// Mirror of the line's roaming flag.
    #[serde(default)]
    pub roaming_allowed: bool,
    /// Signal available per technology.
    #[serde(default = "default_signal_map")]
    pub signal_strength: IndexMap<NetworkTechnology, SignalStrength>,
    /// Mirror of "data used ≥ limit + refuelled".
    #[serde(default)]
    pub mobile_data_usage_exceeded: bool,
    /// Mirror of "line status is Active".
    #[serde(default = "default_true")]
    pub line_active: bool,
    /// Pending payment request, if any.
    #[serde(default)]
    pub payment_request: Option<PaymentRequest>,
}

impl Default for Surroundings {
    fn default() -> Self {
        Self {
            name: None,
            phone_number: None,
            is_abroad: false,
            roaming_allowed: false,
            signal_strength: default_signal_map(),
            mobile_data_usage_exceeded: false,
            line_active: true,
            payment_request: None,
        }
    }
}

/// The user-side database of the telecom domain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelecomUserDb {
    /// The phone.
    #[serde(default)]
    pub device: Device,
    /// The phone's surroundings.
    #[serde(default)]
    pub surroundings: Surroundings,
}

impl TelecomUserDb {
    /// Parses the TOML text of `user_db.toml`; `path` names the source in errors.
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Self, DomainError> {
        let mut db: Self = toml::from_str(text).map_err(|e| DomainError::parse(path, e))?;
        db.device.restore_app_order(text);
        Ok(db)
    }

    /// Loads `user_db.toml` from disk.
    pub fn load(path: &Path) -> Result<Self, DomainError> {
        Self::from_toml_str(&crate::data::read_text(path)?, path)
    }
}
