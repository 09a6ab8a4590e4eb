// Security headers for the web pages (playground, dashboard): scripts only from our own files, no
// framing, no MIME sniffing, no referrer. Every API response also carries nosniff.

/** The headers of every web page: CSP without inline script, no framing, no sniffing. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** The header that stops content sniffing. */
export const NOSNIFF = 'x-content-type-options';
