//! Photos: uploaded as multipart, checked by their bytes (not their name or declared type), capped
//! in size, stored content-addressed (the id is the SHA-256 of the bytes) and served to signed-in
//! accounts.

use axum::extract::{Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use onegrid_store::Photo;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::AppState;

/// Image types accepted, by their sniffed MIME type.
pub const ACCEPTED: [&str; 5] = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "image/heif",
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/photos", post(upload))
        .route("/api/photos/{id}", get(download))
}

/// Checks a photo's bytes and size, and returns its sniffed MIME type.
pub fn check_photo(bytes: &[u8], max_bytes: usize, name: &str) -> Result<&'static str, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::invalid(format!("photo {name:?} is empty")));
    }
    if bytes.len() > max_bytes {
        return Err(ApiError::too_large(format!(
            "photo {name:?} is {:.1} MB; at most {:.1} MB is accepted",
            bytes.len() as f64 / 1_048_576.0,
            max_bytes as f64 / 1_048_576.0
        )));
    }
    let sniffed = infer::get(bytes).map(|kind| kind.mime_type());
    let mime = match sniffed {
        Some("image/heic") => "image/heif",
        Some(mime) => mime,
        None => "",
    };
    ACCEPTED
        .iter()
        .find(|accepted| **accepted == mime)
        .copied()
        .ok_or_else(|| {
            ApiError::unsupported_media(format!(
                "photo {name:?} is not a JPEG, PNG, WebP, GIF or HEIF image{}",
                if mime.is_empty() {
                    String::new()
                } else {
                    format!(" (its bytes are {mime})")
                }
            ))
        })
}

/// Checks and stores one photo; returns its id.
pub async fn store_photo(state: &AppState, bytes: Vec<u8>, name: &str) -> Result<String, ApiError> {
    let mime = check_photo(&bytes, state.config.max_photo_bytes, name)?;
    let hash = hex::encode(Sha256::digest(&bytes));
    state
        .store
        .put_photo(
            Photo {
                hash: hash.clone(),
                mime: mime.to_string(),
                bytes,
            },
            Utc::now(),
        )
        .await?;
    Ok(hash)
}

/// Reads every `photo` part of a multipart body (and hands other parts to `other`).
pub async fn read_photo_parts(
    state: &AppState,
    multipart: &mut Multipart,
    mut other: impl FnMut(&str, String) -> Result<(), ApiError>,
) -> Result<Vec<String>, ApiError> {
    let mut ids = Vec::new();
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "photo" || name == "photos" || name == "media" {
            if ids.len() >= state.config.max_photos {
                return Err(ApiError::invalid(format!(
                    "photos: at most {} photos may be sent with one report",
                    state.config.max_photos
                )));
            }
            let file_name = field.file_name().unwrap_or("photo").to_string();
            let bytes = field.bytes().await?;
            ids.push(store_photo(state, bytes.to_vec(), &file_name).await?);
        } else {
            let text = field.text().await?;
            other(&name, text)?;
        }
    }
    Ok(ids)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoredPhotos {
    /// Ids of the stored photos, in the order sent; give them in a report's `photos` or as evidence.
    pub photos: Vec<String>,
}

/// Uploads photos (multipart, one or more `photo` parts) for a report or as evidence.
#[utoipa::path(post, path = "/api/photos", tag = "photos", security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "one or more `photo` file parts"),
    responses((status = 201, body = StoredPhotos), (status = 415, body = crate::error::Problem),
        (status = 413, body = crate::error::Problem)))]
pub async fn upload(
    State(state): State<AppState>,
    _caller: Caller,
    crate::error::ApiMultipart(mut multipart): crate::error::ApiMultipart,
) -> Result<impl IntoResponse, ApiError> {
    let photos = read_photo_parts(&state, &mut multipart, |name, _| {
        Err(ApiError::invalid(format!(
            "unexpected part {name:?}: send only `photo` file parts"
        )))
    })
    .await?;
    if photos.is_empty() {
        return Err(ApiError::invalid("send at least one `photo` file part"));
    }
    Ok((StatusCode::CREATED, ApiJson(StoredPhotos { photos })))
}

/// A stored photo.
#[utoipa::path(get, path = "/api/photos/{id}", tag = "photos", security(("bearer" = [])),
    params(("id" = String, Path, description = "the photo id (SHA-256 hex)")),
    responses((status = 200, content_type = "image/jpeg"), (status = 404, body = crate::error::Problem)))]
pub async fn download(
    State(state): State<AppState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let valid = id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
    let photo = if valid {
        state.store.photo(&id.to_ascii_lowercase()).await?
    } else {
        None
    };
    let photo = photo.ok_or_else(|| ApiError::not_found(format!("there is no photo {id}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, photo.mime),
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable".to_string(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        photo.bytes,
    )
        .into_response())
}
