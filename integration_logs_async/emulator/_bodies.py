"""Pool of realistic response bodies (HTML error pages of 1-3 KB, JSON errors).

Shop systems answer failed calls with whatever their web server or CDN renders;
these pages are what ends up in the logs.  Records share these strings, so a
million-record store holds each page only once.
"""

from __future__ import annotations

_STYLE = """
  <style type="text/css">
    html, body { margin: 0; padding: 0; height: 100%; }
    body { background: #f4f6f8; color: #212b36; font-family: -apple-system, BlinkMacSystemFont,
           "San Francisco", "Segoe UI", Roboto, "Helvetica Neue", sans-serif; font-size: 16px; }
    .page { display: table; width: 100%; height: 100%; }
    .page__content { display: table-cell; vertical-align: middle; text-align: center; }
    .page__title { font-size: 2.2em; font-weight: 400; line-height: 1.2; margin: 0 0 0.5em; }
    .page__text { color: #637381; line-height: 1.5; max-width: 32em; margin: 0 auto 1.5em; }
    .page__button { display: inline-block; padding: 0.7em 1.6em; border-radius: 4px;
                    background: #5c6ac4; color: #fff; text-decoration: none; }
    .page__footer { margin-top: 3em; color: #919eab; font-size: 0.8em; }
  </style>
"""


def _page(title: str, text: str, footer: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex, nofollow">
  <title>{title}</title>{_STYLE}</head>
<body>
  <div class="page">
    <div class="page__content">
      <h1 class="page__title">{title}</h1>
      <p class="page__text">{text}</p>
      <a class="page__button" href="/">Continue shopping</a>
      <p class="page__footer">{footer}</p>
    </div>
  </div>
</body>
</html>
"""


NOT_FOUND_HTML = _page(
    "404 Page Not Found",
    "The page you were looking for does not exist. It may have been moved, renamed or "
    "deleted, or the order you requested belongs to another store.",
    "Request ID: 6f1c0a52-93d4-4c5e-8f0e-0b1f2d3c4e5f",
)

SERVER_ERROR_HTML = _page(
    "There has been an error processing your request",
    "Exception printing is disabled by default for security reasons. Error log record "
    "number: 8a3f2c1d9e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f.",
    "If you are the store owner, enable developer mode to see the full stack trace.",
)

MAINTENANCE_HTML = _page(
    "Briefly unavailable for scheduled maintenance",
    "We are performing scheduled maintenance and will be back online shortly. Orders "
    "placed during this window are queued and processed as soon as we are back. "
    "Please check back in a minute.",
    "Powered by WordPress &amp; WooCommerce",
)

SSL_ERROR_HTML = """<!doctype html>
<html>
 <head>
 <title>SSL Certificate Error</title>
 </head>
 </html>
"""

_CLOUDFLARE_STYLE = """
<style>
  body { margin: 0; font-family: "Helvetica Neue", Helvetica, Arial, sans-serif; color: #404040; }
  #cf-wrapper { max-width: 60rem; margin: 0 auto; padding: 0 1.5rem; }
  .cf-error-overview { padding: 2.5rem 0; }
  .cf-error-type { font-size: 3.75rem; font-weight: 300; margin: 0; }
  .cf-error-details { display: flex; flex-wrap: wrap; padding: 2rem 0;
                      border-top: 1px solid #ebebeb; }
  .cf-column { flex: 1 1 33%; padding: 0 1rem; }
  .cf-status-label { font-size: 1.5rem; margin: 0.5rem 0; }
  .cf-status-ok { color: #9bca3e; } .cf-status-error { color: #bd2426; }
  .cf-footer { font-size: 0.8125rem; padding: 1rem 0; border-top: 1px solid #ebebeb; }
</style>
"""


def _cloudflare(code: int, title: str, text: str) -> str:
    return f"""<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<!--[if gt IE 8]><!--> <html class="no-js" lang="en-US"> <!--<![endif]-->
<head>
<title>shop.example.com | {code}: {title}</title>
<meta charset="UTF-8" />
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<meta http-equiv="X-UA-Compatible" content="IE=Edge" />
<meta name="robots" content="noindex, nofollow" />
<meta name="viewport" content="width=device-width,initial-scale=1" />{_CLOUDFLARE_STYLE}</head>
<body>
<div id="cf-wrapper">
  <div class="cf-error-overview">
    <h1><span class="cf-error-type">{title}</span>
        <span class="cf-error-code">Error code {code}</span></h1>
  </div>
  <div class="cf-error-details">
    <div class="cf-column"><span class="cf-status-label cf-status-ok">Working</span> Browser</div>
    <div class="cf-column"><span class="cf-status-label cf-status-ok">Working</span> Amsterdam</div>
    <div class="cf-column"><span class="cf-status-label cf-status-error">Error</span> Host</div>
  </div>
  <div class="cf-section">
    <h2>What happened?</h2>
    <p>{text}</p>
    <h2>What can I do?</h2>
    <p>If you are a visitor of this website: please try again in a few minutes.</p>
    <p>If you are the owner of this website: contact your hosting provider letting them know
    your web server is not responding.</p>
  </div>
  <div class="cf-footer">Ray ID: 7a1b2c3d4e5f6071 &bull;
    Performance &amp; security by Cloudflare</div>
</div>
</body>
</html>
"""


BAD_GATEWAY_HTML = _cloudflare(502, "Bad gateway", "The web server reported a bad gateway error.")
FORBIDDEN_HTML = _cloudflare(
    403,
    "Access denied",
    "The owner of this website has banned your IP address or the autonomous system "
    "your request came from.",
)
GATEWAY_TIMEOUT_HTML = _cloudflare(
    504, "Gateway time-out", "The web server did not answer within the time limit."
)

SHOPIFY_UNAUTHORIZED = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
SHOPIFY_THROTTLED = {
    "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume "
    "uninterrupted service."
}
UNPROCESSABLE = {"errors": {"fulfillment": ["Line items are already fulfilled"]}}
WOO_FORBIDDEN = {
    "code": "woocommerce_rest_cannot_view",
    "message": "Sorry, you cannot list resources.",
    "data": {"status": 403},
}


def nginx_page(status: int, reason: str) -> str:
    """The small page nginx renders for a bare error status."""
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
