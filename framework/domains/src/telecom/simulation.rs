//! The phone/network simulation: what service, mobile data, speed and MMS the device gets from its settings
//! and surroundings (τ² `TelecomUserTools` private helpers and `simulate_network_search`).
//!
//! These rules decide every telecom task's outcome: assertions such as "mobile data works at excellent speed"
//! or "can send MMS" are evaluated with exactly these functions.

use super::user_db::{
    ApnName, ApnSettings, NetworkModePreference, NetworkStatus, NetworkTechnology, PerformanceLevel, SignalStrength,
    SimStatus, TelecomUserDb, VpnDetails,
};

/// Speed-test quality labels, from slowest to fastest.
pub const SPEED_LABELS: [&str; 5] = ["Very Poor", "Poor", "Fair", "Good", "Excellent"];

impl TelecomUserDb {
    /// The SIM state as the phone reports it: a physically removed SIM reads as missing.
    pub fn sim_status(&self) -> SimStatus {
        if self.device.sim_card_missing { SimStatus::Missing } else { self.device.sim_card_status }
    }

    /// Re-evaluates the cellular connection (after any radio, SIM, APN or line change).
    pub fn simulate_network_search(&mut self) {
        let signal_of = |tech: NetworkTechnology| {
            self.surroundings.signal_strength.get(&tech).copied().unwrap_or(SignalStrength::None)
        };
        let connection = match self.sim_status() {
            SimStatus::Active => {
                let tech = match self.device.network_mode_preference {
                    NetworkModePreference::FourG5GPreferred => {
                        if signal_of(NetworkTechnology::FiveG) == SignalStrength::None {
                            NetworkTechnology::FourG
                        } else {
                            NetworkTechnology::FiveG
                        }
                    }
                    NetworkModePreference::FourGOnly => NetworkTechnology::FourG,
                    NetworkModePreference::ThreeGOnly => NetworkTechnology::ThreeG,
                    NetworkModePreference::TwoGOnly => NetworkTechnology::TwoG,
                };
                Some((tech, signal_of(tech)))
            }
            SimStatus::Missing | SimStatus::LockedPin | SimStatus::LockedPuk => None,
        };
        let device = &mut self.device;
        let blocked = device.airplane_mode
            || device.active_apn_settings.apn_name == ApnName::Broken
            || !self.surroundings.line_active;
        match connection {
            Some((tech, signal)) if !blocked => {
                device.network_connection_status = NetworkStatus::Connected;
                device.network_technology_connected = tech;
                device.network_signal_strength = signal;
            }
            _ => {
                device.network_connection_status = NetworkStatus::NoService;
                device.network_technology_connected = NetworkTechnology::None;
                device.network_signal_strength = SignalStrength::None;
            }
        }
    }

    /// Whether mobile data works: radio on, signal, service, roaming allowed when abroad, data on, quota left.
    pub fn mobile_data_working(&self) -> bool {
        let device = &self.device;
        if device.airplane_mode || device.network_signal_strength == SignalStrength::None {
            return false;
        }
        if device.network_connection_status == NetworkStatus::NoService {
            return false;
        }
        if self.surroundings.is_abroad && (!device.roaming_enabled || !self.surroundings.roaming_allowed) {
            return false;
        }
        device.data_enabled && !self.surroundings.mobile_data_usage_exceeded
    }

    /// Simulated download speed in Mbps (rounded to 2 decimals) and its label; `None` without mobile data.
    pub fn speed_test(&self) -> Option<(f64, &'static str)> {
        if !self.mobile_data_working() {
            return None;
        }
        let device = &self.device;
        let slow_vpn = device.vpn_connected
            && device.vpn_details.as_ref().is_some_and(|d| d.server_performance == PerformanceLevel::Poor);
        let mut factor = if slow_vpn { 0.1 } else { 1.0 };
        if device.data_saver_mode {
            factor *= 0.2;
        }
        let (min, max) = match device.network_technology_connected {
            NetworkTechnology::TwoG => (0.1, 0.4),
            NetworkTechnology::ThreeG => (1.0, 5.0),
            NetworkTechnology::FourG => (10.0, 100.0),
            NetworkTechnology::FiveG => (50.0, 500.0),
            NetworkTechnology::None => (0.0, 0.0),
        };
        let signal_factor = match device.network_signal_strength {
            SignalStrength::Poor => 0.2,
            SignalStrength::Fair => 0.5,
            SignalStrength::Good => 0.8,
            SignalStrength::Excellent => 1.0,
            SignalStrength::None => 0.0,
        };
        let speed = crate::pyjson::py_round((min + max) / 2.0 * signal_factor * factor, 2);
        let label = if speed < 1.0 {
            SPEED_LABELS[0]
        } else if speed < 5.0 {
            SPEED_LABELS[1]
        } else if speed < 25.0 {
            SPEED_LABELS[2]
        } else if speed < 100.0 {
            SPEED_LABELS[3]
        } else {
            SPEED_LABELS[4]
        };
        Some((speed, label))
    }

    /// Whether the messaging app can send MMS: working data, at least 3G, no MMS-over-Wi-Fi, MMSC set,
    /// and SMS + storage permissions.
    pub fn can_send_mms(&self) -> bool {
        if !self.mobile_data_working() {
            return false;
        }
        let device = &self.device;
        if device.network_technology_connected == NetworkTechnology::TwoG {
            return false;
        }
        if device.wifi_calling_enabled && device.wifi_calling_mms_over_wifi {
            return false;
        }
        if device.active_apn_settings.mmsc_url.is_none() {
            return false;
        }
        device.app_statuses.get("messaging").is_some_and(|app| app.permissions.storage && app.permissions.sms)
    }

    /// The status bar text (without the `Status Bar: ` prefix), which write tools append to their output.
    pub fn status_bar(&self) -> String {
        let device = &self.device;
        let mut indicators: Vec<String> = Vec::new();
        if device.airplane_mode {
            indicators.push("✈️ Airplane Mode".to_owned());
        } else {
            let signal = match device.network_signal_strength {
                SignalStrength::None => "📵 No Signal",
                SignalStrength::Poor => "📶¹ Poor",
                SignalStrength::Fair => "📶² Fair",
                SignalStrength::Good => "📶³ Good",
                SignalStrength::Excellent => "📶⁴ Excellent",
            };
            indicators.push(signal.to_owned());
            let tech = device.network_technology_connected;
            if tech != NetworkTechnology::None {
                indicators.push(tech.as_str().to_owned());
            }
            if device.data_enabled && tech != NetworkTechnology::None {
                indicators.push("📱 Data Enabled".to_owned());
                if device.data_saver_mode {
                    indicators.push("🔽 Data Saver".to_owned());
                }
            } else {
                indicators.push("📵 Data Disabled".to_owned());
            }
        }
        if device.wifi_enabled && device.wifi_connected {
            match device.wifi_ssid.as_deref() {
                Some(ssid) if !ssid.is_empty() => indicators.push(format!("📡 Connected to {ssid}")),
                _ => indicators.push("📡 Enabled".to_owned()),
            }
        }
        if device.vpn_connected {
            indicators.push("🔒 VPN Connected".to_owned());
        }
        indicators.push(format!("🔋 {}%", device.battery_level));
        indicators.join(" | ")
    }

    /// Flips airplane mode (dropping Wi-Fi, and the VPN when turning on), then searches; returns the new state.
    pub fn flip_airplane_mode(&mut self) -> bool {
        let was_on = self.device.airplane_mode;
        let device = &mut self.device;
        device.airplane_mode = !was_on;
        if was_on {
            device.network_connection_status = NetworkStatus::Searching;
            if device.wifi_enabled {
                drop_wifi_connection(device);
            }
        } else {
            drop_wifi_connection(device);
            self.disconnect_vpn_inner();
        }
        self.simulate_network_search();
        self.device.airplane_mode
    }

    /// Flips the mobile-data switch and searches; returns the new state.
    pub fn flip_data(&mut self) -> bool {
        self.device.data_enabled = !self.device.data_enabled;
        self.simulate_network_search();
        self.device.data_enabled
    }

    /// Flips the data-roaming switch and searches; returns the new state.
    pub fn flip_roaming(&mut self) -> bool {
        self.device.roaming_enabled = !self.device.roaming_enabled;
        self.simulate_network_search();
        self.device.roaming_enabled
    }

    /// Flips data saver (no network search, as in τ²); returns the new state.
    pub fn flip_data_saver(&mut self) -> bool {
        self.device.data_saver_mode = !self.device.data_saver_mode;
        self.device.data_saver_mode
    }

    /// Flips the Wi-Fi radio; `None` while airplane mode is on.
    pub fn flip_wifi(&mut self) -> Option<bool> {
        if self.device.airplane_mode {
            return None;
        }
        let device = &mut self.device;
        device.wifi_enabled = !device.wifi_enabled;
        if !device.wifi_enabled {
            drop_wifi_connection(device);
        }
        Some(device.wifi_enabled)
    }

    /// Flips Wi-Fi calling; returns the new state.
    pub fn flip_wifi_calling(&mut self) -> bool {
        self.device.wifi_calling_enabled = !self.device.wifi_calling_enabled;
        self.device.wifi_calling_enabled
    }

    /// Connects the default VPN profile; `None` when already connected.
    pub fn connect_vpn_inner(&mut self) -> Option<bool> {
        if self.device.vpn_connected {
            return None;
        }
        self.device.vpn_connected = true;
        self.device.vpn_details = Some(VpnDetails::default_profile());
        Some(true)
    }

    /// Disconnects the VPN; `false` when none was connected.
    pub fn disconnect_vpn_inner(&mut self) -> bool {
        if !self.device.vpn_connected {
            return false;
        }
        self.device.vpn_connected = false;
        self.device.vpn_details = None;
        true
    }

    /// Reboots: applies a pending APN reset, restarts the radio and searches; returns the progress lines.
    pub fn reboot(&mut self) -> String {
        let mut lines = Vec::new();
        if self.device.active_apn_settings.reset_at_reboot {
            lines.push("Resetting APN settings...");
            self.device.active_apn_settings = ApnSettings::default();
        }
        lines.push("Restarting network services...");
        self.device.network_connection_status = NetworkStatus::Searching;
        self.simulate_network_search();
        lines.join("\n")
    }
}

fn drop_wifi_connection(device: &mut super::user_db::Device) {
    device.wifi_connected = false;
    device.wifi_ssid = None;
    device.wifi_signal_strength = SignalStrength::None;
}
