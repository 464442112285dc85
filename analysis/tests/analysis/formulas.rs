//! Each CL formula on small matrices computed by hand (T = 1, 2, 3; ties; missing row 0).

use retain_analysis::cl_metrics::{ScoreMatrix, Unavailable};

use crate::common::close;

fn matrix(before: Option<&[f64]>, after: &[&[f64]]) -> ScoreMatrix {
    ScoreMatrix { before: before.map(<[f64]>::to_vec), after: after.iter().map(|r| r.to_vec()).collect() }
}

/// R0 = [.1 .2 .0], R1 = [.6 .3 .1], R2 = [.7 .8 .2], R3 = [.4 .5 .9].
fn three() -> ScoreMatrix {
    matrix(Some(&[0.1, 0.2, 0.0]), &[&[0.6, 0.3, 0.1], &[0.7, 0.8, 0.2], &[0.4, 0.5, 0.9]])
}

#[test]
fn one_domain_has_acc_and_la_but_no_transfer_figures() {
    let m = matrix(Some(&[0.2, 0.1]), &[&[0.6, 0.3]]);
    close(m.acc(1).unwrap(), 0.6);
    close(m.final_acc().unwrap(), 0.6);
    close(m.learning_accuracy().unwrap(), 0.6);
    assert_eq!(m.bwt(), Err(Unavailable::NeedsTwoDomains));
    assert_eq!(m.forgetting(), Err(Unavailable::NeedsTwoDomains));
    assert_eq!(m.relative_forgetting(), Err(Unavailable::NeedsTwoDomains));
    assert_eq!(m.fwt(), Err(Unavailable::NeedsTwoDomains));
    close(m.intransigence(&[0.9, 0.8]).unwrap(), 0.3);
}

#[test]
fn two_domains() {
    // R0 = [.1 .2], R1 = [.8 .3], R2 = [.5 .9]
    let m = matrix(Some(&[0.1, 0.2]), &[&[0.8, 0.3], &[0.5, 0.9]]);
    close(m.acc(1).unwrap(), 0.8);
    close(m.acc(2).unwrap(), 0.7);
    close(m.learning_accuracy().unwrap(), 0.85);
    close(m.bwt().unwrap(), -0.3);
    close(m.forgetting_of(1).unwrap(), 0.3);
    close(m.forgetting().unwrap(), 0.3);
    close(m.relative_forgetting().unwrap(), 0.375);
    close(m.fwt().unwrap(), 0.1);
    close(m.intransigence(&[0.9, 0.95]).unwrap(), (0.1 + 0.05) / 2.0);
}

#[test]
fn three_domains() {
    let m = three();
    close(m.acc(1).unwrap(), 0.6);
    close(m.acc(2).unwrap(), 0.75);
    close(m.acc(3).unwrap(), 0.6);
    assert_eq!(m.acc(4), Err(Unavailable::NoDomainTrained));
    close(m.learning_accuracy().unwrap(), (0.6 + 0.8 + 0.9) / 3.0);
    close(m.bwt().unwrap(), -0.25);
    // Max-based: domain 1 peaked at 0.7 after domain 2, not at R[1][1] = 0.6.
    close(m.peak(1).unwrap(), 0.7);
    close(m.forgetting_of(1).unwrap(), 0.3);
    close(m.forgetting_of(2).unwrap(), 0.3);
    assert_eq!(m.forgetting_of(3), Err(Unavailable::NeedsTwoDomains));
    close(m.forgetting().unwrap(), 0.3);
    close(m.relative_forgetting_of(1).unwrap(), 0.3 / 0.7);
    close(m.relative_forgetting().unwrap(), (0.3 / 0.7 + 0.3 / 0.8) / 2.0);
    close(m.fwt().unwrap(), 0.15);
    close(m.intransigence_of(1, &[0.9, 0.9, 0.9]).unwrap(), 0.3);
    close(m.intransigence(&[0.9, 0.9, 0.9]).unwrap(), 0.4 / 3.0);
}

#[test]
fn prefix_gives_the_figures_after_each_update() {
    let m = three();
    let after_two = m.through(2);
    assert_eq!(after_two.trained(), 2);
    close(after_two.bwt().unwrap(), 0.1);
    // Domain 1 improved while domain 2 was trained: negative forgetting, not clamped to 0.
    close(after_two.forgetting().unwrap(), -0.1);
    close(after_two.fwt().unwrap(), 0.1);
}

#[test]
fn ties_in_the_max_and_zero_peaks() {
    // Domain 1 sits at 0.7 in every row: the tie gives zero forgetting.
    let flat = matrix(None, &[&[0.7, 0.1, 0.0], &[0.7, 0.6, 0.1], &[0.7, 0.2, 0.5]]);
    close(flat.forgetting_of(1).unwrap(), 0.0);
    close(flat.forgetting_of(2).unwrap(), 0.4);
    close(flat.forgetting().unwrap(), 0.2);
    close(flat.bwt().unwrap(), (0.0 + (0.2 - 0.6)) / 2.0);

    // Domain 1 never succeeded: its relative forgetting is 0/0 and left out of the mean, not counted as 0.
    let never = matrix(None, &[&[0.0, 0.1, 0.0], &[0.0, 0.8, 0.1], &[0.0, 0.4, 0.5]]);
    assert_eq!(never.relative_forgetting_of(1), Err(Unavailable::ZeroPeak));
    close(never.relative_forgetting().unwrap(), 0.4 / 0.8);
    let nothing = matrix(None, &[&[0.0, 0.0], &[0.0, 0.3]]);
    assert_eq!(nothing.relative_forgetting(), Err(Unavailable::ZeroPeak));
    close(nothing.forgetting().unwrap(), 0.0);
}

#[test]
fn missing_row_zero_makes_fwt_unavailable_not_zero() {
    let mut m = three();
    m.before = None;
    assert_eq!(m.fwt(), Err(Unavailable::NoRowZero));
    // Everything that does not need row 0 is unchanged.
    close(m.bwt().unwrap(), -0.25);
    close(m.forgetting().unwrap(), 0.3);
    assert!(Unavailable::NoRowZero.to_string().contains("row 0"));
}

#[test]
fn no_trained_domain() {
    let m = matrix(Some(&[0.1, 0.2]), &[]);
    assert_eq!(m.final_acc(), Err(Unavailable::NoDomainTrained));
    assert_eq!(m.learning_accuracy(), Err(Unavailable::NoDomainTrained));
    assert_eq!(m.bwt(), Err(Unavailable::NoDomainTrained));
    assert_eq!(m.intransigence(&[1.0, 1.0]), Err(Unavailable::NoDomainTrained));
}

#[test]
fn intransigence_needs_a_reference_for_every_domain() {
    assert_eq!(three().intransigence(&[0.9]), Err(Unavailable::NoReference));
}
