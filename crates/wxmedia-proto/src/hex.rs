//! Hex encoding into fixed buffers, so digests never allocate on the hot path.

const LOWER: &[u8; 16] = b"0123456789abcdef";
const UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Write `bytes` as hex into `out`, which must be exactly twice as long.
pub(crate) fn encode_into(bytes: &[u8], out: &mut [u8], upper: bool) {
    assert_eq!(out.len(), bytes.len() * 2, "hex output buffer size");
    let table = if upper { UPPER } else { LOWER };
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = table[usize::from(b >> 4)];
        out[2 * i + 1] = table[usize::from(b & 0x0F)];
    }
}

/// Hex as a `String`.
pub(crate) fn encode(bytes: &[u8], upper: bool) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    encode_into(bytes, &mut out, upper);
    String::from_utf8(out).expect("hex is ASCII")
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_both_cases() {
        assert_eq!(super::encode(&[0x00, 0xAB, 0x7F], false), "00ab7f");
        assert_eq!(super::encode(&[0x00, 0xAB, 0x7F], true), "00AB7F");
    }
}
