//! Entries for the kinds the hop stage adds (a request seen at two hops, or only at the inner
//! one): notes that explain which layer answered, not failures of their own.

use super::Fix;

const NO_STACKS: &[(super::Stack, &str)] = &[];

pub(super) static PROXY_CHANGED_CORS_HEADERS: Fix = Fix {
    title: "A proxy added or changed CORS headers (both hops seen)",
    why: "The capture holds both hops of the request, browser→proxy and proxy→app, and the CORS \
          headers the browser got differ from the app's: the proxy added, replaced or dropped \
          some. The browser judges only what reaches it, so the verdict is made at the \
          browser-facing hop; the inner hop tells which layer to change. Two layers writing \
          `Access-Control-Allow-Origin` is the usual cause of `MultipleAllowOriginValues`.",
    summary: "Decide which layer owns CORS for the route and configure it there only: either \
              the proxy adds the headers (and the app sends none, or the proxy hides the app's \
              with `proxy_hide_header` / `Header unset`), or the app sends them and the proxy \
              passes them on untouched. The fix shown first for a blocked kind is the layer that \
              wrote the failing header.",
    stacks: NO_STACKS,
    client: Some(
        "Nothing to change in the page: this note says which server layer wrote the CORS \
         headers the browser judged.",
    ),
};

pub(super) static INNER_HOP_ONLY: Fix = Fix {
    title: "Only the proxy→app hop is visible",
    why: "The request carries a proxy's forwarding headers (`X-Forwarded-For`, `Forwarded`, \
          `Via`, `X-Real-IP`, or nginx's HTTP/1.0 upstream request) and no browser-facing hop \
          was captured: TLS ends outside the capture, or the filter covers only the app's \
          port. By default the app's answer is taken to reach the browser unchanged (the app \
          handles CORS), so its verdicts count, marked inferred. A proxy that sets or rewrites \
          CORS headers would make them wrong.",
    summary: "If the proxy in front sets the CORS headers, run with `--proxy-sets-cors`: the \
              inner hop's verdicts then describe the app only and are not counted as blocked. \
              Better, capture the browser-facing hop too (behind the TLS terminator, or on the \
              proxy's listening port), so that the traffic shows which layer sets what.",
    stacks: NO_STACKS,
    client: Some(
        "Nothing to change in the page; a HAR from the browser shows what the browser got.",
    ),
};
