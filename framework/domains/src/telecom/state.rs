//! The telecom episode state (agent DB + user/device DB) and the coupling between them (τ² `sync_tools`).
//!
//! Both databases sit behind `Arc` so that starting an episode or a gold replay is a pointer copy; the first
//! write of an episode copies the (small) database it touches.

use std::sync::Arc;

use serde_json::Value;

use super::agent_db::{Bill, BillStatus, Customer, Line, LineStatus, Plan, TelecomDb};
use super::user_db::{PaymentRequest, TelecomUserDb, VpnDetails};
use crate::domain::{DbMatch, DomainState, canonical_json, merge_into};
use crate::error::DomainError;
use crate::tool::ToolError;

/// Everything telecom tools can change during one episode.
#[derive(Debug, Clone, PartialEq)]
pub struct TelecomState {
    /// The operator's records.
    pub agent: Arc<TelecomDb>,
    /// The customer's phone and surroundings.
    pub user: Arc<TelecomUserDb>,
    /// The VPN profile `connect_vpn` connects to. τ² shares one profile object between connections, so
    /// `break_vpn` degrading it also degrades later reconnections within the episode; it is not part of
    /// either database.
    pub vpn_profile: VpnDetails,
    /// Draft bills created by refuels so far (seeds the deterministic ids that replace τ²'s random ones).
    pub drafts_created: u32,
}

impl TelecomState {
    /// A fresh state from the loaded databases.
    pub fn new(agent: TelecomDb, user: TelecomUserDb) -> Self {
        Self {
            agent: Arc::new(agent),
            user: Arc::new(user),
            vpn_profile: VpnDetails::default_profile(),
            drafts_created: 0,
        }
    }

    /// Mutable agent database (copied on first write of an episode).
    pub fn agent_mut(&mut self) -> &mut TelecomDb {
        Arc::make_mut(&mut self.agent)
    }

    /// Mutable user database (copied on first write of an episode).
    pub fn user_mut(&mut self) -> &mut TelecomUserDb {
        Arc::make_mut(&mut self.user)
    }

    /// τ² `sync_tools`: mirrors the customer's line onto the device side (active, roaming allowed, data
    /// quota exceeded), turns a paid payment request into a `Paid` bill, and surfaces a bill awaiting
    /// payment as the device's payment request.
    ///
    /// τ² raises when the phone number in the surroundings matches no line (a broken task); here the
    /// coupling is then skipped, since no official task reaches that state.
    pub fn sync_databases(&mut self) -> Result<(), ToolError> {
        let Some(phone) = self.user.surroundings.phone_number.clone() else {
            return Ok(());
        };
        let line = self.agent.line_by_phone_checked(&phone)?;
        let line_active = line.status == LineStatus::Active;
        let roaming_allowed = line.roaming_enabled;
        let plan = self.agent.plan_checked(&line.plan_id)?;
        let exceeded = line.data_used_gb >= plan.data_limit_gb + line.data_refueling_gb;
        let surroundings = &self.user.surroundings;
        if surroundings.line_active != line_active
            || surroundings.roaming_allowed != roaming_allowed
            || surroundings.mobile_data_usage_exceeded != exceeded
        {
            let s = &mut self.user_mut().surroundings;
            s.line_active = line_active;
            s.roaming_allowed = roaming_allowed;
            s.mobile_data_usage_exceeded = exceeded;
        }

        if let Some(request) = self.user.surroundings.payment_request.clone()
            && request.paid
        {
            self.agent.bill_checked(&request.bill_id)?;
            if let Some(bill) = self.agent_mut().bill_mut(&request.bill_id) {
                bill.status = BillStatus::Paid;
            }
            self.user_mut().surroundings.payment_request = None;
        }

        if self.user.surroundings.payment_request.is_none() {
            let customer = self.agent.customer_by_phone(&phone)?;
            let awaiting = self.agent.bills_awaiting_payment(customer)?;
            if let Some(bill) = awaiting.first() {
                let request = PaymentRequest { bill_id: bill.bill_id.clone(), amount_due: bill.total_due, paid: false };
                self.user_mut().surroundings.payment_request = Some(request);
            }
        }
        Ok(())
    }
}

impl DomainState for TelecomState {
    fn sync(&mut self) {
        // Errors only arise for inconsistent task data (see `sync_databases`); the coupling is then skipped.
        let _ = self.sync_databases();
    }

    fn db_match(&self, other: &Self) -> DbMatch {
        let agent = Arc::ptr_eq(&self.agent, &other.agent) || self.agent == other.agent;
        let user = Arc::ptr_eq(&self.user, &other.user) || self.user == other.user;
        DbMatch { agent, user: Some(user) }
    }

    fn agent_db_canonical(&self) -> String {
        canonical_json(&*self.agent)
    }

    fn user_db_canonical(&self) -> Option<String> {
        Some(canonical_json(&*self.user))
    }

    fn update_agent_data(&mut self, patch: &Value) -> Result<(), DomainError> {
        merge_into(self.agent_mut(), patch)
    }

    fn update_user_data(&mut self, patch: &Value) -> Result<(), DomainError> {
        merge_into(self.user_mut(), patch)
    }
}

/// Record lookups that fail with τ²'s exact `ValueError` messages.
impl TelecomDb {
    /// The customer with this id, or `Customer with ID … not found`.
    pub fn customer_checked(&self, customer_id: &str) -> Result<&Customer, ToolError> {
        self.customer(customer_id).ok_or_else(|| ToolError::new(format!("Customer with ID {customer_id} not found")))
    }

    /// The line with this id, or `Line with ID … not found`.
    pub fn line_checked(&self, line_id: &str) -> Result<&Line, ToolError> {
        self.line(line_id).ok_or_else(|| ToolError::new(format!("Line with ID {line_id} not found")))
    }

    /// The line with this phone number, or `Line with phone number … not found`.
    pub fn line_by_phone_checked(&self, phone_number: &str) -> Result<&Line, ToolError> {
        self.line_by_phone(phone_number)
            .ok_or_else(|| ToolError::new(format!("Line with phone number {phone_number} not found")))
    }

    /// The plan with this id, or `Plan with ID … not found`.
    pub fn plan_checked(&self, plan_id: &str) -> Result<&Plan, ToolError> {
        self.plan(plan_id).ok_or_else(|| ToolError::new(format!("Plan with ID {plan_id} not found")))
    }

    /// The device with this id, or `Device with ID … not found`.
    pub fn device_checked(&self, device_id: &str) -> Result<&super::agent_db::Device, ToolError> {
        self.device(device_id).ok_or_else(|| ToolError::new(format!("Device with ID {device_id} not found")))
    }

    /// The bill with this id, or `Bill with ID … not found`.
    pub fn bill_checked(&self, bill_id: &str) -> Result<&Bill, ToolError> {
        self.bill(bill_id).ok_or_else(|| ToolError::new(format!("Bill with ID {bill_id} not found")))
    }

    /// The customer whose contact number or one of whose lines has this number (τ² scans customers in order,
    /// checking the contact number first, then each line, failing on a dangling line id).
    pub fn customer_by_phone(&self, phone_number: &str) -> Result<&Customer, ToolError> {
        for customer in &self.customers {
            if customer.phone_number == phone_number {
                return Ok(customer);
            }
            for line_id in &customer.line_ids {
                if self.line_checked(line_id)?.phone_number == phone_number {
                    return Ok(customer);
                }
            }
        }
        Err(ToolError::new(format!("Customer with phone number {phone_number} not found")))
    }

    /// The line `line_id` provided the customer owns it (`Line … not found for customer …` otherwise).
    pub fn target_line(&self, customer_id: &str, line_id: &str) -> Result<&Line, ToolError> {
        let customer = self.customer_checked(customer_id)?;
        if !customer.line_ids.iter().any(|l| l == line_id) {
            return Err(ToolError::new(format!("Line {line_id} not found for customer {customer_id}")));
        }
        self.line_checked(line_id)
    }

    /// Mutable [`TelecomDb::target_line`] (checks first, then borrows mutably).
    pub fn target_line_mut(&mut self, customer_id: &str, line_id: &str) -> Result<&mut Line, ToolError> {
        self.target_line(customer_id, line_id)?;
        self.line_mut(line_id).ok_or_else(|| ToolError::new(format!("Line with ID {line_id} not found")))
    }

    /// The customer's bills in `Awaiting Payment`, in the customer's bill order.
    pub fn bills_awaiting_payment(&self, customer: &Customer) -> Result<Vec<&Bill>, ToolError> {
        let mut out = Vec::new();
        for bill_id in &customer.bill_ids {
            let bill = self.bill_checked(bill_id)?;
            if bill.status == BillStatus::AwaitingPayment {
                out.push(bill);
            }
        }
        Ok(out)
    }
}
