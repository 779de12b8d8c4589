//! The order in which Pacemaker 2.1.5 meets a resource's allowed nodes,
//! where that order decides between nodes it finds equal.
//!
//! Pacemaker keeps a resource's allowed nodes in a GLib hash table keyed
//! by node id (`pcmk__strkey_table`, hashed by `pcmk__str_hash`: GLib's
//! pre-2.28 string hash, kept "because the hash key ultimately determines
//! the sort order"), filled from the node list sorted by name. Two places
//! then depend on the table's order:
//! - `pcmk__ban_insufficient_capacity` keeps the first node it meets among
//!   those with the most free capacity;
//! - `assign_best_node` sorts the table's values (GLib's `get_values`
//!   lists them last bucket first) with GLib's merge sort, and the
//!   placement-strategy `balanced` comparison of free capacities is not
//!   transitive, so the first node of that sort depends on where each
//!   node started.
//!
//! This reproduces GLib's open-addressing table (buckets, probing, the
//! resize at 15/16 load) and its list merge sort, so paceline meets the
//! nodes in the same order. Reimplemented from GLib's documented
//! behaviour; nothing is copied.

use std::cmp::Ordering;

/// GLib's table sizes are powers of two from 8; the bucket of a hash is
/// `hash * 11 % PRIME_MOD[shift]`.
const PRIME_MOD: [u32; 12] = [1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039];
const MIN_SHIFT: usize = 3;
const UNUSED: u32 = 0;

/// Pacemaker's `pcmk__str_hash` (h * 31 + byte, bytes signed). GLib
/// keeps hashes 0 and 1 for empty and deleted buckets and stores 2
/// instead.
fn str_hash(key: &str) -> u32 {
    let h = key.bytes().fold(0u32, |h, b| {
        h.wrapping_mul(31).wrapping_add(b as i8 as i32 as u32)
    });
    if h < 2 { 2 } else { h }
}

struct Table {
    shift: usize,
    hashes: Vec<u32>,
    /// The key's position in the caller's list, per bucket.
    items: Vec<usize>,
    nnodes: usize,
    noccupied: usize,
}

impl Table {
    fn new() -> Self {
        let size = 1 << MIN_SHIFT;
        Table {
            shift: MIN_SHIFT,
            hashes: vec![UNUSED; size],
            items: vec![0; size],
            nnodes: 0,
            noccupied: 0,
        }
    }

    fn size(&self) -> usize {
        self.hashes.len()
    }

    fn bucket_of(&self, hash: u32) -> usize {
        let modulus = PRIME_MOD.get(self.shift).copied().unwrap_or(2039);
        (hash.wrapping_mul(11) % modulus) as usize
    }

    /// Inserts a key known to be new.
    fn insert(&mut self, hash: u32, item: usize) {
        let mask = self.size() - 1;
        let mut index = self.bucket_of(hash);
        let mut step = 0;
        while self.hashes[index] != UNUSED {
            step += 1;
            index = (index + step) & mask;
        }
        self.hashes[index] = hash;
        self.items[index] = item;
        self.nnodes += 1;
        self.noccupied += 1;
        self.maybe_resize();
    }

    fn maybe_resize(&mut self) {
        let size = self.size();
        let (nnodes, occupied) = (self.nnodes, self.noccupied);
        if (size > nnodes * 4 && size > 1 << MIN_SHIFT) || size <= occupied + occupied / 16 {
            self.resize();
        }
    }

    /// GLib's resize: the new size from 4/3 of the entries, then every
    /// entry moved in place in bucket order, an entry evicted from its new
    /// bucket moving on in turn.
    fn resize(&mut self) {
        let wanted = (self.nnodes as f64 * 1.333) as usize;
        let shift = (usize::BITS - wanted.leading_zeros()) as usize;
        let old_size = self.size();
        self.shift = shift.max(MIN_SHIFT);
        let size = 1usize << self.shift;
        let mask = size - 1;
        self.hashes.resize(size.max(old_size), UNUSED);
        self.items.resize(size.max(old_size), 0);
        let mut moved = vec![false; size.max(old_size)];
        for i in 0..old_size {
            if self.hashes[i] == UNUSED || moved[i] {
                continue;
            }
            let (mut hash, mut item) = (self.hashes[i], self.items[i]);
            self.hashes[i] = UNUSED;
            loop {
                let mut index = self.bucket_of(hash);
                let mut step = 0;
                while moved[index] {
                    step += 1;
                    index = (index + step) & mask;
                }
                moved[index] = true;
                let (evicted_hash, evicted_item) = (self.hashes[index], self.items[index]);
                self.hashes[index] = hash;
                self.items[index] = item;
                if evicted_hash == UNUSED {
                    break;
                }
                (hash, item) = (evicted_hash, evicted_item);
            }
        }
        self.hashes.truncate(size);
        self.items.truncate(size);
        self.noccupied = self.nnodes;
    }

    /// The items in bucket order, as an iteration over the table meets
    /// them.
    fn order(&self) -> Vec<usize> {
        (0..self.size())
            .filter(|&i| self.hashes[i] != UNUSED)
            .map(|i| self.items[i])
            .collect()
    }
}

/// The positions of `keys` (node ids, inserted in this order) in the
/// order Pacemaker's table of them iterates.
pub(super) fn table_order(keys: &[&str]) -> Vec<usize> {
    let mut table = Table::new();
    for (i, k) in keys.iter().enumerate() {
        table.insert(str_hash(k), i);
    }
    table.order()
}

/// Pacemaker's node list order (`pcmk__numeric_strcasecmp`): case
/// ignored, runs of digits compared as numbers.
pub(super) fn numeric_name_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let (si, sj) = (i, j);
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let x = trim_zeros(&a[si..i]);
            let y = trim_zeros(&b[sj..j]);
            let by_number = x.len().cmp(&y.len()).then_with(|| x.cmp(y));
            if by_number != Ordering::Equal {
                return by_number;
            }
            continue;
        }
        let by_char = a[i].to_ascii_lowercase().cmp(&b[j].to_ascii_lowercase());
        if by_char != Ordering::Equal {
            return by_char;
        }
        i += 1;
        j += 1;
    }
    (a.len() - i).cmp(&(b.len() - j))
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let first = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len());
    &digits[first..]
}

/// GLib's `g_list_sort`: split after the first half (rounded down),
/// sort both halves, merge taking from the first on a tie. With a
/// comparison that is not transitive the result depends on the input
/// order, so it is reproduced rather than replaced by another sort.
pub(super) fn glib_sort(list: Vec<usize>, cmp: &impl Fn(usize, usize) -> Ordering) -> Vec<usize> {
    if list.len() < 2 {
        return list;
    }
    let mut first = list;
    let second = first.split_off(first.len() / 2);
    let (a, b) = (glib_sort(first, cmp), glib_sort(second, cmp));
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if cmp(a[i], b[j]) != Ordering::Greater {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_node_ids_iterate_as_crm_simulate_traces_them() {
        // crm_simulate 2.1.5's trace of an allowed-node table of nodes
        // with ids 1..5: node1, node3, node5, node2, node4.
        assert_eq!(table_order(&["1", "2", "3", "4", "5"]), [0, 2, 4, 1, 3]);
    }

    #[test]
    fn a_table_of_eight_grows_and_keeps_every_key() {
        let keys: Vec<String> = (1..=16).map(|i| i.to_string()).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        for n in 1..=refs.len() {
            let mut order = table_order(&refs[..n]);
            order.sort_unstable();
            assert_eq!(order, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn node_names_sort_by_their_numbers() {
        assert_eq!(numeric_name_cmp("node2", "node10"), Ordering::Less);
        assert_eq!(numeric_name_cmp("Node3", "node3"), Ordering::Equal);
        assert_eq!(numeric_name_cmp("node10", "node9"), Ordering::Greater);
    }

    #[test]
    fn the_merge_sort_splits_at_half_rounded_down() {
        // Not transitive: 0 beats 1, 1 beats 2, 2 beats 0 (lower wins,
        // with 2 < 0 as the exception). [0, 1, 2] splits [0] | [1, 2]
        // and 0 beats 1; [2, 1, 0] splits [2] | [1, 0] -> [0, 1], and 2
        // beats 0: whoever starts where decides who comes first.
        let cmp = |a: usize, b: usize| match (a, b) {
            (2, 0) => Ordering::Less,
            (0, 2) => Ordering::Greater,
            _ => a.cmp(&b),
        };
        assert_eq!(glib_sort(vec![0, 1, 2], &cmp), [0, 1, 2]);
        assert_eq!(glib_sort(vec![2, 1, 0], &cmp), [2, 0, 1]);
    }
}
