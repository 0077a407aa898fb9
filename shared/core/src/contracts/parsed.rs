//! Documents this process has parsed, kept by their kind and the SHA-256 of their bytes. Parsing
//! a document validates it against its JSON Schema and its cross-field rules, which costs far
//! more than hashing it; the jobs of one process (the demo, the local scheduler) read the same
//! history again every day (inference, the executor) and every week (the backtester). The same
//! bytes always parse to the same document, so a kept one is handed out as a copy. Only documents
//! that parsed are kept (a refusal is worked out again, with its located problems), at most
//! [`MAX_BYTES`] of their source in all, the oldest dropped first.

use std::any::{Any, TypeId};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::{Document, Problems};

/// The most source bytes whose documents are kept.
pub const MAX_BYTES: usize = 48 << 20;

type Id = (TypeId, [u8; 32]);

#[derive(Default)]
struct Kept {
    docs: HashMap<Id, (Box<dyn Any + Send + Sync>, usize)>,
    order: VecDeque<Id>,
    bytes: usize,
}

static KEPT: Mutex<Option<Kept>> = Mutex::new(None);

/// The document `bytes` parse to with `parse`, from the kept ones when this process parsed the
/// same bytes as the same kind before.
pub(super) fn parse_kept<T: Document>(
    bytes: &[u8],
    parse: impl FnOnce(&[u8]) -> Result<T, Problems>,
) -> Result<T, Problems> {
    let id: Id = (TypeId::of::<T>(), Sha256::digest(bytes).into());
    if let Some(kept) = KEPT.lock().expect("parsed documents lock").as_ref()
        && let Some(doc) = kept.docs.get(&id).and_then(|(d, _)| d.downcast_ref::<T>())
    {
        return Ok(doc.clone());
    }
    let doc = parse(bytes)?;
    if bytes.len() <= MAX_BYTES {
        let mut guard = KEPT.lock().expect("parsed documents lock");
        let kept = guard.get_or_insert_with(Kept::default);
        if !kept.docs.contains_key(&id) {
            while kept.bytes + bytes.len() > MAX_BYTES {
                let Some(old) = kept.order.pop_front() else { break };
                if let Some((_, n)) = kept.docs.remove(&old) {
                    kept.bytes -= n;
                }
            }
            kept.docs.insert(id, (Box::new(doc.clone()), bytes.len()));
            kept.order.push_back(id);
            kept.bytes += bytes.len();
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::super::kill_switch::{KillMode, KillSwitch, SetBy};
    use super::super::{parse, to_json_checked};

    fn doc(reason: &str, confirmed: bool) -> Vec<u8> {
        let at = chrono::Utc.with_ymd_and_hms(2010, 3, 15, 15, 0, 0).unwrap();
        let op = SetBy::Operator { name: "ops".into() };
        let k = KillSwitch::new(KillMode::Flatten, reason, at, op, confirmed, "0.1.0");
        serde_json::to_vec(&k).unwrap()
    }

    #[test]
    fn the_same_bytes_parse_to_the_same_document_and_other_bytes_are_parsed_afresh() {
        let a = doc("broker outage, kept-documents test", true);
        assert!(to_json_checked(&parse::<KillSwitch>(&a).unwrap()).is_ok());
        let first = parse::<KillSwitch>(&a).unwrap();
        assert_eq!(parse::<KillSwitch>(&a).unwrap(), first);
        let b = doc("another reason, kept-documents test", true);
        assert_eq!(parse::<KillSwitch>(&b).unwrap().reason, "another reason, kept-documents test");
        // A refusal is worked out again every time, with its problems.
        let refused = doc("unconfirmed, kept-documents test", false);
        for _ in 0..2 {
            let e = parse::<KillSwitch>(&refused).unwrap_err().to_string();
            assert!(e.contains("confirm"), "{e}");
        }
        // The same bytes read as another kind are that kind's parse, not the kept document.
        assert!(parse::<super::super::signals::Signals>(&a).is_err());
    }
}
