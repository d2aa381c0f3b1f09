//! A process's memory and CPU time from /proc, and the markdown tables they go into.

use std::fmt;

/// One reading of a process's /proc entries.
pub struct Usage {
    rss_kib: u64,
    hwm_kib: u64,
    cpu_secs: f64,
}

impl Usage {
    pub fn rss(&self) -> String {
        mib(self.rss_kib)
    }

    pub fn hwm(&self) -> String {
        mib(self.hwm_kib)
    }

    /// User plus system time of all threads so far.
    pub fn cpu_secs(&self) -> f64 {
        self.cpu_secs
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn clock_ticks_per_sec() -> f64 {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("getconf CLK_TCK");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK is a number")
}

pub fn process_usage(pid: u32) -> Usage {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("agent running");
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{key} in /proc/{pid}/status"))
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("agent running");
    // Fields after the command name (which may hold spaces) start at the state, field 3;
    // utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat format")
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Usage {
        rss_kib: kib("VmRSS:"),
        hwm_kib: kib("VmHWM:"),
        cpu_secs: ticks as f64 / clock_ticks_per_sec(),
    }
}

/// A markdown table.
pub struct Table {
    lines: Vec<String>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            lines: vec![
                format!("| {} |", header.join(" | ")),
                format!("|{}", "---|".repeat(header.len())),
            ],
        }
    }

    pub fn row(&mut self, cells: &[String]) {
        self.lines.push(format!("| {} |", cells.join(" | ")));
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}
