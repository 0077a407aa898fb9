//! LLM agents over the Anthropic Messages API: a session that enforces the hard cost ceiling,
//! reuses cached answers, validates every answer, and drops (with a logged reason) what stays
//! invalid after one corrective retry. Nothing an agent did not say is ever invented: a name without
//! a valid analyst answer keeps its quant score, and the run says which names were covered.

pub mod agents;
pub mod cache;
pub mod client;
pub mod extract;

use std::sync::{Arc, Mutex};

use ae_shared::clock::Clock;
use ae_shared::config::LlmConfig;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use cache::AnswerCache;
use client::{Anthropic, Turn};

/// Reads an agent's answer: the JSON object in `text` (raw, fenced or inside prose, see
/// [`extract::json_object`]), deserialized into `T`, then checked by `validate`. The error says
/// which step failed; it is what the model is shown when asked once more.
pub fn parse_answer<T: DeserializeOwned>(text: &str, validate: impl Fn(&T) -> Result<(), String>) -> Result<T, String> {
    let v = extract::json_object(text).ok_or_else(|| "no JSON object in the answer".to_string())?;
    let t: T = serde_json::from_value(v).map_err(|e| format!("wrong shape: {e}"))?;
    validate(&t).map(|_| t)
}

/// Counters for the run summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LlmStats {
    /// API calls made (retries on throttling are inside one call).
    pub calls: u32,
    /// Answers served from the cache.
    pub cached: u32,
    /// Corrective retries after an invalid answer.
    pub corrective_retries: u32,
    /// Answers dropped (agent:subject, reason).
    pub dropped: Vec<(String, String)>,
    /// Dollars spent.
    pub cost_usd: f64,
    /// Input and output tokens.
    pub tokens: (u64, u64),
    /// Why agents stopped being called, if they did.
    pub stopped: Option<String>,
}

/// What asking an agent gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask<T> {
    /// A valid answer.
    Answer(T),
    /// No usable answer; the reason was logged and recorded.
    Dropped(String),
    /// Not asked: the cost ceiling (or an earlier stop) prevents further calls.
    Stopped(String),
}

/// One agent request.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Agent name (macro_economist, sector_analyst, cio, consolidator).
    pub agent: &'static str,
    /// Subject (a ticker, or "market").
    pub subject: &'a str,
    /// Prompt version (file name), part of the cache key.
    pub prompt_version: &'static str,
    /// Model id.
    pub model: &'a str,
    /// Output budget.
    pub max_tokens: u32,
    /// The rendered prompt.
    pub prompt: String,
}

/// A research run's LLM session.
pub struct LlmSession {
    client: Anthropic,
    cache: Option<AnswerCache>,
    cfg: LlmConfig,
    clock: Arc<dyn Clock>,
    stats: Mutex<LlmStats>,
}

const SYSTEM: &str =
    "You are part of an equity research team. Answer with a single JSON object exactly as asked, no prose.";

impl LlmSession {
    /// A session.
    pub fn new(client: Anthropic, cache: Option<AnswerCache>, cfg: LlmConfig, clock: Arc<dyn Clock>) -> Self {
        Self { client, cache, cfg, clock, stats: Mutex::new(LlmStats::default()) }
    }

    /// The counters so far.
    pub fn stats(&self) -> LlmStats {
        self.stats.lock().expect("stats lock").clone()
    }

    /// The cache (to checkpoint before saving it).
    pub fn cache(&self) -> Option<&AnswerCache> {
        self.cache.as_ref()
    }

    fn price(&self, model: &str) -> (f64, f64) {
        self.cfg.prices.get(model).map(|p| (p.input_per_mtok, p.output_per_mtok)).unwrap_or((f64::MAX, f64::MAX))
    }

    /// Refuses a call whose worst case (prompt tokens estimated at 3 characters each, the full output
    /// budget) would cross the ceiling; records why agents stopped.
    fn admit(&self, req: &Request<'_>, prompt_chars: usize) -> Result<(), String> {
        let mut s = self.stats.lock().expect("stats lock");
        if let Some(why) = &s.stopped {
            return Err(why.clone());
        }
        let (pin, pout) = self.price(req.model);
        let worst = ((prompt_chars / 3 + 64) as f64 * pin + req.max_tokens as f64 * pout) / 1e6;
        if s.cost_usd + worst > self.cfg.cost_ceiling_usd {
            let why = format!(
                "cost ceiling ${:.2} reached: ${:.4} spent after {} call(s); the next {} call could cost up to ${:.4}",
                self.cfg.cost_ceiling_usd, s.cost_usd, s.calls, req.agent, worst
            );
            tracing::warn!("{why}; no further agent calls this run");
            s.stopped = Some(why.clone());
            return Err(why);
        }
        Ok(())
    }

    /// Asks an agent; the answer must deserialize into `T` and pass `validate`.
    pub async fn ask<T: DeserializeOwned>(
        &self,
        req: Request<'_>,
        validate: impl Fn(&T) -> Result<(), String>,
    ) -> Ask<T> {
        let key = format!("{}:{}", req.agent, req.subject);
        let mut h = Sha256::new();
        for part in [req.prompt_version, req.model, SYSTEM, req.prompt.as_str()] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        let hash = hex::encode(h.finalize());
        let now = self.clock.now();
        let check = |text: &str| parse_answer(text, &validate);
        if let Some(cache) = &self.cache
            && let Ok(Some(text)) = cache.get(req.agent, req.subject, &hash, now)
            && let Ok(t) = check(&text)
        {
            self.stats.lock().expect("stats lock").cached += 1;
            return Ask::Answer(t);
        }
        let mut turns = vec![Turn { role: "user", content: req.prompt.clone() }];
        for attempt in 0..2 {
            let chars: usize = turns.iter().map(|t| t.content.len()).sum::<usize>() + SYSTEM.len();
            if let Err(why) = self.admit(&req, chars) {
                return Ask::Stopped(why);
            }
            let result = self.client.complete(req.model, SYSTEM, &turns, req.max_tokens, &key).await;
            let (text, usage) = match result {
                Ok(x) => x,
                Err(e) => {
                    let why = format!("API error: {e}");
                    tracing::warn!(agent = req.agent, subject = req.subject, "{why}");
                    let mut s = self.stats.lock().expect("stats lock");
                    s.calls += 1;
                    s.dropped.push((key, why.clone()));
                    return Ask::Dropped(why);
                }
            };
            {
                let (pin, pout) = self.price(req.model);
                let mut s = self.stats.lock().expect("stats lock");
                s.calls += 1;
                s.cost_usd += usage.cost(pin, pout);
                s.tokens.0 += usage.input_tokens;
                s.tokens.1 += usage.output_tokens;
            }
            match check(&text) {
                Ok(t) => {
                    if let Some(cache) = &self.cache
                        && let Err(e) = cache.put(req.agent, req.subject, &hash, req.model, &text, now)
                    {
                        tracing::warn!("answer cache: {e}");
                    }
                    return Ask::Answer(t);
                }
                Err(problem) if attempt == 0 => {
                    tracing::info!(agent = req.agent, subject = req.subject, %problem, "invalid answer; asking once more");
                    self.stats.lock().expect("stats lock").corrective_retries += 1;
                    turns.push(Turn { role: "assistant", content: text });
                    turns.push(Turn {
                        role: "user",
                        content: format!("That answer is not usable: {problem}. Reply again with only the JSON object, exactly in the requested shape."),
                    });
                }
                Err(problem) => {
                    let why = format!("invalid answer twice, dropped: {problem}");
                    tracing::warn!(agent = req.agent, subject = req.subject, "{why}");
                    self.stats.lock().expect("stats lock").dropped.push((key, why.clone()));
                    return Ask::Dropped(why);
                }
            }
        }
        unreachable!("the loop returns on its second attempt")
    }
}
