//! DS's state machine, and which mutation takes a dossier where:
//! en construction → en instruction; en instruction → en construction,
//! accepté, refusé, classé sans suite; a decision → en instruction.

use crate::domain::Stage;

/// A mutation answering with the dossier: its name and its input's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mutation {
    pub mutation: &'static str,
    pub input: &'static str,
}

const fn m(mutation: &'static str, input: &'static str) -> Mutation {
    Mutation { mutation, input }
}

pub const PASSER_EN_INSTRUCTION: Mutation = m(
    "dossierPasserEnInstruction",
    "DossierPasserEnInstructionInput",
);
pub const REPASSER_EN_CONSTRUCTION: Mutation = m(
    "dossierRepasserEnConstruction",
    "DossierRepasserEnConstructionInput",
);
pub const REPASSER_EN_INSTRUCTION: Mutation = m(
    "dossierRepasserEnInstruction",
    "DossierRepasserEnInstructionInput",
);
pub const ACCEPTER: Mutation = m("dossierAccepter", "DossierAccepterInput");
pub const REFUSER: Mutation = m("dossierRefuser", "DossierRefuserInput");
pub const CLASSER_SANS_SUITE: Mutation =
    m("dossierClasserSansSuite", "DossierClasserSansSuiteInput");
pub const SUIVRE: Mutation = m("dossierBasculeSuivi", "DossierBasculeSuiviInput");
pub const CHANGER_GROUPE: Mutation = m(
    "dossierChangerGroupeInstructeur",
    "DossierChangerGroupeInstructeurInput",
);

pub const ALL: [Mutation; 8] = [
    PASSER_EN_INSTRUCTION,
    REPASSER_EN_CONSTRUCTION,
    REPASSER_EN_INSTRUCTION,
    ACCEPTER,
    REFUSER,
    CLASSER_SANS_SUITE,
    SUIVRE,
    CHANGER_GROUPE,
];

pub const EN_CONSTRUCTION: &str = "en_construction";
pub const EN_INSTRUCTION: &str = "en_instruction";
pub const ACCEPTE: &str = "accepte";
pub const REFUSE: &str = "refuse";
pub const SANS_SUITE: &str = "sans_suite";

/// DS's states with their labels (French, English) and Guichet's stage.
pub const STATES: [(&str, &str, &str, Stage); 5] = [
    (
        EN_CONSTRUCTION,
        "En construction",
        "In progress",
        Stage::New,
    ),
    (EN_INSTRUCTION, "En instruction", "Processing", Stage::Open),
    (ACCEPTE, "Accepté", "Accepted", Stage::Resolved),
    (REFUSE, "Refusé", "Refused", Stage::Resolved),
    // A decision can be taken back (repasser en instruction): resolved, not
    // cancelled, which Guichet takes for final.
    (
        SANS_SUITE,
        "Classé sans suite",
        "No further action",
        Stage::Resolved,
    ),
];

pub fn is_decision(state: &str) -> bool {
    matches!(state, ACCEPTE | REFUSE | SANS_SUITE)
}

/// The mutation that takes a dossier from `from` to `to`, if DS has one.
pub fn between(from: &str, to: &str) -> Option<Mutation> {
    match (from, to) {
        (EN_CONSTRUCTION, EN_INSTRUCTION) => Some(PASSER_EN_INSTRUCTION),
        (EN_INSTRUCTION, EN_CONSTRUCTION) => Some(REPASSER_EN_CONSTRUCTION),
        (EN_INSTRUCTION, ACCEPTE) => Some(ACCEPTER),
        (EN_INSTRUCTION, REFUSE) => Some(REFUSER),
        (EN_INSTRUCTION, SANS_SUITE) => Some(CLASSER_SANS_SUITE),
        (from, EN_INSTRUCTION) if is_decision(from) => Some(REPASSER_EN_INSTRUCTION),
        _ => None,
    }
}

/// Whether DS asks for a motivation to reach `to`.
pub fn needs_motivation(to: &str) -> bool {
    matches!(to, REFUSE | SANS_SUITE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_move_of_the_state_machine_has_one_mutation_and_no_other_does() {
        let states = STATES.map(|s| s.0);
        let mut moves = 0;
        for from in states {
            for to in states {
                if between(from, to).is_some() {
                    moves += 1;
                }
            }
        }
        // 1 from construction, 4 from instruction, 3 back from a decision.
        assert_eq!(moves, 8);
        assert_eq!(between(EN_CONSTRUCTION, ACCEPTE), None);
        assert_eq!(between(ACCEPTE, REFUSE), None);
        assert_eq!(
            between(SANS_SUITE, EN_INSTRUCTION),
            Some(REPASSER_EN_INSTRUCTION)
        );
        assert!(needs_motivation(REFUSE) && !needs_motivation(ACCEPTE));
    }
}
