//! Deterministic, realistic synthetic trajectories for benchmarks and tests: multi-turn τ²-style tool-use
//! conversations (system prompt with a ticket, assistant tool calls with ids, JSON tool outputs full of random
//! entity ids, prices and dates, a closing message), with rewards, labels and optional token arrays.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::record::{Record, TerminationReason};

/// Domains the generator cycles through.
pub const DOMAINS: [&str; 3] = ["airline", "retail", "telecom"];

/// Failure-mode labels in the style of the failure-taxonomy judge.
const FAILURE_MODES: [&str; 6] = [
    "wrong_tool_arguments",
    "policy_violation",
    "premature_termination",
    "hallucinated_entity",
    "missing_confirmation",
    "incorrect_calculation",
];

const FIRST_NAMES: [&str; 10] = ["mia", "noah", "olivia", "liam", "emma", "yusuf", "sofia", "aarav", "chen", "lucas"];
const LAST_NAMES: [&str; 10] = ["li", "garcia", "smith", "kim", "silva", "patel", "nguyen", "rossi", "brown", "khan"];
const CITIES: [&str; 8] = ["JFK", "LAX", "SFO", "ORD", "SEA", "BOS", "ATL", "DEN"];
const PRODUCTS: [&str; 6] = ["T-Shirt", "Water Bottle", "Desk Lamp", "Hiking Boots", "Mechanical Keyboard", "Backpack"];

/// Options of the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticOptions {
    /// Also produce token ids, loss mask and log-probs (as a trainer keeping them for off-policy replay would).
    pub with_tokens: bool,
}

/// An endless deterministic stream of records; the same seed always yields the same records.
pub struct SyntheticTrajectories {
    rng: ChaCha8Rng,
    options: SyntheticOptions,
    index: u64,
}

impl SyntheticTrajectories {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64, options: SyntheticOptions) -> Self {
        Self { rng: ChaCha8Rng::seed_from_u64(seed), options, index: 0 }
    }

    fn id_code(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len).map(|_| char::from(alphabet[self.rng.random_range(0..alphabet.len())])).collect()
    }

    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.rng.random_range(0..options.len())]
    }

    fn user_id(&mut self) -> String {
        let first = FIRST_NAMES[self.rng.random_range(0..FIRST_NAMES.len())];
        let last = LAST_NAMES[self.rng.random_range(0..LAST_NAMES.len())];
        format!("{first}_{last}_{}", self.rng.random_range(1000..10000))
    }

    fn call_id(&mut self) -> String {
        format!("call_{}", self.id_code(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 24))
    }

    fn date(&mut self) -> String {
        format!("2024-{:02}-{:02}", self.rng.random_range(1..13), self.rng.random_range(1..29))
    }

    /// One tool call and its JSON result for `domain`.
    fn tool_exchange(&mut self, domain: &str, user_id: &str) -> (Value, Value) {
        let call_id = self.call_id();
        let (name, arguments, output) = match (domain, self.rng.random_range(0..3)) {
            ("airline", 0) => ("get_user_details", json!({"user_id": user_id}), self.airline_user(user_id)),
            ("airline", _) => {
                let reservation = self.id_code(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 6);
                let output = self.airline_reservation(&reservation, user_id);
                ("get_reservation_details", json!({"reservation_id": reservation}), output)
            }
            ("retail", 0) => {
                ("find_user_id_by_email", json!({"email": format!("{user_id}@example.com")}), json!(user_id))
            }
            ("retail", _) => {
                let order = format!("#W{}", self.rng.random_range(1_000_000..10_000_000));
                let output = self.retail_order(&order, user_id);
                ("get_order_details", json!({"order_id": order}), output)
            }
            (_, 0) => {
                let phone = format!("555-{:03}-{:04}", self.rng.random_range(0..1000), self.rng.random_range(0..10000));
                let output = self.telecom_customer(&phone);
                ("get_customer_by_phone", json!({"phone_number": phone}), output)
            }
            (_, _) => {
                let line = format!("L{}", self.rng.random_range(1000..10000));
                let output = json!({
                    "line_id": line, "status": "Active", "plan_id": format!("P{}", self.rng.random_range(1000..2000)),
                    "data_used_gb": (self.rng.random_range(0.0..30.0f64) * 100.0).round() / 100.0,
                    "data_limit_gb": 15.0, "roaming_enabled": self.rng.random_bool(0.3),
                    "contract_end_date": self.date(), "last_plan_change": self.date(),
                });
                ("get_details_by_id", json!({"id": line}), output)
            }
        };
        let call = json!({
            "role": "assistant",
            "content": null,
            "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments.to_string()}}],
        });
        let result = json!({"role": "tool", "tool_call_id": call_id, "name": name, "content": output.to_string()});
        (call, result)
    }

    fn airline_user(&mut self, user_id: &str) -> Value {
        let reservations: Vec<String> = (0..self.rng.random_range(1..5))
            .map(|_| self.id_code(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 6))
            .collect();
        json!({
            "user_id": user_id,
            "name": {"first_name": FIRST_NAMES[self.rng.random_range(0..10)], "last_name": LAST_NAMES[self.rng.random_range(0..10)]},
            "address": {"address1": format!("{} Elm Street", self.rng.random_range(1..999)), "city": "Springfield", "country": "USA", "state": "IL", "zip": format!("{:05}", self.rng.random_range(0..100000))},
            "email": format!("{user_id}@example.com"),
            "dob": format!("19{}-0{}-1{}", self.rng.random_range(50..99), self.rng.random_range(1..9), self.rng.random_range(0..9)),
            "payment_methods": {format!("credit_card_{}", self.rng.random_range(1_000_000..9_999_999)): {"source": "credit_card", "brand": "visa", "last_four": format!("{:04}", self.rng.random_range(0..10000))}},
            "saved_passengers": [],
            "membership": self.pick(&["regular", "silver", "gold"]),
            "reservations": reservations,
        })
    }

    fn airline_reservation(&mut self, reservation: &str, user_id: &str) -> Value {
        let origin = CITIES[self.rng.random_range(0..CITIES.len())];
        let destination = CITIES[self.rng.random_range(0..CITIES.len())];
        let flights: Vec<Value> = (0..self.rng.random_range(1..4))
            .map(|_| {
                json!({"origin": origin, "destination": destination,
                       "flight_number": format!("HAT{:03}", self.rng.random_range(1..300)),
                       "date": self.date(), "price": self.rng.random_range(50..2000)})
            })
            .collect();
        json!({
            "reservation_id": reservation, "user_id": user_id, "origin": origin, "destination": destination,
            "flight_type": self.pick(&["one_way", "round_trip"]),
            "cabin": self.pick(&["basic_economy", "economy", "business"]),
            "flights": flights,
            "passengers": [{"first_name": FIRST_NAMES[self.rng.random_range(0..10)], "last_name": LAST_NAMES[self.rng.random_range(0..10)], "dob": self.date()}],
            "payment_history": [{"payment_id": format!("gift_card_{}", self.rng.random_range(1_000_000..9_999_999)), "amount": self.rng.random_range(100..3000)}],
            "created_at": format!("{}T{:02}:{:02}:{:02}", self.date(), self.rng.random_range(0..24), self.rng.random_range(0..60), self.rng.random_range(0..60)),
            "total_baggages": self.rng.random_range(0..3), "nonfree_baggages": 0,
            "insurance": self.pick(&["yes", "no"]),
        })
    }

    fn retail_order(&mut self, order: &str, user_id: &str) -> Value {
        let items: Vec<Value> = (0..self.rng.random_range(1..5))
            .map(|_| {
                json!({"name": PRODUCTS[self.rng.random_range(0..PRODUCTS.len())],
                       "product_id": format!("{}", self.rng.random_range(1_000_000_000u64..9_999_999_999)),
                       "item_id": format!("{}", self.rng.random_range(1_000_000_000u64..9_999_999_999)),
                       "price": (self.rng.random_range(5.0..500.0f64) * 100.0).round() / 100.0,
                       "options": {"color": self.pick(&["red", "blue", "black"]), "size": self.pick(&["S", "M", "L", "XL"])}})
            })
            .collect();
        json!({
            "order_id": order, "user_id": user_id,
            "address": {"address1": format!("{} Oak Avenue", self.rng.random_range(1..999)), "city": "Denver", "country": "USA", "state": "CO", "zip": format!("{:05}", self.rng.random_range(0..100000))},
            "items": items,
            "fulfillments": [{"tracking_id": [format!("{}", self.rng.random_range(100_000_000_000u64..999_999_999_999))], "item_ids": []}],
            "status": self.pick(&["pending", "delivered", "processed"]),
            "payment_history": [{"transaction_type": "payment", "amount": (self.rng.random_range(5.0..900.0f64) * 100.0).round() / 100.0, "payment_method_id": format!("paypal_{}", self.rng.random_range(1_000_000..9_999_999))}],
        })
    }

    fn telecom_customer(&mut self, phone: &str) -> Value {
        json!({
            "customer_id": format!("C{}", self.rng.random_range(1000..10000)),
            "full_name": format!("{} {}", FIRST_NAMES[self.rng.random_range(0..10)], LAST_NAMES[self.rng.random_range(0..10)]),
            "date_of_birth": self.date(), "email": format!("user{}@example.com", self.rng.random_range(0..100000)),
            "phone_number": phone, "account_status": "Active",
            "line_ids": [format!("L{}", self.rng.random_range(1000..10000)), format!("L{}", self.rng.random_range(1000..10000))],
            "bill_ids": [format!("B{}", self.rng.random_range(1000..10000))],
            "payment_methods": [{"method_type": "Credit Card", "account_number_last_4": format!("{:04}", self.rng.random_range(0..10000)), "expiration_date": "12/2027"}],
        })
    }

    /// The next record.
    pub fn next_record(&mut self) -> Record {
        let index = self.index;
        self.index += 1;
        let domain = DOMAINS[(index % DOMAINS.len() as u64) as usize];
        let user_id = self.user_id();
        let task_number = self.rng.random_range(0..50);
        let mut messages = vec![
            json!({"role": "system", "content": format!(
                "You are a customer service agent for the {domain} domain. Follow the policy strictly. In each turn \
                 either call one tool or answer the user, never both. Authenticate the user first.\n<ticket>The \
                 customer {user_id} writes: I need help with my {} (task {task_number}).</ticket>",
                ["booking", "order", "phone line"][(index % 3) as usize])}),
            json!({"role": "user", "content": format!(
                "Hi, my user id is {user_id}. I'd like to {} please.",
                ["cancel my reservation", "return two items from my order", "fix my mobile data"][(index % 3) as usize])}),
        ];
        let turns = self.rng.random_range(2..7);
        for _ in 0..turns {
            let (call, result) = self.tool_exchange(domain, &user_id);
            messages.push(call);
            messages.push(result);
            if self.rng.random_bool(0.4) {
                messages.push(json!({"role": "assistant", "content": "I found the details. Before I proceed, can you confirm that you want me to continue with this change? (yes/no)"}));
                messages.push(
                    json!({"role": "user", "content": self.pick(&["Yes, please go ahead.", "yes", "Yes. Thanks!"])}),
                );
            }
        }
        let success = self.rng.random_bool(0.55);
        messages.push(json!({"role": "assistant", "content": if success {
            "Your request has been completed. Is there anything else I can help you with?"
        } else {
            "I'm sorry, I could not complete this request under our policy. I will transfer you to a human agent."
        }}));
        let progress = (self.rng.random_range(0.0..1.0f64) * 1000.0).round() / 1000.0;
        let task_success = if success { 1.0 } else { 0.0 };
        let failure_modes: Vec<String> = if success {
            Vec::new()
        } else {
            (0..self.rng.random_range(1..3))
                .map(|_| FAILURE_MODES[self.rng.random_range(0..FAILURE_MODES.len())].to_owned())
                .collect()
        };
        let failure_bonus = 0.3 / (1.0 + failure_modes.len() as f64);
        let reward_components = BTreeMap::from([
            ("task_success".to_owned(), task_success),
            ("partial_progress".to_owned(), progress),
            ("failure_taxonomy".to_owned(), failure_bonus),
        ]);
        let termination = match self.rng.random_range(0..20) {
            0 => TerminationReason::MaxSteps,
            1 => TerminationReason::TooManyErrors,
            2..=5 => TerminationReason::UserStop,
            _ => TerminationReason::AgentStop,
        };
        let (token_ids, loss_mask, logprobs) = if self.options.with_tokens {
            let (ids, mask, logprobs) = self.tokens(&messages);
            (Some(ids), Some(mask), Some(logprobs))
        } else {
            (None, None, None)
        };
        let step = index / 16;
        Record {
            domain: domain.to_owned(),
            task_id: format!("{domain}_{task_number}"),
            step,
            sample_index: (index % 4) as u32,
            messages,
            token_ids,
            loss_mask,
            logprobs,
            reward: task_success + 0.5 * progress + failure_bonus,
            reward_components,
            success,
            termination,
            failure_modes,
            checkpoint_id: Some(format!("checkpoint_task_0_step_{}", step / 10 * 10)),
            timestamp_unix_ms: 1_763_769_600_000 + index * 1_500,
        }
    }

    /// Word-level pseudo-tokens (a stable hash of each word into a 4096 vocabulary, so repeated words repeat ids
    /// as real tokens do), loss mask on assistant messages, log-probs on trained tokens.
    fn tokens(&mut self, messages: &[Value]) -> (Vec<u32>, Vec<bool>, Vec<f32>) {
        let mut ids = Vec::new();
        let mut mask = Vec::new();
        let mut logprobs = Vec::new();
        for message in messages {
            let trained = message["role"] == "assistant";
            let text = message.to_string();
            for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
                let hash = word.bytes().fold(2_166_136_261u32, |h, b| (h ^ u32::from(b)).wrapping_mul(16_777_619));
                ids.push(hash % 4096);
                mask.push(trained);
                logprobs.push(if trained { -self.rng.random_range(0.0..2.0f32) } else { 0.0 });
            }
        }
        (ids, mask, logprobs)
    }
}

impl Iterator for SyntheticTrajectories {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        Some(self.next_record())
    }
}
