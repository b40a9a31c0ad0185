//! The browser engine whose CORS check the classifier models, and the two engines' verdicts on
//! one exchange side by side.
//!
//! Chromium and Firefox implement the same Fetch rules, but not identically (taxonomy §3.2–3.4,
//! and the Firefox recording of issue 16): Firefox reports a failed channel (connection refused,
//! a refused redirect) as the CORS error `CORSDidNotSucceed` where Chromium has only a `net::`
//! error, checks `Access-Control-Allow-Origin` on a preflight's redirect before refusing it,
//! and sends the preflight after a cross-origin redirect with the page's `Origin`. The engine of
//! an input is what recorded it (a HAR's `log.creator` / `log.browser`), or what the user states
//! (`analyze --browser`); packet captures default to Chromium.

use super::Classification;
use crate::model::Exchange;
use serde::{Deserialize, Serialize};

/// A browser engine whose CORS decisions corswatch models.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// Chromium (Chrome, Edge, Opera…): the network service's `CorsError`s.
    #[default]
    Chromium,
    /// Firefox (Gecko): `nsCORSListenerProxy`'s reason codes.
    Firefox,
}

impl Engine {
    /// Both engines.
    pub const ALL: [Engine; 2] = [Engine::Chromium, Engine::Firefox];

    /// The lowercase name (`chromium`, `firefox`).
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
        }
    }

    /// The other engine.
    pub fn other(self) -> Engine {
        match self {
            Engine::Chromium => Engine::Firefox,
            Engine::Firefox => Engine::Chromium,
        }
    }

    /// The engine a HAR producer or browser name implies (`Firefox`, `firefox`,
    /// `Mozilla Firefox` → Firefox; `WebInspector`, `Chrome`, `chromium`, `Microsoft Edge` →
    /// Chromium). `None` for names that say nothing (`Playwright`, a tool's own name).
    pub fn from_name(name: &str) -> Option<Engine> {
        let n = name.trim().to_ascii_lowercase();
        if n.contains("firefox") || n.contains("gecko") {
            Some(Engine::Firefox)
        } else if [
            "webinspector",
            "chrome",
            "chromium",
            "edge",
            "opera",
            "brave",
        ]
        .iter()
        .any(|c| n.contains(c))
        {
            Some(Engine::Chromium)
        } else {
            None
        }
    }

    /// The engine to judge `ex` as: the one stated, else the one its recording names (the
    /// HAR's browser, then its creator), else Chromium.
    pub fn of(ex: &Exchange, stated: Option<Engine>) -> Engine {
        stated
            .or_else(|| ex.hints.browser.as_deref().and_then(Engine::from_name))
            .or_else(|| ex.hints.producer.as_deref().and_then(Engine::from_name))
            .unwrap_or_default()
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Engine {
    type Err = UnknownEngine;

    fn from_str(s: &str) -> Result<Engine, UnknownEngine> {
        match s.trim().to_ascii_lowercase().as_str() {
            "chromium" | "chrome" => Ok(Engine::Chromium),
            "firefox" => Ok(Engine::Firefox),
            _ => Err(UnknownEngine(s.to_owned())),
        }
    }
}

/// A name that is not an engine corswatch models.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown browser engine '{0}' (expected chromium or firefox)")]
pub struct UnknownEngine(pub String);

/// Whether the engines can decide `ex` differently. Every engine-specific branch of the
/// classifier fires only on an exchange this admits (a response that is a redirect, or none at
/// all), so the pipeline classifies a second time, for the other engine, only then.
pub fn may_differ(ex: &Exchange) -> bool {
    ex.response
        .as_ref()
        .is_none_or(|r| r.status == 0 || (300..400).contains(&r.status))
}

/// One engine's decision on an exchange, as events show it beside the other's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineVerdict {
    /// The engine refuses the response.
    pub blocked: bool,
    /// The blocking kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The engine's own code: Chromium's `CorsError`, Firefox's reason code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The console line this engine prints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl EngineVerdict {
    /// `engine`'s decision in `c` (classified for that engine).
    pub fn of(engine: Engine, c: &Classification) -> EngineVerdict {
        let b = c.blocked();
        EngineVerdict {
            blocked: b.is_some(),
            kind: b.map(|v| v.kind.id().to_owned()),
            code: b.and_then(|v| match engine {
                Engine::Chromium => v.cors_error.map(|e| e.as_str().to_owned()),
                Engine::Firefox => v.firefox_error.map(str::to_owned),
            }),
            message: b.map(|v| v.message.clone()),
        }
    }

    fn decides_as(&self, other: &EngineVerdict) -> bool {
        self.blocked == other.blocked && self.kind == other.kind && self.code == other.code
    }
}

/// Both engines' decisions on an exchange they decide differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineSplit {
    /// Chromium's decision.
    pub chromium: EngineVerdict,
    /// Firefox's decision.
    pub firefox: EngineVerdict,
}

impl EngineSplit {
    /// The split of `ours` (classified for `engine`) and `theirs` (for the other engine);
    /// `None` when both block alike or both let the response through. Chromium's `CorsError`
    /// and Firefox's code are compared through the kind: the same kind and class is the same
    /// decision, whatever each engine calls it, unless one engine's code is a network failure
    /// the other does not report (`CORSDidNotSucceed`).
    pub fn of(engine: Engine, ours: &Classification, theirs: &Classification) -> Option<Self> {
        let a = EngineVerdict::of(engine, ours);
        let b = EngineVerdict::of(engine.other(), theirs);
        let (a_as_b, b_as_a) = (
            EngineVerdict::of(engine.other(), ours),
            EngineVerdict::of(engine, theirs),
        );
        // Same blocking verdict in both (kind and both codes): not a split.
        if a.decides_as(&b_as_a) && a_as_b.decides_as(&b) {
            return None;
        }
        Some(match engine {
            Engine::Chromium => EngineSplit {
                chromium: a,
                firefox: b,
            },
            Engine::Firefox => EngineSplit {
                chromium: b,
                firefox: a,
            },
        })
    }

    /// The engine that blocks when only one does.
    pub fn only(&self) -> Option<Engine> {
        match (self.chromium.blocked, self.firefox.blocked) {
            (true, false) => Some(Engine::Chromium),
            (false, true) => Some(Engine::Firefox),
            _ => None,
        }
    }
}

/// Counts of blocked exchanges the engines decide differently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineCounts {
    /// Blocked by Chromium only.
    pub only_chromium: u64,
    /// Blocked by Firefox only.
    pub only_firefox: u64,
    /// Blocked by both, for reasons the engines name differently.
    pub different_reason: u64,
}

impl EngineCounts {
    /// Counts one split.
    pub fn record(&mut self, split: &EngineSplit) {
        match split.only() {
            Some(Engine::Chromium) => self.only_chromium += 1,
            Some(Engine::Firefox) => self.only_firefox += 1,
            None => self.different_reason += 1,
        }
    }

    /// Adds another run's counts (merging reports).
    pub fn add(&mut self, o: &EngineCounts) {
        self.only_chromium = self.only_chromium.saturating_add(o.only_chromium);
        self.only_firefox = self.only_firefox.saturating_add(o.only_firefox);
        self.different_reason = self.different_reason.saturating_add(o.different_reason);
    }

    /// Nothing counted.
    pub fn is_zero(&self) -> bool {
        *self == EngineCounts::default()
    }
}
