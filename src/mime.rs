//! Media types from file extensions, for the formats Gemini takes: a leaf the translation
//! and the media fetcher both read.

/// The media type for a path's file extension, for the formats Gemini takes.
///
/// `path` may be a bare path or a whole URL (including `gs://` URIs); a query
/// string and fragment are ignored, the extension is case-insensitive.
///
/// # Example
///
/// ```
/// use llm_tower::layers::media::mime_from_extension;
///
/// assert_eq!(mime_from_extension("https://example.com/cat.PNG?sig=abc"), Some("image/png"));
/// assert_eq!(mime_from_extension("gs://bucket/report.pdf"), Some("application/pdf"));
/// assert_eq!(mime_from_extension("/download?file=x.png"), None);
/// ```
pub fn mime_from_extension(path: &str) -> Option<&'static str> {
    const EXTENSIONS: &[(&str, &str)] = &[
        ("png", "image/png"),
        ("jpg", "image/jpeg"),
        ("jpeg", "image/jpeg"),
        ("webp", "image/webp"),
        ("gif", "image/gif"),
        ("heic", "image/heic"),
        ("heif", "image/heif"),
        ("pdf", "application/pdf"),
        ("mp3", "audio/mp3"),
        ("wav", "audio/wav"),
        ("ogg", "audio/ogg"),
        ("flac", "audio/flac"),
        ("aac", "audio/aac"),
        ("mp4", "video/mp4"),
        ("mov", "video/mov"),
        ("webm", "video/webm"),
        ("txt", "text/plain"),
    ];
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let (_, extension) = file_name.rsplit_once('.')?;
    EXTENSIONS
        .iter()
        .find(|(ext, _)| ext.eq_ignore_ascii_case(extension))
        .map(|&(_, mime)| mime)
}
