//! Node ids: DNS-1123 labels derived from node names, made unique in order.

use std::collections::HashSet;

/// The longest node id: a DNS-1123 label has at most 63 characters.
const MAX_ID_LEN: usize = 63;

/// Whether `id` is a DNS-1123 label that starts with a letter (so also a DNS-1035 label).
pub(super) fn is_label(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_ID_LEN
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The label a node name maps to: lower-cased, each run of other characters than ASCII letters
/// and digits one `-`, `n-` before a leading digit, `node` for a name with no letter or digit,
/// cut to fit.
pub(crate) fn label_of(name: &str) -> String {
    let mut label = String::new();
    let mut gap = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !label.is_empty() {
                label.push('-');
            }
            gap = false;
            label.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
    }
    if label.is_empty() {
        label.push_str("node");
    } else if label.starts_with(|c: char| c.is_ascii_digit()) {
        label.insert_str(0, "n-");
    }
    cut(&label, MAX_ID_LEN).to_owned()
}

/// `label` cut to at most `len` bytes (it is ASCII), without a trailing `-`.
fn cut(label: &str, len: usize) -> &str {
    label[..label.len().min(len)].trim_end_matches('-')
}

/// The label of `name`, or with `-2`, `-3`, ... the first one not in `used` (which it joins).
pub(super) fn unique_id(name: &str, used: &mut HashSet<String>) -> String {
    let base = label_of(name);
    let mut id = base.clone();
    let mut n = 1u64;
    while used.contains(&id) {
        n += 1;
        let suffix = format!("-{n}");
        id = format!("{}{suffix}", cut(&base, MAX_ID_LEN - suffix.len()));
    }
    used.insert(id.clone());
    id
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_dns_labels() {
        for (name, label) in [
            ("train", "train"),
            ("train#2", "train-2"),
            ("Learning Rate", "learning-rate"),
            ("__x__", "x"),
            ("2nd", "n-2nd"),
            ("###", "node"),
            ("données", "donn-es"),
            ("a.b/c_d", "a-b-c-d"),
        ] {
            assert_eq!(label_of(name), label, "{name}");
            assert!(is_label(label), "{label}");
        }
        let long = "x".repeat(40) + "_" + &"y".repeat(40);
        let label = label_of(&long);
        assert_eq!(label.len(), 63);
        assert!(is_label(&label));
        // A cut that would end in `-` drops it.
        let label = label_of(&("a".repeat(62) + "_b"));
        assert_eq!(label, "a".repeat(62));
        for bad in ["", "-a", "a-", "A", "1a", "a_b", &"a".repeat(64)] {
            assert!(!is_label(bad), "{bad:?}");
        }
    }

    #[test]
    fn ids_are_made_unique_in_order() {
        let mut used = HashSet::new();
        let ids: Vec<String> =
            ["a b", "a-b", "a_b", "a-b-2", "A B"].iter().map(|n| unique_id(n, &mut used)).collect();
        assert_eq!(ids, ["a-b", "a-b-2", "a-b-3", "a-b-2-2", "a-b-4"]);
        let mut used = HashSet::new();
        let long = "z".repeat(70);
        let first = unique_id(&long, &mut used);
        let second = unique_id(&long, &mut used);
        assert_eq!((first.len(), second.len()), (63, 63));
        assert!(second.ends_with("-2") && is_label(&second));
    }
}
