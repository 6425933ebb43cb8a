//! Inputs the fuzz targets (`fuzz/`) once failed on, decoded by the engine: each must be refused
//! with a clear error, without a panic and without reserving memory the input does not hold.

use crate::common::fuzz_input;

use mlflow::codec::{self, CodecError};

/// `artifact_decode` input: type selector 1 (`String`), then a varint length of 60 GiB and no
/// bytes. bincode reserved the claimed length (under the 64 GiB claim limit) before reading it:
/// the allocation failed and the process aborted.
#[test]
fn artifact_decode_string_claiming_60_gib_is_a_decode_error() {
    let input = fuzz_input("artifact_decode", "string-claims-60gib");
    let (&kind, bytes) = input.split_first().unwrap();
    assert_eq!(kind, 1, "the fuzz target's selector for String");
    let err = codec::decode::<String>(bytes, codec::DEFAULT_DECODE_LIMIT).unwrap_err();
    assert!(matches!(err, CodecError::Decode { len: 9, .. }), "{err}");
    assert!(err.to_string().contains("cannot decode 9 bytes as a `alloc::string::String`"), "{err}");
    // The same claim inside a list and inside a struct field.
    let nested = [&[1u8][..], bytes].concat();
    assert!(matches!(codec::decode::<Vec<String>>(&nested, 1 << 20), Err(CodecError::Decode { .. })));
    assert!(matches!(codec::decode::<(u8, String)>(&nested, 1 << 20), Err(CodecError::Decode { .. })));
}
