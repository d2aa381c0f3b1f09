//! Shared harness for the BPF_PROG_TEST_RUN tests: privilege check, program loading, map
//! seeding, running a frame.
//!
//! aya 0.14's `TestRun` is used because it is the loader's own library: the same object bytes,
//! the same map creation path, no second BPF stack (libbpf-rs) in the tree.
#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the harness"
)]

pub mod addrs;
pub mod ext;
pub mod frag;
pub mod ip;
pub mod lb;
pub mod netns;
pub mod packets;

use aya::Ebpf;
use aya::maps::{HashMap, MapData, PerCpuArray};
use aya::programs::{TestRun, TestRunOptions, Xdp};
use ferrule_bpf_common::{
    FerruleCounters, L2IfMac, L2ResponderKey, L2ResponderStats, Program, map_names,
};

pub const XDP_ABORTED: u32 = 0;
pub const XDP_DROP: u32 = 1;
pub const XDP_PASS: u32 = 2;
pub const XDP_TX: u32 = 3;

/// These tests need CAP_BPF/CAP_NET_ADMIN. They never skip: a missing privilege is a failure
/// (CI runs as root, DESIGN.md), with a message saying how to run them.
pub fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status readable");
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .expect("Uid line in /proc/self/status");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert_eq!(
        euid, "0",
        "BPF_PROG_TEST_RUN tests must run as root (euid is {euid}, CI={ci}); \
         run `cargo test -p ferrule-bpf-programs` as root"
    );
}

/// XDP test runs without a context execute on the current netns' loopback device, so that is
/// the ifindex the program sees as `ingress_ifindex`.
pub fn loopback_ifindex() -> u32 {
    std::fs::read_to_string("/sys/class/net/lo/ifindex")
        .expect("loopback ifindex readable")
        .trim()
        .parse()
        .expect("ifindex is a number")
}

pub struct Outcome {
    pub verdict: u32,
    pub frame: Vec<u8>,
}

pub struct L2Responder {
    ebpf: Ebpf,
    pub responder: HashMap<MapData, L2ResponderKey, L2ResponderStats>,
    pub ifmac: HashMap<MapData, u32, L2IfMac>,
    pub counters: PerCpuArray<MapData, FerruleCounters>,
}

impl L2Responder {
    pub fn load() -> Self {
        require_root();
        let mut ebpf = Ebpf::load(ferrule_bpf_programs::L2_RESPONDER).expect("object parses");
        let prog: &mut Xdp = ebpf
            .program_mut(ferrule_bpf_programs::L2_RESPONDER_PROGRAM)
            .expect("program present")
            .try_into()
            .expect("program is XDP");
        prog.load().expect("verifier accepts l2_responder");
        let responder = HashMap::try_from(
            ebpf.take_map(map_names::L2_RESPONDER)
                .expect("l2_responder map"),
        )
        .expect("l2_responder key/value sizes match the ABI");
        let ifmac = HashMap::try_from(ebpf.take_map(map_names::L2_IFMAC).expect("l2_ifmac map"))
            .expect("l2_ifmac sizes match the ABI");
        let counters = PerCpuArray::try_from(
            ebpf.take_map(map_names::PROG_COUNTERS)
                .expect("prog_counters map"),
        )
        .expect("prog_counters value size matches the ABI");
        Self {
            ebpf,
            responder,
            ifmac,
            counters,
        }
    }

    pub fn answer(&mut self, key: L2ResponderKey) {
        self.responder
            .insert(key, L2ResponderStats::default(), 0)
            .expect("responder entry inserted");
    }

    pub fn set_mac(&mut self, ifindex: u32, mac: [u8; 6]) {
        self.ifmac
            .insert(ifindex, L2IfMac::new(mac), 0)
            .expect("ifmac inserted");
    }

    pub fn responses(&self, key: &L2ResponderKey) -> u64 {
        self.responder.get(key, 0).expect("entry present").responses
    }

    pub fn program_counters(&self) -> FerruleCounters {
        let per_cpu = self
            .counters
            .get(&(Program::L2Responder as u32), 0)
            .expect("counters readable");
        FerruleCounters::sum(per_cpu.iter())
    }

    pub fn run(&self, frame: &[u8]) -> Outcome {
        let prog: &Xdp = self
            .ebpf
            .program(ferrule_bpf_programs::L2_RESPONDER_PROGRAM)
            .expect("program present")
            .try_into()
            .expect("program is XDP");
        let mut out = vec![0u8; 512];
        let result = prog
            .test_run(TestRunOptions {
                data_in: Some(frame),
                data_out: Some(&mut out),
                ..TestRunOptions::default()
            })
            .expect("BPF_PROG_TEST_RUN succeeds");
        out.truncate(result.data_size_out as usize);
        Outcome {
            verdict: result.return_value,
            frame: out,
        }
    }
}
