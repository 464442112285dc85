//! The telecom agent database (τ² `TelecomDB`, loaded from `db.toml`): plans, customers, lines, bills, devices.
//!
//! Records are kept in vectors in file order and searched linearly, as τ² does, because lookup order decides
//! which record wins when ids repeat. Field order follows the pydantic models so that a record serialized
//! with `serde_json` reads like τ²'s `model_dump()`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::date::{DEFAULT_START, Date, DateTime};
use crate::error::DomainError;

/// A postal address of a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street and house number.
    pub street: String,
    /// City name.
    pub city: String,
    /// State or province code.
    pub state: String,
    /// Postal code.
    pub zip_code: String,
}

/// A service plan; its prices drive refuel charges and overdue bills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Plan id (`P…`).
    pub plan_id: String,
    /// Display name.
    pub name: String,
    /// Monthly data allowance in GB.
    pub data_limit_gb: f64,
    /// Monthly price in USD.
    pub price_per_month: f64,
    /// Price of one extra GB.
    pub data_refueling_price_per_gb: f64,
}

/// Kind of a device on a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceType {
    /// A phone.
    Phone,
    /// A router.
    Router,
    /// A tablet.
    Tablet,
    /// A watch.
    Watch,
    /// Anything else.
    Other,
}

/// A customer device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// Device id (`D…`).
    pub device_id: String,
    /// Kind of device.
    pub device_type: DeviceType,
    /// Model name.
    pub model: String,
    /// IMEI, when known.
    #[serde(default)]
    pub imei: Option<String>,
    /// Whether the device supports eSIM.
    pub is_esim_capable: bool,
    /// Whether the device is activated on the network.
    #[serde(default)]
    pub activated: bool,
    /// When the device was activated.
    #[serde(default)]
    pub activation_date: Option<DateTime>,
    /// Last eSIM profile transfer.
    #[serde(default)]
    pub last_esim_transfer_date: Option<DateTime>,
}

/// Status of a phone line; only an `Active` line gives the device service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineStatus {
    /// In service.
    Active,
    /// Suspended (e.g. for an overdue bill).
    Suspended,
    /// Not yet activated.
    #[serde(rename = "Pending Activation")]
    PendingActivation,
    /// Closed.
    Closed,
}

impl LineStatus {
    /// The value as written in the data files and shown to the agent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Suspended => "Suspended",
            Self::PendingActivation => "Pending Activation",
            Self::Closed => "Closed",
        }
    }

    /// Parses the data-file spelling (used by assertions that name a status).
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Active, Self::Suspended, Self::PendingActivation, Self::Closed].into_iter().find(|s| s.as_str() == text)
    }
}

fn default_line_status() -> LineStatus {
    LineStatus::PendingActivation
}

/// A phone line of a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// Line id (`L…`).
    pub line_id: String,
    /// Phone number of the line.
    pub phone_number: String,
    /// Line status.
    #[serde(default = "default_line_status")]
    pub status: LineStatus,
    /// Plan of the line.
    pub plan_id: String,
    /// Device on the line.
    #[serde(default)]
    pub device_id: Option<String>,
    /// Data used this cycle, GB.
    #[serde(default)]
    pub data_used_gb: f64,
    /// Data refuelled this cycle, GB.
    #[serde(default)]
    pub data_refueling_gb: f64,
    /// Whether the carrier allows international roaming on the line.
    #[serde(default)]
    pub roaming_enabled: bool,
    /// End of the current contract.
    #[serde(default)]
    pub contract_end_date: Option<Date>,
    /// Most recent plan change.
    #[serde(default)]
    pub last_plan_change_date: Option<Date>,
    /// Most recent SIM replacement.
    #[serde(default)]
    pub last_sim_replacement_date: Option<Date>,
    /// Start of the current suspension.
    #[serde(default)]
    pub suspension_start_date: Option<Date>,
}

/// One charge or credit on a bill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    /// What the item is for.
    pub description: String,
    /// Amount in USD (negative for credits).
    pub amount: f64,
    /// Date the item was applied.
    pub date: Date,
    /// Category (`Plan Charge`, `Charge`, `Credit`, …).
    pub item_type: String,
}

/// Status of a bill; `Overdue` bills suspend lines, `Awaiting Payment` ones reach the device as a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillStatus {
    /// Being accumulated for the next cycle.
    Draft,
    /// Issued to the customer.
    Issued,
    /// A payment request was sent.
    #[serde(rename = "Awaiting Payment")]
    AwaitingPayment,
    /// Paid.
    Paid,
    /// Past its due date.
    Overdue,
    /// Disputed by the customer.
    Disputed,
}

fn default_bill_status() -> BillStatus {
    BillStatus::Draft
}

/// A bill of a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bill {
    /// Bill id (`B…`).
    pub bill_id: String,
    /// Owner of the bill.
    pub customer_id: String,
    /// First day of the billing period.
    pub period_start: Date,
    /// Last day of the billing period.
    pub period_end: Date,
    /// Issue date.
    pub issue_date: Date,
    /// Total due in USD.
    pub total_due: f64,
    /// Due date.
    pub due_date: Date,
    /// Charges and credits.
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    /// Bill status.
    #[serde(default = "default_bill_status")]
    pub status: BillStatus,
}

/// Status of a customer account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountStatus {
    /// Active account.
    Active,
    /// Suspended account.
    Suspended,
    /// Awaiting identity verification.
    #[serde(rename = "Pending Verification")]
    PendingVerification,
    /// Closed account.
    Closed,
}

fn default_account_status() -> AccountStatus {
    AccountStatus::PendingVerification
}

/// Kind of a stored payment method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentMethodType {
    /// Credit card.
    #[serde(rename = "Credit Card")]
    CreditCard,
    /// Debit card.
    #[serde(rename = "Debit Card")]
    DebitCard,
    /// PayPal.
    PayPal,
}

/// A stored payment method of a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethod {
    /// Kind of method.
    pub method_type: PaymentMethodType,
    /// Last four digits of the account.
    pub account_number_last_4: String,
    /// Expiry as `MM/YYYY`.
    pub expiration_date: String,
}

fn default_created_at() -> DateTime {
    DEFAULT_START
}

/// A customer account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// Customer id (`C…`).
    pub customer_id: String,
    /// Full name.
    pub full_name: String,
    /// Date of birth, `YYYY-MM-DD` (kept as text, as τ² does).
    pub date_of_birth: String,
    /// E-mail address.
    pub email: String,
    /// Primary contact number.
    pub phone_number: String,
    /// Billing address.
    pub address: Address,
    /// Account status.
    #[serde(default = "default_account_status")]
    pub account_status: AccountStatus,
    /// Stored payment methods.
    #[serde(default)]
    pub payment_methods: Vec<PaymentMethod>,
    /// Lines owned.
    #[serde(default)]
    pub line_ids: Vec<String>,
    /// Bills of the customer.
    #[serde(default)]
    pub bill_ids: Vec<String>,
    /// Account creation time.
    #[serde(default = "default_created_at")]
    pub created_at: DateTime,
    /// Most recent payment extension.
    #[serde(default)]
    pub last_extension_date: Option<Date>,
    /// Goodwill credit used this year, USD.
    #[serde(default)]
    pub goodwill_credit_used_this_year: f64,
}

/// The agent-side database of the telecom domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelecomDb {
    /// Service plans.
    #[serde(default)]
    pub plans: Vec<Plan>,
    /// Customers.
    #[serde(default)]
    pub customers: Vec<Customer>,
    /// Lines.
    #[serde(default)]
    pub lines: Vec<Line>,
    /// Bills.
    #[serde(default)]
    pub bills: Vec<Bill>,
    /// Devices.
    #[serde(default)]
    pub devices: Vec<Device>,
}

impl TelecomDb {
    /// Parses the TOML text of `db.toml`; `path` names the source in errors.
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Self, DomainError> {
        toml::from_str(text).map_err(|e| DomainError::parse(path, e))
    }

    /// Loads `db.toml` from disk.
    pub fn load(path: &Path) -> Result<Self, DomainError> {
        Self::from_toml_str(&crate::data::read_text(path)?, path)
    }

    /// The customer with this id (first match, as τ²).
    pub fn customer(&self, customer_id: &str) -> Option<&Customer> {
        self.customers.iter().find(|c| c.customer_id == customer_id)
    }

    /// Mutable access to a customer by id.
    pub fn customer_mut(&mut self, customer_id: &str) -> Option<&mut Customer> {
        self.customers.iter_mut().find(|c| c.customer_id == customer_id)
    }

    /// The line with this id.
    pub fn line(&self, line_id: &str) -> Option<&Line> {
        self.lines.iter().find(|l| l.line_id == line_id)
    }

    /// Mutable access to a line by id.
    pub fn line_mut(&mut self, line_id: &str) -> Option<&mut Line> {
        self.lines.iter_mut().find(|l| l.line_id == line_id)
    }

    /// The first line carrying this phone number.
    pub fn line_by_phone(&self, phone_number: &str) -> Option<&Line> {
        self.lines.iter().find(|l| l.phone_number == phone_number)
    }

    /// The plan with this id.
    pub fn plan(&self, plan_id: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.plan_id == plan_id)
    }

    /// The device with this id.
    pub fn device(&self, device_id: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.device_id == device_id)
    }

    /// The bill with this id.
    pub fn bill(&self, bill_id: &str) -> Option<&Bill> {
        self.bills.iter().find(|b| b.bill_id == bill_id)
    }

    /// Mutable access to a bill by id.
    pub fn bill_mut(&mut self, bill_id: &str) -> Option<&mut Bill> {
        self.bills.iter_mut().find(|b| b.bill_id == bill_id)
    }
}
