//! How to fix each kind, per server stack. (Stub: filled in by the fixes work.)

use super::Kind;

/// A server stack the fixes cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stack {
    Express,
    Nginx,
    FastApi,
    Flask,
    Django,
    Spring,
    AspNetCore,
    Apache,
}

impl Stack {
    pub const ALL: [Stack; 8] = [
        Stack::Express,
        Stack::Nginx,
        Stack::FastApi,
        Stack::Flask,
        Stack::Django,
        Stack::Spring,
        Stack::AspNetCore,
        Stack::Apache,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stack::Express => "Express",
            Stack::Nginx => "nginx",
            Stack::FastApi => "FastAPI",
            Stack::Flask => "Flask",
            Stack::Django => "Django",
            Stack::Spring => "Spring",
            Stack::AspNetCore => "ASP.NET Core",
            Stack::Apache => "Apache",
        }
    }
}

/// What to do about one kind.
#[derive(Debug)]
pub struct Fix {
    /// One-line title of the kind, for report headings.
    pub title: &'static str,
    /// Why the browser decides this way, in a few sentences.
    pub why: &'static str,
    /// What to change, independent of the stack.
    pub summary: &'static str,
    /// Per-stack snippets; empty for kinds that no server setting fixes.
    pub stacks: &'static [(Stack, &'static str)],
}

static PLACEHOLDER: Fix = Fix {
    title: "",
    why: "",
    summary: "",
    stacks: &[],
};

pub fn fix(_kind: Kind) -> &'static Fix {
    &PLACEHOLDER
}
