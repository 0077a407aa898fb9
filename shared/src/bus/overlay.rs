//! A private in-memory layer laid over another bus: what is written goes to the layer; a key
//! under one of the read-through prefixes that the layer does not hold is read from the bus
//! below, which is never written. The backtester's replay reads prices, signals and predictions
//! this way instead of copying them every week, and the research weeks it fills in land only in
//! its layer.

use super::memory::MemoryStore;
use super::{Bus, BusError, Key, Object, ObjectMeta, PutMode};

/// The overlay: `top` over `base`, reading through `through`.
#[derive(Debug, Clone)]
pub(super) struct Overlay {
    pub(super) top: MemoryStore,
    pub(super) base: Bus,
    pub(super) through: Vec<String>,
}

impl Overlay {
    /// Whether `key` may be read from the bus below.
    fn reads_through(&self, key: &str) -> bool {
        self.through.iter().any(|p| key.starts_with(p.as_str()))
    }

    /// Whether a listing of `prefix` can include objects of the bus below.
    fn lists_through(&self, prefix: &str) -> bool {
        self.through.iter().any(|p| prefix.starts_with(p.as_str()) || p.starts_with(prefix))
    }

    pub(super) async fn get(&self, key: &Key) -> Result<Option<Object>, BusError> {
        match self.top.get(key) {
            Some(o) => Ok(Some(o)),
            None if self.reads_through(key.as_str()) => Box::pin(self.base.get(key)).await,
            None => Ok(None),
        }
    }

    pub(super) async fn head(&self, key: &Key) -> Result<Option<ObjectMeta>, BusError> {
        match self.top.head(key) {
            Some(m) => Ok(Some(m)),
            None if self.reads_through(key.as_str()) => Box::pin(self.base.head(key)).await,
            None => Ok(None),
        }
    }

    pub(super) async fn put(&self, key: &Key, bytes: bytes::Bytes, mode: &PutMode) -> Result<String, BusError> {
        // A conditional put sees the object below as it would see it on a copy.
        let below = match mode {
            PutMode::Overwrite => None,
            _ if !self.reads_through(key.as_str()) || self.top.head(key).is_some() => None,
            _ => Box::pin(self.base.head(key)).await?,
        };
        match (mode, below) {
            (PutMode::IfAbsent, Some(_)) => Err(BusError::PreconditionFailed { key: key.to_string() }),
            (PutMode::IfMatch(tag), Some(m)) if m.etag.as_deref() == Some(tag.as_str()) => {
                self.top.put(key, bytes, &PutMode::Overwrite)
            }
            (PutMode::IfMatch(_), Some(_)) => Err(BusError::PreconditionFailed { key: key.to_string() }),
            _ => self.top.put(key, bytes, mode),
        }
    }

    pub(super) async fn delete(&self, key: &Key) -> Result<(), BusError> {
        if self.reads_through(key.as_str()) && Box::pin(self.base.head(key)).await?.is_some() {
            return Err(BusError::Other {
                op: "delete",
                key: key.to_string(),
                detail: "the object is read through from the bus below, which an overlay never changes".into(),
            });
        }
        self.top.delete(key);
        Ok(())
    }

    pub(super) async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, BusError> {
        let mut out = self.top.list(prefix);
        if self.lists_through(prefix) {
            let mine: std::collections::BTreeSet<Key> = out.iter().map(|m| m.key.clone()).collect();
            let below = Box::pin(self.base.list(prefix)).await?;
            out.extend(below.into_iter().filter(|m| self.reads_through(m.key.as_str()) && !mine.contains(&m.key)));
            out.sort_by(|a, b| a.key.cmp(&b.key));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Key {
        Key::parse(s).unwrap()
    }

    async fn text(bus: &Bus, k: &str) -> Option<String> {
        bus.get(&key(k)).await.unwrap().map(|o| String::from_utf8(o.bytes.to_vec()).unwrap())
    }

    /// A base bus with a price, a signal and a config object, and an overlay reading prices and
    /// signals through.
    async fn layered() -> (tempfile::TempDir, Bus, Bus) {
        let d = tempfile::tempdir().unwrap();
        let base = Bus::file(d.path().join("base"));
        for (k, v) in [("prices/a.json", "pa"), ("signals/2024-01-02.json", "s1"), ("config/x.json", "cx")] {
            base.put(&key(k), v.as_bytes().to_vec(), PutMode::Overwrite).await.unwrap();
        }
        let top = Bus::overlay(&base, &["prices/", "signals/"]);
        (d, base, top)
    }

    #[tokio::test]
    async fn reads_through_only_its_prefixes_and_writes_only_its_own_layer() {
        let (_d, base, top) = layered().await;
        assert_eq!(text(&top, "prices/a.json").await.as_deref(), Some("pa"));
        assert_eq!(text(&top, "config/x.json").await, None, "config/ is not read through");
        assert!(top.head(&key("signals/2024-01-02.json")).await.unwrap().is_some());

        top.put(&key("signals/2024-01-09.json"), b"s2".to_vec(), PutMode::Overwrite).await.unwrap();
        top.put(&key("prices/a.json"), b"pa2".to_vec(), PutMode::Overwrite).await.unwrap();
        assert_eq!(text(&top, "prices/a.json").await.as_deref(), Some("pa2"), "the layer's own object wins");
        assert_eq!(text(&base, "prices/a.json").await.as_deref(), Some("pa"), "the bus below is never written");
        assert_eq!(text(&base, "signals/2024-01-09.json").await, None);

        let listed: Vec<String> = top.list("signals/").await.unwrap().iter().map(|m| m.key.to_string()).collect();
        assert_eq!(listed, ["signals/2024-01-02.json", "signals/2024-01-09.json"]);
        let all: Vec<String> = top.list("").await.unwrap().iter().map(|m| m.key.to_string()).collect();
        assert_eq!(all, ["prices/a.json", "signals/2024-01-02.json", "signals/2024-01-09.json"], "one entry per key");
    }

    #[tokio::test]
    async fn conditional_puts_see_the_object_below_and_deleting_it_is_refused() {
        let (_d, base, top) = layered().await;
        let k = key("signals/2024-01-02.json");
        let refused = top.put(&k, b"x".to_vec(), PutMode::IfAbsent).await.unwrap_err();
        assert!(matches!(refused, BusError::PreconditionFailed { .. }), "{refused}");
        let stale = top.put(&k, b"x".to_vec(), PutMode::IfMatch("\"nope\"".into())).await.unwrap_err();
        assert!(matches!(stale, BusError::PreconditionFailed { .. }), "{stale}");
        let tag = base.head(&k).await.unwrap().unwrap().etag.unwrap();
        top.put(&k, b"s1b".to_vec(), PutMode::IfMatch(tag)).await.unwrap();
        assert_eq!(text(&top, "signals/2024-01-02.json").await.as_deref(), Some("s1b"));
        assert_eq!(text(&base, "signals/2024-01-02.json").await.as_deref(), Some("s1"));

        let below = key("prices/a.json");
        let e = top.delete(&below).await.unwrap_err();
        assert!(e.to_string().contains("never changes"), "{e}");
        assert_eq!(text(&base, "prices/a.json").await.as_deref(), Some("pa"));
        top.put(&key("config/y.json"), b"y".to_vec(), PutMode::IfAbsent).await.unwrap();
        top.delete(&key("config/y.json")).await.unwrap();
        assert_eq!(text(&top, "config/y.json").await, None);
    }
}
