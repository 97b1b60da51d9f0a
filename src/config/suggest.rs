//! "Did you mean": the known name an unknown one most likely stands for. Invariant: a
//! suggestion is made only when one name stands out (the only one the word begins, or the
//! only nearest within a few typos); otherwise none, rather than a guess.

/// The candidate `word` most likely stands for, if one is obvious.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
	let candidates: Vec<&str> = candidates.into_iter().filter(|c| *c != word).collect();
	// A shortened name: `fee-floor` for `fee-floor-sat-per-kw`.
	let extended: Vec<&str> =
		candidates.iter().copied().filter(|c| word.len() >= 3 && c.starts_with(word)).collect();
	if let [only] = extended[..] {
		return Some(only);
	}
	// A typo: the nearest name, if it is the only one that near.
	let most = (word.chars().count() / 4).max(2);
	let mut nearest: Option<(usize, &str)> = None;
	let mut tied = false;
	for candidate in candidates {
		let distance = edit_distance(word, candidate);
		if distance > most {
			continue;
		}
		match nearest {
			Some((best, _)) if distance > best => {}
			Some((best, _)) if distance == best => tied = true,
			_ => {
				nearest = Some((distance, candidate));
				tied = false;
			}
		}
	}
	nearest.filter(|_| !tied).map(|(_, candidate)| candidate)
}

/// Levenshtein distance: the fewest insertions, deletions and substitutions turning `a`
/// into `b`.
fn edit_distance(a: &str, b: &str) -> usize {
	let b: Vec<char> = b.chars().collect();
	let mut previous: Vec<usize> = (0..=b.len()).collect();
	for (i, a_char) in a.chars().enumerate() {
		let mut current = Vec::with_capacity(b.len() + 1);
		current.push(i + 1);
		for (j, b_char) in b.iter().enumerate() {
			let substitution = previous[j] + usize::from(a_char != *b_char);
			current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
		}
		previous = current;
	}
	previous[b.len()]
}

#[cfg(test)]
mod tests {
	use super::*;

	const NODE_KEYS: [&str; 6] = [
		"fee-floor-sat-per-kw",
		"max-path-count",
		"max-cltv-expiry-delta",
		"max-dust-exposure-msat",
		"towers",
		"alias",
	];

	#[test]
	fn a_shortened_or_misspelt_name_finds_its_option() {
		assert_eq!(closest("fee-floor", NODE_KEYS), Some("fee-floor-sat-per-kw"));
		assert_eq!(closest("tower", NODE_KEYS), Some("towers"));
		assert_eq!(closest("max-path-cuont", NODE_KEYS), Some("max-path-count"));
		assert_eq!(closest("alais", NODE_KEYS), Some("alias"));
	}

	#[test]
	fn no_suggestion_when_none_stands_out() {
		// `max` begins three names; `colour` is near none.
		assert_eq!(closest("max", NODE_KEYS), None);
		assert_eq!(closest("colour", NODE_KEYS), None);
		assert_eq!(closest("", NODE_KEYS), None);
		assert_eq!(edit_distance("kitten", "sitting"), 3);
	}
}
