//! `onegrid bench api`: the HTTP intake under load, on loopback against a release server in its own
//! process, with the load generator in this one. Each report goes through the whole intake path
//! (locate, classify, severity, duplicate check, group commit) and counts only when its 201 came
//! back, i.e. when it was durable. Also measures `GET /api/cases` pages.
//!
//! The load generator is written here on hyper's low-level HTTP/1.1 connections (one per worker, kept
//! alive) so that it costs the shared two cores as little as possible; a general client such as
//! reqwest adds pooling and per-request allocations the server then competes with.

use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct ApiBenchArgs {
    /// Reports to send in the measured run.
    #[arg(long, default_value_t = 100_000)]
    reports: usize,
    /// Concurrent connections, each sending its next report when the last one was acknowledged.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// `GET /api/cases` requests in the list measurement.
    #[arg(long, default_value_t = 5_000)]
    list_requests: usize,
    /// Directory for the database (default: a temp dir, removed afterwards).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// A request built before the timed run, so that the load generator spends its time sending.
struct Prepared {
    method: hyper::Method,
    path: hyper::Uri,
    body: Bytes,
}

struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Client {
    async fn connect(address: &str) -> anyhow::Result<Client> {
        let stream = tokio::net::TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "bench connection ended");
            }
        });
        Ok(Client {
            sender,
            host: address.to_string(),
        })
    }

    async fn send_prepared(
        &mut self,
        request: &Prepared,
        authorization: &hyper::header::HeaderValue,
    ) -> anyhow::Result<(u16, Bytes)> {
        let mut builder = Request::builder()
            .method(request.method.clone())
            .uri(request.path.clone())
            .header("host", &self.host)
            .header("authorization", authorization.clone());
        if !request.body.is_empty() {
            builder = builder.header("content-type", "application/json");
        }
        let request = builder.body(Full::new(request.body.clone()))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> anyhow::Result<(u16, Bytes)> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        let request = builder.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Points spread over the district: one inside each cell of the grid the server serves.
async fn cell_points(client: &mut Client) -> anyhow::Result<Vec<(f64, f64)>> {
    use geo::InteriorPoint;
    let (status, body) = client.send("GET", "/api/grid/cell", None, None).await?;
    anyhow::ensure!(status == 200, "GET /api/grid/cell answered {status}");
    let collection: geojson::FeatureCollection = serde_json::from_slice(&body)?;
    let mut points = Vec::new();
    for feature in collection.features {
        let Some(geometry) = feature.geometry else {
            continue;
        };
        let shape: geo::Geometry<f64> = geometry.try_into()?;
        if let Some(point) = shape.interior_point() {
            points.push((point.x(), point.y()));
        }
    }
    anyhow::ensure!(!points.is_empty(), "the grid has no cells");
    Ok(points)
}

/// Real citizen messages (subjects of the Teddy Cup 2020 data), as report titles.
fn titles() -> anyhow::Result<Vec<String>> {
    let path = onegrid_text::data::default_data_dir().join(onegrid_text::data::SUBJECTS_FILE);
    let rows = onegrid_text::data::read_labelled(&path)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(rows
        .rows
        .into_iter()
        .map(|row| row.text.chars().take(100).collect())
        .collect())
}

async fn login(client: &mut Client, person: &str) -> anyhow::Result<String> {
    let body = json!({"person": person, "password": crate::demo::DEMO_PASSWORD}).to_string();
    let (status, bytes) = client
        .send("POST", "/api/auth/login", None, Some(body))
        .await?;
    anyhow::ensure!(status == 200, "login {person}: {status}");
    let value: Value = serde_json::from_slice(&bytes)?;
    value["token"]
        .as_str()
        .map(str::to_string)
        .context("no token in the login answer")
}

struct Run {
    done: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    failures: usize,
    first_failure: Option<String>,
}

async fn load(
    address: &str,
    connections: usize,
    requests: std::sync::Arc<Vec<Prepared>>,
    token: &str,
) -> anyhow::Result<Run> {
    let authorization = hyper::header::HeaderValue::from_str(&format!("Bearer {token}"))?;
    let total = requests.len();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..connections {
        clients.push(Client::connect(address).await?);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut client in clients {
        let next = next.clone();
        let requests = requests.clone();
        let authorization = authorization.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            let mut first_failure = None;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(request) = requests.get(i) else {
                    break;
                };
                let sent = Instant::now();
                match client.send_prepared(request, &authorization).await {
                    Ok((status, _)) if (200..300).contains(&status) => {
                        latencies.push(sent.elapsed())
                    }
                    Ok((status, bytes)) => {
                        failures += 1;
                        first_failure.get_or_insert_with(|| {
                            format!("{status}: {}", String::from_utf8_lossy(&bytes))
                        });
                    }
                    Err(error) => {
                        failures += 1;
                        first_failure.get_or_insert_with(|| error.to_string());
                    }
                }
            }
            (latencies, failures, first_failure)
        }));
    }
    let mut run = Run {
        done: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::with_capacity(total),
        failures: 0,
        first_failure: None,
    };
    for task in tasks {
        let (latencies, failures, first_failure) = task.await?;
        run.latencies.extend(latencies);
        run.failures += failures;
        if run.first_failure.is_none() {
            run.first_failure = first_failure;
        }
    }
    run.elapsed = started.elapsed();
    run.done = run.latencies.len();
    run.latencies.sort_unstable();
    Ok(run)
}

fn print_run(what: &str, run: &Run) {
    let rate = run.done as f64 / run.elapsed.as_secs_f64();
    println!(
        "{what:<34} {:>8} ok {:>5} failed {:>10.0}/s   p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
        run.done,
        run.failures,
        rate,
        percentile(&run.latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&run.latencies, 0.99).as_secs_f64() * 1e3,
        run.latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    if let Some(failure) = &run.first_failure {
        println!("    first failure: {failure}");
    }
}

/// Stops the server child when the bench ends, however it ends.
struct ServerProcess(std::process::Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn run(args: ApiBenchArgs) -> anyhow::Result<ExitCode> {
    if args.connections == 0 || args.reports == 0 {
        bail!("--connections and --reports must be at least 1");
    }
    let temp = tempfile::tempdir()?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("bench-api.db");
    let _ = std::fs::remove_file(&db);
    let exe = std::env::current_exe()?;
    eprintln!("creating the Dongli demo in {} …", db.display());
    let status = std::process::Command::new(&exe)
        .args(["demo", "--create-only", "--db"])
        .arg(&db)
        .stderr(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "creating the demo database failed");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let address = format!("127.0.0.1:{port}");
    let _server = ServerProcess(
        std::process::Command::new(&exe)
            .args(["serve", "--listen", &address, "--db"])
            .arg(&db)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()?,
    );
    let mut client = loop {
        match Client::connect(&address).await {
            Ok(client) => break client,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let points = std::sync::Arc::new(cell_points(&mut client).await?);
    let titles = std::sync::Arc::new(titles()?);
    // The 12345 hotline feed: a machine channel, reporting district-wide, without the per-address
    // limit of public intake.
    let token = login(&mut client, "integrator").await?;
    let reader = login(&mut client, "commander").await?;
    println!(
        "onegrid bench api: {} reports over {} connections to a {} server on {address} ({} cells, {} real message subjects)",
        args.reports,
        args.connections,
        if cfg!(debug_assertions) {
            "debug-build (figures not meaningful)"
        } else {
            "release-build"
        },
        points.len(),
        titles.len()
    );
    let report = |i: usize| -> anyhow::Result<Prepared> {
        let (lon, lat) = points[(i * 7919) % points.len()];
        let title = &titles[(i * 104_729) % titles.len()];
        let body = json!({
            "title": title,
            "description": "",
            "channel": "hotline_12345",
            "location": {"lon": lon, "lat": lat},
            "reporter_name": "市民",
            "reporter_phone": "13800000000",
        })
        .to_string();
        Ok(Prepared {
            method: hyper::Method::POST,
            path: hyper::Uri::from_static("/api/cases"),
            body: Bytes::from(body),
        })
    };
    // A short warm-up (connections, caches, the WAL), not counted.
    let warm_up = 2_000.min(args.reports);
    let warm_up: Vec<Prepared> = (args.reports..args.reports + warm_up)
        .map(report)
        .collect::<anyhow::Result<_>>()?;
    load(
        &address,
        args.connections,
        std::sync::Arc::new(warm_up),
        &token,
    )
    .await?;
    let reports: Vec<Prepared> = (0..args.reports)
        .map(report)
        .collect::<anyhow::Result<_>>()?;
    let run = load(
        &address,
        args.connections,
        std::sync::Arc::new(reports),
        &token,
    )
    .await?;
    print_run("POST /api/cases (durable)", &run);
    let pages: Vec<Prepared> = (0..args.list_requests)
        .map(|i| {
            Ok(Prepared {
                method: hyper::Method::GET,
                path: format!("/api/cases?limit=50&after={}", (i * 31) % 50_000).parse()?,
                body: Bytes::new(),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let list_run = load(
        &address,
        args.connections.min(16),
        std::sync::Arc::new(pages),
        &reader,
    )
    .await?;
    print_run("GET /api/cases?limit=50", &list_run);
    let rate = run.done as f64 / run.elapsed.as_secs_f64();
    let p99_ms = percentile(&run.latencies, 0.99).as_secs_f64() * 1e3;
    println!(
        "goal: ≥ 10,000 acknowledged reports/s with p99 < 50 ms → {:.2}× the rate, p99 {}",
        rate / 10_000.0,
        if p99_ms < 50.0 { "met" } else { "NOT met" }
    );
    if run.failures > 0 {
        bail!("{} reports failed", run.failures);
    }
    Ok(ExitCode::SUCCESS)
}
