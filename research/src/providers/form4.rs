//! SEC Form 4 (statement of changes in beneficial ownership), the XML the filer submitted.
//!
//! We read the reporting owner and each non-derivative transaction's code — `P` is an open-market
//! purchase, `S` an open-market sale; grants, exercises and tax withholding (`A`, `M`, `F` ...) are
//! not trading decisions and are ignored by the insider factor.

use chrono::NaiveDate;

/// One non-derivative transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct InsiderTransaction {
    /// Reporting owner's CIK (or name when absent).
    pub owner: String,
    /// Transaction code (P, S, A, M, F ...).
    pub code: String,
    /// Transaction date.
    pub date: NaiveDate,
    /// Shares.
    pub shares: f64,
    /// The later of the transaction date and the filing date: when the market could know it.
    pub filed_or_traded: NaiveDate,
    /// Filing date (filled by the caller from the submissions list).
    pub filing_date: NaiveDate,
}

fn text<'a>(node: roxmltree::Node<'a, 'a>, path: &[&str]) -> Option<&'a str> {
    let mut n = node;
    for p in path {
        n = n.children().find(|c| c.has_tag_name(*p))?;
    }
    n.text().map(str::trim).filter(|s| !s.is_empty())
}

/// Parses a Form 4 XML document.
pub fn parse(xml: &str) -> Result<Vec<InsiderTransaction>, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    if !root.has_tag_name("ownershipDocument") {
        return Err(format!("root element is <{}>, not <ownershipDocument>", root.tag_name().name()));
    }
    let owner = root
        .children()
        .find(|c| c.has_tag_name("reportingOwner"))
        .and_then(|o| {
            text(o, &["reportingOwnerId", "rptOwnerCik"]).or_else(|| text(o, &["reportingOwnerId", "rptOwnerName"]))
        })
        .ok_or("no reportingOwner")?
        .to_string();
    let mut out = Vec::new();
    if let Some(table) = root.children().find(|c| c.has_tag_name("nonDerivativeTable")) {
        for tx in table.children().filter(|c| c.has_tag_name("nonDerivativeTransaction")) {
            let code = text(tx, &["transactionCoding", "transactionCode"]).ok_or("transaction without a code")?;
            let date = text(tx, &["transactionDate", "value"]).ok_or("transaction without a date")?;
            let date = NaiveDate::parse_from_str(&date[..10.min(date.len())], "%Y-%m-%d")
                .map_err(|e| format!("date {date:?}: {e}"))?;
            let shares = text(tx, &["transactionAmounts", "transactionShares", "value"])
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0);
            out.push(InsiderTransaction {
                owner: owner.clone(),
                code: code.to_string(),
                date,
                shares,
                filed_or_traded: date,
                filing_date: date,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_owner_codes_and_dates() {
        let xml = r#"<?xml version="1.0"?>
<ownershipDocument>
  <documentType>4</documentType>
  <issuer><issuerCik>0000320193</issuerCik><issuerTradingSymbol>AAPL</issuerTradingSymbol></issuer>
  <reportingOwner><reportingOwnerId><rptOwnerCik>0001214156</rptOwnerCik><rptOwnerName>COOK TIMOTHY D</rptOwnerName></reportingOwnerId></reportingOwner>
  <nonDerivativeTable>
    <nonDerivativeTransaction>
      <transactionDate><value>2010-07-30</value></transactionDate>
      <transactionCoding><transactionFormType>4</transactionFormType><transactionCode>S</transactionCode></transactionCoding>
      <transactionAmounts><transactionShares><value>5000</value></transactionShares></transactionAmounts>
    </nonDerivativeTransaction>
    <nonDerivativeTransaction>
      <transactionDate><value>2010-08-02-05:00</value></transactionDate>
      <transactionCoding><transactionCode>P</transactionCode></transactionCoding>
      <transactionAmounts><transactionShares><value>100</value></transactionShares></transactionAmounts>
    </nonDerivativeTransaction>
  </nonDerivativeTable>
</ownershipDocument>"#;
        let t = parse(xml).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].owner.as_str(), t[0].code.as_str(), t[0].shares), ("0001214156", "S", 5000.0));
        assert_eq!(t[1].date.to_string(), "2010-08-02");
        assert!(parse("<html/>").unwrap_err().contains("not <ownershipDocument>"));
    }
}
