//! τ²'s telecom sub-issues: how each breaks the phone or the account (initialisation actions), which check
//! reveals it, and how it is fixed — following `src/tau2/domains/telecom/tasks/*_issues.py`.

use serde_json::{Map, Value, json};

use retain_domains::Requestor;
use retain_domains::task::EnvFunctionCall;

/// The three ticket intents of τ²'s generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
    /// No service (calls fail, "No Service" in the status bar).
    Service,
    /// Mobile data missing or slow.
    MobileData,
    /// MMS cannot be sent.
    Mms,
}

impl Intent {
    /// τ²'s intent name.
    pub fn name(self) -> &'static str {
        match self {
            Intent::Service => "service_issue",
            Intent::MobileData => "mobile_data_issue",
            Intent::Mms => "mms_issue",
        }
    }
}

/// What a sub-issue needs to know about the ticket's customer.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Customer id.
    pub customer_id: String,
    /// The line with the ticket's phone number.
    pub line_id: String,
    /// The overdue bill id the task creates (also used by the no-overdue-bill assertion).
    pub bill_id: String,
    /// The line's plan data limit (GB).
    pub data_limit_gb: f64,
}

/// One step of a gold trajectory: who would do it in τ²'s dual-control setting, the tool and arguments.
pub type Step = (Requestor, &'static str, Map<String, Value>);

/// A sub-issue.
#[derive(Debug, Clone, Copy)]
pub struct Issue {
    /// τ²'s name.
    pub name: &'static str,
    /// Intents it can appear in.
    pub intents: &'static [Intent],
    /// Mutually exclusive group (two issues of a group never compose).
    pub group: Option<&'static str>,
    /// Cannot be fixed with the tools: the right action is a transfer (never composed).
    pub unfixable: bool,
}

const ALL: &[Intent] = &[Intent::Service, Intent::MobileData, Intent::Mms];
const DATA: &[Intent] = &[Intent::MobileData, Intent::Mms];
const MMS: &[Intent] = &[Intent::Mms];
const DATA_ONLY: &[Intent] = &[Intent::MobileData];
const SERVICE: &[Intent] = &[Intent::Service];

/// Every sub-issue.
pub const ISSUES: [Issue; 19] = [
    Issue { name: "airplane_mode_on", intents: ALL, group: None, unfixable: false },
    Issue { name: "unseat_sim_card", intents: ALL, group: Some("sim"), unfixable: false },
    Issue { name: "lock_sim_card_pin", intents: SERVICE, group: Some("sim"), unfixable: true },
    Issue { name: "break_apn_settings", intents: ALL, group: Some("apn"), unfixable: false },
    Issue { name: "overdue_bill_suspension", intents: ALL, group: Some("suspension"), unfixable: false },
    Issue { name: "contract_end_suspension", intents: SERVICE, group: Some("suspension"), unfixable: true },
    Issue { name: "data_mode_off", intents: DATA, group: None, unfixable: false },
    Issue { name: "data_saver_mode_on", intents: DATA_ONLY, group: None, unfixable: false },
    Issue { name: "bad_network_preference", intents: DATA, group: None, unfixable: false },
    Issue { name: "bad_vpn", intents: DATA_ONLY, group: None, unfixable: false },
    Issue { name: "data_usage_exceeded", intents: DATA, group: None, unfixable: false },
    Issue { name: "user_abroad_roaming_enabled_off", intents: DATA, group: Some("roaming"), unfixable: false },
    Issue { name: "user_abroad_roaming_disabled_on", intents: DATA, group: Some("roaming"), unfixable: false },
    Issue { name: "user_abroad_roaming_disabled_off", intents: DATA, group: Some("roaming"), unfixable: false },
    Issue { name: "bad_wifi_calling", intents: MMS, group: None, unfixable: false },
    Issue { name: "break_apn_mms_setting", intents: MMS, group: Some("apn"), unfixable: false },
    Issue { name: "break_app_sms_permission", intents: MMS, group: Some("app"), unfixable: false },
    Issue { name: "break_app_storage_permission", intents: MMS, group: Some("app"), unfixable: false },
    Issue { name: "break_app_both_permissions", intents: MMS, group: Some("app"), unfixable: false },
];

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn user(name: &str, args: Value) -> EnvFunctionCall {
    EnvFunctionCall { env_type: Requestor::User, func_name: name.to_owned(), arguments: obj(args) }
}

fn agent(name: &str, args: Value) -> EnvFunctionCall {
    EnvFunctionCall { env_type: Requestor::Assistant, func_name: name.to_owned(), arguments: obj(args) }
}

fn u(name: &'static str, args: Value) -> Step {
    (Requestor::User, name, obj(args))
}

fn a(name: &'static str, args: Value) -> Step {
    (Requestor::Assistant, name, obj(args))
}

impl Issue {
    /// Whether the issue appears in tasks of `intent`.
    pub fn fits(&self, intent: Intent) -> bool {
        self.intents.contains(&intent)
    }

    /// Whether the issue takes the customer abroad.
    pub fn abroad(&self) -> bool {
        self.name.starts_with("user_abroad")
    }

    /// Initialisation actions that create the issue.
    pub fn init(&self, c: &Ctx) -> Vec<EnvFunctionCall> {
        let line = json!({"customer_id": c.customer_id, "line_id": c.line_id});
        match self.name {
            "airplane_mode_on" => vec![user("turn_airplane_mode_on", json!({}))],
            "unseat_sim_card" => vec![user("unseat_sim_card", json!({}))],
            "lock_sim_card_pin" => vec![user("lock_sim_card", json!({"mode": "pin"}))],
            "break_apn_settings" => vec![user("break_apn_settings", json!({}))],
            "overdue_bill_suspension" | "contract_end_suspension" => vec![
                agent(
                    "suspend_line_for_overdue_bill",
                    json!({"customer_id": c.customer_id, "line_id": c.line_id, "new_bill_id": c.bill_id,
                           "contract_ended": self.name == "contract_end_suspension"}),
                ),
                user("simulate_network_search", json!({})),
            ],
            "data_mode_off" => vec![user("turn_data_off", json!({}))],
            "data_saver_mode_on" => vec![user("turn_data_saver_mode_on", json!({}))],
            "bad_network_preference" => vec![user("set_network_mode_preference", json!({"mode": "2g_only"}))],
            "bad_vpn" => vec![user("break_vpn", json!({}))],
            "data_usage_exceeded" => vec![agent(
                "set_data_usage",
                json!({"customer_id": c.customer_id, "line_id": c.line_id, "data_used_gb": c.data_limit_gb + 0.1}),
            )],
            "user_abroad_roaming_enabled_off" => vec![
                user("set_user_location", json!({"abroad": true})),
                user("turn_roaming_off", json!({})),
                agent("enable_roaming", line),
            ],
            "user_abroad_roaming_disabled_on" => vec![
                user("set_user_location", json!({"abroad": true})),
                user("turn_roaming_on", json!({})),
                agent("disable_roaming", line),
                user("simulate_network_search", json!({})),
            ],
            "user_abroad_roaming_disabled_off" => vec![
                user("set_user_location", json!({"abroad": true})),
                user("turn_roaming_off", json!({})),
                agent("disable_roaming", line),
                user("simulate_network_search", json!({})),
            ],
            "bad_wifi_calling" => vec![user("set_wifi_calling", json!({"enabled": true, "mms_over_wifi": true}))],
            "break_apn_mms_setting" => vec![user("break_apn_mms_setting", json!({}))],
            "break_app_sms_permission" => {
                vec![user("remove_app_permission", json!({"app_name": "messaging", "permission": "sms"}))]
            }
            "break_app_storage_permission" => {
                vec![user("remove_app_permission", json!({"app_name": "messaging", "permission": "storage"}))]
            }
            "break_app_both_permissions" => vec![
                user("remove_app_permission", json!({"app_name": "messaging", "permission": "sms"})),
                user("remove_app_permission", json!({"app_name": "messaging", "permission": "storage"})),
            ],
            _ => Vec::new(),
        }
    }

    /// The read that reveals the issue (part of the oracle demonstration, not required by the reward).
    pub fn diagnosis(&self, c: &Ctx) -> Vec<Step> {
        let line = json!({"customer_id": c.customer_id, "line_id": c.line_id});
        match self.name {
            "airplane_mode_on" => vec![u("check_status_bar", json!({}))],
            "unseat_sim_card" | "lock_sim_card_pin" => vec![u("check_sim_status", json!({}))],
            "break_apn_settings" | "break_apn_mms_setting" => vec![u("check_apn_settings", json!({}))],
            "overdue_bill_suspension" => vec![a("get_bills_for_customer", json!({"customer_id": c.customer_id}))],
            "contract_end_suspension" => vec![a("get_details_by_id", json!({"id": c.line_id}))],
            "data_mode_off" | "data_saver_mode_on" => vec![u("check_data_restriction_status", json!({}))],
            "bad_network_preference" => vec![u("check_network_mode_preference", json!({}))],
            "bad_vpn" => vec![u("check_vpn_status", json!({}))],
            "data_usage_exceeded" => vec![a("get_data_usage", line)],
            "user_abroad_roaming_enabled_off" | "user_abroad_roaming_disabled_off" => {
                vec![u("check_network_status", json!({}))]
            }
            "user_abroad_roaming_disabled_on" => vec![a("get_details_by_id", json!({"id": c.line_id}))],
            "bad_wifi_calling" => vec![u("check_wifi_calling_status", json!({}))],
            _ => vec![u("check_app_permissions", json!({"app_name": "messaging"}))],
        }
    }

    /// The fix (τ²'s gold actions for the sub-issue).
    pub fn fix(&self, c: &Ctx) -> Vec<Step> {
        let line = json!({"customer_id": c.customer_id, "line_id": c.line_id});
        match self.name {
            "airplane_mode_on" => vec![u("toggle_airplane_mode", json!({}))],
            "unseat_sim_card" => vec![u("reseat_sim_card", json!({}))],
            "lock_sim_card_pin" | "contract_end_suspension" => {
                vec![a("transfer_to_human_agents", json!({"summary": "I cannot fix the issue."}))]
            }
            "break_apn_settings" | "break_apn_mms_setting" => {
                vec![u("reset_apn_settings", json!({})), u("reboot_device", json!({}))]
            }
            "overdue_bill_suspension" => vec![
                a("send_payment_request", json!({"customer_id": c.customer_id, "bill_id": c.bill_id})),
                u("make_payment", json!({})),
                a("resume_line", line),
                u("reboot_device", json!({})),
            ],
            "data_mode_off" => vec![u("toggle_data", json!({}))],
            "data_saver_mode_on" => vec![u("toggle_data_saver_mode", json!({}))],
            "bad_network_preference" => vec![u("set_network_mode_preference", json!({"mode": "4g_5g_preferred"}))],
            "bad_vpn" => vec![u("disconnect_vpn", json!({}))],
            "data_usage_exceeded" => {
                vec![a("refuel_data", json!({"customer_id": c.customer_id, "line_id": c.line_id, "gb_amount": 2.0}))]
            }
            "user_abroad_roaming_enabled_off" => vec![u("toggle_roaming", json!({}))],
            "user_abroad_roaming_disabled_on" => vec![a("enable_roaming", line)],
            "user_abroad_roaming_disabled_off" => vec![a("enable_roaming", line), u("toggle_roaming", json!({}))],
            "bad_wifi_calling" => vec![u("toggle_wifi_calling", json!({}))],
            "break_app_sms_permission" => {
                vec![u("grant_app_permission", json!({"app_name": "messaging", "permission": "sms"}))]
            }
            "break_app_storage_permission" => {
                vec![u("grant_app_permission", json!({"app_name": "messaging", "permission": "storage"}))]
            }
            "break_app_both_permissions" => vec![
                u("grant_app_permission", json!({"app_name": "messaging", "permission": "sms"})),
                u("grant_app_permission", json!({"app_name": "messaging", "permission": "storage"})),
            ],
            _ => Vec::new(),
        }
    }
}

/// Looks a sub-issue up by name.
pub fn issue(name: &str) -> Option<&'static Issue> {
    ISSUES.iter().find(|i| i.name == name)
}
