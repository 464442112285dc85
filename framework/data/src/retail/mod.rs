//! The retail generators: databases ([`db`]) and task families ([`tasks`]).

pub mod db;
pub mod tasks;

pub use db::generate as generate_db;
pub use tasks::{FAMILIES, generate_task, generate_tasks, user_pool};
