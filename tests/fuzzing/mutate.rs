//! Seeded mutations of corpus inputs: the small edits a coverage-guided
//! fuzzer makes (bit flips, byte edits, truncation, splicing, dictionary
//! words) plus the large ones that broke parsers before (deep nesting,
//! huge numbers, lines past 65,535 columns, long repetitions).

use paceline::fuzz::Target;
use paceline::sim::rng::SimRng;

/// Numbers at the edges of the integer and float types, and values that
/// an unchecked setting turned into a crash before.
const HUGE_NUMBERS: &[&str] = &[
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "-9223372036854775809",
    "2305843009213693952",
    "4000000000",
    "4294967296",
    "2147483648",
    "65536",
    "-1",
    "0",
    "1e309",
    "-1e309",
    "nan",
    "inf",
    "99999999999999999999999999999999999999",
    "0x7fffffffffffffff",
    "1.7976931348623157e308",
];

/// Bytes that often sit on a boundary.
const INTERESTING_BYTES: &[u8] = &[0, 1, 0x7f, 0x80, 0xff, b'\n', b'"', b'<', b'[', b'{'];

pub struct Mutator {
    rng: SimRng,
    dictionary: &'static [&'static str],
    nesting: &'static [(&'static str, &'static str)],
    max_len: usize,
}

impl Mutator {
    pub fn new(seed: u64, target: &Target) -> Self {
        Mutator {
            rng: SimRng::new(seed),
            dictionary: target.dictionary,
            nesting: target.nesting,
            max_len: target.max_len,
        }
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n.max(1) as u64) as usize
    }

    /// Up to four small edits of `input` (rarely eight), and in one
    /// input of 24 one large edit (a long line, deep nesting, thousands of
    /// repetitions): large inputs are slow to parse in a debug build, so
    /// they are kept rare enough not to eat the time of the small ones.
    /// `other` is another corpus input to splice from.
    pub fn mutate(&mut self, input: &mut Vec<u8>, other: &[u8]) {
        if self.below(24) == 0 {
            self.large_edit(input);
        }
        let edits = if self.below(16) == 0 {
            8
        } else {
            1 + self.below(4)
        };
        for _ in 0..edits {
            self.edit(input, other);
        }
        input.truncate(self.max_len);
    }

    fn edit(&mut self, d: &mut Vec<u8>, other: &[u8]) {
        match self.below(15) {
            0 | 1 => self.flip_bit(d),
            2 => self.set_byte(d),
            3 => self.insert_random(d),
            4 => self.delete_range(d),
            5 => d.truncate(self.below(d.len() + 1)),
            6 => self.splice(d, other),
            7 => {
                let times = [2, 4, 16][self.below(3)];
                self.repeat_chunk(d, times)
            }
            8 => self.nest(d, 64),
            9 | 10 => self.huge_number(d),
            11 | 12 => self.insert_word(d),
            13 => self.copy_chunk(d),
            _ => {
                if self.below(2) == 0 {
                    self.binary_integer(d)
                } else {
                    self.add_to_byte(d)
                }
            }
        }
    }

    fn large_edit(&mut self, d: &mut Vec<u8>) {
        match self.below(3) {
            0 => self.long_line(d),
            1 => {
                let depth = [1_000, 10_000, 100_000][self.below(3)];
                self.nest(d, depth)
            }
            _ => {
                let times = [256, 4096][self.below(2)];
                self.repeat_chunk(d, times)
            }
        }
    }

    fn flip_bit(&mut self, d: &mut [u8]) {
        if !d.is_empty() {
            let i = self.below(d.len());
            d[i] ^= 1 << self.below(8);
        }
    }

    fn set_byte(&mut self, d: &mut [u8]) {
        if !d.is_empty() {
            let i = self.below(d.len());
            d[i] = INTERESTING_BYTES[self.below(INTERESTING_BYTES.len())];
        }
    }

    fn add_to_byte(&mut self, d: &mut [u8]) {
        if !d.is_empty() {
            let i = self.below(d.len());
            let delta = self.below(33) as u8;
            d[i] = d[i].wrapping_add(delta).wrapping_sub(16);
        }
    }

    fn insert_random(&mut self, d: &mut Vec<u8>) {
        let at = self.below(d.len() + 1);
        let n = 1 + self.below(8);
        let bytes: Vec<u8> = (0..n).map(|_| self.rng.next_u64() as u8).collect();
        d.splice(at..at, bytes);
    }

    fn delete_range(&mut self, d: &mut Vec<u8>) {
        if d.is_empty() {
            return;
        }
        let at = self.below(d.len());
        let n = 1 + self.below((d.len() - at).min(64));
        d.drain(at..at + n);
    }

    /// A prefix of this input, then a suffix of another.
    fn splice(&mut self, d: &mut Vec<u8>, other: &[u8]) {
        let cut = self.below(d.len() + 1);
        let from = self.below(other.len() + 1);
        d.truncate(cut);
        d.extend_from_slice(&other[from..]);
    }

    /// A chunk repeated in place: many identical tables, elements or
    /// frames.
    fn repeat_chunk(&mut self, d: &mut Vec<u8>, times: usize) {
        if d.is_empty() {
            return;
        }
        let at = self.below(d.len());
        let len = 1 + self.below((d.len() - at).min(256));
        let chunk = d[at..at + len].to_vec();
        let room = self.max_len.saturating_sub(d.len()) / len;
        let copies: Vec<u8> = chunk.repeat(times.min(room));
        d.splice(at..at, copies);
    }

    /// Opening tokens repeated (and often closed again) at one place.
    fn nest(&mut self, d: &mut Vec<u8>, depth: usize) {
        if self.nesting.is_empty() {
            return;
        }
        let (open, close) = self.nesting[self.below(self.nesting.len())];
        let room = self.max_len.saturating_sub(d.len()) / (open.len() + close.len());
        let depth = depth.min(room);
        let at = self.below(d.len() + 1);
        let mut nested = open.repeat(depth).into_bytes();
        if self.below(2) == 0 {
            nested.extend(close.repeat(depth).into_bytes());
        }
        d.splice(at..at, nested);
    }

    /// A run of digits replaced by an edge value (or one inserted).
    fn huge_number(&mut self, d: &mut Vec<u8>) {
        let number = HUGE_NUMBERS[self.below(HUGE_NUMBERS.len())]
            .as_bytes()
            .to_vec();
        let from = self.below(d.len() + 1);
        match d[from..].iter().position(u8::is_ascii_digit) {
            Some(p) => {
                let start = from + p;
                let len = d[start..].iter().take_while(|b| b.is_ascii_digit()).count();
                d.splice(start..start + len, number);
            }
            None => {
                d.splice(from..from, number);
            }
        }
    }

    /// A line longer than 65,535 columns (or much longer).
    fn long_line(&mut self, d: &mut Vec<u8>) {
        let len = [65_536 + self.below(64), 100_000][self.below(2)];
        let len = len.min(self.max_len.saturating_sub(d.len()));
        let fill = [b'a', b' ', b'x', b'9'][self.below(4)];
        let at = self.below(d.len() + 1);
        d.splice(at..at, std::iter::repeat_n(fill, len));
    }

    fn insert_word(&mut self, d: &mut Vec<u8>) {
        if self.dictionary.is_empty() {
            return self.insert_random(d);
        }
        let word = self.dictionary[self.below(self.dictionary.len())];
        let at = self.below(d.len() + 1);
        d.splice(at..at, word.bytes());
    }

    /// A chunk of the input copied over another place of it.
    fn copy_chunk(&mut self, d: &mut [u8]) {
        if d.len() < 2 {
            return;
        }
        let from = self.below(d.len());
        let to = self.below(d.len());
        let len = 1 + self.below((d.len() - from.max(to)).min(64));
        d.copy_within(from..from + len, to);
    }

    /// An integer field overwritten with an edge value, big- or
    /// little-endian, or a maximal postcard varint inserted.
    fn binary_integer(&mut self, d: &mut Vec<u8>) {
        let at = self.below(d.len() + 1);
        let value: u64 = [
            0,
            1,
            u64::MAX,
            u64::MAX >> 1,
            1 << 63,
            u32::MAX as u64,
            0xffff,
        ][self.below(7)];
        let width = [1, 2, 4, 8][self.below(4)];
        let bytes = if self.below(2) == 0 {
            value.to_be_bytes()[8 - width..].to_vec()
        } else {
            value.to_le_bytes()[..width].to_vec()
        };
        if self.below(4) == 0 {
            let varint = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
            d.splice(at..at, varint);
        } else {
            let end = (at + width).min(d.len());
            d.splice(at..end, bytes);
        }
    }
}
