//! The 15 retail agent tools (26.3 data) with τ²'s semantics, messages and quirks.
//!
//! Quirks kept on purpose: gift-card balances are rounded to cents after every change (Python `round`);
//! `modify_pending_order_items` gives every modified item the price and options of the *last* new variant
//! (τ² reuses the loop variable) and leaves the order `pending (item modified)`, which blocks further item
//! changes and cancellation but not address/payment changes (substring check); return/exchange item lists
//! are stored sorted.

use std::sync::Arc;

use indexmap::IndexMap;

use super::model::{Order, OrderPayment, PaymentMethod, Product, PyNumber, RetailDb, User, UserAddress, Variant};
use crate::airline::tools::{TRANSFER_DESCRIPTION, TRANSFER_PARAMS};
use crate::calculate;
use crate::pyjson::{self, py_round};
use crate::tool::{Args, Param, ParamType, ToolDef, ToolError, ToolKind, ToolResult, Toolkit, render};

type Db = RetailDb;

fn err(msg: impl Into<String>) -> ToolError {
    ToolError::new(msg)
}

fn order<'a>(db: &'a Db, id: &str) -> Result<&'a Arc<Order>, ToolError> {
    db.orders.get(id).ok_or_else(|| err("Order not found"))
}

fn order_mut<'a>(db: &'a mut Db, id: &str) -> Result<&'a mut Order, ToolError> {
    Arc::make_mut(&mut db.orders).get_mut(id).map(Arc::make_mut).ok_or_else(|| err("Order not found"))
}

fn user<'a>(db: &'a Db, id: &str) -> Result<&'a Arc<User>, ToolError> {
    db.users.get(id).ok_or_else(|| err("User not found"))
}

fn user_mut<'a>(db: &'a mut Db, id: &str) -> Result<&'a mut User, ToolError> {
    Arc::make_mut(&mut db.users).get_mut(id).map(Arc::make_mut).ok_or_else(|| err("User not found"))
}

fn product<'a>(db: &'a Db, id: &str) -> Result<&'a Arc<Product>, ToolError> {
    db.products.get(id).ok_or_else(|| err("Product not found"))
}

fn variant<'a>(db: &'a Db, product_id: &str, item_id: &str) -> Result<&'a Variant, ToolError> {
    product(db, product_id)?.variants.get(item_id).ok_or_else(|| err("Variant not found"))
}

fn payment_method<'a>(db: &'a Db, user_id: &str, method_id: &str) -> Result<&'a PaymentMethod, ToolError> {
    user(db, user_id)?.payment_methods.get(method_id).ok_or_else(|| err("Payment method not found"))
}

/// Adds `delta` to a gift card's balance and rounds to cents; other methods are untouched.
fn credit_gift_card(db: &mut Db, user_id: &str, method_id: &str, delta: f64) -> Result<(), ToolError> {
    let u = user_mut(db, user_id)?;
    match u.payment_methods.get_mut(method_id) {
        Some(PaymentMethod::GiftCard { balance, .. }) => {
            *balance = py_round(*balance + delta, 2);
            Ok(())
        }
        Some(_) => Ok(()),
        None => Err(err("Payment method not found")),
    }
}

fn gift_balance(method: &PaymentMethod) -> Option<f64> {
    match method {
        PaymentMethod::GiftCard { balance, .. } => Some(*balance),
        _ => None,
    }
}

/// τ²'s multiset check: every id occurs in `requested` no more often than among the order's items.
fn first_missing<'a>(requested: &'a [String], order: &Order) -> Option<&'a String> {
    requested.iter().find(|id| {
        let wanted = requested.iter().filter(|x| x == id).count();
        let have = order.items.iter().filter(|item| &item.item_id == *id).count();
        wanted > have
    })
}

fn address_from(a: &Args<'_>) -> Result<UserAddress, ToolError> {
    Ok(UserAddress {
        address1: a.str("address1")?,
        address2: a.str("address2")?,
        city: a.str("city")?,
        country: a.str("country")?,
        state: a.str("state")?,
        zip: a.str("zip")?,
    })
}

// ---------------------------------------------------------------------------------------------------------
// Tool bodies.

fn calculate_tool(_db: &mut Db, a: &Args<'_>) -> ToolResult {
    calculate::calculate(&a.str("expression")?)
}

fn cancel_pending_order(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let order_id = a.str("order_id")?;
    let reason = a.str("reason")?;
    let current = Arc::clone(order(db, &order_id)?);
    if current.status != "pending" {
        return Err(err("Non-pending order cannot be cancelled"));
    }
    if reason != "no longer needed" && reason != "ordered by mistake" {
        return Err(err("Invalid reason"));
    }
    let mut refunds = Vec::with_capacity(current.payment_history.len());
    for payment in &current.payment_history {
        refunds.push(OrderPayment {
            transaction_type: "refund".to_owned(),
            amount: payment.amount,
            payment_method_id: payment.payment_method_id.clone(),
        });
        user(db, &current.user_id)?;
        payment_method(db, &current.user_id, &payment.payment_method_id)?;
        credit_gift_card(db, &current.user_id, &payment.payment_method_id, payment.amount)?;
    }
    let o = order_mut(db, &order_id)?;
    o.status = "cancelled".to_owned();
    o.cancel_reason = Some(reason);
    o.payment_history.extend(refunds);
    Ok(render(&*o))
}

fn exchange_delivered_order_items(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let order_id = a.str("order_id")?;
    let item_ids = a.str_list("item_ids")?;
    let new_item_ids = a.str_list("new_item_ids")?;
    let method_id = a.str("payment_method_id")?;
    let current = Arc::clone(order(db, &order_id)?);
    if current.status != "delivered" {
        return Err(err("Non-delivered order cannot be exchanged"));
    }
    if let Some(id) = first_missing(&item_ids, &current) {
        return Err(err(format!("Number of {id} not found.")));
    }
    if item_ids.len() != new_item_ids.len() {
        return Err(err("The number of items to be exchanged should match."));
    }
    let mut diff: Option<f64> = None;
    for (old_id, new_id) in item_ids.iter().zip(&new_item_ids) {
        let item = current
            .items
            .iter()
            .find(|i| &i.item_id == old_id)
            .ok_or_else(|| err(format!("Item {old_id} not found")))?;
        let v = variant(db, &item.product_id, new_id)?;
        if !v.available {
            return Err(err(format!("New item {new_id} not found or available")));
        }
        diff = Some(diff.unwrap_or(0.0) + (v.price - item.price));
    }
    // `round(0, 2)` of Python's int start value stays an int when nothing was exchanged.
    let diff = match diff {
        Some(d) => PyNumber::Float(py_round(d, 2)),
        None => PyNumber::Int(0),
    };
    let diff_value = match diff {
        PyNumber::Float(f) => f,
        PyNumber::Int(i) => i as f64,
    };
    let method = payment_method(db, &current.user_id, &method_id)?;
    if gift_balance(method).is_some_and(|b| b < diff_value) {
        return Err(err("Insufficient gift card balance to pay for the price difference"));
    }
    let o = order_mut(db, &order_id)?;
    o.status = "exchange requested".to_owned();
    let (mut old_sorted, mut new_sorted) = (item_ids, new_item_ids);
    old_sorted.sort();
    new_sorted.sort();
    o.exchange_items = Some(old_sorted);
    o.exchange_new_items = Some(new_sorted);
    o.exchange_payment_method_id = Some(method_id);
    o.exchange_price_difference = Some(diff);
    Ok(render(&*o))
}

fn find_user_id_by_name_zip(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let (first, last, zip) = (a.str("first_name")?.to_lowercase(), a.str("last_name")?.to_lowercase(), a.str("zip")?);
    db.users
        .iter()
        .find(|(_, u)| {
            u.name.first_name.to_lowercase() == first && u.name.last_name.to_lowercase() == last && u.address.zip == zip
        })
        .map(|(id, _)| id.clone())
        .ok_or_else(|| err("User not found"))
}

fn find_user_id_by_email(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let email = a.str("email")?.to_lowercase();
    db.users
        .iter()
        .find(|(_, u)| u.email.to_lowercase() == email)
        .map(|(id, _)| id.clone())
        .ok_or_else(|| err("User not found"))
}

fn get_order_details(db: &mut Db, a: &Args<'_>) -> ToolResult {
    Ok(render(&**order(db, &a.str("order_id")?)?))
}

fn get_product_details(db: &mut Db, a: &Args<'_>) -> ToolResult {
    Ok(render(&**product(db, &a.str("product_id")?)?))
}

fn get_user_details(db: &mut Db, a: &Args<'_>) -> ToolResult {
    Ok(render(&**user(db, &a.str("user_id")?)?))
}

fn list_all_product_types(db: &mut Db, _a: &Args<'_>) -> ToolResult {
    let mut names: IndexMap<&str, &str> = IndexMap::new();
    for p in db.products.values() {
        names.insert(p.name.as_str(), p.product_id.as_str());
    }
    Ok(pyjson::to_string_sorted(&names))
}

fn modify_pending_order_address(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let order_id = a.str("order_id")?;
    let address = address_from(a)?;
    if !order(db, &order_id)?.status.contains("pending") {
        return Err(err("Non-pending order cannot be modified"));
    }
    let o = order_mut(db, &order_id)?;
    o.address = address;
    Ok(render(&*o))
}

fn modify_pending_order_items(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let order_id = a.str("order_id")?;
    let item_ids = a.str_list("item_ids")?;
    let new_item_ids = a.str_list("new_item_ids")?;
    let method_id = a.str("payment_method_id")?;
    let current = Arc::clone(order(db, &order_id)?);
    if current.status != "pending" {
        return Err(err("Non-pending order cannot be modified"));
    }
    if let Some(id) = first_missing(&item_ids, &current) {
        return Err(err(format!("{id} not found")));
    }
    if item_ids.len() != new_item_ids.len() {
        return Err(err("The number of items to be exchanged should match"));
    }
    let mut diff = 0.0f64;
    let mut last_variant: Option<Variant> = None;
    for (old_id, new_id) in item_ids.iter().zip(&new_item_ids) {
        if old_id == new_id {
            return Err(err("The new item id should be different from the old item id"));
        }
        let item = current
            .items
            .iter()
            .find(|i| &i.item_id == old_id)
            .ok_or_else(|| err(format!("Item {old_id} not found")))?;
        let v = variant(db, &item.product_id, new_id)?;
        if !v.available {
            return Err(err(format!("New item {new_id} not found or available")));
        }
        diff += v.price - item.price;
        last_variant = Some(v.clone());
    }
    let method = payment_method(db, &current.user_id, &method_id)?;
    if gift_balance(method).is_some_and(|b| b < diff) {
        return Err(err("Insufficient gift card balance to pay for the new item"));
    }
    let is_gift = gift_balance(method).is_some();
    if is_gift {
        credit_gift_card(db, &current.user_id, &method_id, -diff)?;
    }
    let o = order_mut(db, &order_id)?;
    o.payment_history.push(OrderPayment {
        transaction_type: if diff > 0.0 { "payment" } else { "refund" }.to_owned(),
        amount: diff.abs(),
        payment_method_id: method_id,
    });
    // Second pass exactly as τ²: pair i renames the first item still carrying old id i.
    for (old_id, new_id) in item_ids.iter().zip(&new_item_ids) {
        let item =
            o.items.iter_mut().find(|i| &i.item_id == old_id).ok_or_else(|| err(format!("Item {old_id} not found")))?;
        item.item_id = new_id.clone();
        if let Some(v) = &last_variant {
            item.price = v.price;
            item.options = v.options.clone();
        }
    }
    o.status = "pending (item modified)".to_owned();
    Ok(render(&*o))
}

fn modify_pending_order_payment(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let order_id = a.str("order_id")?;
    let method_id = a.str("payment_method_id")?;
    let current = Arc::clone(order(db, &order_id)?);
    if !current.status.contains("pending") {
        return Err(err("Non-pending order cannot be modified"));
    }
    let method = payment_method(db, &current.user_id, &method_id)?;
    let first = match current.payment_history.as_slice() {
        [only] if only.transaction_type == "payment" => only,
        _ => return Err(err("There should be exactly one payment for a pending order")),
    };
    if first.payment_method_id == method_id {
        return Err(err("The new payment method should be different from the current one"));
    }
    let amount = first.amount;
    if gift_balance(method).is_some_and(|b| b < amount) {
        return Err(err("Insufficient gift card balance to pay for the order"));
    }
    let old_method_id = first.payment_method_id.clone();
    {
        let o = order_mut(db, &order_id)?;
        o.payment_history.push(OrderPayment {
            transaction_type: "payment".to_owned(),
            amount,
            payment_method_id: method_id.clone(),
        });
        o.payment_history.push(OrderPayment {
            transaction_type: "refund".to_owned(),
            amount,
            payment_method_id: old_method_id.clone(),
        });
    }
    credit_gift_card(db, &current.user_id, &method_id, -amount)?;
    payment_method(db, &current.user_id, &old_method_id)?;
    credit_gift_card(db, &current.user_id, &old_method_id, amount)?;
    Ok(render(&**order(db, &order_id)?))
}

fn modify_user_address(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let user_id = a.str("user_id")?;
    let address = address_from(a)?;
    let u = user_mut(db, &user_id)?;
    u.address = address;
    Ok(render(&*u))
}

fn return_delivered_order_items(db: &mut Db, a: &Args<'_>) -> ToolResult {
    let order_id = a.str("order_id")?;
    let item_ids = a.str_list("item_ids")?;
    let method_id = a.str("payment_method_id")?;
    let current = Arc::clone(order(db, &order_id)?);
    if current.status != "delivered" {
        return Err(err("Non-delivered order cannot be returned"));
    }
    user(db, &current.user_id)?;
    let method = payment_method(db, &current.user_id, &method_id)?;
    if gift_balance(method).is_none() {
        let original = current.payment_history.first().ok_or_else(|| err("list index out of range"))?;
        if method_id != original.payment_method_id {
            return Err(err("Payment method should be the original payment method"));
        }
    }
    if first_missing(&item_ids, &current).is_some() {
        return Err(err("Some item not found"));
    }
    let o = order_mut(db, &order_id)?;
    o.status = "return requested".to_owned();
    let mut sorted = item_ids;
    sorted.sort();
    o.return_items = Some(sorted);
    o.return_payment_method_id = Some(method_id);
    Ok(render(&*o))
}

fn transfer_to_human_agents(_db: &mut Db, _a: &Args<'_>) -> ToolResult {
    Ok("Transfer successful".to_owned())
}

// ---------------------------------------------------------------------------------------------------------
// The toolkit.

const ORDER_ID_DOC: &str =
    "The order id, such as '#W0000000'. Be careful there is a '#' symbol at the beginning of the order id.";
const METHOD_DOC: &str = "The payment method id to pay or receive refund for the item price difference, such as 'gift_card_0000000' or 'credit_card_0000000'. These can be looked up from the user or order details.";
static STRING_ITEM: ParamType = ParamType::String;

/// Address parameters after the id, shared by the two address tools.
macro_rules! address_params {
    ($id:expr, $id_doc:expr) => {
        &[
            Param::required($id, ParamType::String, $id_doc),
            Param::required("address1", ParamType::String, "The first line of the address, such as '123 Main St'."),
            Param::required("address2", ParamType::String, "The second line of the address, such as 'Apt 1' or ''."),
            Param::required("city", ParamType::String, "The city, such as 'San Francisco'."),
            Param::required("state", ParamType::String, "The state, such as 'CA'."),
            Param::required("country", ParamType::String, "The country, such as 'USA'."),
            Param::required("zip", ParamType::String, "The zip code, such as '12345'."),
        ]
    };
}

/// The retail agent tools, in τ²'s order.
pub static TOOLS: [ToolDef<RetailDb>; 15] = [
    ToolDef {
        name: "calculate",
        description: calculate::DESCRIPTION,
        kind: ToolKind::Generic,
        params: calculate::PARAMS,
        run: calculate_tool,
    },
    ToolDef {
        name: "cancel_pending_order",
        description: "Cancel a pending order. If the order is already processed or delivered,\n\nit cannot be cancelled. The agent needs to explain the cancellation detail\nand ask for explicit user confirmation (yes/no) to proceed. If the user confirms,\nthe order status will be changed to 'cancelled' and the payment will be refunded.\nThe refund will be added to the user's gift card balance immediately if the payment\nwas made using a gift card, otherwise the refund would take 5-7 business days to process.\nThe function returns the order details after the cancellation.",
        kind: ToolKind::Write,
        params: &[
            Param::required("order_id", ParamType::String, ORDER_ID_DOC),
            Param::required(
                "reason",
                ParamType::String,
                "The reason for cancellation, which should be either 'no longer needed' or 'ordered by mistake'.",
            ),
        ],
        run: cancel_pending_order,
    },
    ToolDef {
        name: "exchange_delivered_order_items",
        description: "Exchange items in a delivered order to new items of the same product type.\n\nFor a delivered order, return or exchange can be only done once by the agent.\nThe agent needs to explain the exchange detail and ask for explicit user confirmation (yes/no) to proceed.",
        kind: ToolKind::Write,
        params: &[
            Param::required("order_id", ParamType::String, ORDER_ID_DOC),
            Param::required(
                "item_ids",
                ParamType::Array(&STRING_ITEM),
                "The item ids to be exchanged, each such as '1008292230'. There could be duplicate items in the list.",
            ),
            Param::required(
                "new_item_ids",
                ParamType::Array(&STRING_ITEM),
                "The item ids to be exchanged for, each such as '1008292230'.\nThere could be duplicate items in the list. Each new item id should match the item id\nin the same position and be of the same product.",
            ),
            Param::required(
                "payment_method_id",
                ParamType::String,
                "The payment method id to pay or receive refund for the item price difference,\nsuch as 'gift_card_0000000' or 'credit_card_0000000'. These can be looked up\nfrom the user or order details.",
            ),
        ],
        run: exchange_delivered_order_items,
    },
    ToolDef {
        name: "find_user_id_by_name_zip",
        description: "Find user id by first name, last name, and zip code. If the user is not found, the function\n\nwill return an error message. By default, find user id by email, and only call this function\nif the user is not found by email or cannot remember email.",
        kind: ToolKind::Read,
        params: &[
            Param::required("first_name", ParamType::String, "The first name of the customer, such as 'John'."),
            Param::required("last_name", ParamType::String, "The last name of the customer, such as 'Doe'."),
            Param::required("zip", ParamType::String, "The zip code of the customer, such as '12345'."),
        ],
        run: find_user_id_by_name_zip,
    },
    ToolDef {
        name: "find_user_id_by_email",
        description: "Find user id by email. If the user is not found, the function will return an error message.",
        kind: ToolKind::Read,
        params: &[Param::required(
            "email",
            ParamType::String,
            "The email of the user, such as 'something@example.com'.",
        )],
        run: find_user_id_by_email,
    },
    ToolDef {
        name: "get_order_details",
        description: "Get the status and details of an order.",
        kind: ToolKind::Read,
        params: &[Param::required("order_id", ParamType::String, ORDER_ID_DOC)],
        run: get_order_details,
    },
    ToolDef {
        name: "get_product_details",
        description: "Get the inventory details of a product.",
        kind: ToolKind::Read,
        params: &[Param::required(
            "product_id",
            ParamType::String,
            "The product id, such as '6086499569'. Be careful the product id is different from the item id.",
        )],
        run: get_product_details,
    },
    ToolDef {
        name: "get_user_details",
        description: "Get the details of a user, including their orders.",
        kind: ToolKind::Read,
        params: &[Param::required("user_id", ParamType::String, "The user id, such as 'sara_doe_496'.")],
        run: get_user_details,
    },
    ToolDef {
        name: "list_all_product_types",
        description: "List the name and product id of all product types.\n\nEach product type has a variety of different items with unique item ids and options.\nThere are only 50 product types in the store.",
        kind: ToolKind::Read,
        params: &[],
        run: list_all_product_types,
    },
    ToolDef {
        name: "modify_pending_order_address",
        description: "Modify the shipping address of a pending order. The agent needs to explain the modification detail and ask for explicit user confirmation (yes/no) to proceed.",
        kind: ToolKind::Write,
        params: address_params!("order_id", ORDER_ID_DOC),
        run: modify_pending_order_address,
    },
    ToolDef {
        name: "modify_pending_order_items",
        description: "Modify items in a pending order to new items of the same product type. For a pending order, this function can only be called once. The agent needs to explain the exchange detail and ask for explicit user confirmation (yes/no) to proceed.",
        kind: ToolKind::Write,
        params: &[
            Param::required("order_id", ParamType::String, ORDER_ID_DOC),
            Param::required(
                "item_ids",
                ParamType::Array(&STRING_ITEM),
                "The item ids to be modified, each such as '1008292230'. There could be duplicate items in the list.",
            ),
            Param::required(
                "new_item_ids",
                ParamType::Array(&STRING_ITEM),
                "The item ids to be modified for, each such as '1008292230'. There could be duplicate items in the list. Each new item id should match the item id in the same position and be of the same product.",
            ),
            Param::required("payment_method_id", ParamType::String, METHOD_DOC),
        ],
        run: modify_pending_order_items,
    },
    ToolDef {
        name: "modify_pending_order_payment",
        description: "Modify the payment method of a pending order. The agent needs to explain the modification detail and ask for explicit user confirmation (yes/no) to proceed.",
        kind: ToolKind::Write,
        params: &[
            Param::required("order_id", ParamType::String, ORDER_ID_DOC),
            Param::required("payment_method_id", ParamType::String, METHOD_DOC),
        ],
        run: modify_pending_order_payment,
    },
    ToolDef {
        name: "modify_user_address",
        description: "Modify the default address of a user. The agent needs to explain the modification detail and ask for explicit user confirmation (yes/no) to proceed.",
        kind: ToolKind::Write,
        params: address_params!("user_id", "The user id, such as 'sara_doe_496'."),
        run: modify_user_address,
    },
    ToolDef {
        name: "return_delivered_order_items",
        description: "Return some items of a delivered order.\n\nThe order status will be changed to 'return requested'.\nThe agent needs to explain the return detail and ask for explicit user confirmation (yes/no) to proceed.\nThe user will receive follow-up email for how and where to return the item.",
        kind: ToolKind::Write,
        params: &[
            Param::required("order_id", ParamType::String, ORDER_ID_DOC),
            Param::required(
                "item_ids",
                ParamType::Array(&STRING_ITEM),
                "The item ids to be returned, each such as '1008292230'. There could be duplicate items in the list.",
            ),
            Param::required(
                "payment_method_id",
                ParamType::String,
                "The payment method id to pay or receive refund for the item price difference, such as 'gift_card_0000000' or 'credit_card_0000000'.\nThese can be looked up from the user or order details.",
            ),
        ],
        run: return_delivered_order_items,
    },
    ToolDef {
        name: "transfer_to_human_agents",
        description: TRANSFER_DESCRIPTION,
        kind: ToolKind::Generic,
        params: TRANSFER_PARAMS,
        run: transfer_to_human_agents,
    },
];

/// The retail agent toolkit.
pub static TOOLKIT: Toolkit<RetailDb> = Toolkit { class_name: "RetailTools", tools: &TOOLS, functions: &[] };
