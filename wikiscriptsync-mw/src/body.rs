//! Reading an HTTP answer's body with a size cap: a wiki, a proxy in front of it or the OAuth
//! server could send an endless or huge answer, and the client must not hold it all in memory.
//! A declared `Content-Length` over the cap is refused before reading; otherwise reading stops
//! as soon as the cap is passed.

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The answer is larger than the cap.
    TooLarge,
    /// The connection failed while reading.
    Transport(reqwest::Error),
}

/// The body of `response`, at most `limit` bytes.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, BodyError> {
    if let Some(length) = response.content_length()
        && length > limit
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > limit {
            return Err(BodyError::TooLarge);
        }
    }
    Ok(body)
}
