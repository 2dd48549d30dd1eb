//! Passwords of people: argon2id with the crate's recommended parameters (OWASP baseline).
//!
//! A [`Hasher`] owns the ~19 MiB of working memory argon2 needs and reuses it for every hash.
//! Letting argon2 allocate it per hash instead made the allocator keep several freed copies
//! per thread: a burst of sign-ins grew the process by hundreds of MiB that never came back.

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct PasswordError;

/// Stored hashes asking for more memory than this are refused rather than computed.
const MAX_BLOCKS: usize = 256 * 1024;

/// Hashes and verifies passwords in memory it keeps between calls.
#[derive(Default)]
pub struct Hasher {
    memory: Vec<Block>,
}

impl Hasher {
    pub fn new() -> Hasher {
        Hasher::default()
    }

    fn memory(&mut self, params: &Params) -> Option<&mut [Block]> {
        let n = params.block_count();
        if n > MAX_BLOCKS {
            return None;
        }
        if self.memory.len() < n {
            self.memory.resize(n, Block::default());
        }
        Some(&mut self.memory[..n])
    }

    /// A new argon2id hash of `password` in PHC string form.
    pub fn hash(&mut self, password: &str) -> Result<String, PasswordError> {
        let salt = SaltString::generate(&mut OsRng);
        let params = Params::default();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(|_| PasswordError)?;
        let memory = self.memory(&params).ok_or(PasswordError)?;
        let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
            argon
                .hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, &mut *memory)
                .map_err(|_| argon2::password_hash::Error::Crypto)
        })
        .map_err(|_| PasswordError)?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|_| PasswordError)?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok(phc.to_string())
    }

    /// False for a wrong password and for a stored hash that does not parse.
    pub fn verify(&mut self, password: &str, stored: &str) -> bool {
        self.check(password, stored).unwrap_or(false)
    }

    fn check(&mut self, password: &str, stored: &str) -> Option<bool> {
        let phc = PasswordHash::new(stored).ok()?;
        let algorithm = Algorithm::try_from(phc.algorithm).ok()?;
        let version = match phc.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&phc).ok()?;
        let expected = phc.hash?;
        let mut salt_buf = [0u8; 64];
        let salt = phc.salt?.decode_b64(&mut salt_buf).ok()?;
        let argon = Argon2::new(algorithm, version, params.clone());
        let memory = self.memory(&params)?;
        let computed = Output::init_with(expected.len(), |out| {
            argon
                .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut *memory)
                .map_err(|_| argon2::password_hash::Error::Crypto)
        })
        .ok()?;
        // Output compares in constant time.
        Some(computed == expected)
    }

    /// Spends the time of a real verification when there is no user to verify, so an unknown
    /// email answers as slowly as a wrong password.
    pub fn verify_nobody(&mut self, password: &str) {
        static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        let dummy = DUMMY.get_or_init(|| Hasher::new().hash("portcullis: no such user").ok());
        if let Some(hash) = dummy {
            self.verify(password, hash);
        }
    }
}

/// A one-off hash (start-up, tests); request paths go through a long-lived [`Hasher`].
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    Hasher::new().hash(password)
}

/// A one-off verification; see [`hash_password`].
pub fn verify_password(password: &str, stored: &str) -> bool {
    Hasher::new().verify(password, stored)
}

#[cfg(test)]
mod tests;
