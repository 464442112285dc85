//! The retail database (τ² `RetailDB`): products with variants, users, orders.
//!
//! Field order follows the pydantic models (rendering matches `model_dump()`); maps keep file order.
//! Records sit behind `Arc` (and each top-level map behind another `Arc`) so episodes clone cheaply.

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::data::read_json;
use crate::domain::shared_maps_eq;
use crate::error::DomainError;

/// A purchasable variant (an "item") of a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// Item id.
    pub item_id: String,
    /// Option values (colour, size, …).
    pub options: IndexMap<String, String>,
    /// In stock.
    pub available: bool,
    /// Price.
    pub price: f64,
}

/// A product type and its variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// Name.
    pub name: String,
    /// Product id.
    pub product_id: String,
    /// Variants by item id.
    pub variants: IndexMap<String, Variant>,
}

/// A user's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserName {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserAddress {
    /// First line.
    pub address1: String,
    /// Second line.
    pub address2: String,
    /// City.
    pub city: String,
    /// Country.
    pub country: String,
    /// State.
    pub state: String,
    /// Postal code.
    pub zip: String,
}

/// A stored payment method, tagged by `source`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum PaymentMethod {
    /// A credit card.
    CreditCard {
        /// Method id.
        id: String,
        /// Brand.
        brand: String,
        /// Last four digits.
        last_four: String,
    },
    /// A gift card with a balance.
    GiftCard {
        /// Method id.
        id: String,
        /// Balance.
        balance: f64,
    },
    /// PayPal.
    Paypal {
        /// Method id.
        id: String,
    },
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// User id.
    pub user_id: String,
    /// Name.
    pub name: UserName,
    /// Default address.
    pub address: UserAddress,
    /// Email.
    pub email: String,
    /// Payment methods by id.
    pub payment_methods: IndexMap<String, PaymentMethod>,
    /// Order ids.
    pub orders: Vec<String>,
}

/// A shipment of some items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderFulfillment {
    /// Tracking ids.
    pub tracking_id: Vec<String>,
    /// Items shipped.
    pub item_ids: Vec<String>,
}

/// An item of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderItem {
    /// Product name.
    pub name: String,
    /// Product id.
    pub product_id: String,
    /// Item (variant) id.
    pub item_id: String,
    /// Price paid.
    pub price: f64,
    /// Options of the variant.
    pub options: IndexMap<String, String>,
}

/// A payment or refund of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderPayment {
    /// `payment` or `refund`.
    pub transaction_type: String,
    /// Amount.
    pub amount: f64,
    /// Payment method id.
    pub payment_method_id: String,
}

/// A number that keeps Python's int/float distinction (τ² assigns `round(0, 2)`, an int, without validation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PyNumber {
    /// A Python int.
    Int(i64),
    /// A Python float.
    Float(f64),
}

/// An order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Order id (`#W…`).
    pub order_id: String,
    /// Owner.
    pub user_id: String,
    /// Shipping address.
    pub address: UserAddress,
    /// Items.
    pub items: Vec<OrderItem>,
    /// Status string.
    pub status: String,
    /// Shipments.
    pub fulfillments: Vec<OrderFulfillment>,
    /// Payments and refunds.
    pub payment_history: Vec<OrderPayment>,
    /// Reason when cancelled.
    #[serde(default)]
    pub cancel_reason: Option<String>,
    /// Items to exchange.
    #[serde(default)]
    pub exchange_items: Option<Vec<String>>,
    /// Items to exchange for.
    #[serde(default)]
    pub exchange_new_items: Option<Vec<String>>,
    /// Method for the exchange difference.
    #[serde(default)]
    pub exchange_payment_method_id: Option<String>,
    /// Exchange price difference.
    #[serde(default)]
    pub exchange_price_difference: Option<PyNumber>,
    /// Items to return.
    #[serde(default)]
    pub return_items: Option<Vec<String>>,
    /// Method for the refund.
    #[serde(default)]
    pub return_payment_method_id: Option<String>,
}

/// The retail database.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetailDb {
    /// Products by id.
    pub products: Arc<IndexMap<String, Arc<Product>>>,
    /// Users by id.
    pub users: Arc<IndexMap<String, Arc<User>>>,
    /// Orders by id.
    pub orders: Arc<IndexMap<String, Arc<Order>>>,
}

impl RetailDb {
    /// Loads `db.json`.
    pub fn load(path: &Path) -> Result<Self, DomainError> {
        read_json(path)
    }

    /// Database equality as τ² judges it, with pointer shortcuts.
    pub fn same_as(&self, other: &Self) -> bool {
        shared_maps_eq(&self.products, &other.products)
            && shared_maps_eq(&self.users, &other.users)
            && shared_maps_eq(&self.orders, &other.orders)
    }
}
