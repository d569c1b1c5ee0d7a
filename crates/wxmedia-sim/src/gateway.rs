//! The pages of the gateway in front of the endpoints: HTML on a non-2xx status, never a WeChat Pay reply.

use bytes::Bytes;
use http::{Response, StatusCode, header};

/// The gateway's page for a path no endpoint serves. How the real
/// gateway's 404 looks is not on record; this is the page of the same
/// front end as the 502 below, which is what clients must cope with: an
/// HTML body on a non-2xx status, never a WeChat Pay reply.
pub(crate) fn not_found() -> Response<Bytes> {
    gateway_page(
        StatusCode::NOT_FOUND,
        b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>stgw</center>\r\n</body>\r\n</html>\r\n",
    )
}

pub(crate) fn bad_gateway() -> Response<Bytes> {
    gateway_page(
        StatusCode::BAD_GATEWAY,
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>stgw</center>\r\n</body>\r\n</html>\r\n",
    )
}

fn gateway_page(status: StatusCode, body: &'static [u8]) -> Response<Bytes> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html")
        .body(Bytes::from_static(body))
        .expect("static response parts are valid")
}
