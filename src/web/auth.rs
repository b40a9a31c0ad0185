//! Basic auth against bcrypt hashes (`basic_auth_users`). bcrypt is slow on purpose (cost 10 is
//! ~70 ms), so a verified (user, password) is remembered, as the toolkit does: a scrape every
//! 15 s must not cost a bcrypt each. Only successes are remembered (a wrong password always
//! pays the full cost), under a keyed hash, in a bounded set.

use axum::http::HeaderValue;
use base64::Engine as _;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

/// Distinct verified (user, password) pairs remembered; past it the set starts again.
const CACHE_CAP: usize = 256;

/// bcrypt runs at once: a flood of wrong passwords queues instead of taking every core.
const PARALLEL_BCRYPT: usize = 2;

/// What the `Authorization` header of a request carried.
#[derive(Debug, PartialEq, Eq)]
pub enum Credentials {
    /// No header, or not `Basic`.
    Missing,
    /// `Basic` with a value that is not base64 of `user:password`.
    Malformed,
    /// A user and a password.
    Given {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
}

impl Credentials {
    /// Reads an `Authorization` header.
    pub fn from_header(h: Option<&HeaderValue>) -> Credentials {
        let Some(v) = h.and_then(|h| h.to_str().ok()) else {
            return Credentials::Missing;
        };
        let Some((scheme, rest)) = v.trim().split_once(' ') else {
            return Credentials::Missing;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return Credentials::Missing;
        }
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(rest.trim()) else {
            return Credentials::Malformed;
        };
        let Ok(text) = String::from_utf8(raw) else {
            return Credentials::Malformed;
        };
        match text.split_once(':') {
            Some((user, password)) => Credentials::Given {
                user: user.to_string(),
                password: password.to_string(),
            },
            None => Credentials::Malformed,
        }
    }
}

/// The users and their bcrypt hashes, with the cache of verified credentials.
pub struct Users {
    hashes: BTreeMap<String, String>,
    /// Keyed so that the cache is no faster a password oracle than bcrypt to whoever reads memory.
    key: ring::hmac::Key,
    verified: Mutex<HashSet<[u8; 32]>>,
    bcrypt_slots: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Users")
            .field("users", &self.hashes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Users {
    /// Checks that every hash is bcrypt; the error is (user, message).
    pub fn new(hashes: BTreeMap<String, String>) -> Result<Users, (String, String)> {
        for (user, hash) in &hashes {
            if let Err(e) = hash.parse::<bcrypt::HashParts>() {
                return Err((user.clone(), format!("not a bcrypt hash ($2y$10$...): {e}")));
            }
        }
        let rng = ring::rand::SystemRandom::new();
        let key = ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng).map_err(|_| {
            (
                String::new(),
                "no random numbers for the cache key".to_string(),
            )
        })?;
        Ok(Users {
            hashes,
            key,
            verified: Mutex::new(HashSet::new()),
            bcrypt_slots: tokio::sync::Semaphore::new(PARALLEL_BCRYPT),
        })
    }

    /// How many users.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    fn cache_key(&self, user: &str, password: &str) -> [u8; 32] {
        let mut ctx = ring::hmac::Context::with_key(&self.key);
        // Lengths first, so that ("ab", "c") and ("a", "bc") differ.
        ctx.update(&(user.len() as u64).to_le_bytes());
        ctx.update(user.as_bytes());
        ctx.update(password.as_bytes());
        let mut out = [0; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        match self.verified.lock() {
            Ok(v) => v,
            Err(p) => p.into_inner(),
        }
    }

    /// Whether these credentials were verified before (no bcrypt).
    pub fn cached(&self, user: &str, password: &str) -> bool {
        self.lock().contains(&self.cache_key(user, password))
    }

    /// bcrypt: blocks for the hash's cost. An unknown user costs a bcrypt too (against another
    /// user's hash), so that timing does not tell which users exist.
    pub fn verify_blocking(&self, user: &str, password: &str) -> bool {
        let (hash, known) = match self.hashes.get(user) {
            Some(h) => (h, true),
            None => match self.hashes.values().next() {
                Some(h) => (h, false),
                None => return false,
            },
        };
        let ok = bcrypt::verify(password, hash).unwrap_or(false) && known;
        if ok {
            self.remember(self.cache_key(user, password));
        }
        ok
    }

    /// Adds a verified key; a full set starts again (simpler than LRU, and a refill costs one
    /// bcrypt per live scraper).
    fn remember(&self, key: [u8; 32]) {
        let mut set = self.lock();
        if set.len() >= CACHE_CAP {
            set.clear();
        }
        set.insert(key);
    }

    /// Verifies on the blocking pool, so that a bcrypt does not stall the other connections,
    /// [`PARALLEL_BCRYPT`] at a time.
    pub async fn verify(self: &Arc<Self>, user: String, password: String) -> bool {
        if self.cached(&user, &password) {
            return true;
        }
        let Ok(_slot) = self.bcrypt_slots.acquire().await else {
            return false;
        };
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.verify_blocking(&user, &password))
            .await
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Users {
        // Cost 4 (the least), made with bcrypt::hash("secret", 4).
        let mut m = BTreeMap::new();
        m.insert("prometheus".to_string(), bcrypt::hash("secret", 4).unwrap());
        Users::new(m).unwrap()
    }

    #[test]
    fn verifies_and_remembers_only_successes() {
        let u = users();
        assert!(!u.cached("prometheus", "secret"));
        assert!(u.verify_blocking("prometheus", "secret"));
        assert!(u.cached("prometheus", "secret"));
        assert!(!u.verify_blocking("prometheus", "wrong"));
        assert!(!u.cached("prometheus", "wrong"));
        assert!(!u.verify_blocking("nobody", "secret"), "unknown user");
        assert!(!u.cached("prome", "theussecret"));
    }

    #[test]
    fn the_cache_is_bounded() {
        let u = users();
        for i in 0..CACHE_CAP + 10 {
            u.remember(u.cache_key("u", &i.to_string()));
            assert!(u.lock().len() <= CACHE_CAP);
        }
        assert!(u.cached("u", &(CACHE_CAP + 9).to_string()));
    }

    #[test]
    fn reads_the_header() {
        let h = |s: &str| Credentials::from_header(Some(&HeaderValue::from_str(s).unwrap()));
        assert_eq!(
            h("Basic cHJvbWV0aGV1czpzZWNyZXQ="),
            Credentials::Given {
                user: "prometheus".into(),
                password: "secret".into()
            }
        );
        assert_eq!(
            h("basic YTpiOmM="),
            Credentials::Given {
                user: "a".into(),
                password: "b:c".into()
            },
            "the password may hold colons"
        );
        assert_eq!(h("Bearer abc"), Credentials::Missing);
        assert_eq!(h("Basic !!!"), Credentials::Malformed);
        assert_eq!(h("Basic YWJj"), Credentials::Malformed, "no colon");
        assert_eq!(Credentials::from_header(None), Credentials::Missing);
    }

    #[test]
    fn bad_hashes_are_refused_by_user() {
        let mut m = BTreeMap::new();
        m.insert("alice".to_string(), "plaintext".to_string());
        let Err((user, msg)) = Users::new(m) else {
            panic!("accepted")
        };
        assert_eq!(user, "alice");
        assert!(msg.contains("bcrypt"), "{msg}");
    }
}
