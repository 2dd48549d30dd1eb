use super::*;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

#[test]
fn argon2id_round_trip() {
    let h = hash_password("correct horse").unwrap();
    assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
    assert!(verify_password("correct horse", &h));
    assert!(!verify_password("wrong horse", &h));
    assert!(!verify_password("correct horse", "not a hash"));
}

#[test]
fn hashes_are_those_of_the_argon2_crate_both_ways() {
    // Stored by earlier versions (argon2's own PasswordHasher) and read by this one...
    let salt = SaltString::generate(&mut OsRng);
    let theirs = Argon2::default()
        .hash_password(b"correct horse", &salt)
        .unwrap()
        .to_string();
    let mut hasher = Hasher::new();
    assert!(hasher.verify("correct horse", &theirs));
    assert!(!hasher.verify("correct horsf", &theirs));
    // ...and the other way round.
    let ours = hasher.hash("battery staple").unwrap();
    let parsed = PasswordHash::new(&ours).unwrap();
    assert!(Argon2::default()
        .verify_password(b"battery staple", &parsed)
        .is_ok());
}

#[test]
fn one_hasher_reuses_its_memory() {
    let mut hasher = Hasher::new();
    let a = hasher.hash("one").unwrap();
    let capacity = hasher.memory.capacity();
    assert!(hasher.verify("one", &a));
    hasher.verify_nobody("two");
    assert_eq!(hasher.memory.capacity(), capacity);
    assert_eq!(capacity, Params::default().block_count());
}

#[test]
fn absurd_memory_costs_are_refused_not_allocated() {
    let huge = "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXphYmNkZWY";
    let mut hasher = Hasher::new();
    assert!(!hasher.verify("x", huge));
    assert_eq!(hasher.memory.capacity(), 0);
}
