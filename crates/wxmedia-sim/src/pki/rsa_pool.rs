//! The RSA-2048 keys the simulator hands out: a shipped pool of public development keys, since ring (the one crypto library of a default build) cannot generate RSA keys.
//!
//! The keys in `dev-keys/` were made once with `openssl genpkey -algorithm
//! RSA -pkeyopt rsa_keygen_bits:2048` (PKCS#8 PEM). Generating them at run
//! time would need rcgen on aws-lc-rs, which would put a second crypto
//! library (and its C build) into every build of the command line. They
//! are public: good for a simulator on loopback, never for a merchant.
//!
//! Everything signed over them is still made fresh per state directory:
//! the certificates carrying these keys are issued by the directory's own
//! ECDSA CA, with random serials.

use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::KeyPair;

/// The pool, PKCS#8 PEM. Eight keys: a state directory takes at most three
/// (merchant, platform, WeChat Pay public key), so two simulators made one
/// after the other in a process get six distinct keys.
const POOL: [&str; 8] = [
    include_str!("../../dev-keys/rsa-0.pem"),
    include_str!("../../dev-keys/rsa-1.pem"),
    include_str!("../../dev-keys/rsa-2.pem"),
    include_str!("../../dev-keys/rsa-3.pem"),
    include_str!("../../dev-keys/rsa-4.pem"),
    include_str!("../../dev-keys/rsa-5.pem"),
    include_str!("../../dev-keys/rsa-6.pem"),
    include_str!("../../dev-keys/rsa-7.pem"),
];

/// The next pool slot, shared by the whole process: round-robin, so any
/// eight consecutive takes (whichever simulators or threads make them) are
/// eight different keys. Tests rely on a second simulator's keys differing
/// from the first one's.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The next development key of the pool (RSA 2048, PKCS#1 v1.5 SHA-256).
pub(super) fn next_key() -> Result<KeyPair, rcgen::Error> {
    // Relaxed is enough: only the counter's own sequence matters, and
    // fetch_add hands every caller a different value.
    key_at(NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The key in slot `i` of the pool, wrapping around.
fn key_at(i: usize) -> Result<KeyPair, rcgen::Error> {
    KeyPair::from_pem(POOL[i % POOL.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_loads_on_ring_as_rsa_2048_and_all_differ() {
        let mut seen = std::collections::HashSet::new();
        for (i, pem) in POOL.iter().enumerate() {
            let key = KeyPair::from_pem(pem).unwrap_or_else(|e| panic!("rsa-{i}.pem: {e}"));
            // What rcgen signs certificates over these keys with.
            assert_eq!(
                key.algorithm(),
                &rcgen::PKCS_RSA_SHA256,
                "rsa-{i}.pem is not an RSA key"
            );
            // The same parse ring's signer (v3 replies) does.
            let der = key.serialize_der();
            let ring_key = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
            assert_eq!(ring_key.public().modulus_len(), 256, "rsa-{i}.pem");
            assert!(
                seen.insert(key.public_key_raw().to_vec()),
                "rsa-{i}.pem repeats a key"
            );
        }
    }

    #[test]
    fn eight_consecutive_takes_differ_wherever_they_start() {
        for start in [0, 5, usize::MAX - 3] {
            let keys: std::collections::HashSet<Vec<u8>> = (0..8)
                .map(|n| {
                    key_at(start.wrapping_add(n))
                        .unwrap()
                        .public_key_raw()
                        .to_vec()
                })
                .collect();
            // Even the counter's wrap keeps the cycle: 2^64 is a multiple
            // of 8.
            assert_eq!(keys.len(), 8, "from slot {start}");
        }
    }
}
