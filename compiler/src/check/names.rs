//! "Did you mean …?": the closest known name to a misspelt one.

/// Levenshtein distance, on chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate within a third of the name's length (at least one edit), if any.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    candidates.into_iter().filter(|c| *c != name).map(|c| (distance(name, c), c)).filter(|(d, _)| *d <= limit).min_by_key(|(d, c)| (*d, *c)).map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggests_near_names_only() {
        assert_eq!(super::closest("lenght", ["len", "length", "last"]), Some("length".into()));
        assert_eq!(super::closest("xyz", ["len", "push"]), None);
        assert_eq!(super::closest("authenticted", ["authenticated", "admin"]), Some("authenticated".into()));
    }
}
