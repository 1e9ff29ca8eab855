//! Our kubeseal next to Bitnami's kubeseal v0.36, whole processes sealing offline with `--cert`.
//!
//! - One Secret, one process: `--runs` runs of each, interleaved (ours, Bitnami, Bitnami, ours, ...) after
//!   three warm-up runs; medians of wall time and peak RSS.
//! - 1,000 Secrets (`--secrets`): both seal them as one multi-document stream in one process (like for like),
//!   and Bitnami's also as 1,000 runs of one Secret each (one file each: how it is used one Secret at a time);
//!   `--repeats` repeats, interleaved; medians.
//!
//! Both outputs are checked (as many SealedSecrets as Secrets), and the load and the CPU time other processes
//! used meanwhile are recorded. Targets: one Secret in at most 1/5 of Bitnami's time; 1,000 Secrets (one
//! stream) in at most 1/50 of the time of Bitnami's 1,000 runs.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::Parser;
use sealed_secrets_bench::machine;
use sealed_secrets_bench::measure::{Measurer, Sample, measuring_child};
use sealed_secrets_bench::report::{Report, median, now_utc};

#[derive(Parser)]
#[command(about = "Our kubeseal next to Bitnami's, whole processes (see BENCHMARKS.md)")]
struct Args {
    /// Our kubeseal (release build).
    #[arg(long, default_value = "target/release/kubeseal")]
    ours: PathBuf,
    /// Bitnami's kubeseal v0.36 (`bitnami-kubeseal` in the test-binary cache).
    #[arg(long)]
    bitnami: PathBuf,
    /// The sealing certificate.
    #[arg(long, default_value = "examples/cert.pem")]
    cert: PathBuf,
    /// Runs of one Secret per binary.
    #[arg(long, default_value_t = 51)]
    runs: usize,
    /// Repeats of the 1,000-Secret measurements.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Secrets in the stream.
    #[arg(long, default_value_t = 1000)]
    secrets: usize,
    /// Where the report goes.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
}

fn secret(i: usize) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bench-{i}\n  namespace: default\ntype: Opaque\n\
         stringData:\n  password: correct-horse-battery-staple-{i}\n"
    )
}

fn main() -> anyhow::Result<()> {
    measuring_child();
    let args = Args::parse();
    for (what, path) in [
        ("--ours", &args.ours),
        ("--bitnami", &args.bitnami),
        ("--cert", &args.cert),
    ] {
        if !path.is_file() {
            bail!("{what} {}: no such file", path.display());
        }
    }
    let work = args.out.join("kubeseal-vs-bitnami.work");
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let one = work.join("one.yaml");
    std::fs::write(&one, secret(0))?;
    let stream = work.join("stream.yaml");
    let mut files = Vec::with_capacity(args.secrets);
    let mut text = String::new();
    for i in 1..=args.secrets {
        text.push_str("---\n");
        text.push_str(&secret(i));
        let file = work.join(format!("s{i}.yaml"));
        std::fs::write(&file, secret(i))?;
        files.push(file);
    }
    std::fs::write(&stream, text)?;

    let bench = Bench {
        measurer: Measurer::new(&work)?,
        cert: args.cert.to_string_lossy().into_owned(),
        work: work.clone(),
    };
    let ticks = machine::clock_ticks();
    let load_before = machine::load_average();
    let busy_before = machine::busy_cpu_seconds(ticks);
    let started = Instant::now();

    let sealed = [
        bench.count_sealed(&args.ours, &one)?,
        bench.count_sealed(&args.bitnami, &one)?,
        bench.count_sealed(&args.ours, &stream)?,
        bench.count_sealed(&args.bitnami, &stream)?,
    ];
    if sealed != [1, 1, args.secrets, args.secrets] {
        bail!("unexpected output: SealedSecrets written (ours, Bitnami; one, stream) = {sealed:?}");
    }

    for _ in 0..3 {
        bench.seal(&args.ours, &one)?;
        bench.seal(&args.bitnami, &one)?;
    }
    let (mut one_ours, mut one_bitnami) = (Vec::new(), Vec::new());
    for i in 0..args.runs {
        if i % 2 == 0 {
            one_ours.push(bench.seal(&args.ours, &one)?);
            one_bitnami.push(bench.seal(&args.bitnami, &one)?);
        } else {
            one_bitnami.push(bench.seal(&args.bitnami, &one)?);
            one_ours.push(bench.seal(&args.ours, &one)?);
        }
    }
    let (mut stream_ours, mut stream_bitnami, mut runs_bitnami) =
        (Vec::new(), Vec::new(), Vec::new());
    for r in 0..args.repeats {
        let many = |b: &Bench| -> anyhow::Result<Sample> {
            let t = Instant::now();
            let mut peak = 0;
            for f in &files {
                peak = peak.max(b.seal(&args.bitnami, f)?.peak_rss_kib);
            }
            Ok(Sample {
                wall: t.elapsed(),
                peak_rss_kib: peak,
            })
        };
        if r % 2 == 0 {
            stream_ours.push(bench.seal(&args.ours, &stream)?);
            stream_bitnami.push(bench.seal(&args.bitnami, &stream)?);
            runs_bitnami.push(many(&bench)?);
        } else {
            runs_bitnami.push(many(&bench)?);
            stream_bitnami.push(bench.seal(&args.bitnami, &stream)?);
            stream_ours.push(bench.seal(&args.ours, &stream)?);
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let other_cpu = (machine::busy_cpu_seconds(ticks) - busy_before - children_cpu()).max(0.0);

    let ms = |s: &[Sample]| median(&s.iter().map(Sample::ms).collect::<Vec<_>>());
    let mib = |s: &[Sample]| median(&s.iter().map(Sample::rss_mib).collect::<Vec<_>>());
    let range = |s: &[Sample]| {
        let v: Vec<f64> = s.iter().map(Sample::ms).collect();
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(0.0, f64::max);
        format!("{min:.2}-{max:.2}")
    };
    let (o1, b1) = (ms(&one_ours), ms(&one_bitnami));
    let (os, bs, bn) = (ms(&stream_ours), ms(&stream_bitnami), ms(&runs_bitnami));
    let n = args.secrets;

    let mut report = Report::new(&args.out, "kubeseal-vs-bitnami");
    report.line("== kubeseal vs Bitnami (whole processes, --cert, offline) ==");
    report.line(format!(
        "date: {}; machine: {}",
        now_utc(),
        machine::describe()
    ));
    report.line(format!(
        "ours: {} ({}); Bitnami: {} ({})",
        args.ours.display(),
        version(&args.ours),
        args.bitnami.display(),
        version(&args.bitnami)
    ));
    report.line(format!(
        "load average before {load_before}, after {}; other processes used {other_cpu:.1} CPU-s during the {wall:.1} s",
        machine::load_average()
    ));
    report.line("");
    report.line(format!(
        "{n} Secrets as one stream in one process, both (median of {}):",
        args.repeats
    ));
    report.line(format!(
        "  wall time  ours {os:9.1} ms   Bitnami {bs:9.1} ms   Bitnami/ours {:6.1}x",
        bs / os
    ));
    report.line(format!(
        "  peak RSS   ours {:9.1} MiB  Bitnami {:9.1} MiB  Bitnami/ours {:6.2}x",
        mib(&stream_ours),
        mib(&stream_bitnami),
        mib(&stream_bitnami) / mib(&stream_ours)
    ));
    report.line(format!(
        "one Secret, one process (median of {} interleaved runs each):",
        args.runs
    ));
    report.line(format!(
        "  wall time  ours {o1:9.2} ms   Bitnami {b1:9.2} ms   Bitnami/ours {:6.2}x   (ranges {} / {} ms)",
        b1 / o1,
        range(&one_ours),
        range(&one_bitnami)
    ));
    report.line(format!(
        "  peak RSS   ours {:9.1} MiB  Bitnami {:9.1} MiB  Bitnami/ours {:6.2}x",
        mib(&one_ours),
        mib(&one_bitnami),
        mib(&one_bitnami) / mib(&one_ours)
    ));
    report.line(format!(
        "{n} Secrets: ours one stream, Bitnami {n} processes (median of {}):",
        args.repeats
    ));
    report.line(format!(
        "  wall time  ours {os:9.1} ms   Bitnami {bn:9.1} ms   Bitnami/ours {:6.1}x",
        bn / os
    ));
    report.line("");
    report.line("targets:");
    report.target("one Secret: ours <= 1/5 of Bitnami's time", b1 / o1, 5.0);
    report.target(
        &format!("{n} Secrets: ours (one stream) <= 1/50 of Bitnami's {n} runs"),
        bn / os,
        50.0,
    );
    let path = report.save()?;
    eprintln!("report: {}", path.display());
    std::fs::remove_dir_all(&work).ok();
    Ok(())
}

/// The CPU time of this process's reaped descendants: what the benchmark itself used.
fn children_cpu() -> f64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map(|u| {
            let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
            t(u.user_time()) + t(u.system_time())
        })
        .unwrap_or(0.0)
}

struct Bench {
    measurer: Measurer,
    cert: String,
    work: PathBuf,
}

impl Bench {
    /// One measured `kubeseal --cert CERT -f FILE`, output discarded.
    fn seal(&self, kubeseal: &Path, input: &Path) -> anyhow::Result<Sample> {
        let input = input.to_string_lossy();
        self.measurer.run(
            kubeseal,
            &["--cert", &self.cert, "-f", &input],
            Stdio::null(),
        )
    }

    /// How many SealedSecrets one run writes.
    fn count_sealed(&self, kubeseal: &Path, input: &Path) -> anyhow::Result<usize> {
        let out = self.work.join("out");
        self.measurer.run(
            kubeseal,
            &["--cert", &self.cert, "-f", &input.to_string_lossy()],
            Stdio::from(std::fs::File::create(&out)?),
        )?;
        let text = std::fs::read_to_string(&out)?;
        Ok(text.matches("\"kind\": \"SealedSecret\"").count()
            + text.matches("kind: SealedSecret").count())
    }
}

fn version(binary: &Path) -> String {
    std::process::Command::new(binary)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().replace('\n', " "))
        .unwrap_or_else(|_| "?".into())
}
