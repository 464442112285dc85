//! Generated retail databases in τ²'s `RetailDB` schema (the domain crate's [`RetailDb`]).
//!
//! A handful of product types, each with a few variants (options, price, availability); customers with
//! one to three payment methods (credit card, gift card, PayPal) and one to three orders in the states the
//! policy distinguishes (pending, processed, delivered, cancelled).

use rand::Rng;
use serde_json::{Map, Value, json};

use retain_domains::retail::RetailDb;

use crate::error::DataError;
use crate::ids::{CITIES, FIRST_NAMES, GenRng, LAST_NAMES, STREETS, pick, sample_indices};
use crate::knobs::RetailDbConfig;

/// A product type of the catalogue: one option distinguishes its variants.
struct ProductType {
    name: &'static str,
    option: &'static str,
    values: &'static [&'static str],
    price: (i64, i64),
}

const fn product(
    name: &'static str,
    option: &'static str,
    values: &'static [&'static str],
    price: (i64, i64),
) -> ProductType {
    ProductType { name, option, values, price }
}

const PRODUCTS: [ProductType; 8] = [
    product("T-Shirt", "color", &["red", "blue", "black", "white"], (15, 40)),
    product("Headphones", "color", &["black", "silver", "blue"], (60, 250)),
    product("Water Bottle", "capacity", &["500ml", "750ml", "1000ml"], (10, 50)),
    product("Backpack", "size", &["small", "medium", "large"], (30, 120)),
    product("Desk Lamp", "color", &["white", "black", "green"], (20, 90)),
    product("Keyboard", "layout", &["US", "UK", "DE"], (40, 160)),
    product("Sneakers", "size", &["8", "9", "10", "11"], (50, 150)),
    product("Coffee Maker", "color", &["black", "red", "steel"], (40, 200)),
];

/// A product as generated: id, type and its variants (item id, option value, price).
struct Stocked {
    product_id: String,
    kind: &'static ProductType,
    variants: Vec<(String, String, f64)>,
}

fn money(rng: &mut GenRng, lo: i64, hi: i64) -> f64 {
    (rng.random_range(lo * 100..hi * 100) as f64) / 100.0
}

/// Generates a database.
pub fn generate(config: &RetailDbConfig, rng: &mut GenRng) -> Result<RetailDb, DataError> {
    let mut products = Map::new();
    let mut catalogue: Vec<Stocked> = Vec::new();
    let mut next_item = 10001;
    for (k, index) in sample_indices(rng, PRODUCTS.len(), config.products).into_iter().enumerate() {
        let kind = &PRODUCTS[index];
        let (name, option, (lo, hi)) = (kind.name, kind.option, kind.price);
        let product_id = format!("{}", 1001 + k);
        let mut variants = Map::new();
        let mut list = Vec::new();
        for value in kind.values {
            let item_id = format!("{next_item}");
            next_item += 1;
            let price = money(rng, lo, hi);
            let available = rng.random_bool(0.85);
            variants.insert(
                item_id.clone(),
                json!({"item_id": item_id, "options": {option: value}, "available": available, "price": price}),
            );
            list.push((item_id, value.to_string(), price));
        }
        products.insert(product_id.clone(), json!({"name": name, "product_id": product_id, "variants": variants}));
        catalogue.push(Stocked { product_id, kind, variants: list });
    }

    let mut users = Map::new();
    let mut orders = Map::new();
    let mut order_numbers = sample_indices(rng, 9000, config.users * config.max_orders_per_user);
    for u in 0..config.users {
        let first = *pick(rng, &FIRST_NAMES);
        let last = *pick(rng, &LAST_NAMES);
        let user_id = format!("{}_{}{}", first.to_lowercase(), last.to_lowercase(), 10 + u);
        let (city, state, zip) = *pick(rng, &CITIES);
        let address = json!({
            "address1": format!("{} {}", rng.random_range(1..999), pick(rng, &STREETS)),
            "address2": if rng.random_bool(0.3) { format!("Apt {}", rng.random_range(1..40)) } else { String::new() },
            "city": city, "country": "USA", "state": state, "zip": format!("{zip}{:02}", rng.random_range(0..100)),
        });
        let mut methods = Map::new();
        let card = format!("credit_card_{}", rng.random_range(1000..10000));
        methods.insert(
            card.clone(),
            json!({"source": "credit_card", "id": card, "brand": pick(rng, &["visa", "mastercard"]), "last_four": format!("{:04}", rng.random_range(0..10000))}),
        );
        if rng.random_bool(0.5) {
            let id = format!("gift_card_{}", rng.random_range(1000..10000));
            methods.insert(id.clone(), json!({"source": "gift_card", "id": id, "balance": money(rng, 0, 300)}));
        }
        if rng.random_bool(0.3) {
            let id = format!("paypal_{}", rng.random_range(1000..10000));
            methods.insert(id.clone(), json!({"source": "paypal", "id": id}));
        }
        let method_ids: Vec<String> = methods.keys().cloned().collect();
        let n_orders = rng.random_range(1..=config.max_orders_per_user);
        let mut order_ids = Vec::new();
        for _ in 0..n_orders {
            let order_id = format!("#W{}", 1000 + order_numbers.pop().unwrap_or(0));
            let n_items = rng.random_range(1..=3.min(catalogue.len()));
            let mut items = Vec::new();
            let mut total = 0.0;
            for pi in sample_indices(rng, catalogue.len(), n_items) {
                let stocked = &catalogue[pi];
                let (item_id, value, price) = pick(rng, &stocked.variants).clone();
                total += price;
                items.push(json!({"name": stocked.kind.name, "product_id": stocked.product_id, "item_id": item_id,
                                  "price": price, "options": {stocked.kind.option: value}}));
            }
            let status = *pick(rng, &["pending", "pending", "processed", "delivered", "delivered", "cancelled"]);
            let item_ids: Vec<Value> = items.iter().map(|i| i["item_id"].clone()).collect();
            let fulfillments = if status == "delivered" || status == "processed" {
                json!([{"tracking_id": [format!("{}", rng.random_range(100_000_000u64..999_999_999))], "item_ids": item_ids}])
            } else {
                json!([])
            };
            let payer = pick(rng, &method_ids).clone();
            let total = (total * 100.0).round() / 100.0;
            let mut history = vec![json!({"transaction_type": "payment", "amount": total, "payment_method_id": payer})];
            let mut order = json!({
                "order_id": order_id, "user_id": user_id, "address": address, "items": items, "status": status,
                "fulfillments": fulfillments, "payment_history": [],
            });
            if status == "cancelled" {
                history.push(json!({"transaction_type": "refund", "amount": total, "payment_method_id": payer}));
                order["cancel_reason"] = json!("no longer needed");
            }
            order["payment_history"] = Value::Array(history);
            orders.insert(order_id.clone(), order);
            order_ids.push(order_id);
        }
        users.insert(
            user_id.clone(),
            json!({"user_id": user_id, "name": {"first_name": first, "last_name": last}, "address": address,
                   "email": format!("{}.{}{}@example.com", first.to_lowercase(), last.to_lowercase(), 10 + u),
                   "payment_methods": methods, "orders": order_ids}),
        );
    }
    Ok(serde_json::from_value(json!({"products": products, "users": users, "orders": orders}))?)
}
