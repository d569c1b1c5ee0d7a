//! The simulator's development PKI: a CA, a server certificate for loopback, merchant client certificates, and API v3's key material.
//!
//! Split by concern: `dev` makes and reuses the CA and what it issues,
//! `state` keeps the state directory's files safe, `inspect` reads
//! certificates back, `v3_keys` holds API v3's keys, and `rsa_pool` hands
//! out the shipped RSA development keys they use.

mod dev;
mod inspect;
mod oaep;
mod rsa_pool;
mod spki;
mod state;
mod v3_keys;

pub use dev::{ClientIdentityPem, DevPki};
pub use inspect::subject_cn;
pub use v3_keys::{V3Keys, V3KeysPem, V3Signer};
