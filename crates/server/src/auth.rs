//! Accounts and sign-in: passwords hashed with argon2, opaque bearer tokens stored as their SHA-256
//! with an expiry, and the `Caller` extractor every protected handler takes. What a caller may do is
//! decided in `policy`, not here.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use onegrid_core::{Actor, Person, PersonId, Role, Scope};
use onegrid_store::Session;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiJson};
use crate::policy::{self, PersonView};
use crate::AppState;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted (argon2 takes any length; this bounds the work per attempt).
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Hashes a password with argon2id and a random salt (PHC string format).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(ApiError::internal)
}

/// Checks a password against a stored PHC hash.
pub fn password_matches(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(error) => {
            tracing::error!(%error, "a stored password hash is malformed");
            false
        }
    }
}

/// Checks a new password's length; says what is wrong.
pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(ApiError::invalid(format!(
            "password: must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters long, not {chars}"
        )));
    }
    Ok(())
}

/// A new opaque secret (32 random bytes, URL-safe base64) and the SHA-256 hex the store keeps.
pub fn new_secret() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = secret_hash(&secret);
    (secret, hash)
}

/// The SHA-256 hex of a token or API key, as stored. Tokens are 256-bit random, so a fast hash is
/// enough: there is nothing to guess that a slow hash would protect.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The signed-in person making a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub person: Person,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        self.person.actor()
    }

    pub fn role(&self) -> Role {
        self.person.role
    }
}

fn bearer_token(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not readable text"))?;
    match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::unauthorized(
            "the Authorization header must be `Bearer <token>`, with the token from POST /api/auth/login",
        )),
    }
}

/// Sessions recently read from the store, so that a busy client does not cost a database read per
/// request. An entry is trusted for `SESSION_CACHE_TTL`; signing out through this server evicts it at
/// once (another server process sharing the database would notice within the TTL).
#[derive(Default)]
pub struct SessionCache {
    entries: std::sync::RwLock<std::collections::HashMap<String, (Session, std::time::Instant)>>,
}

/// How long a cached session is trusted before it is read again.
pub const SESSION_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);
/// Entries kept at most; the cache is emptied when full (it refills from the store).
const SESSION_CACHE_MAX: usize = 100_000;

impl SessionCache {
    fn get(&self, token_hash: &str) -> Option<Session> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(token_hash)
            .filter(|(_, cached_at)| cached_at.elapsed() < SESSION_CACHE_TTL)
            .map(|(session, _)| session.clone())
    }

    fn put(&self, session: Session) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= SESSION_CACHE_MAX {
            entries.clear();
        }
        entries.insert(
            session.token_hash.clone(),
            (session, std::time::Instant::now()),
        );
    }

    pub fn evict(&self, token_hash: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.remove(token_hash);
    }
}

async fn session_of(state: &AppState, token_hash: &str) -> Result<Option<Session>, ApiError> {
    if let Some(session) = state.sessions.get(token_hash) {
        return Ok(Some(session));
    }
    let session = state.store.session(token_hash).await?;
    if let Some(session) = &session {
        state.sessions.put(session.clone());
    }
    Ok(session)
}

/// Resolves the bearer token of a request, if it has one.
async fn resolve(parts: &Parts, state: &AppState) -> Result<Option<Caller>, ApiError> {
    let Some(token) = bearer_token(parts)? else {
        return Ok(None);
    };
    let token_hash = secret_hash(token);
    let session = session_of(state, &token_hash).await?.ok_or_else(|| {
        ApiError::unauthorized(
            "this token is not valid (it was never issued, or you signed out); sign in again",
        )
    })?;
    let now = Utc::now();
    if session.expires_at <= now {
        return Err(ApiError::unauthorized(format!(
            "your session expired at {}; sign in again",
            session.expires_at.to_rfc3339()
        )));
    }
    let person = state
        .store
        .reference()
        .person(&session.person)
        .cloned()
        .ok_or_else(|| ApiError::unauthorized("the account of this token no longer exists"))?;
    Ok(Some(Caller {
        person,
        token_hash,
        expires_at: session.expires_at,
    }))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        resolve(parts, state).await?.ok_or_else(|| {
            ApiError::unauthorized(
                "sign in first: send `Authorization: Bearer <token>` with the token from POST /api/auth/login",
            )
        })
    }
}

/// A caller who may be anonymous (public endpoints). A token that is sent must still be valid.
#[derive(Debug, Clone)]
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(MaybeCaller(resolve(parts, state).await?))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Account id, e.g. `dispatcher`.
    pub person: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub person: PersonView,
}

/// Sign in: a password for a bearer token.
#[utoipa::path(post, path = "/api/auth/login", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::error::Problem)))]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<ApiJson<LoginResponse>, ApiError> {
    let refused = || ApiError::unauthorized("the account or the password is wrong");
    if request.password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(refused());
    }
    let person_id = PersonId::parse(request.person.trim()).map_err(|_| refused())?;
    let person = state.store.reference().person(&person_id).cloned();
    let stored = state.store.password_hash(&person_id).await?;
    // Hash even when the account does not exist, so the answer time does not tell which accounts do.
    let password = request.password.clone();
    let verified = tokio::task::spawn_blocking(move || match stored {
        Some(stored) => password_matches(&password, &stored),
        None => {
            let _ = hash_password(&password);
            false
        }
    })
    .await
    .map_err(ApiError::internal)?;
    let person = match (verified, person) {
        (true, Some(person)) => person,
        _ => return Err(refused()),
    };
    let (token, token_hash) = new_secret();
    let now = Utc::now();
    let expires_at = now + Duration::minutes(state.config.session_minutes);
    state
        .store
        .put_session(Session {
            token_hash,
            person: person.id.clone(),
            created_at: now,
            expires_at,
        })
        .await?;
    tracing::info!(person = %person.id, role = %person.role, "signed in");
    Ok(ApiJson(LoginResponse {
        token,
        expires_at,
        person: policy::person_view(&person, Some(&person)),
    }))
}

/// Sign out: the token stops working at once.
#[utoipa::path(post, path = "/api/auth/logout", tag = "accounts", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = crate::error::Problem)))]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    state.store.delete_session(&caller.token_hash).await?;
    state.sessions.evict(&caller.token_hash);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub person: PersonView,
    pub expires_at: DateTime<Utc>,
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = crate::error::Problem)))]
pub async fn me(caller: Caller) -> ApiJson<Me> {
    ApiJson(Me {
        person: policy::person_view(&caller.person, Some(&caller.person)),
        expires_at: caller.expires_at,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Name shown to the staff handling your reports.
    pub name: String,
    /// Mobile number, so that staff can call back (never shown to other citizens).
    pub phone: String,
    pub password: String,
}

/// A citizen creates their own account (市民注册). Staff accounts are created by an administrator.
#[utoipa::path(post, path = "/api/auth/register", tag = "accounts", request_body = RegisterRequest,
    responses((status = 201, body = LoginResponse), (status = 422, body = crate::error::Problem)))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 40 {
        return Err(ApiError::invalid("name: give a name of 1 to 40 characters"));
    }
    let phone = check_phone(&request.phone)?;
    check_new_password(&request.password)?;
    let (_, id_hash) = new_secret();
    let id = PersonId::parse(&format!("c-{}", &id_hash[..12])).map_err(ApiError::internal)?;
    let person = Person {
        id: id.clone(),
        name: name.to_string(),
        role: Role::Citizen,
        scope: Scope::default(),
        phone: Some(phone),
    };
    let password = request.password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(ApiError::internal)??;
    let now = Utc::now();
    state.store.put_person(person.clone()).await?;
    state.store.set_password(&id, hash, now).await?;
    let (token, token_hash) = new_secret();
    let expires_at = now + Duration::minutes(state.config.session_minutes);
    state
        .store
        .put_session(Session {
            token_hash,
            person: id,
            created_at: now,
            expires_at,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(LoginResponse {
            token,
            expires_at,
            person: policy::person_view(&person, Some(&person)),
        }),
    ))
}

/// Accepts a phone number of digits with optional `+`, spaces and dashes; returns it trimmed.
pub fn check_phone(phone: &str) -> Result<String, ApiError> {
    let phone = phone.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '));
    if !allowed || !(5..=15).contains(&digits) {
        return Err(ApiError::invalid(
            "phone: give a phone number of 5 to 15 digits (spaces, dashes and a leading + are fine)",
        ));
    }
    Ok(phone.to_string())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// Your current password (not needed when an administrator sets someone else's).
    #[serde(default)]
    pub current: Option<String>,
    pub new: String,
}

/// Sets a password: your own (with the current one), or anyone's as an administrator.
#[utoipa::path(put, path = "/api/people/{id}/password", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "account id")), request_body = PasswordChange,
    responses((status = 204), (status = 403, body = crate::error::Problem)))]
pub async fn set_password(
    State(state): State<AppState>,
    caller: Caller,
    crate::error::ApiPath(id): crate::error::ApiPath<String>,
    ApiJson(change): ApiJson<PasswordChange>,
) -> Result<impl IntoResponse, ApiError> {
    let id = PersonId::parse(&id).map_err(|e| ApiError::not_found(e.to_string()))?;
    let own = id == caller.person.id;
    if !own && caller.role() != Role::Admin {
        return Err(ApiError::forbidden(
            "only an administrator may set another person's password",
        ));
    }
    if state.store.reference().person(&id).is_none() {
        return Err(ApiError::not_found(format!("person {id} does not exist")));
    }
    check_new_password(&change.new)?;
    if own && caller.role() != Role::Admin {
        let stored = state.store.password_hash(&id).await?.unwrap_or_default();
        let current = change.current.clone().unwrap_or_default();
        let ok = tokio::task::spawn_blocking(move || password_matches(&current, &stored))
            .await
            .map_err(ApiError::internal)?;
        if !ok {
            return Err(ApiError::forbidden("the current password is wrong"));
        }
    }
    let new = change.new.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&new))
        .await
        .map_err(ApiError::internal)??;
    state.store.set_password(&id, hash, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
