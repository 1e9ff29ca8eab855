//! The report: one table of the runs, the API requests, Bitnami's RSA work, and the targets.

use sealed_secrets_bench::report::{Report, verdict};

use crate::contestant::Kind;
use crate::run::{CONTROL_PLANE, RunResult};
use crate::workload::Size;

/// Everything the report needs.
pub struct Summary<'a> {
    pub size: Size,
    pub values: usize,
    /// One RSA decryption, ours (aws-lc), ms.
    pub rsa_ms: f64,
    /// One RSA decryption, Go's crypto/rsa (Bitnami), ms.
    pub go_rsa_ms: Option<f64>,
    pub results: &'a [RunResult],
    /// Per contestant: (SealedSecrets Synced, Secrets present) at the end.
    pub checks: &'a [(String, (usize, usize))],
}

impl Summary<'_> {
    fn find(&self, label: &str, run: &str) -> Option<&RunResult> {
        self.results
            .iter()
            .find(|r| r.label == label && r.run == run)
    }

    /// The ideal time of a cold start on `cores`: every value one RSA decryption, spread over the cores.
    fn ideal(&self, cores: usize) -> f64 {
        self.values as f64 * self.rsa_ms / 1000.0 / cores as f64
    }

    /// Writes the report.
    pub fn write(&self, r: &mut Report) {
        let s = self.size;
        r.line(format!(
            "workload: {} SealedSecrets x {} values = {} values, {} RSA-{} keys, each object sealed with a random older key",
            s.objects, s.values, self.values, s.keys, s.key_bits
        ));
        r.line(format!(
            "one RSA-{} OAEP decryption on one core: ours (aws-lc) {:.3} ms, Go crypto/rsa (Bitnami) {}",
            s.key_bits,
            self.rsa_ms,
            self.go_rsa_ms.map_or_else(|| "not measured".into(), |ms| format!("{ms:.3} ms"))
        ));
        r.line("");
        r.line(format!(
            "{:<15}{:<8}{:>12}{:>20}{:>22}{:>11}{:>24}{:>10}{:>26}{:>10}{:>9}",
            "controller",
            "run",
            "all Synced",
            "RSA ops",
            "reconciles (skipped)",
            "peak RSS",
            "steady RSS (anon+file)",
            "ctl CPU",
            "plane CPU (etcd/api/kcm)",
            "other CPU",
            "API reqs"
        ));
        for x in self.results {
            let rsa = x.rsa_ops.map_or_else(
                || "n/m".to_owned(),
                |ops| format!("{ops:.0} ({:.3}/v)", ops / self.values as f64),
            );
            let reconciles = match x.skipped {
                Some(skipped) => format!("{:.0} ({skipped:.0})", x.reconciles),
                None => format!("{:.0}", x.reconciles),
            };
            let plane = format!(
                "{:.1} ({:.1}/{:.1}/{:.1})",
                x.plane_cpu.iter().sum::<f64>(),
                x.plane_cpu[0],
                x.plane_cpu[1],
                x.plane_cpu[2]
            );
            r.line(format!(
                "{:<15}{:<8}{:>11.2}s{:>20}{:>22}{:>8.1}MiB{:>9.1}MiB ({:.1}+{:.1}){:>9.1}s{:>26}{:>9.1}s{:>9}",
                x.label,
                x.run,
                x.synced.as_secs_f64(),
                rsa,
                reconciles,
                x.peak_rss_mib,
                x.steady_rss_mib,
                x.steady_anon_mib,
                x.steady_file_mib,
                x.controller_cpu,
                plane,
                x.other_cpu,
                x.api.values().sum::<u64>()
            ));
        }
        r.line(format!("(control plane: {})", CONTROL_PLANE.join(", ")));
        for (label, (synced, secrets)) in self.checks {
            r.line(format!(
                "{label}: {synced} SealedSecrets Synced, {secrets} Secrets at the end"
            ));
        }
        r.line("");
        r.line("API requests between start and all-Synced (audit log, per verb and resource):");
        for x in self.results {
            let detail: Vec<String> = x.api.iter().map(|(k, v)| format!("{k}={v}")).collect();
            r.line(format!(
                "  {} {}: {} = {} (until stop: {})",
                x.label,
                x.run,
                x.api.values().sum::<u64>(),
                detail.join(", "),
                x.api_until_stop
            ));
        }
        let estimate = self.values as f64 * (s.keys + 1) as f64 / 2.0;
        for x in self.results.iter().filter(|x| x.kind == Kind::Bitnami) {
            let mut line = format!(
                "{} {}: RSA operations not measurable (no metric); its algorithm (every key tried in Go map order \
                 until one fits) makes ~{:.1} per value = ~{estimate:.0}",
                x.label,
                x.run,
                (s.keys + 1) as f64 / 2.0
            );
            if let Some(go) = self.go_rsa_ms {
                line.push_str(&format!(
                    " (= {:.0} CPU-s at {go:.2} ms each); its CPU time {:.1} s allows at most {:.0}",
                    estimate * go / 1000.0,
                    x.controller_cpu,
                    x.controller_cpu * 1000.0 / go
                ));
            }
            r.line(line);
        }
        r.line("");
        r.line("targets (ratio = Bitnami / ours):");
        let target = |r: &mut Report,
                      name: &str,
                      run: &str,
                      value: fn(&RunResult) -> f64,
                      need: f64| {
            match (self.find("ours", run), self.find("bitnami", run)) {
                (Some(o), Some(b)) => r.line(format!(
                    "  {name}: ours {:.2}, Bitnami {:.2}: {:.1}x (need >= {need}x): {}",
                    value(o),
                    value(b),
                    value(b) / value(o),
                    verdict(value(b) / value(o) >= need)
                )),
                _ => r.line(format!("  {name}: not run (no Bitnami controller)")),
            }
        };
        target(
            r,
            "time to all Synced, cold start (s)",
            "cold",
            |x| x.synced.as_secs_f64(),
            5.0,
        );
        target(
            r,
            "time to all Synced, restart (s)",
            "restart",
            |x| x.synced.as_secs_f64(),
            20.0,
        );
        target(
            r,
            "steady RSS after the cold start (MiB)",
            "cold",
            |x| x.steady_rss_mib,
            3.0,
        );
        target(
            r,
            "steady RSS after the restart (MiB)",
            "restart",
            |x| x.steady_rss_mib,
            3.0,
        );
        r.line("ours against the ideal (values x one RSA decryption / the controller's cores; need <= 1.5x):");
        for x in self
            .results
            .iter()
            .filter(|x| x.kind == Kind::Ours && x.run == "cold")
        {
            let ideal = self.ideal(x.cores);
            let where_ = if x.cores == 1 {
                "alone on 1 CPU, the control plane on the others".to_owned()
            } else {
                format!("sharing {} CPUs with the control plane", x.cores)
            };
            r.line(format!(
                "  {} ({where_}): {:.2} s, ideal {ideal:.2} s: {:.2}x: {}",
                x.label,
                x.synced.as_secs_f64(),
                x.synced.as_secs_f64() / ideal,
                verdict(x.synced.as_secs_f64() / ideal <= 1.5)
            ));
        }
        for x in self.results.iter().filter(|x| x.kind == Kind::Ours) {
            if let Some(ops) = x.rsa_ops {
                let (need, ok) = if x.run == "cold" {
                    ("<= 1.2 per value", ops / self.values as f64 <= 1.2)
                } else {
                    ("0", ops == 0.0)
                };
                r.line(format!(
                    "  {} {}: {ops:.0} RSA operations ({:.3} per value; need {need}): {}",
                    x.label,
                    x.run,
                    ops / self.values as f64,
                    verdict(ok)
                ));
            }
        }
    }
}
