//! What the order and split oracles compare of an exchange: method, URL, status and the
//! response's header names.

use corswatch::model::Exchange;

pub type Seen = (String, String, Option<u16>, Vec<String>);

pub fn seen(x: &Exchange) -> Seen {
    (
        x.request.method.clone(),
        x.request.url.clone(),
        x.response.as_ref().map(|r| r.status),
        x.response
            .as_ref()
            .map(|r| {
                r.headers
                    .iter()
                    .map(|(n, _)| n.to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default(),
    )
}
