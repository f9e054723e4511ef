//! A declared role hierarchy, `@roles("admin > editor > viewer")` on the `@auth_provider`: a
//! role admits the routes of every role below it, so `@requires("editor")` lets admins in.
//! Once roles are declared, a role name no declaration has is a typo the checker refuses, a
//! cycle is refused, and a `@requires` another one on the same handler makes pointless is
//! reported.

use std::collections::{BTreeMap, BTreeSet};

use super::problem::Problem;
use crate::span::Span;

/// Each declared role and the roles below it (not itself).
pub type Hierarchy = BTreeMap<String, BTreeSet<String>>;

/// The chains of `@roles`, each `higher > lower > …`; several per string, separated by commas.
pub fn parse(chains: &[(String, Span)], problems: &mut Vec<Problem>) -> Option<Hierarchy> {
    let mut below: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (text, span) in chains {
        for chain in text.split(',') {
            let names: Vec<&str> = chain.split('>').map(str::trim).collect();
            if names.iter().any(|n| n.is_empty() || !n.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')) {
                problems.push(Problem::RolesSyntax { text: chain.trim().to_string(), span: *span });
                return None;
            }
            for pair in names.windows(2) {
                below.entry(pair[0].to_string()).or_default().insert(pair[1].to_string());
            }
            for n in &names {
                below.entry(n.to_string()).or_default();
            }
        }
    }
    // The roles below each, transitively; a role below itself is a cycle.
    let mut closed: Hierarchy = BTreeMap::new();
    for role in below.keys() {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut stack: Vec<&String> = below[role].iter().collect();
        while let Some(r) = stack.pop() {
            if seen.insert(r.clone()) {
                stack.extend(below.get(r).into_iter().flatten());
            }
        }
        if seen.contains(role) {
            let span = chains.first().map_or(Span::default(), |(_, s)| *s);
            problems.push(Problem::RolesCycle { role: role.clone(), span });
            return None;
        }
        closed.insert(role.clone(), seen);
    }
    Some(closed)
}

/// The required roles of one handler against the hierarchy: unknown names, and requirements
/// another makes redundant (`@requires("admin") @requires("editor")` with `admin > editor`:
/// whoever is an admin passes as an editor already).
pub fn check_required(hierarchy: &Hierarchy, required: &[(String, Span)], problems: &mut Vec<Problem>) {
    for (role, span) in required {
        if !hierarchy.contains_key(role) {
            let suggestion = super::names::closest(role, hierarchy.keys().map(String::as_str));
            problems.push(Problem::UnknownRole { role: role.clone(), span: *span, suggestion });
        }
    }
    for (role, span) in required {
        if let Some((lower, _)) = required.iter().find(|(other, _)| other != role && hierarchy.get(role).is_some_and(|b| b.contains(other))) {
            problems.push(Problem::RedundantRequires { role: role.clone(), lower: lower.clone(), span: *span });
        }
    }
}
