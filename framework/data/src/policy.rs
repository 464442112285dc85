//! `policy: full | compact` — which policy text goes into the agent's system prompt.
//!
//! `full` is τ²'s documents verbatim (what real models are evaluated with). `compact` is a short, hand-written
//! summary per domain for the tiny model's short context: it states every rule the generated task families
//! exercise, in τ²'s terms, and it *says* that it is a compact version, so no prompt is silently shortened.
//! Compact mode also writes tool schemas compactly ([`crate::protocol::ToolStyle::Compact`]).

use retain_config::{Domain, PolicyText};

use crate::protocol::ToolStyle;

/// First line of every compact policy: the prompt itself says it is not τ²'s full text.
pub const COMPACT_NOTICE: &str =
    "[Compact policy: a shortened version of the tau2-bench policy, used for small models.]";

/// The compact airline policy.
pub const AIRLINE_COMPACT: &str = "[Compact policy: a shortened version of the tau2-bench policy, used for small models.]
Airline policy. Now: 2024-05-15 15:00 EST.
- Look up the reservation (and the user when membership matters) before acting; change only what is asked.
- Cancel: if a flight already departed, transfer to a human. Else cancel only if booked within 24h, or the airline cancelled a flight, or cabin is business, or insured and the reason is health or weather. Otherwise refuse.
- Free bags per passenger (basic_economy/economy/business): regular 0/1/2, silver 1/2/3, gold 2/3/4. Extra bag $50. Bags can only be added.
- Passengers can be replaced; their number cannot change.
- Book: same cabin on all flights, at most 5 passengers, payment from the profile; total = price x passengers + $30 per insured passenger + $50 per extra bag.
- Compensation only when asked, for silver/gold, insured or business: cancelled flight = certificate of $100 x passengers. Otherwise refuse.
- Out of scope: call transfer_to_human_agents, then say YOU ARE BEING TRANSFERRED TO A HUMAN AGENT. PLEASE HOLD ON.
- Finish with one message giving the outcome and the facts asked for.";

/// The compact retail policy.
pub const RETAIL_COMPACT: &str = "[Compact policy: a shortened version of the tau2-bench policy, used for small models.]
Retail policy.
- First find the user id by email, or by first name, last name and zip.
- Only pending orders can be cancelled or changed; only delivered orders can be returned or exchanged.
- Cancel reasons: 'no longer needed' or 'ordered by mistake'.
- Change a pending order's address, or its payment to another method of the user (a gift card must cover the total).
- Returns: refund to the original payment method or a gift card.
- Exchange for another variant of the same product; the difference goes to a payment method of the user. One exchange or change call per order.
- Out of scope: call transfer_to_human_agents, then say YOU ARE BEING TRANSFERRED TO A HUMAN AGENT. PLEASE HOLD ON.
- Finish with one message giving the outcome.";

/// The compact telecom (solo) policy.
pub const TELECOM_COMPACT: &str = "[Compact policy: a shortened version of the tau2-bench policy, used for small models.]
Telecom support policy (solo: tool calls only, then done).
- Find the customer by phone number; use the line with that number.
- No service: airplane mode off; reseat a missing SIM; locked SIM: transfer; broken APN: reset APN, reboot; suspended for an overdue bill: send a payment request, pay if the ticket allows, resume the line, reboot; contract ended: transfer.
- Mobile data: data on; data saver off; abroad: phone roaming on and line roaming enabled; VPN off; network mode 4g_5g_preferred; over the data limit: refuel 2 GB at most.
- MMS: needs mobile data and 3G or better; missing MMSC: reset APN, reboot; Wi-Fi calling off; messaging app needs sms and storage permissions.
- Transfer (transfer_to_human_agents) only when the tools cannot fix it.";

/// The compact policy of a domain.
pub fn compact_policy(domain: Domain) -> &'static str {
    match domain {
        Domain::Airline => AIRLINE_COMPACT,
        Domain::Retail => RETAIL_COMPACT,
        Domain::Telecom => TELECOM_COMPACT,
    }
}

/// The policy text for a choice: `full` returns `full_text` (τ²'s document) unchanged.
pub fn policy_text(domain: Domain, choice: PolicyText, full_text: &str) -> String {
    match choice {
        PolicyText::Full => full_text.to_owned(),
        PolicyText::Compact | PolicyText::Minimal => compact_policy(domain).to_owned(),
    }
}

/// The tool-schema style that goes with a policy choice.
pub fn tool_style(choice: PolicyText) -> ToolStyle {
    match choice {
        PolicyText::Full => ToolStyle::Full,
        PolicyText::Compact | PolicyText::Minimal => ToolStyle::Compact,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_policies_announce_themselves() {
        for d in Domain::ALL {
            assert!(compact_policy(d).starts_with(COMPACT_NOTICE));
        }
    }
}
