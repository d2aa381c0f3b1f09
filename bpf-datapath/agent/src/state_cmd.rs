//! `ferrule-agent state`: what the datapath maps hold, as a table or JSON. Built only from a
//! [`DatapathMaps`], so it shows the kernel's truth (pinned maps), not the agent's intent.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ferrule_bpf_common::Program;
use ferrule_bpf_loader::DatapathMaps;
use ferrule_bpf_loader::model::{
    BackendAddr, BackendId, DropCounts, Frontend, ProgramCounters, ResponderKey, ServiceCounters,
    ServiceId, TrafficPolicy,
};
use serde::Serialize;

use crate::Error;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceRow {
    pub frontend: Frontend,
    pub id: ServiceId,
    pub policy: TrafficPolicy,
    pub backend_count: u32,
    /// Distinct backends in the Maglev table, by id.
    pub backends: Vec<BackendId>,
    pub counters: ServiceCounters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendRow {
    pub id: BackendId,
    pub backend: BackendAddr,
    pub remote: bool,
}

/// One program's totals: packets (the L2 responder: replies sent), bytes, drops by reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramRow {
    pub program: &'static str,
    pub counters: ProgramCounters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponderRow {
    pub ifindex: u32,
    pub addr: std::net::IpAddr,
    pub responses: u64,
}

/// How `state` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

/// Everything `state` prints, sorted by key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateReport {
    pub services: Vec<ServiceRow>,
    pub backends: Vec<BackendRow>,
    pub responders: Vec<ResponderRow>,
    /// Empty unless [`StateReport::with_programs`] added them.
    pub programs: Vec<ProgramRow>,
}

impl StateReport {
    pub fn read(maps: &impl DatapathMaps) -> Result<Self, Error> {
        let contents = maps.read().map_err(Error::ReadMaps)?;
        let counters = maps.service_counters().map_err(Error::ReadMaps)?;
        let responder_counters = maps.responder_counters().map_err(Error::ReadMaps)?;
        let services = contents
            .frontends
            .iter()
            .map(|(frontend, entry)| {
                let mut backends: Vec<BackendId> = contents
                    .maglev
                    .get(&entry.id)
                    .map(|t| t.0.clone())
                    .unwrap_or_default();
                backends.sort();
                backends.dedup();
                ServiceRow {
                    frontend: *frontend,
                    id: entry.id,
                    policy: entry.policy,
                    backend_count: entry.backend_count,
                    backends,
                    counters: counters.get(&entry.id).copied().unwrap_or_default(),
                }
            })
            .collect();
        let backends = contents
            .backends
            .iter()
            .map(|(id, b)| BackendRow {
                id: *id,
                backend: b.addr,
                remote: b.remote,
            })
            .collect();
        let responders = contents
            .responders
            .iter()
            .map(|key: &ResponderKey| ResponderRow {
                ifindex: key.ifindex,
                addr: key.addr,
                responses: responder_counters
                    .get(key)
                    .map(|c| c.responses)
                    .unwrap_or_default(),
            })
            .collect();
        Ok(Self {
            services,
            backends,
            responders,
            programs: Vec::new(),
        })
    }

    /// Adds the per-program counters (read from their own map, see
    /// [`ferrule_bpf_loader::kernel::program_counters`]).
    pub fn with_programs(mut self, programs: Vec<(Program, ProgramCounters)>) -> Self {
        self.programs = programs
            .into_iter()
            .map(|(program, counters)| ProgramRow {
                program: program.label(),
                counters,
            })
            .collect();
        self
    }

    /// The report in the chosen format, ending in a newline.
    pub fn render(&self, output: Output) -> Result<String, Error> {
        match output {
            Output::Table => Ok(self.to_table()),
            Output::Json => self.to_json().map(|j| j + "\n"),
        }
    }

    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string_pretty(self).map_err(Error::RenderJson)
    }

    /// Three aligned tables separated by a blank line.
    pub fn to_table(&self) -> String {
        let services = self
            .services
            .iter()
            .map(|s| {
                vec![
                    s.id.0.to_string(),
                    s.frontend.to_string(),
                    format!("{:?}", s.policy),
                    s.backend_count.to_string(),
                    join_ids(&s.backends),
                    s.counters.packets.to_string(),
                    s.counters.bytes.to_string(),
                    drops_cell(&s.counters.drops),
                ]
            })
            .collect();
        let backends = self
            .backends
            .iter()
            .map(|b| {
                vec![
                    b.id.0.to_string(),
                    b.backend.to_string(),
                    if b.remote { "remote (SNAT)" } else { "local" }.to_string(),
                ]
            })
            .collect();
        let responders = self
            .responders
            .iter()
            .map(|r| {
                vec![
                    r.ifindex.to_string(),
                    r.addr.to_string(),
                    r.responses.to_string(),
                ]
            })
            .collect();
        let tables = [
            table(
                &[
                    "ID",
                    "FRONTEND",
                    "POLICY",
                    "BACKENDS",
                    "BACKEND IDS",
                    "PACKETS",
                    "BYTES",
                    "DROPS",
                ],
                services,
            ),
            table(&["BACKEND", "ADDRESS", "LOCATION"], backends),
            table(&["IFINDEX", "RESPONDS FOR", "RESPONSES"], responders),
        ];
        let mut out = tables.join("\n");
        if !self.programs.is_empty() {
            let programs = self
                .programs
                .iter()
                .map(|p| {
                    vec![
                        p.program.to_string(),
                        p.counters.packets.to_string(),
                        p.counters.bytes.to_string(),
                        drops_cell(&p.counters.drops),
                    ]
                })
                .collect();
            out.push('\n');
            out.push_str(&table(&["PROGRAM", "PACKETS", "BYTES", "DROPS"], programs));
        }
        out
    }
}

/// The total, then the reasons that occurred: `5 (no_backend=1,no_local_backend=4)`.
fn drops_cell(drops: &DropCounts) -> String {
    let reasons: Vec<String> = drops.nonzero().map(|(r, n)| format!("{r}={n}")).collect();
    if reasons.is_empty() {
        drops.total().to_string()
    } else {
        format!("{} ({})", drops.total(), reasons.join(","))
    }
}

fn join_ids(ids: &[BackendId]) -> String {
    if ids.is_empty() {
        return "-".to_string();
    }
    ids.iter()
        .map(|id| id.0.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, h) in header.iter().enumerate() {
        widths.insert(i, h.len());
    }
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            let w = widths.entry(i).or_default();
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_string()).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let width = widths.get(&i).copied().unwrap_or_default();
            let _ = write!(line, "{cell:<width$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[path = "state_cmd_tests.rs"]
mod tests;
