//! Located problems: what validation returns, all at once.

use std::fmt;

/// One problem with a document or config, at a location such as `universe[3].score`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Problem {
    /// Where: dotted fields and `[i]` indices from the document root (empty for the root).
    pub path: String,
    /// What is wrong, phrased for a person.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "(document): {}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the problems.
    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter()
    }

    /// `Ok(())` when empty.
    pub fn into_result(self) -> Result<(), Problems> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// Collects problems while walking a typed document, tracking the current path.
#[derive(Debug, Default)]
pub struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    /// Records a problem at `path`.
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    /// Records a problem when `ok` is false.
    pub fn ensure(&mut self, ok: bool, path: impl FnOnce() -> String, message: impl FnOnce() -> String) {
        if !ok {
            self.push(path(), message());
        }
    }

    /// Finishes, returning what was found.
    pub fn finish(self) -> Vec<Problem> {
        self.problems
    }
}

/// Turns a JSON pointer (`/universe/3/score`) into the dotted form (`universe[3].score`).
pub fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(&seg);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_become_readable_paths() {
        assert_eq!(pointer_to_path("/universe/3/score"), "universe[3].score");
        assert_eq!(pointer_to_path(""), "");
        assert_eq!(pointer_to_path("/sector_ratings/Health Care/modifier"), "sector_ratings.Health Care.modifier");
        assert_eq!(pointer_to_path("/a~1b/0"), "a/b[0]");
    }
}
