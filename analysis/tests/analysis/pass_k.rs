//! `pass^k` against τ²-bench's definition, by hand.

use retain_analysis::cl_metrics::Unavailable;
use retain_analysis::pass_k::{pass_hat_k, task_pass_hat_k};

use crate::common::close;

#[test]
fn one_task_is_c_choose_k_over_n_choose_k() {
    // 3 successes in 4 trials: pass^1 = 3/4, pass^2 = C(3,2)/C(4,2) = 3/6, pass^3 = 1/4, pass^4 = 0.
    close(task_pass_hat_k(3, 4, 1).unwrap(), 0.75);
    close(task_pass_hat_k(3, 4, 2).unwrap(), 0.5);
    close(task_pass_hat_k(3, 4, 3).unwrap(), 0.25);
    close(task_pass_hat_k(3, 4, 4).unwrap(), 0.0);
    close(task_pass_hat_k(4, 4, 4).unwrap(), 1.0);
    assert_eq!(task_pass_hat_k(3, 4, 5), None);
    // Large n does not overflow: C(60,30)/C(64,30) as a product.
    let expected: f64 = (0..30).map(|m| (60 - m) as f64 / (64 - m) as f64).product();
    close(task_pass_hat_k(60, 64, 30).unwrap(), expected);
}

#[test]
fn mean_over_tasks() {
    let a = [true, true, false, true];
    let b = [false, false, false, true];
    let tasks: [&[bool]; 2] = [&a, &b];
    close(pass_hat_k(tasks, 1).unwrap(), (0.75 + 0.25) / 2.0);
    close(pass_hat_k(tasks, 2).unwrap(), (0.5 + 0.0) / 2.0);
    assert_eq!(pass_hat_k(tasks, 5), Err(Unavailable::TooFewTrials));
    let none: [&[bool]; 0] = [];
    assert_eq!(pass_hat_k(none, 1), Err(Unavailable::NoTrials));
}
