//! The one place that turns artifacts into bytes and back, and hashes bytes.
//!
//! Encoding is bincode 2 through its serde API (standard configuration); hashing is BLAKE3.
//! Every byte an artifact occupies in the store went through [`encode`], and every artifact read
//! back goes through [`decode`], which refuses inputs over a size limit instead of trusting the
//! length prefixes inside them.

use std::fmt;

use serde::{Serialize, de::DeserializeOwned};

mod bounded;

/// Upper bound on what bincode may claim while decoding one artifact (a backstop: strings and
/// byte buffers are never reserved beyond the bytes the input holds, see [`decode`]).
const DECODE_CLAIM_LIMIT: usize = 1 << 36;

/// Default limit on the encoded size of one artifact that [`decode`] accepts: 4 GiB.
///
/// ```
/// assert_eq!(mlflow_core::codec::DEFAULT_DECODE_LIMIT, 1 << 32);
/// ```
pub const DEFAULT_DECODE_LIMIT: u64 = 4 << 30;

/// A BLAKE3 digest: the identity of an artifact's bytes, a cache key or a code hash.
///
/// ```
/// use mlflow_core::codec::ContentHash;
/// let h = ContentHash::of(b"hello");
/// assert_eq!(h, ContentHash::of(b"hello"));
/// assert_eq!(h.to_hex().len(), 64);
/// assert_eq!(ContentHash::from_hex(&h.to_hex()), Some(h));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash([u8; 32]);

/// Human-readable formats (JSON) get the 64 hex digits; binary formats the 32 raw bytes.
impl Serialize for ContentHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_hex())
        } else {
            serializer.serialize_newtype_struct("ContentHash", &self.0)
        }
    }
}

impl<'de> serde::Deserialize<'de> for ContentHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            ContentHash::from_hex(&text)
                .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not 64 hex digits")))
        } else {
            #[derive(serde::Deserialize)]
            #[serde(rename = "ContentHash")]
            struct Raw([u8; 32]);
            Raw::deserialize(deserializer).map(|raw| ContentHash(raw.0))
        }
    }
}

impl ContentHash {
    /// Wraps raw digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        ContentHash(bytes)
    }

    /// The raw digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Hashes a byte string.
    pub fn of(bytes: &[u8]) -> Self {
        hash_bytes(bytes)
    }

    /// Hashes everything `reader` yields, a buffer at a time: the same digest as
    /// [`ContentHash::of`] over the same bytes, in constant memory, so a file of any size can be
    /// hashed without reading it into memory. Retries reads that were interrupted.
    ///
    /// ```
    /// use mlflow_core::codec::ContentHash;
    /// let bytes = vec![7u8; 300_000];
    /// assert_eq!(ContentHash::of_reader(&bytes[..])?, ContentHash::of(&bytes));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn of_reader(reader: impl std::io::Read) -> std::io::Result<Self> {
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(reader)?;
        Ok(ContentHash(*hasher.finalize().as_bytes()))
    }

    /// Lower-case hexadecimal, 64 characters.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push(DIGITS[(byte >> 4) as usize] as char);
            out.push(DIGITS[(byte & 15) as usize] as char);
        }
        out
    }

    /// The first 12 hex digits: enough to tell hashes apart in a report.
    pub fn short(&self) -> String {
        self.to_hex()[..12].to_owned()
    }

    /// Parses 64 hex digits; `None` for anything else.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let hex = hex.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
            out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
        }
        Some(ContentHash(out))
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({})", self.short())
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// What can go wrong turning an artifact into bytes or back.
///
/// ```
/// use mlflow_core::codec::{decode, CodecError};
/// let err = decode::<u8>(&[1, 2], 1024).unwrap_err();
/// assert!(matches!(err, CodecError::TrailingBytes { used: 1, len: 2, .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The value's `Serialize` implementation failed.
    #[error("cannot encode a `{type_name}`: {message}")]
    Encode {
        /// The Rust type being encoded.
        type_name: &'static str,
        /// What the encoder said.
        message: String,
    },
    /// The bytes do not decode as the expected type.
    #[error(
        "cannot decode {len} bytes as a `{type_name}`: {message} (the artifact was written by a different type or is corrupt)"
    )]
    Decode {
        /// The Rust type being decoded.
        type_name: &'static str,
        /// Size of the input.
        len: usize,
        /// What the decoder said.
        message: String,
    },
    /// The input is larger than the decode limit.
    #[error(
        "refusing to decode a `{type_name}` of {len} bytes: over the limit of {limit} bytes (raise it with `Store::with_decode_limit`)"
    )]
    TooLarge {
        /// The Rust type being decoded.
        type_name: &'static str,
        /// Size of the input.
        len: u64,
        /// The limit in force.
        limit: u64,
    },
    /// Decoding stopped before the end of the input: the bytes are not one whole artifact.
    #[error(
        "decoding a `{type_name}` used {used} of {len} bytes: trailing bytes mean the artifact is not of this type or is corrupt"
    )]
    TrailingBytes {
        /// The Rust type being decoded.
        type_name: &'static str,
        /// Bytes consumed.
        used: usize,
        /// Size of the input.
        len: usize,
    },
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encodes a value into artifact bytes.
///
/// ```
/// let bytes = mlflow_core::codec::encode(&vec![1u32, 2, 3]).unwrap();
/// let back: Vec<u32> = mlflow_core::codec::decode(&bytes, 1 << 20).unwrap();
/// assert_eq!(back, [1, 2, 3]);
/// ```
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(value, config())
        .map_err(|e| CodecError::Encode { type_name: std::any::type_name::<T>(), message: e.to_string() })
}

/// The encoding of a sequence whose elements are already encoded: the same bytes as [`encode`]
/// of a `Vec` of those elements (the length, then each element's bytes), with no element decoded
/// or encoded again. A mapped step's output is put together this way from its tasks' outputs.
///
/// ```
/// use mlflow_core::codec::{encode, encode_seq};
/// let items = vec![String::from("a"), String::from("bc")];
/// let parts: Vec<Vec<u8>> = items.iter().map(|s| encode(s).unwrap()).collect();
/// assert_eq!(encode_seq(parts.iter().map(Vec::as_slice))?, encode(&items)?);
/// # Ok::<(), mlflow_core::codec::CodecError>(())
/// ```
pub fn encode_seq<'a>(elements: impl ExactSizeIterator<Item = &'a [u8]>) -> Result<Vec<u8>, CodecError> {
    // A sequence's length is written as a `u64`, whatever the platform's `usize`.
    let mut out = encode(&(elements.len() as u64))?;
    for element in elements {
        out.extend_from_slice(element);
    }
    Ok(out)
}

/// The number of elements of an encoded sequence (its length prefix, as [`encode_seq`] writes
/// it), without decoding them; `None` if the bytes do not start with one.
///
/// ```
/// let bytes = mlflow_core::codec::encode(&vec![7u8; 300]).unwrap();
/// assert_eq!(mlflow_core::codec::seq_len(&bytes), Some(300));
/// ```
pub fn seq_len(bytes: &[u8]) -> Option<usize> {
    let (len, _) = bincode::serde::decode_from_slice::<u64, _>(bytes, config()).ok()?;
    usize::try_from(len).ok()
}

/// Decodes artifact bytes, refusing inputs longer than `limit` bytes and inputs with bytes left over.
///
/// Memory follows the input, not the length prefixes inside it: a string or byte buffer is read
/// only once its whole length is there, and sequences and maps reserve at most a small bounded
/// amount up front, so a corrupt or hostile artifact of a few bytes cannot make the decoder
/// reserve gigabytes.
///
/// ```
/// use mlflow_core::codec::{decode, encode, CodecError};
/// let bytes = encode(&"a long enough string".to_string()).unwrap();
/// assert!(matches!(decode::<String>(&bytes, 4), Err(CodecError::TooLarge { .. })));
/// ```
pub fn decode<T: DeserializeOwned>(bytes: &[u8], limit: u64) -> Result<T, CodecError> {
    let type_name = std::any::type_name::<T>();
    if bytes.len() as u64 > limit {
        return Err(CodecError::TooLarge { type_name, len: bytes.len() as u64, limit });
    }
    let config = config().with_limit::<DECODE_CLAIM_LIMIT>();
    let (bounded::Bounded(value), used) = bincode::serde::decode_from_slice(bytes, config)
        .map_err(|e| CodecError::Decode { type_name, len: bytes.len(), message: e.to_string() })?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes { type_name, used, len: bytes.len() });
    }
    Ok(value)
}

thread_local! {
    /// Set while [`identity_hash`] encodes: [`location`] fields encode as nothing.
    static IDENTITY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The content identity of a value: the hash of its encoding with every field marked
/// [`location`] left out. A param is keyed by it, so the same content at another place (a copy
/// of the data in another folder, another checkout, a pod mounting it elsewhere) is a cache hit,
/// while the run record still shows where it was.
///
/// ```
/// #[derive(serde::Serialize)]
/// struct File {
///     #[serde(with = "mlflow_core::codec::location")]
///     path: String,
///     version: u64,
/// }
/// use mlflow_core::codec::{encode, identity_hash};
/// let here = File { path: "/home/a/train.csv".into(), version: 7 };
/// let there = File { path: "/mnt/data/train.csv".into(), version: 7 };
/// assert_eq!(identity_hash(&here).unwrap(), identity_hash(&there).unwrap());
/// assert_ne!(encode(&here).unwrap(), encode(&there).unwrap()); // both paths are kept
/// ```
pub fn identity_hash<T: Serialize + ?Sized>(value: &T) -> Result<ContentHash, CodecError> {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            IDENTITY.with(|mode| mode.set(self.0));
        }
    }
    let _restore = Restore(IDENTITY.with(|mode| mode.replace(true)));
    encode(value).map(|bytes| hash_bytes(&bytes))
}

/// For a field that says where a value is, not what it is (a path, a URL):
/// `#[serde(with = "mlflow_core::codec::location")]`. The field is stored and shown like any
/// other, but left out of the value's [`identity_hash`], which keys params.
pub mod location {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Serializes the field, or nothing while an identity is being hashed.
    pub fn serialize<T: Serialize + ?Sized, S: Serializer>(
        value: &T,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        if super::IDENTITY.with(std::cell::Cell::get) {
            serializer.serialize_unit()
        } else {
            value.serialize(serializer)
        }
    }

    /// Deserializes the field as usual.
    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<T, D::Error> {
        T::deserialize(deserializer)
    }
}

/// BLAKE3 of a byte string. Large inputs are hashed with SIMD over several lanes.
///
/// ```
/// let h = mlflow_core::codec::hash_bytes(b"");
/// assert_eq!(h.short(), "af1349b9f5f9");
/// ```
pub fn hash_bytes(bytes: &[u8]) -> ContentHash {
    ContentHash(*blake3::hash(bytes).as_bytes())
}

/// Incremental hashing of several labelled parts, each length-prefixed so that no two different
/// sequences of parts can produce the same stream.
///
/// ```
/// use mlflow_core::codec::Hasher;
/// let a = Hasher::new("demo").part(b"ab").part(b"c").finish();
/// let b = Hasher::new("demo").part(b"a").part(b"bc").finish();
/// assert_ne!(a, b);
/// ```
#[derive(Clone)]
pub struct Hasher(blake3::Hasher);

impl Hasher {
    /// Starts a hash under a domain tag, so hashes of different kinds never collide.
    pub fn new(domain: &str) -> Self {
        Hasher(blake3::Hasher::new()).part(domain.as_bytes())
    }

    /// Appends one part.
    pub fn part(mut self, bytes: &[u8]) -> Self {
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// The digest of everything appended.
    pub fn finish(&self) -> ContentHash {
        ContentHash(*self.0.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq_of<T: Serialize>(items: &[T]) -> Vec<u8> {
        let parts: Vec<Vec<u8>> = items.iter().map(|item| encode(item).unwrap()).collect();
        encode_seq(parts.iter().map(Vec::as_slice)).unwrap()
    }

    #[test]
    fn a_sequence_of_encoded_elements_is_the_encoding_of_the_vec() {
        // Lengths on both sides of the varint steps (250/251, 2^16) and elements of every shape.
        for n in [0usize, 1, 250, 251, 300, 65_536] {
            let numbers: Vec<u64> = (0..n as u64).map(|i| i * 7919).collect();
            assert_eq!(seq_of(&numbers), encode(&numbers).unwrap(), "{n} numbers");
        }
        let nested: Vec<(String, Vec<f64>, Option<i32>)> = (0..300i32)
            .map(|i| {
                (format!("t{i}"), vec![f64::from(i) / 3.0; (i % 5) as usize], (i % 2 == 0).then_some(-i))
            })
            .collect();
        assert_eq!(seq_of(&nested), encode(&nested).unwrap());
        let back: Vec<(String, Vec<f64>, Option<i32>)> = decode(&seq_of(&nested), u64::MAX).unwrap();
        assert_eq!(back, nested);
    }

    #[test]
    fn decode_rejects_other_types_and_trailing_bytes() {
        let bytes = encode(&(1u8, 2u8, 3u8)).unwrap();
        let err = decode::<u8>(&bytes, 1024).unwrap_err();
        assert!(matches!(err, CodecError::TrailingBytes { used: 1, len: 3, .. }), "{err}");
        let err = decode::<String>(&[200, 1], 1024).unwrap_err();
        assert!(err.to_string().contains("String"), "{err}");
    }

    #[test]
    fn a_length_prefix_claiming_too_much_is_an_error_not_an_allocation() {
        // varint tag 253 = u64 length follows: claim 2^62 bytes of string.
        let mut bytes = vec![253u8];
        bytes.extend_from_slice(&(1u64 << 62).to_le_bytes());
        assert!(decode::<String>(&bytes, 1024).is_err());
        assert!(decode::<Vec<u64>>(&bytes, 1024).is_err());
    }

    #[test]
    fn a_length_prefix_under_the_claim_limit_reserves_nothing_beyond_the_input() {
        // varint tag 253 = u64 length follows: a 60 GiB string (under the claim limit) in 9 bytes.
        let mut bytes = vec![253u8];
        bytes.extend_from_slice(&(60u64 << 30).to_le_bytes());
        let err = decode::<String>(&bytes, 1024).unwrap_err();
        assert!(matches!(err, CodecError::Decode { .. }), "{err}");
        let err = decode::<Vec<String>>(&[&[1u8][..], &bytes].concat(), 1024).unwrap_err();
        assert!(matches!(err, CodecError::Decode { .. }), "{err}");
        let err = decode::<std::path::PathBuf>(&bytes, 1024).unwrap_err();
        assert!(matches!(err, CodecError::Decode { .. }), "{err}");
    }

    #[test]
    fn owned_strings_bytes_and_nested_values_round_trip_through_the_bounded_reader() {
        #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
        enum Kind {
            Unit,
            Text(String),
            Pair(Option<String>, Vec<u8>),
            Named { path: std::path::PathBuf, tags: std::collections::BTreeMap<String, Box<str>> },
        }
        let values = vec![
            Kind::Unit,
            Kind::Text("héllo".into()),
            Kind::Pair(Some(String::new()), vec![0, 255]),
            Kind::Named { path: "/a/b".into(), tags: [("k".to_string(), "v".into())].into() },
        ];
        let bytes = encode(&values).unwrap();
        assert_eq!(decode::<Vec<Kind>>(&bytes, 1 << 20).unwrap(), values);
        assert_eq!(decode::<char>(&encode(&'ß').unwrap(), 8).unwrap(), 'ß');
        assert_eq!(decode::<u128>(&encode(&u128::MAX).unwrap(), 32).unwrap(), u128::MAX);
    }

    #[test]
    fn hashes_are_hex_in_json_and_raw_bytes_in_artifacts() {
        let h = hash_bytes(b"x");
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{}\"", h.to_hex()));
        assert_eq!(serde_json::from_str::<ContentHash>(&json).unwrap(), h);
        let bytes = encode(&h).unwrap();
        assert_eq!(bytes, h.as_bytes().to_vec(), "32 raw bytes, no length prefix");
        assert_eq!(decode::<ContentHash>(&bytes, 64).unwrap(), h);
        assert!(serde_json::from_str::<ContentHash>("\"zz\"").is_err());
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let h = hash_bytes(b"x");
        assert_eq!(ContentHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(ContentHash::from_hex("zz"), None);
        assert_eq!(ContentHash::from_hex(&"g".repeat(64)), None);
    }
}
